//! Usage-charge routes: each reads its input, makes one service call in a transaction, and
//! answers.

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::Recorded;

use super::{
    entity::usage_charge,
    service,
    wire::{NewUsageCharge, UsageChargeView, UsageQuery},
};
use crate::{
    api::{
        Actor, AppState, Paged,
        extract::{Body, Id, IdempotencyKey, Params},
        page,
    },
    entitlements::{Metered, feature},
    error::Result,
};

async fn record(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    IdempotencyKey(key): IdempotencyKey,
    Body(input): Body<NewUsageCharge>,
) -> Result<Metered<Recorded<UsageChargeView>>> {
    state.gate.require(feature::ADVANCED_BILLING)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let plugin = state.gate.plugin_of(feature::ADVANCED_BILLING);
    let recorded = service::record(&txn, &state.settings, plugin, &actor, id, key, input).await?;
    txn.commit().await?;
    let location = |v: &UsageChargeView| format!("/api/v1/usage-charges/{}", v.id);
    let answer = recorded.answer(UsageChargeView::from, location);
    Ok(Metered(feature::ADVANCED_BILLING, answer))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Id(id): Id,
    Params(query): Params<UsageQuery>,
) -> Result<Paged<UsageChargeView>> {
    let select = service::select(&state.db, id, &query).await?;
    page(&state.db, select, usage_charge::Column::Id, &query, &uri).await
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<UsageChargeView>> {
    Ok(Json(service::find(&state.db, id).await?.into()))
}

/// Routes of usage charges.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "subscriptions";
    ApiRouter::new()
        .api_route(
            "/subscriptions/{id}/usage-charges",
            post_with(
                record,
                doc(
                    TAG,
                    P::UsageWrite,
                    "Record a usage charge, billed in arrears (needs advanced_billing)",
                ),
            )
            .get_with(
                list,
                doc(
                    TAG,
                    P::SubscriptionsRead,
                    "List a subscription's usage charges",
                ),
            ),
        )
        .api_route(
            "/usage-charges/{id}",
            get_with(
                get_one,
                doc(TAG, P::SubscriptionsRead, "Get a usage charge"),
            ),
        )
}
