//! Usage-charge routes: each reads its input, makes one service call in a transaction, and
//! answers.

use axum::{
    Extension, Json, Router,
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use dotmac_web::created;
use sea_orm::TransactionTrait;

use super::{
    entity::usage_charge,
    service::{self, Recorded},
    wire::{NewUsageCharge, UsageChargeView, UsageQuery},
};
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, Params},
        page,
    },
    entitlements::feature,
    error::Result,
    validate,
};

async fn record(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    headers: HeaderMap,
    Body(input): Body<NewUsageCharge>,
) -> Result<Response> {
    state.gate.require(feature::ADVANCED_BILLING)?;
    let key = validate::idempotency_key(&headers)?;
    let txn = state.db.begin().await?;
    let recorded = service::record(&txn, &actor, id, key, input).await?;
    txn.commit().await?;
    Ok(match recorded {
        Recorded::New(row) => {
            let location = format!("/api/v1/usage-charges/{}", row.id);
            created(&location, UsageChargeView::from(row))
        }
        Recorded::Replayed(row) => {
            (StatusCode::OK, Json(UsageChargeView::from(row))).into_response()
        }
    })
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Id(id): Id,
    Params(query): Params<UsageQuery>,
) -> Result<Response> {
    let select = service::select(&state.db, id, &query).await?;
    let id = |v: &UsageChargeView| v.id;
    page(
        &state.db,
        select,
        usage_charge::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        id,
    )
    .await
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<UsageChargeView>> {
    Ok(Json(service::find(&state.db, id).await?.into()))
}

/// Routes of usage charges.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions/{id}/usage-charges", post(record).get(list))
        .route("/usage-charges/{id}", get(get_one))
}
