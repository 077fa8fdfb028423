//! Payment, refund and credit-note routes: each reads its input, makes one service call in a
//! transaction, and answers.

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
    entity::{credit_note, payment},
    service::{self, Recorded},
    wire::{
        CreditNoteQuery, CreditNoteView, NewCreditNote, NewPayment, NewRefund, PaymentQuery,
        PaymentView, RefundView,
    },
};
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, Params},
        page,
    },
    error::Result,
    validate,
};

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    Body(input): Body<NewPayment>,
) -> Result<Response> {
    let key = validate::idempotency_key(&headers)?;
    let txn = state.db.begin().await?;
    let recorded = service::record(&txn, &state.settings, &actor, key, input).await?;
    txn.commit().await?;
    Ok(match recorded {
        Recorded::New(receipt) => {
            let location = format!("/api/v1/payments/{}", receipt.payment.id);
            created(&location, receipt)
        }
        Recorded::Replayed(receipt) => (StatusCode::OK, Json(receipt)).into_response(),
    })
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<PaymentView>> {
    Ok(Json(service::find(&state.db, id).await?.into()))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<PaymentQuery>,
) -> Result<Response> {
    let select = service::select(&query);
    let id = |v: &PaymentView| v.id;
    page(
        &state.db,
        select,
        payment::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        id,
    )
    .await
}

async fn refund(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(payment_id): Id,
    Body(input): Body<NewRefund>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let row = service::refund(&txn, &actor, payment_id, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/payments/{payment_id}");
    Ok(created(&location, RefundView::from(row)))
}

async fn create_credit_note(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewCreditNote>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let terms = state.settings.payment_terms_days;
    let note = service::issue_credit_note(&txn, terms, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/credit-notes?invoice_id={}", note.invoice_id);
    Ok(created(&location, CreditNoteView::from(note)))
}

async fn list_credit_notes(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CreditNoteQuery>,
) -> Result<Response> {
    let select = service::select_credit_notes(&query);
    let id = |v: &CreditNoteView| v.id;
    page(
        &state.db,
        select,
        credit_note::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        id,
    )
    .await
}

/// Payment, refund and credit-note routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/payments", post(create).get(list))
        .route("/payments/{id}", get(get_one))
        .route("/payments/{id}/refunds", post(refund))
        .route(
            "/credit-notes",
            post(create_credit_note).get(list_credit_notes),
        )
}
