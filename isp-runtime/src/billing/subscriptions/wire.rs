//! What the subscription API reads and writes.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::subscription;
use crate::{
    billing::{invoices::InvoiceView, payments::CreditNoteView},
    domain::money,
};

/// `POST /subscriptions`: a pending subscription.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Customer.
    pub customer_id: Uuid,
    /// Plan (active, in the customer's currency).
    pub plan_id: Uuid,
    /// Price per period instead of the plan's, minor units.
    pub price_override: Option<i64>,
    /// Discount in percent on every period.
    #[schemars(with = "Option<String>")]
    pub discount_percent: Option<Decimal>,
}

/// Body of activate, resume and cancel: the day it takes effect, today by default.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Effective {
    /// Day it takes effect.
    pub date: Option<NaiveDate>,
}

/// `POST /subscriptions/{id}/change-plan`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    /// The new plan (same currency and billing cycle).
    pub plan_id: Uuid,
    /// Day it takes effect; today by default.
    pub date: Option<NaiveDate>,
}

/// A subscription as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SubscriptionView {
    /// Id.
    pub id: Uuid,
    /// Customer.
    pub customer_id: Uuid,
    /// Plan.
    pub plan_id: Uuid,
    /// pending, active, suspended or cancelled.
    pub status: String,
    /// Price instead of the plan's.
    pub price_override: Option<i64>,
    /// Discount in percent.
    #[schemars(with = "String")]
    pub discount_percent: Decimal,
    /// Why it is suspended: `staff` or `non_payment`.
    pub suspended_reason: Option<String>,
    /// Activated on.
    pub activated_on: Option<NaiveDate>,
    /// Cancelled on.
    pub cancelled_on: Option<NaiveDate>,
    /// First day not yet billed.
    pub next_billing_date: Option<NaiveDate>,
}

impl From<subscription::Model> for SubscriptionView {
    fn from(s: subscription::Model) -> Self {
        Self {
            id: s.id,
            customer_id: s.customer_id,
            plan_id: s.plan_id,
            status: s.status.to_string(),
            price_override: s.price_override,
            discount_percent: money::ppm_to_percent(s.discount_ppm),
            suspended_reason: s.suspended_reason,
            activated_on: s.activated_on,
            cancelled_on: s.cancelled_on,
            next_billing_date: s.next_billing_date,
        }
    }
}

/// What happened to the money on a subscription change.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ChangeOutcome {
    /// The subscription after the change.
    pub subscription: SubscriptionView,
    /// An invoice issued for it, if any.
    pub invoice: Option<InvoiceView>,
    /// A credit note issued for it, if any.
    pub credit_note: Option<CreditNoteView>,
}

/// Filters of `GET /subscriptions`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionQuery {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this status.
    pub status: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(SubscriptionQuery);
