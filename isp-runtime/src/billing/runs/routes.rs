//! Billing- and dunning-run routes: start (202 with the run to poll), read, list.

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::Accepted;

use super::{
    entity::run,
    service,
    wire::{NewRun, RunKind, RunQuery, RunView},
};
use crate::{
    api::{
        Actor, AppState, Paged,
        extract::{Id, OptionalBody, Params},
        page,
    },
    error::Result,
    jobs::Job,
};

async fn start(
    state: &AppState,
    actor: &Actor,
    kind: RunKind,
    body: NewRun,
) -> Result<Accepted<RunView>> {
    let as_of = body.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = dotmac_sql::begin_write(&state.db).await?;
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
    Ok(Accepted::new(location, RunView::from(row)))
}

async fn list(
    state: &AppState,
    kind: RunKind,
    uri: &axum::http::Uri,
    query: RunQuery,
) -> Result<Paged<RunView>> {
    let select = service::select(kind);
    page(&state.db, select, run::Column::Id, &query, uri).await
}

/// The start, read and list handlers of one kind of run.
macro_rules! run_routes {
    ($start:ident, $get:ident, $list:ident, $kind:expr) => {
        async fn $start(
            State(state): State<AppState>,
            Extension(actor): Extension<Actor>,
            OptionalBody(body): OptionalBody<NewRun>,
        ) -> Result<Accepted<RunView>> {
            start(&state, &actor, $kind, body).await
        }

        async fn $get(State(state): State<AppState>, Id(id): Id) -> Result<Json<RunView>> {
            let row = service::find(&state.db, $kind, id).await?;
            Ok(Json(service::view(&state.db, row).await?))
        }

        async fn $list(
            State(state): State<AppState>,
            OriginalUri(uri): OriginalUri,
            Params(query): Params<RunQuery>,
        ) -> Result<Paged<RunView>> {
            list(&state, $kind, &uri, query).await
        }
    };
}
run_routes!(start_billing, get_billing, list_billing, RunKind::Billing);
run_routes!(start_dunning, get_dunning, list_dunning, RunKind::Dunning);

/// Run routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "runs";
    let queue = "Queue a run for a date";
    let list = "List runs";
    let read = "Read a run and its progress";
    ApiRouter::new()
        .api_route(
            "/billing-runs",
            post_with(start_billing, doc(TAG, P::RunsStart, queue))
                .get_with(list_billing, doc(TAG, P::RunsRead, list)),
        )
        .api_route(
            "/billing-runs/{id}",
            get_with(get_billing, doc(TAG, P::RunsRead, read)),
        )
        .api_route(
            "/dunning-runs",
            post_with(start_dunning, doc(TAG, P::RunsStart, queue))
                .get_with(list_dunning, doc(TAG, P::RunsRead, list)),
        )
        .api_route(
            "/dunning-runs/{id}",
            get_with(get_dunning, doc(TAG, P::RunsRead, read)),
        )
}
