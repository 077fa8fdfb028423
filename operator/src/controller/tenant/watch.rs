//! What the Tenant controller watches, and the controller itself: the Tenants (through the
//! shared reflector), every kind of object it creates for them, their resellers and their
//! licenses.

use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount},
    networking::v1::{Ingress, NetworkPolicy},
    policy::v1::PodDisruptionBudget,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{
        Controller, WatchStreamExt,
        controller::Config as ControllerSettings,
        predicates,
        reflector::{ObjectRef, store::Writer},
        watcher,
    },
};
use serde::de::DeserializeOwned;

use super::{Context, build::Kind, names::MANAGED_BY, owner};
use crate::controller::{
    log_errors, shutdown_signal,
    watches::{Watches, resilient},
};
use dotmac_platform::{
    cache::SyncMark,
    crd::{PluginLicense, Reseller, Tenant},
};

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

/// Adds a watch on every `K` the operator manages; a change or deletion of one queues the
/// Tenant that controls it.
fn owned<K>(
    controller: Controller<Tenant>,
    client: &Client,
    watches: &Arc<Watches>,
) -> Controller<Tenant>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync,
    K: 'static,
{
    let managed = watcher::Config::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
    let stream = resilient(
        Api::<K>::all(client.clone()),
        managed,
        "tenant",
        watches.clone(),
    );
    controller.watches_stream(stream.touched_objects(), owner::of)
}

/// Watches `kind`: the match is exhaustive, so a kind added to `build` cannot go unwatched.
fn watch(
    controller: Controller<Tenant>,
    client: &Client,
    watches: &Arc<Watches>,
    kind: Kind,
) -> Controller<Tenant> {
    let (c, w) = (client, watches);
    match kind {
        Kind::Namespace => owned::<Namespace>(controller, c, w),
        Kind::ServiceAccount => owned::<ServiceAccount>(controller, c, w),
        Kind::ConfigMap => owned::<ConfigMap>(controller, c, w),
        Kind::Secret => owned::<Secret>(controller, c, w),
        Kind::NetworkPolicy => owned::<NetworkPolicy>(controller, c, w),
        Kind::ResourceQuota => owned::<ResourceQuota>(controller, c, w),
        Kind::LimitRange => owned::<LimitRange>(controller, c, w),
        Kind::Deployment => owned::<Deployment>(controller, c, w),
        Kind::Service => owned::<Service>(controller, c, w),
        // The Service watch sees it.
        Kind::RadiusService => controller,
        Kind::Ingress => owned::<Ingress>(controller, c, w),
        Kind::HorizontalPodAutoscaler => owned::<HorizontalPodAutoscaler>(controller, c, w),
        Kind::PodDisruptionBudget => owned::<PodDisruptionBudget>(controller, c, w),
    }
}

/// Runs the Tenant controller until shutdown. `writer` fills the tenant cache that the other
/// controllers read; `mark` says when it holds its first full list.
pub async fn run(
    client: Client,
    writer: Writer<Tenant>,
    mark: SyncMark,
    context: Arc<Context>,
    concurrency: u16,
) {
    let synced = context.metrics.clone();
    let watches = context.metrics.watches.clone();
    let reader = writer.as_reader();
    let stream = resilient(
        Api::<Tenant>::all(client.clone()),
        watcher::Config::default().any_semantic(),
        "tenant",
        watches.clone(),
    )
    .modify(|t| {
        t.managed_fields_mut().clear();
    })
    .reflect(writer)
    .inspect(move |event| {
        // Ready once the first full list of Tenants is in the cache.
        if mark.observe(event)
            && !synced
                .ready
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::info!("tenant cache synced");
        }
    })
    .applied_objects()
    .predicate_filter(tenant_changes, Default::default());

    let by_reseller = reader.clone();
    // Every kind it creates, so a child deleted or edited by hand is put back at once. Not
    // `owns`: see `owner` for why children map to the Tenant themselves.
    let controller = Controller::for_stream(stream, reader)
        .with_config(ControllerSettings::default().concurrency(concurrency));
    Kind::ALL
        .into_iter()
        .fold(controller, |controller, kind| {
            watch(controller, &client, &watches, kind)
        })
        .watches_stream(
            resilient(
                Api::<Reseller>::all(client.clone()),
                watcher::Config::default(),
                "tenant",
                watches.clone(),
            )
            .touched_objects(),
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
        .watches_stream(
            resilient(
                Api::<PluginLicense>::all(client),
                watcher::Config::default(),
                "tenant",
                watches,
            )
            .touched_objects(),
            |license: PluginLicense| Some(ObjectRef::<Tenant>::new(&license.spec.tenant_ref)),
        )
        .graceful_shutdown_on(shutdown_signal())
        .run(super::reconcile, super::error_policy, context)
        .for_each(log_errors)
        .await;
}
