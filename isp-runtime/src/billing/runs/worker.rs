//! Executing runs. A run is claimed with a lease that each batch renews, so a second worker (or
//! a restarted one) never runs it twice at once, and a run whose worker died is taken over once
//! its lease ends. An attempt that fails leaves the run queued for the next one.

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    billing,
    entity::run,
    wire::{RunKind, RunStatus},
};
use crate::{
    billing::dunning,
    error::Result,
    jobs::{Job, JobQueue, Outcome},
};

/// What the worker needs to execute runs.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// Subscriptions per billing batch.
    pub batch_size: u64,
    /// Days from issue to due.
    pub terms_days: i64,
    /// Seconds a worker holds a run without renewing its lease.
    pub lease_seconds: i64,
}

/// Executes run `id` if it is not finished and no live worker holds it: claims it, runs it,
/// records the outcome. An error leaves the run `queued` for the next attempt.
pub async fn execute(db: &DatabaseConnection, settings: RunSettings, id: Uuid) -> Outcome {
    match try_execute(db, settings, id).await {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

/// Claims run `id` for this worker: only a queued or running run whose lease has ended.
/// `Ok(None)` when no run has this id; the row and whether the claim took otherwise.
async fn claim(
    db: &DatabaseConnection,
    settings: RunSettings,
    id: Uuid,
) -> std::result::Result<Option<(run::Model, bool)>, DbErr> {
    let now = chrono::Utc::now();
    let claimed = run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(RunStatus::Running))
        .col_expr(
            run::Column::Attempts,
            Expr::col(run::Column::Attempts).add(1),
        )
        .col_expr(
            run::Column::LeaseUntil,
            Expr::value(now + chrono::Duration::seconds(settings.lease_seconds)),
        )
        .col_expr(run::Column::StartedAt, Expr::value(now))
        .filter(run::Column::Id.eq(id))
        .filter(run::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        .filter(
            run::Column::LeaseUntil
                .is_null()
                .or(run::Column::LeaseUntil.lt(now)),
        )
        .exec(db)
        .await?
        .rows_affected;
    let row = run::Entity::find_by_id(id).one(db).await?;
    Ok(row.map(|row| (row, claimed > 0)))
}

async fn try_execute(
    db: &DatabaseConnection,
    settings: RunSettings,
    id: Uuid,
) -> std::result::Result<Outcome, DbErr> {
    let Some((row, claimed)) = claim(db, settings, id).await? else {
        tracing::warn!(run = %id, "job names no run; dropped");
        return Ok(Outcome::Done);
    };
    if !claimed {
        if let (RunStatus::Running, Some(until)) = (row.status, row.lease_until) {
            let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default()
                + std::time::Duration::from_secs(1);
            tracing::info!(run = %id, ?wait, "run held by another worker; trying again when its lease ends");
            return Ok(Outcome::Busy(wait));
        }
        return Ok(Outcome::Done);
    }
    tracing::info!(run = %id, kind = row.kind.as_str(), as_of = %row.as_of, attempt = row.attempts, "run started");
    let outcome = match row.kind {
        RunKind::Billing => {
            let options = billing::Options {
                batch_size: settings.batch_size,
                terms_days: settings.terms_days,
                lease_seconds: settings.lease_seconds,
            };
            billing::execute(db, &row, options).await.map(|()| None)
        }
        RunKind::Dunning => dunning::execute(db, &row, settings.terms_days)
            .await
            .map(Some),
    };
    finish(db, id, outcome).await
}

/// Records an attempt's outcome: succeeded (with a dunning run's action count), or queued
/// again with the error.
async fn finish(
    db: &DatabaseConnection,
    id: Uuid,
    outcome: Result<Option<u64>>,
) -> std::result::Result<Outcome, DbErr> {
    let finished = chrono::Utc::now();
    let (status, error) = match &outcome {
        Ok(_) => (RunStatus::Succeeded, None),
        Err(e) => (RunStatus::Queued, Some(e.to_string())),
    };
    let mut update = run::Entity::update_many();
    if let Ok(Some(actions)) = outcome {
        let actions = i64::try_from(actions).unwrap_or(i64::MAX);
        update = update
            .col_expr(run::Column::Processed, Expr::value(actions))
            .col_expr(run::Column::Created, Expr::value(actions));
    }
    update
        .col_expr(run::Column::Status, Expr::value(status))
        .col_expr(run::Column::Error, Expr::value(error.clone()))
        .col_expr(
            run::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            run::Column::FinishedAt,
            Expr::value(error.is_none().then_some(finished)),
        )
        .filter(run::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(match error {
        None => {
            tracing::info!(run = %id, "run succeeded");
            Outcome::Done
        }
        Some(error) => Outcome::Failed(error),
    })
}

/// Marks a run failed after its last attempt.
pub async fn give_up(db: &DatabaseConnection, id: Uuid, error: String) {
    let result = run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(RunStatus::Failed))
        .col_expr(run::Column::Error, Expr::value(error))
        .col_expr(run::Column::FinishedAt, Expr::value(chrono::Utc::now()))
        .filter(run::Column::Id.eq(id))
        .exec(db)
        .await;
    if let Err(error) = result {
        tracing::error!(run = %id, %error, "recording a failed run failed");
    }
}

/// Queues every run left queued or running by an earlier process (their jobs may be lost).
pub async fn requeue_unfinished(db: &DatabaseConnection, jobs: &JobQueue) -> Result<usize> {
    let unfinished = run::Entity::find()
        .filter(run::Column::Status.is_in([RunStatus::Queued, RunStatus::Running]))
        .order_by_asc(run::Column::Id)
        .all(db)
        .await?;
    for row in &unfinished {
        jobs.push(Job {
            run: row.id,
            attempt: 0,
        })
        .await?;
    }
    if !unfinished.is_empty() {
        tracing::info!(runs = unfinished.len(), "unfinished runs queued again");
    }
    Ok(unfinished.len())
}
