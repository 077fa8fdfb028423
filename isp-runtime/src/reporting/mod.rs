//! Reporting to the management API: usage events (`api_calls`, `transactions`, `storage_gb`)
//! through a database outbox, and health reports ([`health`]) when the state changes and on an
//! interval.
//!
//! Events are written to `usage_outbox` (a payment's in the payment's own transaction), each
//! with an idempotency key, and a sender posts unsent ones in batches, marking them sent only
//! after the management API accepted them. While it is down nothing is lost; a batch resent
//! after a timeout carries the same keys, so nothing is counted twice.

pub mod entity;
pub mod health;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use dotmac_contract::reporting::{
    HEALTH_CHECKS_PATH, HealthReport, USAGE_EVENTS_PATH, UsageBatch, UsageEvent, metric,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, sea_query::Expr,
};

use crate::{db::new_id, reporting::entity::usage_event};

/// Events sent per request.
const BATCH: u64 = 500;

/// Where and how often to report.
#[derive(Debug, Clone)]
pub struct ReportingConfig {
    /// Base URL of the management API (`http://…:8000`).
    pub url: String,
    /// Bearer token of this tenant at the management API.
    pub token: Option<String>,
    /// How often usage is flushed and sent.
    pub usage_interval: Duration,
    /// How often health is reported.
    pub health_interval: Duration,
}

/// Counts authenticated API calls between flushes, per plugin (`None` for the platform's own).
#[derive(Debug, Clone, Default)]
pub struct ApiCalls(Arc<Mutex<BTreeMap<Option<String>, u64>>>);

impl ApiCalls {
    /// Counts one call against `plugin`.
    pub fn count(&self, plugin: Option<String>) {
        *self.lock().entry(plugin).or_default() += 1;
    }

    fn take(&self) -> BTreeMap<Option<String>, u64> {
        std::mem::take(&mut *self.lock())
    }

