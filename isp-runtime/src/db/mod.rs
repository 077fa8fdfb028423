//! The instance's database: PostgreSQL in production, SQLite embedded by default. Connecting,
//! migrating and the small helpers every service shares.

use dotmac_sql::Migration;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

/// Schema migrations in order.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "billing",
        script: include_str!("migrations/0001_billing.sql"),
        postgres: &[
            // Room on each page so moving a subscription's billing date is a HOT update (no
            // index is touched): the billing run does it once per subscription and period.
            "ALTER TABLE subscriptions SET (fillfactor = 80)",
            // The audit log is append-only, enforced by the database itself.
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        ],
        sqlite: &[
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        ],
    },
    Migration {
        version: 2,
        name: "usage_outbox",
        script: include_str!("migrations/0002_usage_outbox.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 3,
        name: "usage_charges",
        script: include_str!("migrations/0003_usage_charges.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 4,
        name: "usage_plugin",
        script: include_str!("migrations/0004_usage_plugin.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 5,
        name: "scheduled_runs",
        script: include_str!("migrations/0005_scheduled_runs.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 6,
        name: "people",
        script: include_str!("migrations/0006_people.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 7,
        name: "network",
        script: include_str!("migrations/0007_network.sql"),
        postgres: &[
            // No two pools overlap, enforced by the database itself (`&&` on inet is "contains
            // or is contained by"). SQLite has no inet type: the pool service checks it there.
            "ALTER TABLE ip_pools ADD CONSTRAINT ip_pools_no_overlap EXCLUDE USING gist ((prefix::inet) inet_ops WITH &&)",
        ],
        sqlite: &[],
    },
    Migration {
        version: 8,
        name: "network_enforcement",
        script: include_str!("migrations/0008_network_enforcement.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 9,
        name: "fair_use",
        script: include_str!("migrations/0009_fair_use.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 10,
        name: "vouchers",
        script: include_str!("migrations/0010_vouchers.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 11,
        name: "network_secrets",
        script: include_str!("migrations/0011_network_secrets.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 12,
        name: "unused_leases",
        script: include_str!("migrations/0012_unused_leases.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 13,
        name: "uncounted_sessions",
        script: include_str!("migrations/0013_uncounted_sessions.sql"),
        postgres: &[],
        sqlite: &[],
    },
    Migration {
        version: 14,
        name: "room_for_updates",
        script: include_str!("migrations/0014_room_for_updates.sql"),
        postgres: &[
            "ALTER TABLE radius_sessions SET (fillfactor = 70)",
            "ALTER TABLE network_usage SET (fillfactor = 70)",
        ],
        sqlite: &[],
    },
];

/// Advisory lock serialising the instance's migrations on PostgreSQL.
const MIGRATION_LOCK: i64 = 73_641_001;

pub use dotmac_sql::connect;

/// Brings the instance's schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    dotmac_sql::migrate(db, MIGRATIONS, MIGRATION_LOCK).await
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

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IntoActiveModel, Statement};

    use super::*;
    use crate::domain::lifecycle::ServiceStatus;

    #[tokio::test]
    async fn a_stored_status_outside_its_enum_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = connect(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.db").display()
        ))
        .await
        .unwrap();
        migrate(&db).await.unwrap();
        let now = chrono::Utc::now();
        let id = new_id();
        let row = crate::customers::entity::customer::Model {
            id,
            customer_number: "C-1".into(),
            display_name: "Ada".into(),
            customer_type: "residential".into(),
            status: ServiceStatus::Active,
            email: "ada@example.com".into(),
            phone: None,
            street: None,
            city: None,
            region: None,
            postal_code: None,
            country: "US".into(),
            currency: "USD".into(),
            created_at: now,
            updated_at: now,
        };
        crate::customers::entity::customer::Entity::insert(row.into_active_model())
            .exec(&db)
            .await
            .unwrap();
        let read = crate::customers::entity::customer::Entity::find_by_id(id)
            .one(&db)
            .await;
        assert_eq!(read.unwrap().unwrap().status, ServiceStatus::Active);
        db.execute_raw(Statement::from_string(
            db.get_database_backend(),
            "UPDATE customers SET status = 'dormant'",
        ))
        .await
        .unwrap();
        let read = crate::customers::entity::customer::Entity::find_by_id(id)
            .one(&db)
            .await;
        assert!(
            read.is_err(),
            "an unknown status must not read as a default: {read:?}"
        );
    }
}
