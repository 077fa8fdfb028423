//! Payment, refund and credit-note routes: each reads its input, makes one service call in a
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
use dotmac_web::{Created, Recorded};

use super::{
    entity::{credit_note, payment},
    service,
    wire::{
        CreditNoteQuery, CreditNoteView, NewCreditNote, NewPayment, NewRefund, PaymentQuery,
        PaymentReceipt, PaymentView, RefundView,
    },
};
use crate::{
    api::{
        Actor, AppState, Paged,
        extract::{Body, Id, IdempotencyKey, Params},
        page,
    },
    error::Result,
};

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    IdempotencyKey(key): IdempotencyKey,
    Body(input): Body<NewPayment>,
) -> Result<Recorded<PaymentReceipt>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let recorded = service::record(&txn, &state.settings, &actor, key, input).await?;
    txn.commit().await?;
    let location = |r: &PaymentReceipt| format!("/api/v1/payments/{}", r.payment.id);
    Ok(recorded.answer(|receipt| receipt, location))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<PaymentView>> {
    Ok(Json(service::find(&state.db, id).await?.into()))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<PaymentQuery>,
) -> Result<Paged<PaymentView>> {
    let select = service::select(&query);
    page(&state.db, select, payment::Column::Id, &query, &uri).await
}

async fn refund(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(payment_id): Id,
    Body(input): Body<NewRefund>,
) -> Result<Created<RefundView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let row = service::refund(&txn, &actor, payment_id, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/payments/{payment_id}");
    Ok(Created::new(location, RefundView::from(row)))
}

async fn create_credit_note(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewCreditNote>,
) -> Result<Created<CreditNoteView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let terms = state.settings.payment_terms_days;
    let note = service::issue_credit_note(&txn, terms, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/credit-notes?invoice_id={}", note.invoice_id);
    Ok(Created::new(location, CreditNoteView::from(note)))
}

async fn list_credit_notes(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CreditNoteQuery>,
) -> Result<Paged<CreditNoteView>> {
    let select = service::select_credit_notes(&query);
    page(&state.db, select, credit_note::Column::Id, &query, &uri).await
}

/// Payment, refund and credit-note routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "payments";
    ApiRouter::new()
        .api_route(
            "/payments",
            post_with(create, doc(TAG, P::PaymentsWrite, "Record a payment"))
                .get_with(list, doc(TAG, P::PaymentsRead, "List payments")),
        )
        .api_route(
            "/payments/{id}",
            get_with(get_one, doc(TAG, P::PaymentsRead, "Read a payment")),
        )
        .api_route(
            "/payments/{id}/refunds",
            post_with(
                refund,
                doc(TAG, P::PaymentsRefund, "Refund part or all of a payment"),
            ),
        )
        .api_route(
            "/credit-notes",
            post_with(
                create_credit_note,
                doc(TAG, P::PaymentsRefund, "Credit an issued invoice"),
            )
            .get_with(
                list_credit_notes,
                doc(TAG, P::PaymentsRead, "List credit notes"),
            ),
        )
}
