//! What tenant instances report: usage events (`POST /plugins/usage-events`, batches of up to
//! 1,000, each event once by its idempotency key) and health (`POST /monitoring/health-checks`,
//! the latest also in the Tenant's `status.health`: a change of state at once, the same state at
//! most every 30 s per tenant).

use std::time::{Duration, Instant};

use aide::axum::{ApiRouter, routing::post_with};
use axum::{Extension, Json, extract::State};
use dotmac_contract::reporting::{
    Alert, AlertRecorded, HealthReport, Ingested, MAX_BATCH, MetricsBatch, UsageBatch,
};
use dotmac_web::{Acknowledged, Created, Recorded, extract::Body, problem::Problem};
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;

use super::{
    AppState,
    access::{Callers, doc},
    db_error,
    tenants::visible,
    tokens::Principal,
};
use dotmac_metering::{UsageEvent, entity::health_check};
use dotmac_platform::crd::Tenant;

/// Least time between two health writes to one Tenant's status.
const HEALTH_WRITE_INTERVAL: Duration = Duration::from_secs(30);

fn identifier(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}

/// The tenant a report is for: a tenant token's own (naming another is 403), or the one an
/// admin names. Resellers do not report.
fn reporting_tenant(
    principal: &Principal,
    named: Option<&str>,
    field: &str,
) -> Result<String, Problem> {
    match (principal, named) {
        (Principal::Tenant(own), None) => Ok(own.clone()),
        (Principal::Tenant(own), Some(named)) if named == own => Ok(own.clone()),
        (Principal::Tenant(_), Some(_)) => Err(Problem::forbidden(
            "a tenant token reports only for its own tenant",
        )
        .with_field(field)),
        (Principal::Admin, Some(named)) => Ok(named.to_owned()),
        (Principal::Admin, None) => Err(Problem::invalid(field, "name the tenant")),
        (Principal::Reseller(_), _) => Err(Problem::forbidden(
            "reseller tokens do not report usage or health",
        )),
    }
}

async fn usage(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Body(batch): Body<UsageBatch>,
) -> Result<Json<Ingested>, Problem> {
    if batch.events.is_empty() || batch.events.len() > MAX_BATCH {
        return Err(Problem::invalid(
            "events",
            format!("send 1 to {MAX_BATCH} events"),
        ));
    }
    let mut events = Vec::with_capacity(batch.events.len());
    for (i, event) in batch.events.into_iter().enumerate() {
        let at = |field: &str| format!("events[{i}].{field}");
        let key = event.idempotency_key.as_bytes();
        if key.is_empty() || key.len() > 255 || !key.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(Problem::invalid(
                at("idempotency_key"),
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        if !identifier(&event.metric) {
            return Err(Problem::invalid(
                at("metric"),
                "must be a lowercase identifier",
            ));
        }
        let plugin = event.plugin.unwrap_or_else(|| "core".to_owned());
        if !identifier(&plugin) {
            return Err(Problem::invalid(
                at("plugin"),
                "must be a lowercase identifier",
            ));
        }
        if !event.quantity.is_finite() || event.quantity < 0.0 {
            return Err(Problem::invalid(
                at("quantity"),
                "must be a finite number, not negative",
            ));
        }
        let tenant = reporting_tenant(&principal, event.tenant.as_deref(), &at("tenant"))?;
        events.push(UsageEvent {
            idempotency_key: event.idempotency_key,
            tenant,
            plugin,
            metric: event.metric,
            quantity: event.quantity,
            occurred_at: event.occurred_at,
        });
    }
    let ingested = dotmac_metering::ingest(&state.db, &events)
        .await
        .map_err(db_error)?;
    Ok(Json(ingested))
}

async fn health(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Body(report): Body<HealthReport>,
) -> Result<Acknowledged, Problem> {
    let tenant = reporting_tenant(&principal, report.tenant.as_deref(), "tenant")?;
    if report
        .message
        .as_ref()
        .is_some_and(|m| m.chars().count() > 500)
    {
        return Err(Problem::invalid(
            "message",
            "must be at most 500 characters",
        ));
    }
    visible(&state, &principal, &tenant).await?;
    let now = chrono::Utc::now();
    let reported_at = report.reported_at.unwrap_or(now);
    health_check::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        tenant: Set(tenant.clone()),
        status: Set(report.status.as_str().to_owned()),
        checks: Set(serde_json::Value::Object(report.checks)),
        version: Set(report.version),
        reported_at: Set(reported_at),
        received_at: Set(now),
    }
    .insert(&state.db)
    .await
    .map_err(db_error)?;
    let due = {
        let mut writes = state
            .health_writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A change of state is written at once; the same state at most every interval.
        let due = writes.get(&tenant).is_none_or(|(at, state)| {
            *state != report.status || at.elapsed() >= HEALTH_WRITE_INTERVAL
        });
        if due {
            writes.insert(tenant.clone(), (Instant::now(), report.status));
        }
        due
    };
    if due {
        let health = json!({"status": {"health": {"status": report.status, "checkedAt": reported_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "message": report.message}}});
        if let Err(error) = Api::<Tenant>::all(state.client.clone())
            .patch_status(&tenant, &PatchParams::default(), &Patch::Merge(health))
            .await
        {
            tracing::warn!(%tenant, %error, "writing the health report to the Tenant's status failed");
        }
    }
    Ok(Acknowledged)
}

async fn alert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Body(input): Body<Alert>,
) -> Result<Recorded<AlertRecorded>, Problem> {
    let tenant = reporting_tenant(&principal, input.tenant.as_deref(), "tenant")?;
    if !identifier(&input.name) {
        return Err(Problem::invalid("name", "must be a lowercase identifier"));
    }
    let length = input.message.chars().count();
    if length == 0 || length > 1000 {
        return Err(Problem::invalid("message", "must be 1 to 1,000 characters"));
    }
    visible(&state, &principal, &tenant).await?;
    let report = dotmac_metering::AlertReport {
        tenant,
        name: input.name,
        severity: input.severity.as_str().to_owned(),
        message: input.message,
    };
    let count = dotmac_metering::record_alert(&state.db, &report)
        .await
        .map_err(db_error)?;
    let recorded = AlertRecorded { count };
    Ok(if count == 1 {
        Recorded::New(Created::unlocated(recorded))
    } else {
        Recorded::Replayed(recorded)
    })
}

