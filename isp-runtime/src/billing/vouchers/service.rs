//! The voucher rules. A batch has a name used once, 1–1,000 vouchers of one value, and codes
//! of 80 bits of which only the SHA-256 is kept. A voucher pays at most what is due on the
//! invoice and keeps the rest; a used-up, voided or expired voucher, or one in another
//! currency than the invoice, pays nothing. Each function takes the caller's transaction and
//! commits nothing.

use chrono::Utc;
use dotmac_identity::typed_code;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::voucher,
    wire::{NewVoucher, NewVoucherBatch, VoucherBatch, VoucherQuery, VoucherStatus},
};
use crate::{
    api::{Actor, Settings},
    audit,
    billing::{
        invoices,
        payments::{self, Method, NewPayment, PaymentReceipt},
    },
    db::{new_id, take_numbers},
    error::{Error, Result},
    validate,
};

/// Vouchers in one batch at most.
const MAX_BATCH: u32 = 1000;

/// Makes a batch of vouchers and answers their codes, this once.
pub async fn make_batch(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    input: NewVoucherBatch,
) -> Result<VoucherBatch> {
    let batch = input.batch.trim().to_owned();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if batch.is_empty() || batch.len() > 100 || !batch.chars().all(allowed) {
        return Err(Error::invalid(
            "batch",
            "must be 1 to 100 letters, digits, '.', '-' or '_'",
        ));
    }
    if !(1..=MAX_BATCH).contains(&input.count) {
        return Err(Error::invalid("count", format!("must be 1 to {MAX_BATCH}")));
    }
    if input.amount <= 0 {
        return Err(Error::invalid("amount", "must be more than 0"));
    }
    let currency = match &input.currency {
        Some(currency) => validate::currency("currency", currency)?,
        None => settings.currency.clone(),
    };
    let today = Utc::now().date_naive();
    if input.expires_on.is_some_and(|day| day < today) {
        return Err(Error::invalid("expires_on", "must not be in the past"));
    }
    // The counter's row lock serialises batches, so the name check below cannot race.
    let first = take_numbers(txn, "voucher", i64::from(input.count)).await?;
    let taken = voucher::Entity::find()
        .filter(voucher::Column::Batch.eq(&batch))
        .one(txn)
        .await?;
    if taken.is_some() {
        return Err(Error::conflict(
            Some("batch"),
            format!("a batch named {batch} was made already; give this one another name"),
        ));
    }
    let now = Utc::now();
    let mut made = Vec::with_capacity(input.count as usize);
    let mut rows = Vec::with_capacity(input.count as usize);
    for n in first..first + i64::from(input.count) {
        let code = typed_code::generate(4, 4).map_err(|e| Error::Internal(e.to_string()))?;
        let row = voucher::Model {
            id: new_id(),
            number: format!("V-{n:06}"),
            batch: batch.clone(),
            code_hash: typed_code::digest(&code),
            amount: input.amount,
            amount_left: input.amount,
            currency: currency.clone(),
            status: VoucherStatus::Active,
            expires_on: input.expires_on,
            created_at: now,
            changed_at: None,
        };
        made.push(NewVoucher {
            id: row.id,
            number: row.number.clone(),
            code,
        });
        rows.push(row.into_active_model());
    }
    voucher::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    let detail =
        json!({"batch": batch, "count": input.count, "amount": input.amount, "currency": currency});
    // The batch is recorded against its first voucher (count is at least 1, checked above).
    let Some(first_id) = made.first().map(|v| v.id) else {
        return Err(Error::invalid("count", "must be at least 1"));
    };
    audit::by(
        txn,
        actor,
        "voucher.batch_made",
        "voucher",
        first_id,
        detail,
    )
    .await?;
    Ok(VoucherBatch {
        batch,
        amount: input.amount,
        currency,
        expires_on: input.expires_on,
        vouchers: made,
    })
}

