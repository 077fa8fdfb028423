//! What the Reseller controller watches, and the controller itself: the resellers, their
//! tenants (including the one a tenant just left) and those tenants' licenses, and the plugin
//! catalog (tier prices count in recurring revenue).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use futures_util::StreamExt;
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller,
        reflector::{ObjectRef, Store},
        watcher,
    },
};

use super::Context;
use crate::controller::{log_errors, shutdown_signal};
use dotmac_platform::crd::{PluginLicense, Reseller, Tenant};

/// Runs the Reseller controller until shutdown; `tenants` is the shared tenant cache.
pub async fn run(client: Client, tenants: Store<Tenant>, context: Arc<Context>) {
    // A tenant that moves to another reseller queues both: remember each tenant's last one.
    let last_reseller: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let catalog_changes = context.shared.plugins.changes();
    Controller::new(
        Api::<Reseller>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .watches(
        Api::<Tenant>::all(client.clone()),
        watcher::Config::default(),
        move |tenant: Tenant| {
            let mut last = last_reseller.lock().unwrap_or_else(PoisonError::into_inner);
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
        Api::<PluginLicense>::all(client),
        watcher::Config::default(),
        move |license: PluginLicense| {
            tenants
                .get(&ObjectRef::new(&license.spec.tenant_ref))
                .and_then(|t| t.spec.reseller_ref.clone())
                .map(|r| ObjectRef::new(&r))
        },
    )
    .reconcile_all_on(catalog_changes)
    .graceful_shutdown_on(shutdown_signal())
    .run(super::reconcile, super::error_policy, context)
    .for_each(log_errors)
    .await;
}
