//! The PluginLicense controller: reads the license's tenant, its siblings for the same tenant
//! and plugin, and its usage this month from the platform database, then writes the status
//! [`assess`] computes when it changed. The Tenant controller turns the licenses' granted
//! features into the tenant's entitlements.

pub mod watch;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use dotmac_contract::month::Month;
use k8s_openapi::jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType},
        reflector::ObjectRef,
    },
};
use sea_orm::DbErr;

use super::{
    backoff::Failures,
    clock::until,
    report::{publish, status_patch},
    shared::Shared,
};
use dotmac_platform::{crd::PluginLicense, license as assess};

/// A license reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The platform database could not be read.
    #[error("reading usage from the platform database: {0}")]
    Usage(#[from] DbErr),
    /// Writing the status failed.
    #[error("writing the license status: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// A short machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Usage(_) => "UsageUnavailable",
            Error::Kube(_) => "ApiError",
        }
    }
}

/// What a license reconcile needs: the shared clients and caches (tenants, to see whether
/// `tenantRef` exists; every license, for conflicts; the database, for usage rollups).
pub struct Context {
    /// Clients, caches, catalog.
    pub shared: Arc<Shared>,
    /// How often a metered license's usage is read again.
    pub usage_poll: Duration,
    /// Consecutive failures per license.
    pub failures: Failures,
}

/// Reconciles one license.
#[tracing::instrument(skip_all, fields(license = %license.name_any(), tenant = %license.spec.tenant_ref))]
pub async fn reconcile(license: Arc<PluginLicense>, ctx: Arc<Context>) -> Result<Action, Error> {
    let metrics = ctx.shared.metrics.clone();
    metrics
        .license
        .measure(update(license, ctx), |e| e.reason().to_owned())
        .await
}

/// Assesses the license and writes its status when it changed.
async fn update(license: Arc<PluginLicense>, ctx: Arc<Context>) -> Result<Action, Error> {
    if license.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    // Conflicts and the tenant's existence are only known once both caches are full.
    let tenants = ctx.shared.tenants.synced().await;
    let siblings = ctx.shared.licenses.synced().await.state();
    let now = Timestamp::now();
    let tenant_exists = tenants
        .get(&ObjectRef::new(&license.spec.tenant_ref))
        .is_some_and(|t| t.metadata.deletion_timestamp.is_none());
    let holder = assess::holder(&license, siblings.iter().map(AsRef::as_ref), now)
        .and_then(|h| h.metadata.name.clone());
    let catalog = ctx.shared.plugins.current();
    let metered = catalog
        .find(&license.spec.plugin)
        .is_some_and(|p| !p.metrics.is_empty());
    let usage = if metered && tenant_exists {
        dotmac_metering::period_usage(
            &ctx.shared.db,
            &license.spec.tenant_ref,
            &license.spec.plugin,
            &Month::of(now).label(),
        )
        .await?
    } else {
        BTreeMap::new()
    };
    let assessment = assess::assess(
        &license,
        &assess::Facts {
            now,
            tenant_exists,
            holder: holder.as_deref(),
            usage: &usage,
            catalog: &catalog,
        },
    );
    if license.status.as_ref() != Some(&assessment.status) {
        Api::<PluginLicense>::all(ctx.shared.client.clone())
            .patch_status(
                &license.name_any(),
                &PatchParams::default(),
                &Patch::Merge(status_patch(license.status.as_ref(), &assessment.status)),
            )
            .await?;
        announce(&license, &assessment.status, &ctx).await;
    }
    ctx.failures.succeeded(&license.name_any());
    let until_clock = until(now, assessment.next_change);
    let mut wait = until_clock.min(ctx.shared.resync);
    if assessment.metered {
        wait = wait.min(ctx.usage_poll);
    }
    Ok(Action::requeue(wait))
}

/// Publishes an Event and a log line when the state or the Ready reason changed.
async fn announce(
    license: &PluginLicense,
    status: &dotmac_platform::crd::PluginLicenseStatus,
    ctx: &Context,
) {
    let ready = |s: Option<&dotmac_platform::crd::PluginLicenseStatus>| {
        s.and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    let before = ready(license.status.as_ref());
    let Some((granting, reason, message)) = ready(Some(status)) else {
        return;
    };
    let before_state = license.status.as_ref().and_then(|s| s.state);
    if before.as_ref().map(|b| &b.1) == Some(&reason) && before_state == status.state {
        return;
    }
    tracing::info!(tenant = %license.spec.tenant_ref, plugin = %license.spec.plugin, state = ?status.state, %reason, "license changed");
    let type_ = if granting == "True" {
        EventType::Normal
    } else {
        EventType::Warning
    };
    let event = Event {
        type_,
        reason: reason.clone(),
        note: Some(message),
        action: "Assess".into(),
        secondary: None,
    };
    publish(&ctx.shared.recorder, license, event).await;
}

/// Retries with exponential backoff per license.
pub fn error_policy(license: Arc<PluginLicense>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = license.name_any();
    let delay = ctx.failures.failed(&name);
    tracing::warn!(tenant = %license.spec.tenant_ref, license = %name, %error, reason = error.reason(), retry_in = ?delay, "license reconcile failed");
    Action::requeue(delay)
}
