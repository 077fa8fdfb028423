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
        Controller, WatchStreamExt,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};

use super::Context;
use crate::controller::{log_errors, shutdown_signal, watches::resilient};
use dotmac_platform::crd::{PluginLicense, Reseller, Tenant};

/// Runs the Reseller controller until shutdown; `tenants` is the shared tenant cache.
pub async fn run(client: Client, tenants: Store<Tenant>, context: Arc<Context>) {
    // A tenant that moves to another reseller queues both: remember each tenant's last one.
    let last_reseller: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let catalog_changes = context.shared.plugins.changes();
    let watches = context.shared.metrics.watches.clone();
    let (store, writer) = reflector::store::<Reseller>();
    let resellers = resilient(
        Api::<Reseller>::all(client.clone()),
        watcher::Config::default().any_semantic(),
        "reseller",
        watches.clone(),
    )
    .reflect(writer)
    .applied_objects();
    Controller::for_stream(resellers, store)
        .watches_stream(
            resilient(
                Api::<Tenant>::all(client.clone()),
                watcher::Config::default(),
                "reseller",
                watches.clone(),
            )
            .touched_objects(),
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
        .watches_stream(
            resilient(
                Api::<PluginLicense>::all(client),
                watcher::Config::default(),
                "reseller",
                watches,
            )
            .touched_objects(),
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
