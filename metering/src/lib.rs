//! The platform database (PostgreSQL in production, SQLite embedded by default): API tokens,
//! usage events with their monthly rollups, health checks from tenant instances, the audit log,
//! and the people who sign in to the management API with their sessions.

pub mod commissions;
pub mod entity;

use std::collections::BTreeMap;

pub use dotmac_contract::reporting::Ingested;
use dotmac_contract::reporting::metric;
use dotmac_sql::Migration;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, TransactionTrait, Value,
};

/// Schema migrations in order.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "platform",
        script: include_str!("migrations/0001_platform.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 2,
        name: "monitoring",
        script: include_str!("migrations/0002_monitoring.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 3,
        name: "commissions",
        script: include_str!("migrations/0003_commissions.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 4,
        name: "audit",
        script: include_str!("migrations/0004_audit.sql"),
        postgres: &[
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        ],
        sqlite: &[
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        ],
    },
    Migration {
        version: 5,
        name: "people",
        script: include_str!("migrations/0005_people.sql"),
        postgres: &[],
        sqlite: &[],
    },
];

/// Advisory lock serialising the platform's migrations on PostgreSQL.
const MIGRATION_LOCK: i64 = 73_640_001;

pub use dotmac_sql::connect;

/// Brings the platform schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    dotmac_sql::migrate(db, MIGRATIONS, MIGRATION_LOCK).await
}

/// Connects to the platform database and brings its schema up to date.
pub async fn open(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    migrate(&db).await?;
    Ok(db)
}

/// The month a usage event counts in, as rollups key it (`2026-11`, UTC). Stored times are
/// chrono's, the calendar is jiff's; a time beyond year 9999, which RFC 3339 cannot write, counts
/// in the calendar's last month.
pub fn period_of(at: chrono::DateTime<chrono::Utc>) -> String {
    let at = jiff::Timestamp::from_second(at.timestamp()).unwrap_or(if at.timestamp() < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    dotmac_contract::month::Month::of(at).label()
}

/// A tenant's usage of one plugin in one month, per metric.
pub async fn period_usage(
    db: &DatabaseConnection,
    tenant: &str,
    plugin: &str,
    period: &str,
) -> Result<BTreeMap<String, f64>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use entity::usage_rollup::{Column, Entity};
    Ok(Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::Plugin.eq(plugin))
        .filter(Column::Period.eq(period))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.metric, row.quantity))
        .collect())
}

/// One usage event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEvent {
    /// Unique per event, chosen by the sender.
    pub idempotency_key: String,
    /// Tenant it belongs to.
    pub tenant: String,
    /// Plugin it is metered for (`core` for the platform's own metrics).
    pub plugin: String,
    /// Metric (`api_calls`).
    pub metric: String,
    /// Amount.
    pub quantity: f64,
    /// When it happened.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// Rows per insert statement.
const CHUNK: usize = 500;

/// A batch's additions to the monthly rollups: (tenant, plugin, metric, period) → (quantity,
/// events).
type Rollups = BTreeMap<(String, String, String, String), (f64, i64)>;

/// Counts one new event in its month: a gauge keeps the peak, a counter adds up.
fn add_to_rollup(rollups: &mut Rollups, event: &UsageEvent) {
    let entry = rollups
        .entry((
            event.tenant.clone(),
            event.plugin.clone(),
            event.metric.clone(),
            period_of(event.occurred_at),
        ))
        .or_insert((0.0, 0));
    entry.0 = if metric::is_gauge(&event.metric) {
        entry.0.max(event.quantity)
    } else {
        entry.0 + event.quantity
    };
    entry.1 += 1;
}

/// Adds one rollup entry to its row, the same way [`add_to_rollup`] combines.
async fn upsert_rollup(
    txn: &impl ConnectionTrait,
    backend: DatabaseBackend,
    (tenant, plugin, name, period): (String, String, String, String),
    (quantity, count): (f64, i64),
) -> Result<(), DbErr> {
    let combined = match (metric::is_gauge(&name), backend) {
        (false, _) => "usage_rollups.quantity + excluded.quantity",
        (true, DatabaseBackend::Postgres) => "GREATEST(usage_rollups.quantity, excluded.quantity)",
        (true, _) => "MAX(usage_rollups.quantity, excluded.quantity)",
    };
    let sql = format!(
        "INSERT INTO usage_rollups (tenant, plugin, metric, period, quantity, events) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant, plugin, metric, period) DO UPDATE SET quantity = {combined}, events = usage_rollups.events + excluded.events"
    );
    let values = [
        tenant.into(),
        plugin.into(),
        name.into(),
        period.into(),
        quantity.into(),
        count.into(),
    ];
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map(|_| ())
}

