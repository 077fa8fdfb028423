//! Payments, refunds and credit notes against issued invoices. A payment is more than zero and
//! at most what is due (partial payments are fine); a refund is at most what its payment has
//! left unrefunded; a credit note only applies to an issued invoice and at most its
//! uncredited total. A payment that settles a customer's overdue balance brings its suspended
//! service back at once.

use axum::{
    Extension, Json, Router,
    extract::OriginalUri,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use dotmac_contract::reporting::metric::TRANSACTIONS;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::api::page;
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, Params},
    },
    audit,
    db::{
        entity::{credit_note, invoice, payment, refund},
        new_id, take_numbers,
    },
    domain::lifecycle::InvoiceStatus,
    dunning,
    error::{Error, Result},
    invoices::{self, InvoiceView},
    reporting, validate,
};
use dotmac_web::created;

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Card.
    CreditCard,
    /// Bank transfer.
    BankTransfer,
    /// ACH debit.
    Ach,
    /// Mobile money.
    MobileMoney,
    /// Cash at a counter.
    Cash,
    /// Cheque.
    Check,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::CreditCard => "credit_card",
            Self::BankTransfer => "bank_transfer",
            Self::Ach => "ach",
            Self::MobileMoney => "mobile_money",
            Self::Cash => "cash",
            Self::Check => "check",
        }
    }
}

/// `POST /payments`. Send an `Idempotency-Key` header to make a retry safe.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    /// The invoice paid.
    pub invoice_id: Uuid,
    /// Amount in minor units: more than 0, at most the amount due.
    pub amount: i64,
    /// How it was paid.
    pub method: Method,
    /// Bank or processor reference.
    pub reference: Option<String>,
    /// Day received; today by default.
    pub received_on: Option<NaiveDate>,
}

/// A payment as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PaymentView {
    /// Id.
    pub id: Uuid,
    /// Number (`PAY-000001`).
    pub number: String,
    /// Invoice.
    pub invoice_id: Uuid,
    /// Customer.
    pub customer_id: Uuid,
    /// Amount.
    pub amount: i64,
    /// Refunded so far.
    pub amount_refunded: i64,
    /// Currency.
    pub currency: String,
    /// Method.
    pub method: String,
    /// Reference.
    pub reference: Option<String>,
    /// Day received.
    pub received_on: NaiveDate,
}

impl From<payment::Model> for PaymentView {
    fn from(p: payment::Model) -> Self {
        Self {
            id: p.id,
            number: p.number,
            invoice_id: p.invoice_id,
            customer_id: p.customer_id,
            amount: p.amount,
            amount_refunded: p.amount_refunded,
            currency: p.currency,
            method: p.method,
            reference: p.reference,
            received_on: p.received_on,
        }
    }
}

