//! The Tenant reconciler: read → validate → build the desired objects (pure) → server-side
//! apply → prune → status. Deletion runs the cleanup behind the `platform.dotmac.io/cleanup`
//! finalizer: the namespace goes (and with it everything in it), then the finalizer.

pub mod apply;
pub mod build;
pub mod dataplane;
pub mod names;
pub mod owner;
pub mod status;
pub mod watch;

use std::{sync::Arc, time::Duration};

use k8s_openapi::jiff::Timestamp;
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder},
    },
};
use serde_json::{Value, json};

use self::{
    apply::AppliedCache,
    build::{Inputs, Kind},
    names::{APP, CREDENTIALS_SECRET, FINALIZER},
    status::Observed,
};
use crate::{
    catalog,
    config::ControllerConfig,
    controller::backoff::{Failures, jitter},
    crd::{Reseller, Tenant, TenantStatus, tenant::TenantPhase},
};

/// A reconcile step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data-plane part (PostgreSQL, Redis, OpenBao) is not in place.
    #[error("the tenant's {part} is not ready: {source}")]
    DataPlane {
        /// `database`, `cache` or `secrets`.
        part: &'static str,
        /// Why.
        source: crate::provision::ProvisionError,
    },
    /// A Kubernetes API call failed.
    #[error("failed to {action}: {source}")]
    Kube {
        /// What was being done.
        action: String,
        /// Why it failed.
        source: kube::Error,
    },
}

impl Error {
    /// A short machine-readable reason for metrics and conditions.
    pub fn reason(&self) -> String {
        match self {
            Error::DataPlane { source, .. } => source.reason(),
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 409 => "Conflict".into(),
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 422 => "Invalid".into(),
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 403 => "Forbidden".into(),
            Error::Kube {
                source: kube::Error::Api(_),
                ..
            } => "ApiError".into(),
            Error::Kube { .. } => "ApiUnreachable".into(),
        }
    }
}

fn kube_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}

/// Everything a reconcile needs.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Operator settings.
    pub config: ControllerConfig,
    /// Event publisher.
    pub recorder: Recorder,
    /// What was applied last.
    pub applied: AppliedCache,
    /// Metrics.
    pub metrics: Arc<crate::controller::metrics::Metrics>,
    /// The tenant's PostgreSQL, Redis and OpenBao, when configured.
    pub data_plane: Option<dataplane::DataPlane>,
    /// Consecutive failures per tenant, for exponential backoff.
    pub failures: Failures,
    /// Every PluginLicense, whose granted features join the tenant's entitlements.
    pub licenses: crate::controller::cache::Cache<crate::crd::PluginLicense>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

async fn event(ctx: &Context, tenant: &Tenant, type_: EventType, reason: &str, note: String) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    crate::controller::report::publish(&ctx.recorder, tenant, event).await;
}

/// Reconciles one Tenant.
#[tracing::instrument(skip_all, fields(tenant = %tenant.name_any()))]
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    tracing::debug!(tenant = %tenant.name_any(), version = ?tenant.metadata.resource_version, "reconciling");
    let work = async {
        if tenant.metadata.deletion_timestamp.is_some() {
            cleanup(&tenant, &ctx).await
        } else {
            provision(&tenant, &ctx).await
        }
    };
    let result = ctx.metrics.tenant.measure(work, Error::reason).await;
    if let Ok(action) = &result {
        ctx.failures.succeeded(&tenant.name_any());
        tracing::debug!(tenant = %tenant.name_any(), ?action, "reconciled");
    }
    result
}

