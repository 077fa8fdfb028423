//! Subscription routes: each reads its input, makes one service call in a transaction, and
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
use dotmac_web::Created;

use super::{
    entity::subscription,
    service,
    wire::{
        ChangeOutcome, Effective, NewSubscription, PlanChange, SubscriptionQuery, SubscriptionView,
    },
};
use crate::{
    api::{
        Actor, AppState, Paged,
        extract::{Body, Id, OptionalBody, Params},
        page,
    },
    error::Result,
};

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewSubscription>,
) -> Result<Created<SubscriptionView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let row = service::create(&txn, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/subscriptions/{}", row.id);
    Ok(Created::new(location, SubscriptionView::from(row)))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<SubscriptionView>> {
    Ok(Json(service::find(&state.db, id).await?.into()))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<SubscriptionQuery>,
) -> Result<Paged<SubscriptionView>> {
    let select = service::select(&query)?;
    page(&state.db, select, subscription::Column::Id, &query, &uri).await
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A change that takes effect on a day (today by default) and may bill or credit.
macro_rules! dated_change {
    ($name:ident, $change:path) => {
        async fn $name(
            State(state): State<AppState>,
            Extension(actor): Extension<Actor>,
            Id(id): Id,
            OptionalBody(body): OptionalBody<Effective>,
        ) -> Result<Json<ChangeOutcome>> {
            let date = body.date.unwrap_or_else(today);
            let txn = dotmac_sql::begin_write(&state.db).await?;
            let terms = state.settings.payment_terms_days;
            let outcome = $change(&txn, terms, &actor, id, date).await?;
            txn.commit().await?;
            Ok(Json(outcome))
        }
    };
}
dated_change!(activate, service::activate);
dated_change!(resume, service::resume);
dated_change!(cancel, service::cancel);

async fn suspend(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<Json<SubscriptionView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let sub = service::suspend(&txn, &actor, id).await?;
    txn.commit().await?;
    Ok(Json(sub.into()))
}

async fn change_plan(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<PlanChange>,
) -> Result<Json<ChangeOutcome>> {
    plan_change(&state, &actor, id, input, true).await.map(Json)
}

/// What `change_plan` would do: the same change made in a transaction that is then rolled
/// back, so the figures are exactly the ones a confirmation gets and nothing is written.
async fn preview_plan_change(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<PlanChange>,
) -> Result<Json<ChangeOutcome>> {
    plan_change(&state, &actor, id, input, false)
        .await
        .map(Json)
}

/// Changes the plan in a transaction, committed when `keep`, else rolled back.
async fn plan_change(
    state: &AppState,
    actor: &Actor,
    id: uuid::Uuid,
    input: PlanChange,
    keep: bool,
) -> Result<ChangeOutcome> {
    let date = input.date.unwrap_or_else(today);
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let terms = state.settings.payment_terms_days;
    let outcome = service::change_plan(&txn, terms, actor, id, input.plan_id, date).await;
    match outcome {
        Ok(outcome) if keep => {
            txn.commit().await?;
            Ok(outcome)
        }
        other => {
            txn.rollback().await?;
            other
        }
    }
}

/// Subscription routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "subscriptions";
    ApiRouter::new()
        .api_route(
            "/subscriptions",
            post_with(
                create,
                doc(TAG, P::SubscriptionsWrite, "Create a pending subscription"),
            )
            .get_with(list, doc(TAG, P::SubscriptionsRead, "List subscriptions")),
        )
        .api_route(
            "/subscriptions/{id}",
            get_with(
                get_one,
                doc(TAG, P::SubscriptionsRead, "Read a subscription"),
            ),
        )
        .api_route(
            "/subscriptions/{id}/activate",
            post_with(
                activate,
                doc(
                    TAG,
                    P::SubscriptionsWrite,
                    "Activate, billing the rest of the period",
                ),
            ),
        )
        .api_route(
            "/subscriptions/{id}/suspend",
            post_with(suspend, doc(TAG, P::SubscriptionsWrite, "Suspend")),
        )
        .api_route(
            "/subscriptions/{id}/resume",
            post_with(resume, doc(TAG, P::SubscriptionsWrite, "Resume")),
        )
        .api_route(
            "/subscriptions/{id}/cancel",
            post_with(
                cancel,
                doc(TAG, P::SubscriptionsWrite, "Cancel, crediting unused days"),
            ),
        )
        .api_route(
            "/subscriptions/{id}/change-plan",
            post_with(
                change_plan,
                doc(
                    TAG,
                    P::SubscriptionsWrite,
                    "Upgrade or downgrade with proration",
                ),
            ),
        )
        .api_route(
            "/subscriptions/{id}/change-plan/preview",
            post_with(
                preview_plan_change,
                doc(
                    TAG,
                    P::SubscriptionsWrite,
                    "What a plan change would invoice or credit, written nowhere",
                ),
            ),
        )
}
