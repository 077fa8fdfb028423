//! The Reseller controller: counts a reseller's tenants, computes its monthly recurring revenue
//! and commission ([`summary`]), records the month's accrual in the platform database's
//! commission ledger, and reports `maxTenants` and `allowedPlans` breaches (tenants applied with
//! kubectl bypass the API's checks) as conditions.

pub mod watch;

use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType},
    },
};
use sea_orm::DbErr;

use super::{
    backoff::Failures,
    clock::until,
    report::{publish, status_patch},
    shared::Shared,
};
use dotmac_contract::month::Month;
use dotmac_metering::commissions::Accrual;
use dotmac_platform::{
    catalog,
    crd::{PluginLicense, Reseller, ResellerStatus},
    reseller as summary,
};

/// A reseller reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The commission ledger could not be written.
    #[error("recording the commission: {0}")]
    Ledger(#[from] DbErr),
    /// Writing the status failed.
    #[error("writing the reseller status: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// A short machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Ledger(_) => "LedgerUnavailable",
            Error::Kube(_) => "ApiError",
        }
    }
}

/// What a reseller reconcile needs: the shared clients and caches (the database, for the
/// commission ledger; the catalog, for tier prices).
pub struct Context {
    /// Clients, caches, catalog.
    pub shared: Arc<Shared>,
    /// Consecutive failures per reseller.
    pub failures: Failures,
}

/// Reconciles one reseller.
#[tracing::instrument(skip_all, fields(reseller = %reseller.name_any()))]
pub async fn reconcile(reseller: Arc<Reseller>, ctx: Arc<Context>) -> Result<Action, Error> {
    let metrics = ctx.shared.metrics.clone();
    metrics
        .reseller
        .measure(update(reseller, ctx), |e| e.reason().to_owned())
        .await
}

/// Summarises the reseller's tenants, records the month's commission and writes the status
/// when it changed.
async fn update(reseller: Arc<Reseller>, ctx: Arc<Context>) -> Result<Action, Error> {
    if reseller.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let tenants = ctx.shared.tenants.synced().await.state();
    let licenses = ctx.shared.licenses.synced().await.state();
    let name = reseller.name_any();
    let now = Timestamp::now();
    let license_refs: Vec<&PluginLicense> = licenses.iter().map(AsRef::as_ref).collect();
    let summary = summary::summarise(
        &reseller,
        tenants.iter().map(AsRef::as_ref),
        &license_refs,
        &ctx.shared.plugins.current(),
    );
    let accrual = Accrual {
        reseller: name.clone(),
        period: Month::of(now).label(),
        currency: catalog::CURRENCY.into(),
        tenants: summary.lines.len() as i64,
        mrr_minor: summary.mrr,
        rate_percent: summary.rate.to_string(),
        commission_minor: summary.commission,
        lines: serde_json::to_value(&summary.lines).unwrap_or_default(),
    };
    let recorded = dotmac_metering::commissions::record(&ctx.shared.db, &accrual).await;
    if let Ok(true) = recorded {
        tracing::info!(reseller = %name, period = %accrual.period, mrr = accrual.mrr_minor, commission = accrual.commission_minor, "commission accrued");
    }
    let ledger_error = recorded.as_ref().err().map(ToString::to_string);
    let status = summary::status(&reseller, &summary, ledger_error.as_deref(), &now);
    if reseller.status.as_ref() != Some(&status) {
        Api::<Reseller>::all(ctx.shared.client.clone())
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(status_patch(reseller.status.as_ref(), &status)),
            )
            .await?;
        announce(&reseller, &status, &ctx).await;
    }
    recorded?;
    ctx.failures.succeeded(&name);
    let until_month_end = until(now, Month::of(now).end());
    Ok(Action::requeue(until_month_end.min(ctx.shared.resync)))
}

/// Publishes a Warning Event when a limit condition turns True, a Normal one when it clears.
async fn announce(reseller: &Reseller, status: &ResellerStatus, ctx: &Context) {
    for condition in &status.conditions {
        if condition.type_ == "Ready" {
            continue;
        }
        let before = reseller
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == condition.type_))
            .map(|c| c.status.as_str());
        let now_true = condition.status == "True";
        if before == Some(condition.status.as_str()) || (before.is_none() && !now_true) {
            continue;
        }
        tracing::info!(reseller = %reseller.name_any(), condition = %condition.type_, status = %condition.status, message = %condition.message, "reseller condition changed");
        let event = Event {
            type_: if now_true {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: condition.reason.clone(),
            note: Some(condition.message.clone()),
            action: "Count".into(),
            secondary: None,
        };
        publish(&ctx.shared.recorder, reseller, event).await;
    }
}

/// Retries with exponential backoff per reseller.
pub fn error_policy(reseller: Arc<Reseller>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = reseller.name_any();
    let delay = ctx.failures.failed(&name);
    tracing::warn!(reseller = %name, %error, reason = error.reason(), retry_in = ?delay, "reseller reconcile failed");
    Action::requeue(delay)
}
