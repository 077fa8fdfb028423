//! Dunning-policy routes.

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{ApiRouter, routing::get_with};
use axum::{Extension, Json, extract::State};

use super::service;
use crate::{
    api::{Actor, AppState, extract::Body},
    domain::dunning::DunningPolicy,
    error::Result,
};

async fn get_policy(State(state): State<AppState>) -> Result<Json<DunningPolicy>> {
    Ok(Json(service::policy(&state.db).await?))
}

async fn put_policy(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<DunningPolicy>,
) -> Result<Json<DunningPolicy>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let policy = service::set_policy(&txn, &actor, input).await?;
    txn.commit().await?;
    Ok(Json(policy))
}

/// Dunning policy routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "dunning";
    ApiRouter::new().api_route(
        "/dunning/policy",
        get_with(
            get_policy,
            doc(TAG, P::DunningRead, "Read the dunning policy"),
        )
        .put_with(
            put_policy,
            doc(TAG, P::DunningWrite, "Replace the dunning policy"),
        ),
    )
}
