//! The operator's controllers and their runtime: leader election, the health and metrics
//! server, and the watches of the Tenant, PluginLicense and Reseller controllers.

pub mod backoff;
pub mod cache;
pub mod leader;
pub mod license;
pub mod metrics;
pub mod report;
pub mod reseller;
pub mod shared;
pub mod tenant;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures_util::StreamExt;
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Namespace, Secret, Service},
};
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller, WatchStreamExt,
        controller::Config as ControllerSettings,
        events::{Recorder, Reporter},
        predicates, reflector,
        reflector::ObjectRef,
        watcher,
    },
};

use crate::{
    config::ControllerConfig,
    crd::{PluginLicense, Reseller, Tenant},
    plugins::source::PluginCatalog,
};

/// The controller could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The Tenant CRD is not installed.
    #[error("the Tenant CRD is not installed (apply crds/ first): {0}")]
    CrdMissing(kube::Error),
    /// The health server could not bind.
    #[error("binding the health server on {addr}: {source}")]
    Health {
        /// Address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Leader election failed for good.
    #[error("leader election: {0}")]
    Lease(kube::Error),
    /// The data plane settings are wrong.
    #[error("data plane: {0}")]
    DataPlane(#[from] tenant::dataplane::SetupError),
    /// Another replica took the Lease while this one was leading.
    #[error("lost the leader Lease; exiting so that only one replica writes")]
    LostLease,
}

/// What changes on a Tenant are worth a reconcile: spec (generation), finalizers, deletion and
/// the credential-rotation annotation. Status writes are not.
fn tenant_changes(tenant: &Tenant) -> Option<u64> {
    let mut h = predicates::generation(tenant).unwrap_or(0);
    for part in [
        predicates::finalizers(tenant),
        tenant
            .metadata
            .deletion_timestamp
            .as_ref()
            .map(|t| t.0.as_second() as u64),
        tenant
            .annotations()
            .get("platform.dotmac.io/rotate-credentials")
            .map(|v| {
                v.bytes()
                    .fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)))
            }),
    ] {
        h = h.wrapping_mul(1_000_003).wrapping_add(part.unwrap_or(0));
    }
    Some(h)
}

/// Logs a controller's failed event (the error policy has already logged the reason).
async fn log_errors<T, E: std::fmt::Display>(result: Result<T, E>) {
    if let Err(error) = result {
        tracing::debug!(%error, "controller event");
    }
}

async fn health_server(
    addr: std::net::SocketAddr,
    metrics: Arc<metrics::Metrics>,
) -> Result<(), RunError> {
    use axum::{Router, http::StatusCode, routing::get};
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Health { addr, source })?;
    let ready = metrics.clone();
    let render = metrics.clone();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    if ready.ready.load(Ordering::Relaxed) {
                        (StatusCode::OK, "ok")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let render = render.clone();
                async move { render.render() }
            }),
        );
    tracing::info!(%addr, "health and metrics server listening");
    axum::serve(listener, app)
        .await
        .map_err(|source| RunError::Health { addr, source })
}

