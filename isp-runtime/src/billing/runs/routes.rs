//! Billing- and dunning-run routes: start (202 with the run to poll), read, list.

use axum::{
    Extension, Json, Router,
    extract::{OriginalUri, State},
    http::{StatusCode, header::LOCATION},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sea_orm::TransactionTrait;

use super::{
    entity::run,
    service,
    wire::{NewRun, RunKind, RunQuery, RunView},
};
use crate::{
    api::{
        Actor, AppState,
        extract::{Id, OptionalBody, Params},
        page,
    },
    error::Result,
    jobs::Job,
};

async fn start(state: &AppState, actor: &Actor, kind: RunKind, body: NewRun) -> Result<Response> {
    let as_of = body.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = state.db.begin().await?;
    let row = service::start(&txn, actor, kind, as_of).await?;
    txn.commit().await?;
    // Queued after the commit. Should the push fail, the run stays queued and the worker finds
    // it at its next start.
    let job = Job {
        run: row.id,
        attempt: 0,
    };
    state.jobs.push(job).await?;
    tracing::info!(run = %row.id, kind = kind.as_str(), %as_of, "run queued");
    let location = format!("/api/v1/{}-runs/{}", kind.as_str(), row.id);
    let mut response = (StatusCode::ACCEPTED, Json(RunView::from(row))).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

async fn list(
    state: &AppState,
    kind: RunKind,
    uri: &axum::http::Uri,
    query: RunQuery,
) -> Result<Response> {
    let id = |v: &RunView| v.id;
    let select = service::select(kind);
    page(
        &state.db,
        select,
        run::Column::Id,
        query.limit,
        query.cursor,
        uri,
        id,
    )
    .await
}

/// The start, read and list handlers of one kind of run.
macro_rules! run_routes {
    ($start:ident, $get:ident, $list:ident, $kind:expr) => {
        async fn $start(
            State(state): State<AppState>,
            Extension(actor): Extension<Actor>,
            OptionalBody(body): OptionalBody<NewRun>,
        ) -> Result<Response> {
            start(&state, &actor, $kind, body).await
        }

        async fn $get(State(state): State<AppState>, Id(id): Id) -> Result<Json<RunView>> {
            Ok(Json(service::find(&state.db, $kind, id).await?.into()))
        }

        async fn $list(
            State(state): State<AppState>,
            OriginalUri(uri): OriginalUri,
            Params(query): Params<RunQuery>,
        ) -> Result<Response> {
            list(&state, $kind, &uri, query).await
        }
    };
}
run_routes!(start_billing, get_billing, list_billing, RunKind::Billing);
run_routes!(start_dunning, get_dunning, list_dunning, RunKind::Dunning);

/// Run routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing-runs", post(start_billing).get(list_billing))
        .route("/billing-runs/{id}", get(get_billing))
        .route("/dunning-runs", post(start_dunning).get(list_dunning))
        .route("/dunning-runs/{id}", get(get_dunning))
}