/// The vouchers `query` asks for.
pub fn select(query: &VoucherQuery) -> Select<voucher::Entity> {
    let mut select = voucher::Entity::find();
    if let Some(batch) = &query.batch {
        select = select.filter(voucher::Column::Batch.eq(batch));
    }
    if let Some(status) = query.status {
        select = select.filter(voucher::Column::Status.eq(status));
    }
    select
}

/// Withdraws a voucher (lost or stolen) so that it pays nothing more; voiding it again
/// changes nothing.
pub async fn void(txn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<voucher::Model> {
    let found = voucher::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(Error::NotFound { entity: "voucher" })?;
    match found.status {
        VoucherStatus::Void => return Ok(found),
        VoucherStatus::Used => {
            return Err(Error::conflict(
                None,
                "the voucher is used up; there is nothing left to withdraw",
            ));
        }
        VoucherStatus::Active => {}
    }
    let mut row = found.into_active_model();
    row.status = Set(VoucherStatus::Void);
    row.changed_at = Set(Some(Utc::now()));
    let row = row.update(txn).await?;
    let detail = json!({"number": row.number, "amount_left": row.amount_left});
    audit::by(txn, actor, "voucher.voided", "voucher", row.id, detail).await?;
    Ok(row)
}

/// Pays `customer`'s invoice with the voucher whose code is `code`: as much of what is due as
/// the voucher has left, recorded as a payment by voucher.
pub async fn pay(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    customer: Uuid,
    invoice_id: Uuid,
    code: &str,
) -> Result<PaymentReceipt> {
    let code = validate::text("code", code, 40)?;
    let invoice = invoices::find_for_update(txn, invoice_id).await?;
    if invoice.customer_id != customer {
        return Err(Error::NotFound { entity: "invoice" });
    }
    if !invoice.status.is_open() {
        return Err(Error::conflict(
            None,
            format!(
                "the invoice is {}; nothing is due on it",
                invoice.status.as_str()
            ),
        ));
    }
    let found = voucher::Entity::find()
        .filter(voucher::Column::CodeHash.eq(typed_code::digest(&code)))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| {
            Error::invalid("code", "no voucher has this code; check it and try again")
        })?;
    usable(&found, &invoice.currency)?;
    let amount = found.amount_left.min(invoice.amount_due);
    let receipt = payments::service::book(
        txn,
        settings,
        actor,
        None,
        NewPayment {
            invoice_id,
            amount,
            method: Method::Voucher,
            reference: Some(found.number.clone()),
            received_on: None,
        },
    )
    .await?;
    let left = found.amount_left - amount;
    let number = found.number.clone();
    let mut row = found.into_active_model();
    row.amount_left = Set(left);
    row.status = Set(if left == 0 {
        VoucherStatus::Used
    } else {
        VoucherStatus::Active
    });
    row.changed_at = Set(Some(Utc::now()));
    let row = row.update(txn).await?;
    let detail =
        json!({"number": number, "invoice_id": invoice_id, "amount": amount, "amount_left": left});
    audit::by(txn, actor, "voucher.used", "voucher", row.id, detail).await?;
    Ok(receipt)
}

/// Whether a voucher can pay an invoice in `currency` today; a 409 naming `code` otherwise.
fn usable(v: &voucher::Model, currency: &str) -> Result<()> {
    let refused = |message: String| Err(Error::conflict(Some("code"), message));
    match v.status {
        VoucherStatus::Used => return refused("this voucher is used up".into()),
        VoucherStatus::Void => return refused("this voucher was withdrawn by the provider".into()),
        VoucherStatus::Active => {}
    }
    if let Some(day) = v.expires_on
        && day < Utc::now().date_naive()
    {
        return refused(format!("this voucher expired on {day}"));
    }
    if v.currency != currency {
        return refused(format!(
            "this voucher is in {}, the invoice in {currency}",
            v.currency
        ));
    }
    Ok(())
}