async fn metrics(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Body(input): Body<MetricsBatch>,
) -> Result<Acknowledged, Problem> {
    let tenant = reporting_tenant(&principal, input.tenant.as_deref(), "tenant")?;
    if input.samples.is_empty() || input.samples.len() > MAX_BATCH {
        return Err(Problem::invalid(
            "samples",
            format!("send 1 to {MAX_BATCH} samples"),
        ));
    }
    let now = chrono::Utc::now();
    let mut samples = Vec::with_capacity(input.samples.len());
    for (i, sample) in input.samples.into_iter().enumerate() {
        if !identifier(&sample.name) {
            return Err(Problem::invalid(
                format!("samples[{i}].name"),
                "must be a lowercase identifier",
            ));
        }
        if !sample.value.is_finite() {
            return Err(Problem::invalid(
                format!("samples[{i}].value"),
                "must be a finite number",
            ));
        }
        samples.push((sample.name, sample.value, sample.at.unwrap_or(now)));
    }
    visible(&state, &principal, &tenant).await?;
    dotmac_metering::record_metrics(&state.db, &tenant, &samples)
        .await
        .map_err(db_error)?;
    Ok(Acknowledged)
}

/// Reporting routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "reporting";
    ApiRouter::new()
        .api_route(
            "/plugins/usage-events",
            post_with(
                usage,
                doc(
                    TAG,
                    Callers::Instances,
                    "Report usage events (idempotent per key)",
                ),
            ),
        )
        .api_route(
            "/monitoring/health-checks",
            post_with(
                health,
                doc(TAG, Callers::Instances, "Report an instance's health"),
            ),
        )
        .api_route(
            "/monitoring/alerts",
            post_with(
                alert,
                doc(
                    TAG,
                    Callers::Instances,
                    "Report an alert (the same name within an hour counts up)",
                ),
            )
            .get_with(
                crate::alerts::list,
                doc(
                    TAG,
                    Callers::People,
                    "List alerts, newest first (a reseller: its tenants')",
                ),
            ),
        )
        .api_route(
            "/monitoring/metrics",
            post_with(
                metrics,
                doc(TAG, Callers::Instances, "Report metric samples"),
            ),
        )
}
