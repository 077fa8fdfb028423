//! The operator's controllers and their runtime: leader election, the health and metrics
//! server, and the watches of the Tenant, PluginLicense and Reseller controllers.

pub mod backoff;
pub mod clock;
pub mod health;
pub mod leader;
pub mod license;
pub mod metrics;
pub mod report;
pub mod reseller;
pub mod shared;
pub mod tenant;
pub mod watches;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use kube::{
    Api, Client,
    runtime::{
        events::{Recorder, Reporter},
        reflector,
    },
};

use crate::config::ControllerConfig;
use dotmac_platform::{
    crd::{PluginLicense, Tenant},
    plugins::source::PluginCatalog,
};

/// The controller could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The Tenant CRD is not installed.
    #[error("the Tenant CRD is not installed (apply crds/ first): {0}")]
    CrdMissing(kube::Error),
    /// Tenants cannot be listed: not allowed (RBAC), or the API server fails.
    #[error("listing Tenants: {0}")]
    Tenants(kube::Error),
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

/// Logs a controller's failed event (the error policy has already logged the reason).
async fn log_errors<T, E: std::fmt::Display>(result: Result<T, E>) {
    if let Err(error) = result {
        tracing::debug!(%error, "controller event");
    }
}

/// Resolves on Ctrl-C or SIGTERM: the controllers' graceful shutdown.
async fn shutdown_signal() {
    dotmac_web::shutdown::requested().await;
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
    Api::<Tenant>::all(client.clone())
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .map_err(|error| match &error {
            kube::Error::Api(status) if status.code == 404 => RunError::CrdMissing(error),
            _ => RunError::Tenants(error),
        })?;
    let data_plane = tenant::dataplane::DataPlane::from_config(&config.data_plane).await?;
    if data_plane.is_none() {
        tracing::warn!(
            "the data plane is off (no DOTMAC_POSTGRES_ADMIN_URL etc.): tenants get no database, Redis user or OpenBao namespace"
        );
    }
    let metrics = Arc::new(metrics::Metrics::default());
    let health = tokio::spawn(health::serve(config.health_listen, metrics.clone()));

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
        if !lock.acquire().await {
            health.abort();
            return Ok(());
        }
        tracing::info!(%identity, "became the leader");
        // The leader's readiness is its tenant cache's sync.
        metrics.ready.store(false, Ordering::Relaxed);
    }
    metrics.leader.store(true, Ordering::Relaxed);

    let controllers = controllers(
        client,
        &config,
        platform,
        plugins,
        data_plane,
        identity,
        metrics.clone(),
    );
    let outcome = tokio::select! {
        () = controllers => Ok(()),
        () = lock.hold(), if config.leader_election => Err(RunError::LostLease),
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

/// The three controllers over one tenant cache and one license cache, until shutdown.
async fn controllers(
    client: Client,
    config: &ControllerConfig,
    platform: sea_orm::DatabaseConnection,
    plugins: PluginCatalog,
    data_plane: Option<tenant::dataplane::DataPlane>,
    identity: String,
    metrics: Arc<metrics::Metrics>,
) {
    let (tenant_store, tenant_writer) = reflector::store::<Tenant>();
    // Set once: a replica leads at most once in its life (it exits when it loses the Lease).
    let _ = metrics.tenants.set(tenant_store.clone());
    let (tenants, tenant_mark) = dotmac_platform::cache::Cache::new(tenant_store.clone());
    let (license_store, license_writer) = reflector::store::<PluginLicense>();
    let (licenses, license_mark) = dotmac_platform::cache::Cache::new(license_store);
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "dotmac-operator".into(),
            instance: Some(identity),
        },
    );
    let shared = Arc::new(shared::Shared {
        client: client.clone(),
        db: platform.clone(),
        tenants,
        licenses: licenses.clone(),
        plugins,
        recorder: recorder.clone(),
        resync: config.resync(),
        metrics: metrics.clone(),
    });
    let license_context = Arc::new(license::Context {
        shared: shared.clone(),
        usage_poll: Duration::from_secs(config.usage_poll_seconds.max(1)),
        failures: Default::default(),
    });
    let reseller_context = Arc::new(reseller::Context {
        shared,
        failures: Default::default(),
    });
    let tenant_context = Arc::new(tenant::Context {
        client: client.clone(),
        config: config.clone(),
        recorder,
        applied: tenant::apply::AppliedCache::default(),
        metrics,
        data_plane,
        failures: Default::default(),
        licenses,
        platform,
    });
    tokio::join!(
        tenant::watch::run(
            client.clone(),
            tenant_writer,
            tenant_mark,
            tenant_context,
            config.concurrency
        ),
        license::watch::run(
            client.clone(),
            license_writer,
            license_mark,
            license_context,
            config.concurrency
        ),
        reseller::watch::run(client, tenant_store, reseller_context),
    );
}
