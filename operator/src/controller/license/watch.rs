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
use crate::controller::{log_errors, shutdown_signal, watches::resilient};
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
    let watches = context.shared.metrics.watches.clone();
    let licenses = |config, name| {
        resilient(
            Api::<PluginLicense>::all(client.clone()),
            config,
            name,
            watches.clone(),
        )
    };
    let stream = licenses(watcher::Config::default().any_semantic(), "license")
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
        .watches_stream(
            resilient(
                Api::<Tenant>::all(client.clone()),
                watcher::Config::default(),
                "license",
                watches.clone(),
            )
            .touched_objects(),
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
        .watches_stream(
            // Its own watch (named apart), since the primary one only queues the license itself.
            licenses(watcher::Config::default(), "license-siblings").touched_objects(),
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
