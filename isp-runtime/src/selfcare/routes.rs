//! Self-care routes: each finds the signed-in subscriber's customer, reads or does one thing
//! for it, and answers. Another customer's invoice is a 404, as if it did not exist.

use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::Created;
use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::wire::{MyInvoiceQuery, MyPaymentQuery, ServiceView};
use crate::{
    api::{
        Actor, AppState, Paged,
        access::doc,
        extract::{Body, Id, Params},
        page,
    },
    billing::{
        invoices::{self, InvoiceQuery, InvoiceView, entity::invoice},
        payments::{
            PaymentQuery, PaymentReceipt, PaymentView, entity::payment, service as payments,
        },
        subscriptions::entity::subscription,
        vouchers::{self, VoucherPayment},
    },
    catalog::entity::plan,
    domain::lifecycle::InvoiceStatus,
    error::{Error, Result},
    people::{Permission as P, accounts::customer_of},
};

async fn services(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<ServiceView>>> {
    let customer = customer_of(&state.db, actor.account).await?;
    let subscriptions = subscription::Entity::find()
        .filter(subscription::Column::CustomerId.eq(customer))
        .order_by_asc(subscription::Column::Id)
        .all(&state.db)
        .await?;
    let plans: HashMap<_, _> = plan::Entity::find()
        .filter(plan::Column::Id.is_in(subscriptions.iter().map(|s| s.plan_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    subscriptions
        .into_iter()
        .map(|subscription| {
            let plan = plans
                .get(&subscription.plan_id)
                .cloned()
                .ok_or(Error::NotFound { entity: "plan" })?;
            Ok(ServiceView {
                subscription: subscription.into(),
                plan: plan.into(),
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Json)
}

async fn list_invoices(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<MyInvoiceQuery>,
) -> Result<Paged<InvoiceView>> {
    let customer = customer_of(&state.db, actor.account).await?;
    let select = invoices::service::select(&InvoiceQuery {
        customer_id: Some(customer),
        status: query.status.clone(),
        issued_from: None,
        issued_to: None,
        limit: query.limit,
        cursor: query.cursor,
    })?
    .filter(invoice::Column::Status.ne(InvoiceStatus::Draft));
    page(&state.db, select, invoice::Column::Id, &query, &uri).await
}

/// The customer's invoice `id`, issued (never a draft); a 404 for any other.
async fn own_invoice(state: &AppState, actor: &Actor, id: uuid::Uuid) -> Result<invoice::Model> {
    let customer = customer_of(&state.db, actor.account).await?;
    let row = invoices::service::find(&state.db, id).await?;
    if row.customer_id != customer || row.status == InvoiceStatus::Draft {
        return Err(Error::NotFound { entity: "invoice" });
    }
    Ok(row)
}

async fn get_invoice(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<Json<InvoiceView>> {
    let row = own_invoice(&state, &actor, id).await?;
    Ok(Json(invoices::view(&state.db, row).await?))
}

async fn list_payments(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<MyPaymentQuery>,
) -> Result<Paged<PaymentView>> {
    let customer = customer_of(&state.db, actor.account).await?;
    let select = payments::select(&PaymentQuery {
        invoice_id: None,
        customer_id: Some(customer),
        limit: query.limit,
        cursor: query.cursor,
    });
    page(&state.db, select, payment::Column::Id, &query, &uri).await
}

async fn pay_with_voucher(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<VoucherPayment>,
) -> Result<Created<PaymentReceipt>> {
    let customer = customer_of(&state.db, actor.account).await?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let receipt =
        vouchers::service::pay(&txn, &state.settings, &actor, customer, id, &input.code).await?;
    txn.commit().await?;
    let location = format!("/api/v1/me/invoices/{id}");
    Ok(Created::new(location, receipt))
}

/// Self-care routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "selfcare";
    ApiRouter::new()
        .api_route(
            "/me/services",
            get_with(
                services,
                doc(TAG, P::Selfcare, "A subscriber's services with their plans"),
            ),
        )
        .api_route(
            "/me/invoices",
            get_with(
                list_invoices,
                doc(TAG, P::Selfcare, "A subscriber's invoices (no drafts)"),
            ),
        )
        .api_route(
            "/me/invoices/{id}",
            get_with(
                get_invoice,
                doc(TAG, P::Selfcare, "One of a subscriber's invoices, with its lines"),
            ),
        )
        .api_route(
            "/me/invoices/{id}/voucher-payments",
            post_with(
                pay_with_voucher,
                doc(
                    TAG,
                    P::Selfcare,
                    "Pay one's invoice with a prepaid voucher (what the invoice does not use stays on it)",
                ),
            ),
        )
        .api_route(
            "/me/payments",
            get_with(
                list_payments,
                doc(TAG, P::Selfcare, "A subscriber's payments"),
            ),
        )
}
