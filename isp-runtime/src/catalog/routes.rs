//! Catalog routes: plans and tax rates. Each reads its input, makes one service call in a
//! transaction, and answers.

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::Created;

use super::{
    plans, taxes,
    wire::{NewPlan, NewTaxRate, PlanPatch, PlanQuery, PlanView, TaxQuery, TaxRateView},
};
use crate::{
    api::{
        Actor, AppState, Paged,
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
) -> Result<Created<PlanView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let model = plans::create(&txn, &state.settings, &state.gate, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/plans/{}", model.id);
    Ok(Created::new(location, PlanView::from(model)))
}

async fn get_plan(State(state): State<AppState>, Id(id): Id) -> Result<Json<PlanView>> {
    Ok(Json(plans::find(&state.db, id).await?.into()))
}

async fn list_plans(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<PlanQuery>,
) -> Result<Paged<PlanView>> {
    let select = plans::select(&query);
    page(&state.db, select, plan::Column::Id, &query, &uri).await
}

async fn patch_plan(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<PlanPatch>,
) -> Result<Json<PlanView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let updated = plans::update(&txn, &actor, id, input).await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

async fn create_tax_rate(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewTaxRate>,
) -> Result<Created<TaxRateView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let model = taxes::create(&txn, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/tax-rates/{}", model.id);
    Ok(Created::new(location, TaxRateView::from(model)))
}

async fn list_tax_rates(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<TaxQuery>,
) -> Result<Paged<TaxRateView>> {
    let select = taxes::select(&query);
    page(&state.db, select, tax_rate::Column::Id, &query, &uri).await
}

/// Plan and tax-rate routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "plans";
    ApiRouter::new()
        .api_route(
            "/plans",
            post_with(create_plan, doc(TAG, P::CatalogWrite, "Create a plan"))
                .get_with(list_plans, doc(TAG, P::CatalogRead, "List plans")),
        )
        .api_route(
            "/plans/{id}",
            get_with(get_plan, doc(TAG, P::CatalogRead, "Read a plan")).patch_with(
                patch_plan,
                doc(
                    TAG,
                    P::CatalogWrite,
                    "Change a plan (no price cut while subscribed)",
                ),
            ),
        )
        .api_route(
            "/tax-rates",
            post_with(
                create_tax_rate,
                doc("taxes", P::CatalogWrite, "Create a tax rate"),
            )
            .get_with(
                list_tax_rates,
                doc("taxes", P::CatalogRead, "List tax rates"),
            ),
        )
}
