//! `GET /audit-log`.

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{ApiRouter, routing::get_with};
use axum::extract::{OriginalUri, State};

use super::{
    entity::audit_entry,
    service,
    wire::{AuditQuery, AuditView},
};
use crate::{
    api::{AppState, Paged, extract::Params, page},
    error::Result,
};

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<AuditQuery>,
) -> Result<Paged<AuditView>> {
    let select = service::select(&query);
    page(&state.db, select, audit_entry::Column::Id, &query, &uri).await
}

/// `GET /audit-log`.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "audit";
    ApiRouter::new().api_route(
        "/audit-log",
        get_with(list, doc(TAG, P::AuditRead, "Read the audit log")),
    )
}
