//! Where the running catalog comes from: the embedded default, or a ConfigMap that replaces it
//! while the operator runs. An edit that does not parse or validate is refused with a Warning
//! Event on the ConfigMap and the last good catalog stays; deleting the ConfigMap returns to
//! the embedded default.

use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{
        WatchStreamExt,
        events::{Event, EventType, Recorder, Reporter},
        reflector, watcher,
    },
};
use tokio::sync::watch;

use super::{Catalog, CatalogError};

/// The ConfigMap key holding the catalog.
pub const KEY: &str = "plugins.yaml";

/// Where to read the catalog from.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CatalogConfig {
    /// A ConfigMap (`<namespace>/<name>`) whose `plugins.yaml` replaces the embedded plugin
    /// catalog, followed while it changes.
    #[arg(
        long = "plugin-catalog-configmap",
        env = "DOTMAC_PLUGIN_CATALOG_CONFIGMAP"
    )]
    pub configmap: Option<String>,
}

/// Why the catalog source could not start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The embedded catalog is broken (a build defect).
    #[error("the embedded plugin catalog: {0}")]
    Embedded(#[from] CatalogError),
    /// The ConfigMap reference is not `<namespace>/<name>`.
    #[error("--plugin-catalog-configmap {0:?} must be <namespace>/<name>")]
    Reference(String),
}

/// The catalog in force, shared by the controllers and the API.
#[derive(Clone, Debug)]
pub struct PluginCatalog {
    current: watch::Receiver<Arc<Catalog>>,
    /// Kept for a fixed catalog, so that [`PluginCatalog::changes`] waits instead of ending.
    _fixed: Option<Arc<watch::Sender<Arc<Catalog>>>>,
}

impl PluginCatalog {
    /// A catalog that never changes.
    pub fn fixed(catalog: Catalog) -> Self {
        let (tx, rx) = watch::channel(Arc::new(catalog));
        Self {
            current: rx,
            _fixed: Some(Arc::new(tx)),
        }
    }

    /// The embedded default, or the ConfigMap `config` names, followed in the background.
    pub fn start(config: &CatalogConfig, client: Client) -> Result<Self, SourceError> {
        let embedded = Catalog::embedded()?;
        match &config.configmap {
            None => Ok(Self::fixed(embedded)),
            Some(reference) => {
                let (namespace, name) = reference
                    .split_once('/')
                    .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
                    .ok_or_else(|| SourceError::Reference(reference.clone()))?;
                let (tx, rx) = watch::channel(Arc::new(embedded.clone()));
                tokio::spawn(follow(
                    client,
                    namespace.to_owned(),
                    name.to_owned(),
                    embedded,
                    tx,
                ));
                Ok(Self {
                    current: rx,
                    _fixed: None,
                })
            }
        }
    }

    /// The catalog now.
    pub fn current(&self) -> Arc<Catalog> {
        self.current.borrow().clone()
    }

    /// Yields each time the catalog is replaced.
    pub fn changes(&self) -> impl Stream<Item = ()> + Send + 'static {
        futures_util::stream::unfold(self.current.clone(), |mut rx| async move {
            rx.changed().await.ok().map(|()| ((), rx))
        })
    }
}

/// The catalog the ConfigMap holds, or the embedded one when there is no ConfigMap.
fn desired(configmap: Option<&ConfigMap>, embedded: &Catalog) -> Result<Catalog, CatalogError> {
    let Some(configmap) = configmap else {
        return Ok(embedded.clone());
    };
    let text = configmap
        .data
        .as_ref()
        .and_then(|d| d.get(KEY))
        .ok_or_else(|| CatalogError {
            field: format!("data.{KEY}"),
            message: "missing: the ConfigMap must hold the catalog under this key".into(),
        })?;
    Catalog::from_yaml(text)
}

/// Follows one ConfigMap until every [`PluginCatalog`] is dropped.
async fn follow(
    client: Client,
    namespace: String,
    name: String,
    embedded: Catalog,
    tx: watch::Sender<Arc<Catalog>>,
) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let recorder = Recorder::new(
        client,
        Reporter {
            controller: "dotmac-operator".into(),
            instance: None,
        },
    );
    let (store, writer) = reflector::store();
    let events = watcher(
        api,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .default_backoff()
    .reflect(writer);
    let mut events = std::pin::pin!(events);
    loop {
        let event = tokio::select! {
            () = tx.closed() => return,
            event = events.next() => event,
        };
        match event {
            None => return,
            Some(Err(error)) => {
                tracing::warn!(%error, configmap = %name, "plugin catalog watch failed; retrying");
                continue;
            }
            Some(Ok(watcher::Event::Init | watcher::Event::InitApply(_))) => continue,
            Some(Ok(_)) => {}
        }
        let configmap = store.get(&reflector::ObjectRef::new(&name).within(&namespace));
        match desired(configmap.as_deref(), &embedded) {
            Ok(catalog) => {
                if **tx.borrow() != catalog {
                    tracing::info!(
                        configmap = %name,
                        plugins = catalog.plugins.len(),
                        source = if configmap.is_some() { "configmap" } else { "embedded" },
                        "plugin catalog replaced"
                    );
                    tx.send_replace(Arc::new(catalog));
                }
            }
            Err(error) => {
                tracing::warn!(configmap = %name, %error, "plugin catalog refused; the previous one stays");
                if let Some(configmap) = configmap {
                    let event = Event {
                        type_: EventType::Warning,
                        reason: "InvalidCatalog".into(),
                        note: Some(format!("refused, the previous catalog stays: {error}")),
                        action: "LoadCatalog".into(),
                        secondary: None,
                    };
                    if let Err(error) = recorder.publish(&event, &configmap.object_ref(&())).await {
                        tracing::warn!(%error, configmap = %configmap.name_any(), "could not publish the catalog event");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configmap(text: Option<&str>) -> ConfigMap {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "catalog", "namespace": "dotmac-system"},
            "data": text.map(|t| serde_json::json!({KEY: t})).unwrap_or_default(),
        }))
        .unwrap()
    }

    #[test]
    fn the_configmap_replaces_the_default_and_its_absence_restores_it() {
        let embedded = Catalog::embedded().unwrap();
        assert_eq!(desired(None, &embedded).unwrap(), embedded);
        let one = "plugins:\n  - id: integrator-pack\n    name: Integrator pack\n    features: [unlimited_apis]\n    tiers:\n      - {name: standard, monthlyPrice: 500, currency: USD}\n";
        let catalog = desired(Some(&configmap(Some(one))), &embedded).unwrap();
        assert_eq!(catalog.plugins.len(), 1);
        assert_eq!(
            catalog.find("integrator-pack").unwrap().tiers[0].monthly_price,
            500
        );
        let missing = desired(Some(&configmap(None)), &embedded).unwrap_err();
        assert_eq!(missing.field, "data.plugins.yaml");
    }

    #[tokio::test]
    async fn a_fixed_catalog_never_reports_a_change() {
        let catalog = PluginCatalog::fixed(Catalog::embedded().unwrap());
        let mut changes = std::pin::pin!(catalog.changes());
        let next = tokio::time::timeout(std::time::Duration::from_millis(50), changes.next()).await;
        assert!(
            next.is_err(),
            "a fixed catalog's change stream stays pending"
        );
        assert!(catalog.current().find("advanced-analytics").is_some());
    }
}
