//! What the invoice API reads and writes.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::invoice;

/// A line of `POST /invoices`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    /// What it is for.
    pub description: String,
    /// Units, 1–1,000,000.
    pub quantity: i64,
    /// Price of a unit in minor units, 0–10¹².
    pub unit_price: i64,
    /// Discount in percent.
    #[schemars(with = "Option<String>")]
    pub discount_percent: Option<Decimal>,
}

/// `POST /invoices`: a draft for a customer.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    /// Customer.
    pub customer_id: Uuid,
    /// At least one line.
    pub lines: Vec<NewLine>,
}

/// A line as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LineView {
    /// Description.
    pub description: String,
    /// Units.
    pub quantity: i64,
    /// Unit price.
    pub unit_price: i64,
    /// Quantity × unit price.
    pub gross: i64,
    /// Discount.
    pub discount: i64,
    /// Gross less discount.
    pub net: i64,
    /// Each tax.
    pub taxes: serde_json::Value,
    /// Sum of taxes.
    pub tax: i64,
    /// Net plus tax.
    pub total: i64,
}

/// An invoice as the API shows it. Amounts are minor units of `currency`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvoiceView {
    /// Id.
    pub id: Uuid,
    /// Number, once issued.
    pub number: Option<String>,
    /// Customer.
    pub customer_id: Uuid,
    /// Subscription.
    pub subscription_id: Option<Uuid>,
    /// recurring, proration, late_fee, manual or usage.
    pub kind: String,
    /// First day billed.
    pub period_start: Option<NaiveDate>,
    /// Day after the last day billed.
    pub period_end: Option<NaiveDate>,
    /// Currency.
    pub currency: String,
    /// draft, issued, overdue, paid, refunded or void.
    pub status: String,
    /// Issued on.
    pub issue_date: Option<NaiveDate>,
    /// Due on.
    pub due_date: Option<NaiveDate>,
    /// Sum of gross amounts.
    pub subtotal: i64,
    /// Sum of discounts.
    pub discount: i64,
    /// Sum of taxes.
    pub tax: i64,
    /// Sum of line totals.
    pub total: i64,
    /// Paid so far.
    pub amount_paid: i64,
    /// Credited by credit notes.
    pub amount_credited: i64,
    /// Refunded.
    pub amount_refunded: i64,
    /// Still owed.
    pub amount_due: i64,
    /// Lines (only when one invoice is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineView>>,
}

impl From<invoice::Model> for InvoiceView {
    fn from(i: invoice::Model) -> Self {
        Self {
            id: i.id,
            number: i.number,
            customer_id: i.customer_id,
            subscription_id: i.subscription_id,
            kind: i.kind.as_str().to_owned(),
            period_start: i.period_start,
            period_end: i.period_end,
            currency: i.currency,
            status: i.status.to_string(),
            issue_date: i.issue_date,
            due_date: i.due_date,
            subtotal: i.subtotal,
            discount: i.discount,
            tax: i.tax,
            total: i.total,
            amount_paid: i.amount_paid,
            amount_credited: i.amount_credited,
            amount_refunded: i.amount_refunded,
            amount_due: i.amount_due,
            lines: None,
        }
    }
}

/// Filters of `GET /invoices`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this status.
    pub status: Option<String>,
    /// Issued on or after.
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before.
    pub issued_to: Option<NaiveDate>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

/// `POST /invoices/{id}/issue`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Issue date; today by default.
    pub issue_date: Option<NaiveDate>,
}

crate::api::paging!(InvoiceQuery);

/// What customers owe in one currency: every issued or overdue invoice's amount due.
#[derive(Debug, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct Receivables {
    /// ISO 4217 code.
    pub currency: String,
    /// Due on issued and overdue invoices, in minor units.
    pub open: i64,
    /// Of that, due on overdue invoices.
    pub overdue: i64,
    /// Overdue invoices.
    pub overdue_invoices: i64,
    /// Customers with an overdue invoice.
    pub overdue_customers: i64,
}

/// `GET /receivables`: one row per currency that has anything owed, by code.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ReceivablesView {
    /// Per currency.
    pub by_currency: Vec<Receivables>,
}