    fn give_back(&self, plugin: Option<String>, n: u64) {
        *self.lock().entry(plugin).or_default() += n;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Option<String>, u64>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Adds an event to the outbox unless its key is already there.
pub async fn record(
    db: &impl ConnectionTrait,
    key: String,
    plugin: Option<String>,
    metric: &str,
    quantity: f64,
) -> Result<(), DbErr> {
    let row = usage_event::Model {
        id: new_id(),
        idempotency_key: key,
        plugin,
        metric: metric.to_owned(),
        quantity,
        occurred_at: chrono::Utc::now(),
        sent_at: None,
    };
    usage_event::Entity::insert(sea_orm::IntoActiveModel::into_active_model(row))
        .on_conflict_do_nothing_on([usage_event::Column::IdempotencyKey])
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Moves the API call count into the outbox and records the database size once an hour.
///
/// The database size is measured once per hour (`measured` holds the hour last recorded); after
/// a restart the hour's idempotency key keeps a second measurement out.
async fn flush(
    db: &DatabaseConnection,
    tenant: &str,
    calls: &ApiCalls,
    measured: &mut Option<String>,
) -> Result<(), DbErr> {
    let mut counted = calls.take().into_iter();
    while let Some((plugin, n)) = counted.next() {
        let key = format!("{tenant}:{}:{}", metric::API_CALLS, new_id());
        if let Err(error) = record(db, key, plugin.clone(), metric::API_CALLS, n as f64).await {
            calls.give_back(plugin, n);
            for (plugin, n) in counted {
                calls.give_back(plugin, n);
            }
            return Err(error);
        }
    }
    let hour = chrono::Utc::now().format("%Y-%m-%dT%H").to_string();
    if measured.as_deref() == Some(hour.as_str()) {
        return Ok(());
    }
    let size = database_bytes(db).await?;
    record(
        db,
        format!("{tenant}:{}:{hour}", metric::STORAGE_GB),
        None,
        metric::STORAGE_GB,
        (size as f64 / 1e9 * 1e6).round() / 1e6,
    )
    .await?;
    *measured = Some(hour);
    Ok(())
}

async fn database_bytes(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT pg_database_size(current_database())",
        _ => "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0))
}

/// Sends unsent events until none are left or the management API refuses; returns how many
/// were delivered.
async fn send(
    db: &DatabaseConnection,
    http: &reqwest::Client,
    config: &ReportingConfig,
    tenant: &str,
) -> Result<u64, String> {
    let mut delivered = 0;
    loop {
        let batch = usage_event::Entity::find()
            .filter(usage_event::Column::SentAt.is_null())
            .order_by_asc(usage_event::Column::Id)
            .limit(BATCH)
            .all(db)
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            return Ok(delivered);
        }
        let events = batch
            .iter()
            .map(|e| UsageEvent {
                idempotency_key: e.idempotency_key.clone(),
                tenant: Some(tenant.to_owned()),
                plugin: e.plugin.clone(),
                metric: e.metric.clone(),
                quantity: e.quantity,
                occurred_at: e.occurred_at,
            })
            .collect();
        let mut request = http
            .post(format!("{}{USAGE_EVENTS_PATH}", config.url))
            .json(&UsageBatch { events });
        if let Some(token) = &config.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("usage events not delivered: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("usage events refused: HTTP {}", response.status()));
        }
        let ids: Vec<uuid::Uuid> = batch.iter().map(|e| e.id).collect();
        usage_event::Entity::update_many()
            .col_expr(usage_event::Column::SentAt, Expr::value(chrono::Utc::now()))
            .filter(usage_event::Column::Id.is_in(ids))
            .exec(db)
            .await
            .map_err(|e| e.to_string())?;
        delivered += batch.len() as u64;
    }
}

/// How often the instance checks its own health; a change is reported at once, an unchanged
/// state every `health_interval`.
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Starts the usage sender and the health reporter.
pub fn spawn(
    db: DatabaseConnection,
    tenant: String,
    config: ReportingConfig,
    calls: ApiCalls,
    checks: health::Checks,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    tokio::spawn(send_usage(
        db,
        tenant.clone(),
        config.clone(),
        http.clone(),
        calls,
    ));
    tokio::spawn(report_health(tenant, config, http, checks));
}

/// Flushes and sends usage every `usage_interval`, forever.
async fn send_usage(
    db: DatabaseConnection,
    tenant: String,
    config: ReportingConfig,
    http: reqwest::Client,
    calls: ApiCalls,
) {
    let mut tick = tokio::time::interval(config.usage_interval);
    let mut failing = false;
    let mut measured = None;
    loop {
        tick.tick().await;
        if let Err(error) = flush(&db, &tenant, &calls, &mut measured).await {
            tracing::warn!(%tenant, %error, "usage: writing the outbox failed");
        }
        match send(&db, &http, &config, &tenant).await {
            Ok(n) => {
                if n > 0 || failing {
                    tracing::info!(%tenant, delivered = n, "usage events delivered");
                }
                failing = false;
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(%tenant, %error, "usage: management API unavailable; events stay in the outbox");
                }
                failing = true;
            }
        }
    }
}

/// Checks health every few seconds and reports it when it changed, or when
/// `health_interval` passed since the last report.
async fn report_health(
    tenant: String,
    config: ReportingConfig,
    http: reqwest::Client,
    checks: health::Checks,
) {
    let mut tick = tokio::time::interval(HEALTH_CHECK_EVERY.min(config.health_interval));
    let mut last: Option<(health::Assessment, tokio::time::Instant)> = None;
    loop {
        tick.tick().await;
        let now = checks.assess().await;
        let due = match &last {
            Some((sent, at)) => *sent != now || at.elapsed() >= config.health_interval,
            None => true,
        };
        if !due {
            continue;
        }
        if last
            .as_ref()
            .is_some_and(|(sent, _)| sent.status != now.status)
        {
            tracing::warn!(%tenant, status = now.status.as_str(), message = now.message.as_deref().unwrap_or(""), "health changed");
        }
        let report = HealthReport {
            tenant: Some(tenant.clone()),
            status: now.status,
            checks: now.checks.clone(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            reported_at: Some(chrono::Utc::now()),
            message: now.message.clone(),
        };
        let mut request = http
            .post(format!("{}{HEALTH_CHECKS_PATH}", config.url))
            .json(&report);
        if let Some(token) = &config.token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                last = Some((now, tokio::time::Instant::now()));
            }
            Ok(response) => {
                tracing::warn!(%tenant, status = %response.status(), "health report refused")
            }
            Err(error) => tracing::warn!(%tenant, %error, "health report not delivered"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_is_recorded_once_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::connect(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.db").display()
        ))
        .await
        .unwrap();
        crate::db::migrate(&db).await.unwrap();
        record(&db, "k1".into(), None, "transactions", 1.0)
            .await
            .unwrap();
        record(&db, "k1".into(), None, "transactions", 1.0)
            .await
            .unwrap();
        record(&db, "k2".into(), None, "api_calls", 7.0)
            .await
            .unwrap();
        let rows = usage_event::Entity::find().all(&db).await.unwrap();
        assert_eq!(rows.len(), 2);
    }
}
