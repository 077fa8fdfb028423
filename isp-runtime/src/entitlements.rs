//! The tenant's entitlements: the features its plan and licenses give it. The operator writes
//! them into a file (`DOTMAC_ENTITLEMENTS_FILE`, mounted from the tenant's ConfigMap, in the
//! shape of [`dotmac_contract::entitlements::EntitlementsFile`]); the
//! instance reads it at start, re-reads it when it changes, and gates features with
//! [`Gate::require`].

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

pub use dotmac_contract::entitlements::EntitlementsFile as Entitlements;

use crate::error::Error;

pub use dotmac_contract::entitlements::feature;

/// A response extension naming the feature a request used, so its API call counts against the
/// plugin that grants the feature.
#[derive(Debug, Clone, Copy)]
pub struct Used(pub &'static str);

/// An answer `T` that used `feature`: it answers as `T` (and is documented as `T`), carrying
/// [`Used`] for the call's metering.
#[derive(Debug)]
pub struct Metered<T>(pub &'static str, pub T);

impl<T: axum::response::IntoResponse> axum::response::IntoResponse for Metered<T> {
    fn into_response(self) -> axum::response::Response {
        let mut response = self.1.into_response();
        response.extensions_mut().insert(Used(self.0));
        response
    }
}

impl<T: aide::OperationOutput> aide::OperationOutput for Metered<T> {
    type Inner = T::Inner;

    fn operation_response(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) -> Option<aide::openapi::Response> {
        T::operation_response(ctx, operation)
    }

    fn inferred_responses(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) -> Vec<(Option<aide::openapi::StatusCode>, aide::openapi::Response)> {
        T::inferred_responses(ctx, operation)
    }
}

/// The entitlements in force, shared by every request and swapped when the file changes.
#[derive(Debug, Clone)]
pub struct Gate {
    current: Arc<RwLock<Option<Arc<Entitlements>>>>,
}

impl Gate {
    /// Every feature enabled: the embedded default when no entitlements file is configured.
    pub fn unrestricted() -> Self {
        Self {
            current: Arc::new(RwLock::new(None)),
        }
    }

    /// Exactly these entitlements.
    pub fn fixed(entitlements: Entitlements) -> Self {
        Self {
            current: Arc::new(RwLock::new(Some(Arc::new(entitlements)))),
        }
    }

    /// Reads `path` now and keeps re-reading it every `interval` when its modification time
    /// changes. A file that cannot be read or parsed keeps the last good entitlements (none at
    /// start: then only ungated features work) and is logged.
    pub fn watch(path: PathBuf, interval: Duration) -> Self {
        let gate = Self::fixed(Entitlements::default());
        let mut seen = load(&path, &gate, None);
        let watcher = gate.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                seen = load(&path, &watcher, seen);
            }
        });
        gate
    }

    /// Whether `feature` is enabled.
    pub fn allows(&self, feature: &str) -> bool {
        match &*self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            None => true,
            Some(entitlements) => entitlements.features.contains(feature),
        }
    }

    /// The plugin whose license grants `feature`, when a license (not the plan) does: its
    /// use counts against that plugin.
    pub fn plugin_of(&self, feature: &str) -> Option<String> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .and_then(|e| e.feature_plugins.get(feature).cloned())
    }

    /// `Ok` when `feature` is enabled, else the 403 naming it and the plan that has it.
    pub fn require(&self, feature: &str) -> Result<(), Error> {
        if self.allows(feature) {
            return Ok(());
        }
        let plan = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .and_then(|e| e.feature_plans.get(feature).cloned());
        Err(Error::FeatureDisabled {
            feature: feature.to_owned(),
            plan,
        })
    }

    fn set(&self, entitlements: Entitlements) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(entitlements));
    }
}

/// Loads the file when its modification time differs from `seen`; returns the time now seen.
fn load(path: &Path, gate: &Gate, seen: Option<SystemTime>) -> Option<SystemTime> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if modified.is_some() && modified == seen {
        return seen;
    }
    match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice::<Entitlements>(&bytes).map_err(|e| e.to_string()))
    {
        Ok(entitlements) => {
            tracing::info!(plan = %entitlements.plan, features = entitlements.features.len(), path = %path.display(), "entitlements loaded");
            gate.set(entitlements);
            modified
        }
        Err(error) => {
            tracing::error!(%error, path = %path.display(), "entitlements file unreadable; keeping the last good entitlements");
            seen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reloads_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entitlements.json");
        std::fs::write(&path, r#"{"plan":"free","features":["advanced_analytics"],"featurePlans":{"advanced_billing":"basic"}}"#).unwrap();
        let gate = Gate::watch(path.clone(), Duration::from_millis(20));
        assert!(!gate.allows(feature::ADVANCED_BILLING));
        let Err(Error::FeatureDisabled { plan, .. }) = gate.require(feature::ADVANCED_BILLING)
        else {
            panic!("advanced_billing must be refused on free");
        };
        assert_eq!(plan.as_deref(), Some("basic"));
        // A broken write keeps the last good entitlements.
        std::fs::write(&path, "{not json").unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(gate.allows(feature::ADVANCED_ANALYTICS));
        // Change the modification time explicitly: some filesystems keep whole seconds.
        std::fs::write(
            &path,
            r#"{"plan":"basic","features":["advanced_analytics","advanced_billing"]}"#,
        )
        .unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() + Duration::from_secs(5))
            .unwrap();
        for _ in 0..100 {
            if gate.allows(feature::ADVANCED_BILLING) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the new entitlements were not picked up");
    }
}
