//! What the PluginLicense controller watches, and the controller itself: the licenses (through
//! the shared reflector), their siblings (conflicts), their tenants (a license for a tenant that
//! appears) and the plugin catalog.

use std::sync::Arc;

use futures_util::StreamExt;
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller, WatchStreamExt,
        controller::Config as ControllerSettings,
        reflector::{ObjectRef, store::Writer},
        watcher,
    },
};

use super::Context;
use crate::controller::{log_errors, shutdown_signal};
use dotmac_platform::{
    cache::SyncMark,
    crd::{PluginLicense, Tenant},
};

/// Runs the PluginLicense controller until shutdown. `writer` fills the license cache that the
/// Tenant and Reseller controllers read; `mark` says when it holds its first full list.
pub async fn run(
    client: Client,
    writer: Writer<PluginLicense>,
    mark: SyncMark,
    context: Arc<Context>,
    concurrency: u16,
) {
    let store = writer.as_reader();
    let stream = watcher(
        Api::<PluginLicense>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(|l| {
        l.managed_fields_mut().clear();
    })
    .reflect(writer)
    .inspect(move |event| {
        mark.observe(event);
    })
    .applied_objects();
    let of_tenant = store.clone();
    let siblings = store.clone();
    let catalog_changes = context.shared.plugins.changes();
    Controller::for_stream(stream, store)
        .with_config(ControllerSettings::default().concurrency(concurrency))
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
            Api::<PluginLicense>::all(client),
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
        .reconcile_all_on(catalog_changes)
        .graceful_shutdown_on(shutdown_signal())
        .run(super::reconcile, super::error_policy, context)
        .for_each(log_errors)
        .await;
}
