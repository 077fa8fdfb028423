//! The instance's database: PostgreSQL in production, SQLite embedded by default. Connecting,
//! migrating, the sea-orm entities and the small helpers every service shares.

pub mod entity;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    Statement, TransactionTrait,
};

/// Schema migrations in order: version, name, SQL for both backends.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "billing", include_str!("migrations/0001_billing.sql")),
    (
        2,
        "usage_outbox",
        include_str!("migrations/0002_usage_outbox.sql"),
    ),
];

/// Statements a backend needs beyond the shared script, by migration version: the audit log is
/// append-only, enforced by the database itself, and PostgreSQL storage settings.
fn backend_extras(version: i64, backend: DatabaseBackend) -> &'static [&'static str] {
    match (version, backend) {
        (1, DatabaseBackend::Postgres) => &[
            // Room on each page so moving a subscription's billing date is a HOT update (no
            // index is touched): the billing run does it once per subscription and period.
            "ALTER TABLE subscriptions SET (fillfactor = 80)",
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        ],
        (1, DatabaseBackend::Sqlite) => &[
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        ],
        _ => &[],
    }
}

/// Connects with a pool sized for the API and the job worker.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(if url.starts_with("sqlite") { 4 } else { 16 })
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Brings the schema up to date, each migration in its own transaction. On PostgreSQL an
/// advisory lock makes replicas starting together migrate one after the other.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
    )
    .await?;
    for (version, name, script) in MIGRATIONS {
        let txn = db.begin().await?;
        if backend == DatabaseBackend::Postgres {
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(73641001)")
                .await?;
        }
        let applied = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                [(*version).into()],
            ))
            .await?
            .is_some();
        if applied {
            txn.commit().await?;
            continue;
        }
        for statement in statements(script) {
            txn.execute_unprepared(&statement).await?;
        }
        for statement in backend_extras(*version, backend) {
            txn.execute_unprepared(statement).await?;
        }
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            [(*version).into(), (*name).into(), chrono::Utc::now().into()],
        ))
        .await?;
        txn.commit().await?;
        tracing::info!(version, name, "database migrated");
    }
    Ok(())
}

/// The statements of a script: split at semicolons that end a line, comment lines dropped.
fn statements(script: &str) -> impl Iterator<Item = String> + '_ {
    script
        .split(";\n")
        .map(|chunk| {
            chunk
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|statement| !statement.trim().is_empty())
}

/// A new time-ordered id.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// Takes the next `count` values of a gapless counter (invoice and payment numbers) inside the
/// caller's transaction, and returns the first. The row lock it takes serialises numbering; a
/// rolled-back transaction gives its numbers back, so numbers have no gaps.
pub async fn take_numbers<C: ConnectionTrait>(
    txn: &C,
    counter: &str,
    count: i64,
) -> Result<i64, DbErr> {
    let backend = txn.get_database_backend();
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE counters SET value = value + $1 WHERE name = $2 RETURNING value",
            [count.into(), counter.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("counter {counter}")))?;
    let last: i64 = row.try_get_by_index(0)?;
    Ok(last - count + 1)
}
