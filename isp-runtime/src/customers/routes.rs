//! Customer routes: each reads its input, makes one service call in a transaction, and answers.

use axum::{
    Extension, Json, Router,
    extract::{OriginalUri, State},
    response::Response,
    routing::{get, post},
};
use dotmac_web::created;
use sea_orm::TransactionTrait;

use super::{
    service,
    wire::{CustomerPatch, CustomerQuery, CustomerView, NewCustomer},
};
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, Params},
        page,
    },
    customers::entity::customer,
    domain::lifecycle::ServiceStatus,
    error::Result,
};

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewCustomer>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let model = service::create(&txn, &state.settings, &state.gate, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/customers/{}", model.id);
    Ok(created(&location, CustomerView::from(model)))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<CustomerView>> {
    Ok(Json(service::find(&state.db, id).await?.into()))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CustomerQuery>,
) -> Result<Response> {
    let select = service::select(&query)?;
    let id = |v: &CustomerView| v.id;
    page(
        &state.db,
        select,
        customer::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        id,
    )
    .await
}

async fn patch(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<CustomerPatch>,
) -> Result<Json<CustomerView>> {
    let txn = state.db.begin().await?;
    let updated = service::update(&txn, &actor, id, input).await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

async fn transition(
    state: &AppState,
    actor: &Actor,
    id: uuid::Uuid,
    to: ServiceStatus,
    from_only: Option<ServiceStatus>,
) -> Result<Json<CustomerView>> {
    let txn = state.db.begin().await?;
    let updated = service::transition(&txn, actor, id, to, from_only).await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

macro_rules! action {
    ($name:ident, $to:expr, $from_only:expr) => {
        async fn $name(
            State(state): State<AppState>,
            Extension(actor): Extension<Actor>,
            Id(id): Id,
        ) -> Result<Json<CustomerView>> {
            transition(&state, &actor, id, $to, $from_only).await
        }
    };
}
action!(
    activate,
    ServiceStatus::Active,
    Some(ServiceStatus::Pending)
);
action!(suspend, ServiceStatus::Suspended, None);
action!(
    resume,
    ServiceStatus::Active,
    Some(ServiceStatus::Suspended)
);
action!(cancel, ServiceStatus::Cancelled, None);

/// Customer routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", post(create).get(list))
        .route("/customers/{id}", get(get_one).patch(patch))
        .route("/customers/{id}/activate", post(activate))
        .route("/customers/{id}/suspend", post(suspend))
        .route("/customers/{id}/resume", post(resume))
        .route("/customers/{id}/cancel", post(cancel))
}