/// Exponential backoff with jitter per tenant: 1 s, 2 s, 4 s … up to 5 minutes.
pub fn error_policy(tenant: Arc<Tenant>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = tenant.name_any();
    let delay = ctx.failures.failed(&name);
    tracing::warn!(tenant = %name, %error, reason = error.reason(), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn provision(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let name = tenant.name_any();
    let client = &ctx.client;
    let tenants: Api<Tenant> = Api::all(client.clone());

    if !tenant.finalizers().iter().any(|f| f == FINALIZER) {
        let mut list = tenant.finalizers().to_vec();
        list.push(FINALIZER.to_owned());
        let patch = json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": tenant.resource_version()},
            {"op": "add", "path": "/metadata/finalizers", "value": list},
        ]);
        let patch: json_patch::Patch = serde_json::from_value(patch).map_err(|e| Error::Kube {
            action: "build the finalizer patch".into(),
            source: kube::Error::SerdeError(e),
        })?;
        tenants
            .patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch))
            .await
            .map_err(kube_err("add the cleanup finalizer"))?;
        // The patch is a change the watch delivers; the next reconcile continues from there.
        return Ok(Action::await_change());
    }

    // Entitlements written from an empty cache would withdraw every licensed feature.
    let licenses = ctx.licenses.synced().await.state();
    let mut observed = Observed {
        wanted_replicas: build::wanted_replicas(tenant),
        licensed: catalog::licensed(licenses.iter().map(AsRef::as_ref), &name),
        ..Observed::default()
    };
    if let Some(reseller) = &tenant.spec.reseller_ref {
        let resellers: Api<Reseller> = Api::all(client.clone());
        if resellers
            .get_opt(reseller)
            .await
            .map_err(kube_err("read the reseller"))?
            .is_none()
        {
            observed.missing_reseller = Some(reseller.clone());
            write_status(tenant, ctx, &observed).await?;
            return Ok(Action::requeue(Duration::from_secs(60)));
        }
    }

    let namespace = names::namespace(&name);
    let inputs = match &ctx.data_plane {
        Some(data_plane) => {
            let provisioned = data_plane.provision(tenant).await;
            observed.data_plane = Some(status::DataPlaneState {
                database: part_state(&provisioned.database),
                cache: part_state(&provisioned.cache),
                secrets: part_state(&provisioned.secrets),
            });
            match provisioned.secret_data {
                Some(data) => Inputs {
                    credentials_hash: build::hash(&serde_json::to_value(&data).unwrap_or_default()),
                    credentials: Some(data),
                    licensed: observed.licensed.clone(),
                },
                None => {
                    write_status(tenant, ctx, &observed).await?;
                    let (part, source) = [
                        ("secrets", provisioned.secrets),
                        ("database", provisioned.database),
                        ("cache", provisioned.cache),
                    ]
                    .into_iter()
                    .find_map(|(part, r)| r.err().map(|e| (part, e)))
                    .unwrap_or((
                        "secrets",
                        crate::provision::ProvisionError::Failed {
                            backend: "OpenBao",
                            step: "provision",
                            message: "no credentials".into(),
                        },
                    ));
                    return Err(Error::DataPlane { part, source });
                }
            }
        }
        None => {
            // Without a data plane, the credentials Secret may be managed elsewhere; its
            // contents still roll the pods.
            let secrets: Api<k8s_openapi::api::core::v1::Secret> =
                Api::namespaced(client.clone(), &namespace);
            let credentials_hash = match secrets.get_opt(CREDENTIALS_SECRET).await {
                Ok(Some(secret)) => {
                    build::hash(&serde_json::to_value(&secret.data).unwrap_or_default())
                }
                _ => String::new(),
            };
            Inputs {
                credentials_hash,
                credentials: None,
                licensed: observed.licensed.clone(),
            }
        }
    };
    let desired = build::desired(tenant, &ctx.config, &inputs);
    let mut live = std::collections::HashMap::new();
    for object in &desired {
        let applied = apply::apply(client, &ctx.applied, object)
            .await
            .map_err(kube_err(format!("apply {:?} {}", object.kind, object.name)));
        match applied {
            Ok(value) => {
                live.insert(object.kind, value);
            }
            Err(error) => {
                observed.failure = Some((error.reason().to_owned(), error.to_string()));
                write_status(tenant, ctx, &observed).await?;
                return Err(error);
            }
        }
    }
    for kind in [
        Kind::Ingress,
        Kind::HorizontalPodAutoscaler,
        Kind::PodDisruptionBudget,
    ] {
        if !desired.iter().any(|d| d.kind == kind)
            && apply::prune(client, kind, &namespace, APP, &name)
                .await
                .map_err(kube_err(format!("prune {kind:?}")))?
        {
            tracing::info!(tenant = %name, ?kind, "pruned an object no longer desired");
        }
    }

    observed.namespace_active = live
        .get(&Kind::Namespace)
        .and_then(|ns| ns.pointer("/status/phase"))
        .and_then(Value::as_str)
        == Some("Active");
    if let Some(deployment) = live.get(&Kind::Deployment) {
        observed.ready_replicas = deployment
            .pointer("/status/readyReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(0) as i32;
        let generation = deployment
            .pointer("/metadata/generation")
            .and_then(Value::as_i64);
        observed.first_version = generation == Some(1);
        observed.rollout_observed = deployment
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
            >= generation;
    }
    let status = write_status(tenant, ctx, &observed).await?;
    match status.phase {
        Some(TenantPhase::Ready | TenantPhase::Suspended) => {
            let resync = ctx.config.resync();
            Ok(Action::requeue(resync + jitter(resync / 10, &name)))
        }
        _ => Ok(Action::requeue(Duration::from_secs(10))),
    }
}

