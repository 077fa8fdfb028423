//! What the PluginLicense and Reseller reconciles both read: the cluster, the platform
//! database, the tenant and license caches and the plugin catalog.

use std::{sync::Arc, time::Duration};

use kube::{Client, runtime::events::Recorder};
use sea_orm::DatabaseConnection;

use super::metrics::Metrics;
use dotmac_platform::{
    cache::Cache,
    crd::{PluginLicense, Tenant},
    plugins::source::PluginCatalog,
};

/// Clients, caches and settings shared by the license and reseller controllers.
pub struct Shared {
    /// The Kubernetes client.
    pub client: Client,
    /// The platform database: usage rollups and the commission ledger.
    pub db: DatabaseConnection,
    /// Every Tenant.
    pub tenants: Cache<Tenant>,
    /// Every PluginLicense.
    pub licenses: Cache<PluginLicense>,
    /// The plugin catalog in force.
    pub plugins: PluginCatalog,
    /// Event publisher.
    pub recorder: Recorder,
    /// Longest time between two reconciles of one object.
    pub resync: Duration,
    /// Reconcile metrics.
    pub metrics: Arc<Metrics>,
}