/// A payment with the invoice it left behind.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PaymentReceipt {
    /// The payment.
    pub payment: PaymentView,
    /// The invoice after it.
    pub invoice: InvoiceView,
}

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    Body(input): Body<NewPayment>,
) -> Result<Response> {
    let key = validate::idempotency_key(&headers)?;
    if let Some(key) = &key
        && let Some(existing) = payment::Entity::find()
            .filter(payment::Column::IdempotencyKey.eq(key.as_str()))
            .one(&state.db)
            .await?
    {
        if existing.invoice_id != input.invoice_id || existing.amount != input.amount {
            return Err(Error::conflict(
                Some("Idempotency-Key"),
                "this key was used for a different payment",
            ));
        }
        // A replay only reads: no lock outside a transaction.
        let invoice = invoice::Entity::find_by_id(existing.invoice_id)
            .one(&state.db)
            .await?
            .ok_or(Error::NotFound { entity: "invoice" })?;
        let receipt = PaymentReceipt {
            payment: existing.into(),
            invoice: invoice.into(),
        };
        return Ok((StatusCode::OK, Json(receipt)).into_response());
    }
    let reference = validate::optional_text("reference", input.reference.as_deref(), 100)?;
    if input.amount <= 0 {
        return Err(Error::invalid("amount", "must be more than 0"));
    }
    let today = chrono::Utc::now().date_naive();
    let received_on = input.received_on.unwrap_or(today);
    let txn = state.db.begin().await?;
    let invoice = invoices::find_for_update(&txn, input.invoice_id)
        .await
        .map_err(|e| e.in_field("invoice_id"))?;
    let status = invoice.status;
    if !status.is_open() {
        return Err(Error::conflict(
            Some("invoice_id"),
            format!(
                "the invoice is {}; only an issued or overdue invoice can be paid",
                status.as_str()
            ),
        ));
    }
    if input.amount > invoice.amount_due {
        return Err(Error::invalid(
            "amount",
            format!("must be at most the amount due, {}", invoice.amount_due),
        ));
    }
    let n = take_numbers(&txn, "payment", 1).await?;
    let row = payment::ActiveModel {
        id: Set(new_id()),
        number: Set(format!("PAY-{n:06}")),
        invoice_id: Set(invoice.id),
        customer_id: Set(invoice.customer_id),
        amount: Set(input.amount),
        amount_refunded: Set(0),
        currency: Set(invoice.currency.clone()),
        method: Set(input.method.as_str().to_owned()),
        reference: Set(reference),
        idempotency_key: Set(key),
        received_on: Set(received_on),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        Error::unique_as_conflict(
            e,
            "Idempotency-Key",
            "a payment with this key is being recorded",
        )
    })?;
    let mut updated = invoice;
    updated.amount_paid += input.amount;
    let updated = invoices::settle(&txn, updated).await?;
    reporting::record(
        &txn,
        format!("{}:{TRANSACTIONS}:{}", state.settings.tenant, row.id),
        TRANSACTIONS,
        1.0,
    )
    .await?;
    audit::by(
        &txn,
        &actor,
        "payment.recorded",
        "payment",
        row.id,
        json!({"invoice_id": row.invoice_id, "amount": row.amount}),
    )
    .await?;
    dunning::reactivate_if_settled(
        &txn,
        updated.customer_id,
        today,
        state.settings.payment_terms_days,
        &actor.name,
    )
    .await?;
    txn.commit().await?;
    let receipt = PaymentReceipt {
        payment: row.into(),
        invoice: updated.into(),
    };
    Ok(created(
        &format!("/api/v1/payments/{}", receipt.payment.id),
        receipt,
    ))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<PaymentView>> {
    let row = payment::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound { entity: "payment" })?;
    Ok(Json(row.into()))
}

/// Filters of `GET /payments`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentQuery {
    /// Only for this invoice.
    pub invoice_id: Option<Uuid>,
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<PaymentQuery>,
) -> Result<Response> {
    let mut select = payment::Entity::find();
    if let Some(id) = query.invoice_id {
        select = select.filter(payment::Column::InvoiceId.eq(id));
    }
    if let Some(id) = query.customer_id {
        select = select.filter(payment::Column::CustomerId.eq(id));
    }
    page(
        &state.db,
        select,
        payment::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &PaymentView| v.id,
    )
    .await
}

/// `POST /payments/{id}/refunds`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRefund {
    /// Minor units: more than 0, at most the payment less earlier refunds.
    pub amount: i64,
    /// Why.
    pub reason: String,
}

/// A refund as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RefundView {
    /// Id.
    pub id: Uuid,
    /// Payment refunded.
    pub payment_id: Uuid,
    /// Its invoice.
    pub invoice_id: Uuid,
    /// Amount.
    pub amount: i64,
    /// Why.
    pub reason: String,
}

async fn refund_payment(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(payment_id): Id,
    Body(input): Body<NewRefund>,
) -> Result<Response> {
    let reason = validate::text("reason", &input.reason, 500)?;
    if input.amount <= 0 {
        return Err(Error::invalid("amount", "must be more than 0"));
    }
    let txn = state.db.begin().await?;
    let paid = payment::Entity::find_by_id(payment_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(Error::NotFound { entity: "payment" })?;
    let refundable = paid.amount - paid.amount_refunded;
    if input.amount > refundable {
        return Err(Error::invalid(
            "amount",
            format!("must be at most {refundable}, what this payment has left unrefunded"),
        ));
    }
    let invoice = invoices::find_for_update(&txn, paid.invoice_id).await?;
    let row = refund::ActiveModel {
        id: Set(new_id()),
        payment_id: Set(paid.id),
        invoice_id: Set(paid.invoice_id),
        amount: Set(input.amount),
        reason: Set(reason),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&txn)
    .await?;
    let refunded = paid.amount_refunded + input.amount;
    let mut model = paid.into_active_model();
    model.amount_refunded = Set(refunded);
    model.update(&txn).await?;
    let mut invoice = invoice;
    invoice.amount_refunded += input.amount;
    invoices::settle(&txn, invoice).await?;
    audit::by(
        &txn,
        &actor,
        "payment.refunded",
        "payment",
        payment_id,
        json!({"amount": input.amount}),
    )
    .await?;
    txn.commit().await?;
    let view = RefundView {
        id: row.id,
        payment_id: row.payment_id,
        invoice_id: row.invoice_id,
        amount: row.amount,
        reason: row.reason,
    };
    Ok(created(&format!("/api/v1/payments/{payment_id}"), view))
}

/// `POST /credit-notes`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCreditNote {
    /// An issued, overdue or paid invoice.
    pub invoice_id: Uuid,
    /// Minor units: more than 0, at most the invoice total less earlier credits.
    pub amount: i64,
    /// Why.
    pub reason: String,
}

