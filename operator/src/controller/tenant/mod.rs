//! The Tenant reconciler, as named steps: kube-runtime's finalizer helper holds the
//! `platform.dotmac.io/cleanup` finalizer; [`observe`] reads what the objects depend on;
//! [`build::desired`] builds them (pure); [`converge`] applies them and prunes what is no longer
//! wanted; [`status`] computes the status, written only when it changed. A deleted Tenant runs
//! [`cleanup`] instead.

pub mod apply;
pub mod build;
pub mod cleanup;
pub mod converge;
pub mod dataplane;
pub mod names;
pub mod observe;
pub mod owner;
pub mod removal;
pub mod status;
pub mod watch;

use std::{sync::Arc, time::Duration};

use k8s_openapi::jiff::Timestamp;
use kube::{
    Api, Client, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder},
        finalizer::{self, finalizer},
    },
};

use self::{apply::AppliedCache, names::FINALIZER, observe::Observation, status::Observed};
use crate::{
    config::ControllerConfig,
    controller::backoff::{Failures, jitter},
};
use dotmac_platform::{
    catalog,
    crd::{Tenant, TenantStatus, tenant::TenantPhase},
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
    /// The instance's management-API token could not be recorded or revoked in the platform
    /// database.
    #[error(
        "the instance's management-API token could not be {action} in the platform database: {source}"
    )]
    InstanceToken {
        /// `recorded` or `revoked`.
        action: &'static str,
        /// Why.
        source: sea_orm::DbErr,
    },
    /// The deleted tenant's namespace is still terminating; the finalizer stays until it is gone.
    #[error("the namespace {0} is still being deleted")]
    NamespaceTerminating(String),
    /// The finalizer helper refused the object (it has no name, or the finalizer's JSON
    /// pointer is invalid): a Tenant read from the API always has a name.
    #[error("the cleanup finalizer cannot be handled: {0}")]
    Finalizer(String),
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
            Error::InstanceToken { .. } => "PlatformDatabaseFailed".into(),
            Error::NamespaceTerminating(_) => "NamespaceTerminating".into(),
            Error::Finalizer(_) => "FinalizerRefused".into(),
        }
    }

    /// The finalizer helper's error as the step's own.
    fn from_finalizer(error: finalizer::Error<Error>) -> Self {
        match error {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
            finalizer::Error::AddFinalizer(source) => Error::Kube {
                action: "add the cleanup finalizer".into(),
                source,
            },
            finalizer::Error::RemoveFinalizer(source) => Error::Kube {
                action: "remove the cleanup finalizer".into(),
                source,
            },
            other @ (finalizer::Error::UnnamedObject | finalizer::Error::InvalidFinalizer) => {
                Error::Finalizer(other.to_string())
            }
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
    pub licenses: dotmac_platform::cache::Cache<dotmac_platform::crd::PluginLicense>,
    /// The platform database, where each instance's management-API token is recorded.
    pub platform: sea_orm::DatabaseConnection,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

async fn event(ctx: &Context, tenant: &Tenant, type_: EventType, reason: &str, note: String) {
    event_of(ctx, tenant, type_, reason, reason, note).await;
}

/// An event whose `action` differs from its reason: the recorder folds events of one reason and
/// action into a series that keeps the first note, so events that say different things (a
/// repair of each part) need actions of their own.
async fn event_of(
    ctx: &Context,
    tenant: &Tenant,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: None,
    };
    crate::controller::report::publish(&ctx.recorder, tenant, event).await;
}

/// Reconciles one Tenant.
#[tracing::instrument(skip_all, fields(tenant = %tenant.name_any()))]
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    tracing::debug!(tenant = %tenant.name_any(), version = ?tenant.metadata.resource_version, "reconciling");
    let tenants: Api<Tenant> = Api::all(ctx.client.clone());
    let work = async {
        finalizer(&tenants, FINALIZER, tenant.clone(), |event| async {
            match event {
                finalizer::Event::Apply(tenant) => provision(&tenant, &ctx).await,
                finalizer::Event::Cleanup(tenant) => cleanup::cleanup(&tenant, &ctx).await,
            }
        })
        .await
        .map_err(Error::from_finalizer)
    };
    let result = ctx.metrics.tenant.measure(work, Error::reason).await;
    if let Ok(action) = &result {
        ctx.failures.succeeded(&tenant.name_any());
        tracing::debug!(tenant = %tenant.name_any(), ?action, "reconciled");
    }
    result
}

/// Exponential backoff with jitter per tenant: 1 s, 2 s, 4 s … up to 5 minutes. A namespace
/// still terminating is no failure: it is looked at again every second.
pub fn error_policy(tenant: Arc<Tenant>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = tenant.name_any();
    if let Error::NamespaceTerminating(namespace) = error {
        tracing::debug!(tenant = %name, %namespace, "waiting for the namespace to go");
        return Action::requeue(Duration::from_secs(1));
    }
    let delay = ctx.failures.failed(&name);
    tracing::warn!(tenant = %name, %error, reason = error.reason(), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The apply branch: observe, build, apply and prune, then the status.
async fn provision(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let (mut observed, inputs) = match observe::observe(tenant, ctx).await? {
        Observation::Held(observed) => {
            write_status(tenant, ctx, &observed).await?;
            return Ok(Action::requeue(Duration::from_secs(60)));
        }
        Observation::Blocked(observed, error) => {
            write_status(tenant, ctx, &observed).await?;
            return Err(error);
        }
        Observation::Ready(observed, inputs) => (observed, inputs),
    };
    let desired = build::desired(tenant, &ctx.config, &inputs);
    let live = match converge::apply_all(ctx, &desired).await {
        Ok(live) => live,
        Err(error) => {
            observed.failure = Some((error.reason(), error.to_string()));
            write_status(tenant, ctx, &observed).await?;
            return Err(error);
        }
    };
    converge::prune_unwanted(tenant, ctx, &desired).await?;
    converge::read_live(&mut observed, &live);
    let status = write_status(tenant, ctx, &observed).await?;
    Ok(match status.phase {
        Some(TenantPhase::Ready | TenantPhase::Suspended) => {
            let next = ctx.config.recheck(ctx.data_plane.is_some());
            Action::requeue(next + jitter(next / 10, &tenant.name_any()))
        }
        _ => Action::requeue(Duration::from_secs(10)),
    })
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
    for repaired in status::repairs(tenant.status.as_ref(), &status) {
        tracing::warn!(tenant = %tenant.name_any(), condition = %repaired.type_, message = %repaired.message, "lost backend state repaired");
        let note = format!("{}: {}", repaired.type_, repaired.message);
        let action = format!("Repair{}", repaired.type_);
        event_of(
            ctx,
            tenant,
            EventType::Warning,
            status::REPAIRED,
            &action,
            note,
        )
        .await;
    }
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