/// Stores a batch in one transaction: events whose key is new are inserted and added to their
/// month's rollup; known keys are counted as duplicates. A database error stores nothing.
pub async fn ingest(db: &DatabaseConnection, events: &[UsageEvent]) -> Result<Ingested, DbErr> {
    let backend = db.get_database_backend();
    let received = chrono::Utc::now();
    let txn = db.begin().await?;
    let mut rollups: Rollups = BTreeMap::new();
    let mut accepted = 0_u64;
    for chunk in events.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO usage_events (idempotency_key, tenant, plugin, metric, quantity, occurred_at, received_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
        for (i, event) in chunk.iter().enumerate() {
            let base = i * 7;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                base + 1,
                base + 2,
                base + 3,
                base + 4,
                base + 5,
                base + 6,
                base + 7
            ));
            values.extend([
                event.idempotency_key.clone().into(),
                event.tenant.clone().into(),
                event.plugin.clone().into(),
                event.metric.clone().into(),
                event.quantity.into(),
                event.occurred_at.into(),
                received.into(),
            ]);
        }
        sql.push_str(" ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key");
        let inserted = txn
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        let keys: std::collections::HashSet<String> = inserted
            .iter()
            .filter_map(|row| row.try_get_by_index::<String>(0).ok())
            .collect();
        accepted += keys.len() as u64;
        for event in chunk.iter().filter(|e| keys.contains(&e.idempotency_key)) {
            add_to_rollup(&mut rollups, event);
        }
    }
    for (key, value) in rollups {
        upsert_rollup(&txn, backend, key, value).await?;
    }
    txn.commit().await?;
    Ok(Ingested {
        accepted,
        duplicates: events.len() as u64 - accepted,
    })
}

/// How long after its last sighting a repeated alert still counts on the same row.
pub const ALERT_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// An alert as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertReport {
    /// Tenant.
    pub tenant: String,
    /// Stable name (`disk_almost_full`).
    pub name: String,
    /// info, warning or critical.
    pub severity: String,
    /// What the instance says.
    pub message: String,
}

/// Records an alert: the same tenant and name within [`ALERT_WINDOW`] of its last sighting
/// counts up on that row; otherwise a new row. Returns the row's count.
pub async fn record_alert(db: &DatabaseConnection, alert: &AlertReport) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let now = chrono::Utc::now();
    let txn = db.begin().await?;
    if backend == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [format!("{}/{}", alert.tenant, alert.name).into()],
        ))
        .await?;
    }
    let recent = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT id, count FROM alerts WHERE tenant = $1 AND name = $2 AND last_seen >= $3 ORDER BY last_seen DESC LIMIT 1",
            [alert.tenant.clone().into(), alert.name.clone().into(), (now - ALERT_WINDOW).into()],
        ))
        .await?;
    let count = match recent {
        Some(row) => {
            let id: uuid::Uuid = row.try_get_by_index(0)?;
            let count: i64 = row.try_get_by_index::<i64>(1)? + 1;
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE alerts SET count = $1, last_seen = $2, severity = $3, message = $4 WHERE id = $5",
                [count.into(), now.into(), alert.severity.clone().into(), alert.message.clone().into(), id.into()],
            ))
            .await?;
            count
        }
        None => {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO alerts (id, tenant, name, severity, message, first_seen, last_seen, count) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)",
                [
                    uuid::Uuid::now_v7().into(),
                    alert.tenant.clone().into(),
                    alert.name.clone().into(),
                    alert.severity.clone().into(),
                    alert.message.clone().into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await?;
            1
        }
    };
    txn.commit().await?;
    Ok(count)
}

/// Stores a batch of metric samples for a tenant in one statement.
pub async fn record_metrics(
    db: &DatabaseConnection,
    tenant: &str,
    samples: &[(String, f64, chrono::DateTime<chrono::Utc>)],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut sql = String::from("INSERT INTO metrics (id, tenant, name, value, at) VALUES ");
    let mut values: Vec<Value> = Vec::with_capacity(samples.len() * 5);
    for (i, (name, value, at)) in samples.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        let b = i * 5;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
        values.extend([
            uuid::Uuid::now_v7().into(),
            tenant.into(),
            name.clone().into(),
            (*value).into(),
            (*at).into(),
        ]);
    }
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;

    fn event(key: &str, metric: &str, quantity: f64) -> UsageEvent {
        UsageEvent {
            idempotency_key: key.into(),
            tenant: "acme".into(),
            plugin: "core".into(),
            metric: metric.into(),
            quantity,
            occurred_at: "2026-11-20T10:00:00Z".parse().unwrap(),
        }
    }

    #[tokio::test]
    async fn storage_counts_its_monthly_peak_and_calls_their_sum() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
        let db = open(&url).await.unwrap();
        let first = [
            event("s1", "storage_gb", 1.5),
            event("c1", "api_calls", 2.0),
        ];
        ingest(&db, &first).await.unwrap();
        let later = [
            event("s2", "storage_gb", 3.0),
            event("s3", "storage_gb", 2.0),
            event("c2", "api_calls", 5.0),
        ];
        ingest(&db, &later).await.unwrap();
        let usage = period_usage(&db, "acme", "core", "2026-11").await.unwrap();
        assert_eq!(usage.get("storage_gb"), Some(&3.0), "the peak, not 6.5");
        assert_eq!(usage.get("api_calls"), Some(&7.0));
    }
}
