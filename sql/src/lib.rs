//! Connecting to and migrating a DotMac database, PostgreSQL in production or SQLite embedded:
//! the ISP application's and the platform's go through the same code.

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    Statement, TransactionTrait,
};

/// One schema migration: a script both backends run, then statements only one of them needs.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version, increasing.
    pub version: i64,
    /// Short name, recorded in `schema_migrations`.
    pub name: &'static str,
    /// SQL for both backends; statements end with a semicolon at the end of a line, and `--`
    /// comment lines are dropped.
    pub script: &'static str,
    /// Statements only PostgreSQL runs after the script.
    pub postgres: &'static [&'static str],
    /// Statements only SQLite runs after the script.
    pub sqlite: &'static [&'static str],
}

/// Connects with a pool sized for an API and its background work: 4 connections on SQLite
/// (one writer at a time anyway), 16 on PostgreSQL.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, if url.starts_with("sqlite") { 4 } else { 16 }).await
}

/// Connects with at most `max` connections, closing those idle for 30 s: many tenant instances
/// share one PostgreSQL, and an idle instance should hold one connection, not its peak. A
/// connection idle for a second or more is pinged before use (one that sat unused may have been
/// dropped); a busy one is not, which would cost a round trip per statement.
pub async fn connect_with(url: &str, max: u32) -> Result<DatabaseConnection, DbErr> {
    Database::connect(options(url, max)).await
}

/// Connects as [`connect_with`] does, but on PostgreSQL each commit returns without waiting
/// for its WAL to reach the disk (`synchronous_commit = off` for these connections): for
/// records whose last fraction of a second a crash of PostgreSQL may lose (its WAL writer
/// flushes within about 0.6 s), and that should not wait on a slow flush. Nothing else
/// changes: a commit is still atomic and visible to every reader once it returns. SQLite has
/// no such setting.
pub async fn connect_async_commit(url: &str, max: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = options(url, max);
    options.map_sqlx_postgres_opts(|pg| pg.options([("synchronous_commit", "off")]));
    Database::connect(options).await
}

/// The pool both ways of connecting share: its size, idle closing, pings and SQLite's wait.
fn options(url: &str, max: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max.max(1))
        .min_connections(0)
        .idle_timeout(std::time::Duration::from_secs(30))
        .test_before_acquire_if_idle_for(std::time::Duration::from_secs(1))
        .sqlx_logging(false)
        // SQLite has one writer: a write waits its turn (a billing batch can hold the lock
        // for seconds on a loaded machine) rather than failing after sqlx's 5 s.
        .map_sqlx_sqlite_opts(|sqlite| sqlite.busy_timeout(std::time::Duration::from_secs(60)));
    options
}

/// Starts a transaction that writes. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): two such transactions that both read before writing then queue on the
/// busy timeout, where deferred ones would fail with "database is locked" under load. On
/// PostgreSQL it is a plain transaction.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..sea_orm::TransactionOptions::default()
    })
    .await
}

/// Brings the schema up to date, each migration in its own transaction. On PostgreSQL the
/// advisory lock `lock_key` makes replicas starting together migrate one after the other.
pub async fn migrate(
    db: &DatabaseConnection,
    migrations: &[Migration],
    lock_key: i64,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
    )
    .await?;
    for migration in migrations {
        let txn = db.begin().await?;
        if backend == DatabaseBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "SELECT pg_advisory_xact_lock($1)",
                [lock_key.into()],
            ))
            .await?;
        }
        let applied = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                [migration.version.into()],
            ))
            .await?
            .is_some();
        if applied {
            txn.commit().await?;
            continue;
        }
        let extras = match backend {
            DatabaseBackend::Postgres => migration.postgres,
            _ => migration.sqlite,
        };
        for statement in statements(migration.script) {
            txn.execute_unprepared(&statement).await?;
        }
        for statement in extras {
            txn.execute_unprepared(statement).await?;
        }
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            [
                migration.version.into(),
                migration.name.into(),
                chrono::Utc::now().into(),
            ],
        ))
        .await?;
        txn.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "database migrated"
        );
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