/// A credit note as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreditNoteView {
    /// Id.
    pub id: Uuid,
    /// Number (`CN-000001`).
    pub number: String,
    /// Invoice credited.
    pub invoice_id: Uuid,
    /// Customer.
    pub customer_id: Uuid,
    /// Amount.
    pub amount: i64,
    /// Why.
    pub reason: String,
}

impl From<credit_note::Model> for CreditNoteView {
    fn from(c: credit_note::Model) -> Self {
        Self {
            id: c.id,
            number: c.number,
            invoice_id: c.invoice_id,
            customer_id: c.customer_id,
            amount: c.amount,
            reason: c.reason,
        }
    }
}

/// Credits `amount` on an invoice inside the caller's transaction: the one way credit notes are
/// made, by staff and by subscription changes.
pub async fn credit(
    txn: &impl sea_orm::ConnectionTrait,
    invoice_id: Uuid,
    amount: i64,
    reason: &str,
    actor: &str,
) -> Result<credit_note::Model> {
    let invoice = invoices::find_for_update(txn, invoice_id)
        .await
        .map_err(|e| e.in_field("invoice_id"))?;
    let status = invoice.status;
    if !matches!(
        status,
        InvoiceStatus::Issued | InvoiceStatus::Overdue | InvoiceStatus::Paid
    ) {
        return Err(Error::conflict(
            Some("invoice_id"),
            format!(
                "the invoice is {}; credit notes apply only to issued invoices",
                status.as_str()
            ),
        ));
    }
    let creditable = invoice.total - invoice.amount_credited;
    if amount <= 0 || amount > creditable {
        return Err(Error::invalid(
            "amount",
            format!("must be 1 to {creditable}, the invoice total less earlier credits"),
        ));
    }
    let n = take_numbers(txn, "credit_note", 1).await?;
    let note = credit_note::ActiveModel {
        id: Set(new_id()),
        number: Set(format!("CN-{n:06}")),
        invoice_id: Set(invoice.id),
        customer_id: Set(invoice.customer_id),
        amount: Set(amount),
        reason: Set(reason.to_owned()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await?;
    let mut invoice = invoice;
    invoice.amount_credited += amount;
    let invoice = invoices::settle(txn, invoice).await?;
    audit::record(
        txn,
        actor,
        "credit_note.issued",
        "invoice",
        invoice.id,
        json!({"credit_note": note.number, "amount": amount}),
    )
    .await?;
    Ok(note)
}

async fn create_credit_note(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewCreditNote>,
) -> Result<Response> {
    let reason = validate::text("reason", &input.reason, 500)?;
    let txn = state.db.begin().await?;
    let note = credit(&txn, input.invoice_id, input.amount, &reason, &actor.name).await?;
    dunning::reactivate_if_settled(
        &txn,
        note.customer_id,
        chrono::Utc::now().date_naive(),
        state.settings.payment_terms_days,
        &actor.name,
    )
    .await?;
    txn.commit().await?;
    Ok(created(
        &format!("/api/v1/credit-notes?invoice_id={}", note.invoice_id),
        CreditNoteView::from(note),
    ))
}

/// Filters of `GET /credit-notes`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteQuery {
    /// Only for this invoice.
    pub invoice_id: Option<Uuid>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list_credit_notes(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CreditNoteQuery>,
) -> Result<Response> {
    let mut select = credit_note::Entity::find();
    if let Some(id) = query.invoice_id {
        select = select.filter(credit_note::Column::InvoiceId.eq(id));
    }
    page(
        &state.db,
        select,
        credit_note::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &CreditNoteView| v.id,
    )
    .await
}

/// Payment, refund and credit-note routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/payments", post(create).get(list))
        .route("/payments/{id}", get(get_one))
        .route("/payments/{id}/refunds", post(refund_payment))
        .route(
            "/credit-notes",
            post(create_credit_note).get(list_credit_notes),
        )
}
