//! What the payment, refund and credit-note API reads and writes.

use chrono::NaiveDate;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::{credit_note, payment, refund};
use crate::billing::invoices::InvoiceView;

/// How a payment was made.
// Also the payments' `method` column.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Method {
    /// Card.
    #[sea_orm(string_value = "credit_card")]
    CreditCard,
    /// Bank transfer.
    #[sea_orm(string_value = "bank_transfer")]
    BankTransfer,
    /// ACH debit.
    #[sea_orm(string_value = "ach")]
    Ach,
    /// Mobile money.
    #[sea_orm(string_value = "mobile_money")]
    MobileMoney,
    /// Cash at a counter.
    #[sea_orm(string_value = "cash")]
    Cash,
    /// Cheque.
    #[sea_orm(string_value = "check")]
    Check,
    /// A prepaid voucher, redeemed by the subscriber (the reference is its number).
    #[sea_orm(string_value = "voucher")]
    Voucher,
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
    pub method: Method,
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

impl From<refund::Model> for RefundView {
    fn from(r: refund::Model) -> Self {
        Self {
            id: r.id,
            payment_id: r.payment_id,
            invoice_id: r.invoice_id,
            amount: r.amount,
            reason: r.reason,
        }
    }
}

crate::api::paging!(PaymentQuery, CreditNoteQuery);