/// A part's outcome as a condition: `Ok` or (reason, message).
fn part_state(part: &dataplane::Part) -> Result<(), (String, String)> {
    part.as_ref()
        .map(|_| ())
        .map_err(|e| (e.reason(), e.to_string()))
}

/// Computes the status and writes it only when it changed; publishes an event on a phase
/// transition.
async fn write_status(
    tenant: &Tenant,
    ctx: &Context,
    observed: &Observed,
) -> Result<TenantStatus, Error> {
    let entitlements =
        catalog::entitlements(&tenant.spec, observed.licensed.iter().map(String::as_str));
    let status = status::compute(
        tenant,
        observed,
        build::endpoint(tenant),
        entitlements,
        Timestamp::now(),
    );
    if tenant.status.as_ref() == Some(&status) {
        return Ok(status);
    }
    let tenants: Api<Tenant> = Api::all(ctx.client.clone());
    tenants
        .patch_status(
            &tenant.name_any(),
            &PatchParams::default(),
            &Patch::Merge(crate::controller::report::status_patch(
                tenant.status.as_ref(),
                &status,
            )),
        )
        .await
        .map_err(kube_err("write the status"))?;
    let before = tenant.status.as_ref().and_then(|s| s.phase);
    if before != status.phase {
        let (type_, reason) = match status.phase {
            Some(TenantPhase::Degraded) => (EventType::Warning, "Degraded"),
            Some(TenantPhase::Pending) => (EventType::Warning, "Blocked"),
            Some(TenantPhase::Ready) => (EventType::Normal, "Ready"),
            Some(TenantPhase::Suspended) => (EventType::Normal, "Suspended"),
            _ => (EventType::Normal, "Provisioning"),
        };
        let message = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.message.clone())
            .unwrap_or_default();
        event(ctx, tenant, type_, reason, message).await;
        tracing::info!(tenant = %tenant.name_any(), from = ?before, to = ?status.phase, "phase changed");
    }
    Ok(status)
}

async fn cleanup(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let name = tenant.name_any();
    if !tenant.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let tenants: Api<Tenant> = Api::all(ctx.client.clone());
    if tenant.status.as_ref().and_then(|s| s.phase) != Some(TenantPhase::Deleting) {
        let mut status = tenant.status.clone().unwrap_or_default();
        status.phase = Some(TenantPhase::Deleting);
        tenants
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
            .await
            .map_err(kube_err("mark the tenant Deleting"))?;
        event(
            ctx,
            tenant,
            EventType::Normal,
            "Deleting",
            "removing the tenant's objects and namespace".into(),
        )
        .await;
    }
    if let Some(data_plane) = &ctx.data_plane {
        data_plane
            .cleanup(tenant)
            .await
            .map_err(|source| Error::DataPlane {
                part: "data plane cleanup",
                source,
            })?;
    }
    let namespace = names::namespace(&name);
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.client.clone());
    match namespaces
        .get_opt(&namespace)
        .await
        .map_err(kube_err("read the namespace"))?
    {
        Some(ns) => {
            if ns.metadata.deletion_timestamp.is_none() {
                match namespaces
                    .delete(&namespace, &DeleteParams::background())
                    .await
                {
                    Ok(_) => {
                        tracing::info!(tenant = %name, %namespace, "namespace deletion requested")
                    }
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(kube_err("delete the namespace")(e)),
                }
            }
            // Namespace deletion takes a while in a real cluster; look again shortly.
            Ok(Action::requeue(Duration::from_secs(1)))
        }
        None => {
            ctx.applied.forget_namespace(&namespace);
            let rest: Vec<String> = tenant
                .finalizers()
                .iter()
                .filter(|f| *f != FINALIZER)
                .cloned()
                .collect();
            let patch: json_patch::Patch = serde_json::from_value(json!([
                {"op": "test", "path": "/metadata/finalizers", "value": tenant.finalizers()},
                {"op": "replace", "path": "/metadata/finalizers", "value": rest},
            ]))
            .map_err(|e| Error::Kube {
                action: "build the finalizer patch".into(),
                source: kube::Error::SerdeError(e),
            })?;
            match tenants
                .patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch))
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(kube_err("remove the cleanup finalizer")(e)),
            }
            tracing::info!(tenant = %name, "tenant cleaned up; finalizer released");
            Ok(Action::await_change())
        }
    }
}