/// Runs the Tenant, PluginLicense and Reseller controllers until SIGTERM/Ctrl-C, with leader
/// election when configured. `platform` is the platform database: usage for licenses, the
/// commission ledger for resellers.
pub async fn run(
    client: Client,
    config: ControllerConfig,
    platform: sea_orm::DatabaseConnection,
    plugins: PluginCatalog,
) -> Result<(), RunError> {
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .map_err(RunError::CrdMissing)?;
    let data_plane = tenant::dataplane::DataPlane::from_config(&config.data_plane).await?;
    if data_plane.is_none() {
        tracing::warn!(
            "the data plane is off (no DOTMAC_POSTGRES_ADMIN_URL etc.): tenants get no database, Redis user or OpenBao namespace"
        );
    }
    let metrics = Arc::new(metrics::Metrics::default());
    let health = tokio::spawn(health_server(config.health_listen, metrics.clone()));

    let identity = config
        .identity
        .clone()
        .unwrap_or_else(|| format!("dotmac-operator-{}", std::process::id()));
    let lock = leader::LeaseLock::new(
        client.clone(),
        &config.lease_namespace,
        identity.clone(),
        Duration::from_secs(config.lease_seconds),
    );
    if config.leader_election {
        // Standby replicas are ready: they serve health and wait for the Lease.
        metrics.ready.store(true, Ordering::Relaxed);
        loop {
            match lock.try_acquire_or_renew().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "leader election: cannot reach the Lease"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(config.lease_seconds / 3 + 1)) => {}
                _ = tokio::signal::ctrl_c() => { health.abort(); return Ok(()); }
            }
        }
        tracing::info!(%identity, "became the leader");
    }
    metrics.leader.store(true, Ordering::Relaxed);

    let (reader, writer) = reflector::store::<Tenant>();
    let (tenant_cache, tenant_mark) = cache::Cache::new(reader.clone());
    let synced = metrics.clone();
    if config.leader_election {
        // Standby time counted as ready; the leader's readiness is its cache sync.
        metrics.ready.store(false, Ordering::Relaxed);
    }
    let tenant_stream = watcher(tenants.clone(), watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(|t| {
            t.managed_fields_mut().clear();
        })
        .reflect(writer)
        .inspect(move |event| {
            // Ready once the first full list of Tenants is in the cache.
            if tenant_mark.observe(event) && !synced.ready.swap(true, Ordering::Relaxed) {
                tracing::info!("tenant cache synced");
            }
        })
        .applied_objects()
        .predicate_filter(tenant_changes, Default::default());

    let owned = watcher::Config::default().labels("app.kubernetes.io/managed-by=dotmac-operator");
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "dotmac-operator".into(),
            instance: Some(identity.clone()),
        },
    );
    let shutdown = || async {
        let _ = tokio::signal::ctrl_c().await;
    };

    // PluginLicenses: reconciled on their own changes, their siblings' (conflicts) and their
    // tenant's (a license for a tenant that appears).
    let (license_store, license_writer) = reflector::store::<PluginLicense>();
    let (license_cache, license_mark) = cache::Cache::new(license_store.clone());
    let license_stream = watcher(
        Api::<PluginLicense>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(|l| {
        l.managed_fields_mut().clear();
    })
    .reflect(license_writer)
    .inspect(move |event| {
        license_mark.observe(event);
    })
    .applied_objects();
    let of_tenant = license_store.clone();
    let siblings = license_store.clone();
    let shared = Arc::new(shared::Shared {
        client: client.clone(),
        db: platform,
        tenants: tenant_cache,
        licenses: license_cache.clone(),
        plugins: plugins.clone(),
        recorder: recorder.clone(),
        resync: config.resync(),
    });
    let licenses = Controller::for_stream(license_stream, license_store.clone())
        .with_config(ControllerSettings::default().concurrency(config.concurrency))
        .watches(
            Api::<Tenant>::all(client.clone()),
            watcher::Config::default(),
            move |tenant: Tenant| {
                let name = tenant.name_any();
                of_tenant
                    .state()
                    .into_iter()
                    .filter(|l| l.spec.tenant_ref == name)
                    .map(|l| ObjectRef::from_obj(&*l))
                    .collect::<Vec<_>>()
            },
        )
        .watches(
            Api::<PluginLicense>::all(client.clone()),
            watcher::Config::default(),
            move |changed: PluginLicense| {
                siblings
                    .state()
                    .into_iter()
                    .filter(|l| {
                        l.spec.tenant_ref == changed.spec.tenant_ref
                            && l.spec.plugin == changed.spec.plugin
                            && l.metadata.name != changed.metadata.name
                    })
                    .map(|l| ObjectRef::from_obj(&*l))
                    .collect::<Vec<_>>()
            },
        )
        // A new catalog can change any license's limits, features or validity.
        .reconcile_all_on(plugins.changes())
        .graceful_shutdown_on(shutdown())
        .run(
            license::reconcile,
            license::error_policy,
            Arc::new(license::Context {
                shared: shared.clone(),
                usage_poll: Duration::from_secs(config.usage_poll_seconds.max(1)),
                failures: Default::default(),
            }),
        )
        .for_each(log_errors);

    // Resellers: reconciled when one of their tenants or its licenses changes. A tenant that
    // moves to another reseller triggers both: the mapper remembers each tenant's last one.
    let tenant_reseller = reader.clone();
    let last_reseller: Arc<std::sync::Mutex<std::collections::HashMap<String, String>>> =
        Arc::default();
    let resellers = Controller::new(
        Api::<Reseller>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .watches(
        Api::<Tenant>::all(client.clone()),
        watcher::Config::default(),
        move |tenant: Tenant| {
            let mut last = last_reseller
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let current = tenant.spec.reseller_ref.clone();
            let previous = match &current {
                Some(r) => last.insert(tenant.name_any(), r.clone()),
                None => last.remove(&tenant.name_any()),
            };
            current
                .into_iter()
                .chain(previous)
                .map(|r| ObjectRef::new(&r))
                .collect::<Vec<_>>()
        },
    )
    .watches(
        Api::<PluginLicense>::all(client.clone()),
        watcher::Config::default(),
        move |license: PluginLicense| {
            tenant_reseller
                .get(&ObjectRef::new(&license.spec.tenant_ref))
                .and_then(|t| t.spec.reseller_ref.clone())
                .map(|r| ObjectRef::new(&r))
        },
    )
    // Tier prices count in recurring revenue.
    .reconcile_all_on(plugins.changes())
    .graceful_shutdown_on(shutdown())
    .run(
        reseller::reconcile,
        reseller::error_policy,
        Arc::new(reseller::Context {
            shared,
            failures: Default::default(),
        }),
    )
    .for_each(log_errors);

    let by_reseller = reader.clone();
    let context = Arc::new(tenant::Context {
        client: client.clone(),
        config: config.clone(),
        recorder,
        applied: tenant::apply::AppliedCache::default(),
        metrics: metrics.clone(),
        data_plane,
        failures: Default::default(),
        licenses: license_cache,
    });

    let counting = context.metrics.clone();
    let tenants = Controller::for_stream(tenant_stream, reader)
        .with_config(ControllerSettings::default().concurrency(config.concurrency))
        // Not `owns`: see `tenant::owner` for why children map to the Tenant themselves.
        .watches(
            Api::<Namespace>::all(client.clone()),
            owned.clone(),
            tenant::owner::of,
        )
        .watches(
            Api::<Deployment>::all(client.clone()),
            owned.clone(),
            tenant::owner::of,
        )
        .watches(
            Api::<Service>::all(client.clone()),
            owned.clone(),
            tenant::owner::of,
        )
        .watches(
            Api::<ConfigMap>::all(client.clone()),
            owned.clone(),
            tenant::owner::of,
        )
        .watches(Api::<Secret>::all(client.clone()), owned, tenant::owner::of)
        .watches(
            Api::<Reseller>::all(client.clone()),
            watcher::Config::default(),
            move |reseller: Reseller| {
                let name = reseller.name_any();
                by_reseller
                    .state()
                    .into_iter()
                    .filter(|t| t.spec.reseller_ref.as_deref() == Some(name.as_str()))
                    .map(|t| ObjectRef::from_obj(&*t))
                    .collect::<Vec<_>>()
            },
        )
        .watches(
            Api::<PluginLicense>::all(client.clone()),
            watcher::Config::default(),
            |license: PluginLicense| Some(ObjectRef::<Tenant>::new(&license.spec.tenant_ref)),
        )
        .graceful_shutdown_on(shutdown())
        .run(
            move |tenant, ctx| {
                counting.start();
                tenant::reconcile(tenant, ctx)
            },
            tenant::error_policy,
            context,
        )
        .for_each(log_errors);
    let controllers = async {
        tokio::join!(tenants, licenses, resellers);
    };

    let renew = async {
        if !config.leader_election {
            return std::future::pending::<Result<(), RunError>>().await;
        }
        loop {
            tokio::time::sleep(Duration::from_secs(config.lease_seconds / 3 + 1)).await;
            match lock.try_acquire_or_renew().await {
                Ok(true) => {}
                Ok(false) => return Err(RunError::LostLease),
                Err(error) => tracing::warn!(%error, "leader election: renewal failed; retrying"),
            }
        }
    };
    let outcome = tokio::select! {
        _ = controllers => Ok(()),
        lost = renew => lost,
    };
    metrics.leader.store(false, Ordering::Relaxed);
    if config.leader_election
        && outcome.is_ok()
        && let Err(error) = lock.release().await
    {
        tracing::warn!(%error, "could not release the leader Lease");
    }
    health.abort();
    tracing::info!("controller stopped");
    outcome
}
