//! Customer routes: each reads its input, makes one service call in a transaction, and answers.

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
    service,
    wire::{CustomerPatch, CustomerQuery, CustomerView, NewCustomer},
};
use crate::{
    api::{
        Actor, AppState, Paged,
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
) -> Result<Created<CustomerView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let model = service::create(&txn, &state.settings, &state.gate, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/customers/{}", model.id);
    Ok(Created::new(location, CustomerView::from(model)))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<CustomerView>> {
    Ok(Json(service::find(&state.db, id).await?.into()))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CustomerQuery>,
) -> Result<Paged<CustomerView>> {
    let select = service::select(&query)?;
    page(&state.db, select, customer::Column::Id, &query, &uri).await
}

async fn patch(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<CustomerPatch>,
) -> Result<Json<CustomerView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
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
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let updated = service::transition(&txn, &state.settings, actor, id, to, from_only).await?;
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
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "customers";
    ApiRouter::new()
        .api_route(
            "/customers",
            post_with(create, doc(TAG, P::CustomersWrite, "Create a customer"))
                .get_with(list, doc(TAG, P::CustomersRead, "List customers")),
        )
        .api_route(
            "/customers/{id}",
            get_with(get_one, doc(TAG, P::CustomersRead, "Read a customer"))
                .patch_with(patch, doc(TAG, P::CustomersWrite, "Change a customer")),
        )
        .api_route(
            "/customers/{id}/activate",
            post_with(
                activate,
                doc(TAG, P::CustomersWrite, "Activate a pending customer"),
            ),
        )
        .api_route(
            "/customers/{id}/suspend",
            post_with(suspend, doc(TAG, P::CustomersStatus, "Suspend a customer")),
        )
        .api_route(
            "/customers/{id}/resume",
            post_with(
                resume,
                doc(TAG, P::CustomersStatus, "Resume a suspended customer"),
            ),
        )
        .api_route(
            "/customers/{id}/cancel",
            post_with(
                cancel,
                doc(
                    TAG,
                    P::CustomersStatus,
                    "Cancel a customer (its subscriptions first)",
                ),
            ),
        )
}
