//! Dunning-policy routes.

use axum::{Extension, Json, Router, extract::State, routing::get};
use sea_orm::TransactionTrait;

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
    let txn = state.db.begin().await?;
    let policy = service::set_policy(&txn, &actor, input).await?;
    txn.commit().await?;
    Ok(Json(policy))
}

/// Dunning policy routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/dunning/policy", get(get_policy).put(put_policy))
}
