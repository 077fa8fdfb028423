//! Catalog routes: plans and tax rates. Each reads its input, makes one service call in a
//! transaction, and answers.

use axum::{
    Extension, Json, Router,
    extract::{OriginalUri, State},
    response::Response,
    routing::{get, post},
};
use dotmac_web::created;
use sea_orm::TransactionTrait;

use super::{
    plans, taxes,
    wire::{NewPlan, NewTaxRate, PlanPatch, PlanQuery, PlanView, TaxQuery, TaxRateView},
};
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, Params},
        page,
    },
    catalog::entity::{plan, tax_rate},
    error::Result,
};

async fn create_plan(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewPlan>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let model = plans::create(&txn, &state.settings, &state.gate, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/plans/{}", model.id);
    Ok(created(&location, PlanView::from(model)))
}

async fn get_plan(State(state): State<AppState>, Id(id): Id) -> Result<Json<PlanView>> {
    Ok(Json(plans::find(&state.db, id).await?.into()))
}

async fn list_plans(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<PlanQuery>,
) -> Result<Response> {
    let select = plans::select(&query);
    let id = |v: &PlanView| v.id;
    page(
        &state.db,
        select,
        plan::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        id,
    )
    .await
}

async fn patch_plan(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<PlanPatch>,
) -> Result<Json<PlanView>> {
    let txn = state.db.begin().await?;
    let updated = plans::update(&txn, &actor, id, input).await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

async fn create_tax_rate(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewTaxRate>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let model = taxes::create(&txn, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/tax-rates/{}", model.id);
    Ok(created(&location, TaxRateView::from(model)))
}

async fn list_tax_rates(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<TaxQuery>,
) -> Result<Response> {
    let select = taxes::select(&query);
    let id = |v: &TaxRateView| v.id;
    page(
        &state.db,
        select,
        tax_rate::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        id,
    )
    .await
}

/// Plan and tax-rate routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans", post(create_plan).get(list_plans))
        .route("/plans/{id}", get(get_plan).patch(patch_plan))
        .route("/tax-rates", post(create_tax_rate).get(list_tax_rates))
}
