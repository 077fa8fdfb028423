//! Billing and dunning runs: started over the API, queued as jobs, executed by the worker, and
//! readable with their progress. A run is claimed with a lease that each batch renews, so a
//! second worker (or a restarted one) never runs it twice at once, and a run whose worker died
//! is taken over once its lease ends.

use axum::{
    Extension, Json, Router,
    extract::OriginalUri,
    extract::State,
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::api::page;
use crate::{
    api::{
        Actor, AppState,
        extract::{Id, OptionalBody, Params},
    },
    audit, billing_run,
    db::{entity::run, new_id},
    dunning,
    error::{Error, Result},
    jobs::{Job, JobQueue, Outcome},
};

/// `POST /billing-runs` and `POST /dunning-runs`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    /// Billing (or dunning) date; today by default.
    pub date: Option<NaiveDate>,
}

/// A run as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunView {
    /// Id.
    pub id: Uuid,
    /// billing or dunning.
    pub kind: String,
    /// The date it runs for.
    pub as_of: NaiveDate,
    /// queued, running, succeeded or failed.
    pub status: String,
    /// Tries so far.
    pub attempts: i32,
    /// Subscriptions (or invoices) processed.
    pub processed: i64,
    /// Invoices (or actions) created.
    pub created: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// Queued at.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// First started at.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Finished at.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<run::Model> for RunView {
    fn from(r: run::Model) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            as_of: r.as_of,
            status: r.status,
            attempts: r.attempts,
            processed: r.processed,
            created: r.created,
            error: r.error,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

async fn start(
    state: &AppState,
    actor: &Actor,
    kind: &'static str,
    body: NewRun,
) -> Result<Response> {
    let as_of = body.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = state.db.begin().await?;
    let row = run::ActiveModel {
        id: Set(new_id()),
        kind: Set(kind.to_owned()),
        as_of: Set(as_of),
        status: Set("queued".to_owned()),
        attempts: Set(0),
        processed: Set(0),
        created: Set(0),
        error: Set(None),
        lease_until: Set(None),
        created_at: Set(chrono::Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::by(
        &txn,
        actor,
        &format!("{kind}_run.started"),
        "run",
        row.id,
        json!({"as_of": as_of}),
    )
    .await?;
    txn.commit().await?;
    // Queued after the commit: a job never names a run that does not exist. Should the push
    // fail, the run stays queued and the worker finds it at its next start.
    state
        .jobs
        .push(Job {
            run: row.id,
            attempt: 0,
        })
        .await?;
    tracing::info!(run = %row.id, kind, %as_of, "run queued");
    let mut response = (StatusCode::ACCEPTED, Json(RunView::from(row.clone()))).into_response();
    if let Ok(value) = format!("/api/v1/{kind}-runs/{}", row.id).parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    Ok(response)
}

async fn start_billing(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    OptionalBody(body): OptionalBody<NewRun>,
) -> Result<Response> {
    start(&state, &actor, "billing", body).await
}

async fn start_dunning(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    OptionalBody(body): OptionalBody<NewRun>,
) -> Result<Response> {
    start(&state, &actor, "dunning", body).await
}

async fn find(db: &DatabaseConnection, kind: &str, id: Uuid) -> Result<run::Model> {
    run::Entity::find_by_id(id)
        .filter(run::Column::Kind.eq(kind))
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "run" })
}

async fn get_billing(State(state): State<AppState>, Id(id): Id) -> Result<Json<RunView>> {
    Ok(Json(find(&state.db, "billing", id).await?.into()))
}

async fn get_dunning(State(state): State<AppState>, Id(id): Id) -> Result<Json<RunView>> {
    Ok(Json(find(&state.db, "dunning", id).await?.into()))
}

/// Paging of the run lists.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(db: &DatabaseConnection, kind: &str, uri: &Uri, query: RunQuery) -> Result<Response> {
    let select = run::Entity::find().filter(run::Column::Kind.eq(kind));
    page(
        db,
        select,
        run::Column::Id,
        query.limit,
        query.cursor,
        uri,
        |v: &RunView| v.id,
    )
    .await
}

async fn list_billing(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<RunQuery>,
) -> Result<Response> {
    list(&state.db, "billing", &uri, query).await
}

async fn list_dunning(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<RunQuery>,
) -> Result<Response> {
    list(&state.db, "dunning", &uri, query).await
}

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

async fn try_execute(
    db: &DatabaseConnection,
    settings: RunSettings,
    id: Uuid,
) -> std::result::Result<Outcome, sea_orm::DbErr> {
    let now = chrono::Utc::now();
    let claimed = run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value("running"))
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
        .filter(run::Column::Status.is_in(["queued", "running"]))
        .filter(
            run::Column::LeaseUntil
                .is_null()
                .or(run::Column::LeaseUntil.lt(now)),
        )
        .exec(db)
        .await?
        .rows_affected;
    let Some(row) = run::Entity::find_by_id(id).one(db).await? else {
        tracing::warn!(run = %id, "job names no run; dropped");
        return Ok(Outcome::Done);
    };
    if claimed == 0 {
        if let (true, Some(until)) = (row.status == "running", row.lease_until) {
            let wait =
                (until - now).to_std().unwrap_or_default() + std::time::Duration::from_secs(1);
            tracing::info!(run = %id, ?wait, "run held by another worker; trying again when its lease ends");
            return Ok(Outcome::Busy(wait));
        }
        return Ok(Outcome::Done);
    }
    tracing::info!(run = %id, kind = %row.kind, as_of = %row.as_of, attempt = row.attempts, "run started");
    let outcome = match row.kind.as_str() {
        "billing" => {
            let options = billing_run::Options {
                batch_size: settings.batch_size,
                terms_days: settings.terms_days,
                lease_seconds: settings.lease_seconds,
            };
            billing_run::execute(db, &row, options).await.map(|()| None)
        }
        _ => dunning::execute(db, &row, settings.terms_days)
            .await
            .map(Some),
    };
    let finished = chrono::Utc::now();
    let (status, error) = match &outcome {
        Ok(_) => ("succeeded", None),
        Err(e) => ("queued", Some(e.to_string())),
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
        .col_expr(run::Column::Status, Expr::value("failed"))
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
        .filter(run::Column::Status.is_in(["queued", "running"]))
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

/// Run routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing-runs", post(start_billing).get(list_billing))
        .route("/billing-runs/{id}", get(get_billing))
        .route("/dunning-runs", post(start_dunning).get(list_dunning))
        .route("/dunning-runs/{id}", get(get_dunning))
}
