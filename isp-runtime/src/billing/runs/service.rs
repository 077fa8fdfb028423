//! Starting and reading runs. A run is queued as a job after the transaction that records it
//! commits, so a job never names a run that does not exist; `worker` executes it.

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::run,
    wire::{RunKind, RunStatus, RunView},
};
use crate::{
    api::Actor,
    audit,
    billing::subscriptions::entity::subscription,
    db::new_id,
    domain::lifecycle::ServiceStatus,
    error::{Error, Result},
};

/// Records a queued run of `kind` for `as_of`. The caller queues its job once this commits.
pub async fn start(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    kind: RunKind,
    as_of: NaiveDate,
) -> Result<run::Model> {
    let row = run::ActiveModel {
        id: Set(new_id()),
        kind: Set(kind),
        as_of: Set(as_of),
        status: Set(RunStatus::Queued),
        attempts: Set(0),
        processed: Set(0),
        created: Set(0),
        error: Set(None),
        lease_until: Set(None),
        created_at: Set(chrono::Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(txn)
    .await?;
    let action = format!("{}_run.started", kind.as_str());
    audit::by(txn, actor, &action, "run", row.id, json!({"as_of": as_of})).await?;
    Ok(row)
}

/// A run of `kind` by id.
pub async fn find(db: &impl ConnectionTrait, kind: RunKind, id: Uuid) -> Result<run::Model> {
    run::Entity::find_by_id(id)
        .filter(run::Column::Kind.eq(kind))
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "run" })
}

/// A run as the API shows it: a billing run not finished yet with how many subscriptions are
/// still due on its date.
pub async fn view(db: &impl ConnectionTrait, row: run::Model) -> Result<RunView> {
    let open = matches!(row.status, RunStatus::Queued | RunStatus::Running);
    let remaining = if row.kind == RunKind::Billing && open {
        let due = subscription::Entity::find()
            .filter(subscription::Column::Status.eq(ServiceStatus::Active))
            .filter(subscription::Column::NextBillingDate.lte(row.as_of))
            .count(db)
            .await?;
        Some(i64::try_from(due).unwrap_or(i64::MAX))
    } else {
        None
    };
    Ok(RunView {
        remaining,
        ..row.into()
    })
}

/// The runs of `kind` (before paging).
pub fn select(kind: RunKind) -> Select<run::Entity> {
    run::Entity::find().filter(run::Column::Kind.eq(kind))
}
