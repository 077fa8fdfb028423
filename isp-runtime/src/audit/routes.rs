//! `GET /audit-log`.

use axum::{
    Router,
    extract::{OriginalUri, State},
    response::Response,
    routing::get,
};

use super::{
    entity::audit_entry,
    service,
    wire::{AuditQuery, AuditView},
};
use crate::{
    api::{AppState, extract::Params, page},
    error::Result,
};

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<AuditQuery>,
) -> Result<Response> {
    let select = service::select(&query);
    let id = |v: &AuditView| v.id;
    page(
        &state.db,
        select,
        audit_entry::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        id,
    )
    .await
}

/// `GET /audit-log`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit-log", get(list))
}
