//! The payment rules. A payment is more than zero and at most what is due (partial payments
//! are fine) and is recorded once per `Idempotency-Key`; a refund is at most what its payment
//! has left unrefunded; a credit note only applies to an issued invoice and at most its
//! uncredited total. A payment or credit that settles a customer's overdue balance brings its
//! suspended service back at once. Each function takes the caller's transaction and commits
//! nothing.

use dotmac_contract::reporting::metric::TRANSACTIONS;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::{credit_note, payment, refund},
    wire::{
        CreditNoteQuery, Method, NewCreditNote, NewPayment, NewRefund, PaymentQuery, PaymentReceipt,
    },
};
use crate::{
    api::{Actor, Settings},
    audit,
    billing::{
        Idempotent, dunning,
        invoices::{self, entity::invoice},
    },
    db::{new_id, take_numbers},
    domain::lifecycle::InvoiceStatus,
    error::{Error, Result},
    reporting, validate,
};

/// Records a payment against an open invoice, or answers a replay of one already recorded
/// under `key`.
pub async fn record(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    key: Option<String>,
    input: NewPayment,
) -> Result<Idempotent<PaymentReceipt>> {
    if let Some(key) = &key
        && let Some(receipt) = replay(txn, key, &input).await?
    {
        return Ok(Idempotent::Replayed(receipt));
    }
    if input.method == Method::Voucher {
        return Err(Error::invalid(
            "method",
            "a voucher pays by its code, in the subscriber portal; it is not recorded by hand",
        ));
    }
    book(txn, settings, actor, key, input)
        .await
        .map(Idempotent::New)
}

/// Books a payment whose method the caller has checked: the payment row, the invoice settled,
/// the usage event, the audit entry and a suspended service brought back when the overdue
/// balance is settled.
pub(crate) async fn book(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    key: Option<String>,
    input: NewPayment,
) -> Result<PaymentReceipt> {
    let reference = validate::optional_text("reference", input.reference.as_deref(), 100)?;
    if input.amount <= 0 {
        return Err(Error::invalid("amount", "must be more than 0"));
    }
    let today = chrono::Utc::now().date_naive();
    let invoice = payable(txn, input.invoice_id, input.amount).await?;
    let n = take_numbers(txn, "payment", 1).await?;
    let row = payment::ActiveModel {
        id: Set(new_id()),
        number: Set(format!("PAY-{n:06}")),
        invoice_id: Set(invoice.id),
        customer_id: Set(invoice.customer_id),
        amount: Set(input.amount),
        amount_refunded: Set(0),
        currency: Set(invoice.currency.clone()),
        method: Set(input.method),
        reference: Set(reference),
        idempotency_key: Set(key),
        received_on: Set(input.received_on.unwrap_or(today)),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
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
    let updated = invoices::settle(txn, updated).await?;
    let event = format!("{}:{TRANSACTIONS}:{}", settings.tenant, row.id);
    reporting::record(txn, event, None, TRANSACTIONS, 1.0).await?;
    let detail = json!({"invoice_id": row.invoice_id, "amount": row.amount});
    audit::by(txn, actor, "payment.recorded", "payment", row.id, detail).await?;
    // Service comes back, and is billed, from the day the money arrived.
    let terms = settings.payment_terms_days;
    let received = row.received_on;
    dunning::reactivate_if_settled(txn, updated.customer_id, received, terms, &actor.name).await?;
    Ok(PaymentReceipt {
        payment: row.into(),
        invoice: updated.into(),
    })
}

/// The receipt of the payment recorded under `key`, if any; a key reused for another payment
/// is a conflict.
async fn replay(
    db: &impl ConnectionTrait,
    key: &str,
    input: &NewPayment,
) -> Result<Option<PaymentReceipt>> {
    let Some(existing) = payment::Entity::find()
        .filter(payment::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if existing.invoice_id != input.invoice_id || existing.amount != input.amount {
        return Err(Error::conflict(
            Some("Idempotency-Key"),
            "this key was used for a different payment",
        ));
    }
    // A replay only reads: no lock.
    let invoice = invoices::service::find(db, existing.invoice_id).await?;
    Ok(Some(PaymentReceipt {
        payment: existing.into(),
        invoice: invoice.into(),
    }))
}

/// The invoice `amount` is paid on, locked: open, and owing at least `amount`.
async fn payable(txn: &impl ConnectionTrait, id: Uuid, amount: i64) -> Result<invoice::Model> {
    let invoice = invoices::find_for_update(txn, id)
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
    if amount > invoice.amount_due {
        return Err(Error::invalid(
            "amount",
            format!("must be at most the amount due, {}", invoice.amount_due),
        ));
    }
    Ok(invoice)
}

/// A payment by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<payment::Model> {
    payment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "payment" })
}

/// The payments `query` selects (before paging).
pub fn select(query: &PaymentQuery) -> Select<payment::Entity> {
    let mut select = payment::Entity::find();
    if let Some(id) = query.invoice_id {
        select = select.filter(payment::Column::InvoiceId.eq(id));
    }
    if let Some(id) = query.customer_id {
        select = select.filter(payment::Column::CustomerId.eq(id));
    }
    select
}

/// Refunds part or all of a payment.
pub async fn refund(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    payment_id: Uuid,
    input: NewRefund,
) -> Result<refund::Model> {
    let reason = validate::text("reason", &input.reason, 500)?;
    if input.amount <= 0 {
        return Err(Error::invalid("amount", "must be more than 0"));
    }
    let paid = payment::Entity::find_by_id(payment_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(Error::NotFound { entity: "payment" })?;
    let refundable = paid.amount - paid.amount_refunded;
    if input.amount > refundable {
        return Err(Error::invalid(
            "amount",
            format!("must be at most {refundable}, what this payment has left unrefunded"),
        ));
    }
    let invoice = invoices::find_for_update(txn, paid.invoice_id).await?;
    let row = refund::ActiveModel {
        id: Set(new_id()),
        payment_id: Set(paid.id),
        invoice_id: Set(paid.invoice_id),
        amount: Set(input.amount),
        reason: Set(reason),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await?;
    let refunded = paid.amount_refunded + input.amount;
    let mut model = paid.into_active_model();
    model.amount_refunded = Set(refunded);
    model.update(txn).await?;
    let mut invoice = invoice;
    invoice.amount_refunded += input.amount;
    invoices::settle(txn, invoice).await?;
    let detail = json!({"amount": input.amount});
    audit::by(
        txn,
        actor,
        "payment.refunded",
        "payment",
        payment_id,
        detail,
    )
    .await?;
    Ok(row)
}

/// Credits `amount` on an invoice inside the caller's transaction: the one way credit notes are
/// made, by staff and by subscription changes.
pub async fn credit(
    txn: &impl ConnectionTrait,
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

/// Issues a credit note by staff and brings suspended service back when it settles the
/// customer's overdue balance.
pub async fn issue_credit_note(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    actor: &Actor,
    input: NewCreditNote,
) -> Result<credit_note::Model> {
    let reason = validate::text("reason", &input.reason, 500)?;
    let note = credit(txn, input.invoice_id, input.amount, &reason, &actor.name).await?;
    let today = chrono::Utc::now().date_naive();
    dunning::reactivate_if_settled(txn, note.customer_id, today, terms_days, &actor.name).await?;
    Ok(note)
}

/// The credit notes `query` selects (before paging).
pub fn select_credit_notes(query: &CreditNoteQuery) -> Select<credit_note::Entity> {
    let mut select = credit_note::Entity::find();
    if let Some(id) = query.invoice_id {
        select = select.filter(credit_note::Column::InvoiceId.eq(id));
    }
    select
}
