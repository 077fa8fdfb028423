//! What the usage-charge API reads and writes.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::usage_charge;

/// `POST /subscriptions/{id}/usage-charges`. Send an `Idempotency-Key` header so a meter that
/// sends a reading twice is charged once.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUsageCharge {
    /// What was used, as the invoice line shows it (`Data over allowance, GB`).
    pub description: String,
    /// Units used, 1 to 10⁹.
    pub quantity: i64,
    /// Price of one unit in minor units of the customer's currency.
    pub unit_price: i64,
    /// Day it was used; today by default, never in the future.
    pub occurred_on: Option<NaiveDate>,
}

/// A usage charge as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageChargeView {
    /// Id.
    pub id: Uuid,
    /// Subscription.
    pub subscription_id: Uuid,
    /// What was used.
    pub description: String,
    /// Units.
    pub quantity: i64,
    /// Price of one unit, minor units.
    pub unit_price: i64,
    /// quantity × unit price, before taxes.
    pub amount: i64,
    /// Day it was used.
    pub occurred_on: NaiveDate,
    /// The invoice that billed it; none while unbilled.
    pub invoice_id: Option<Uuid>,
}

impl From<usage_charge::Model> for UsageChargeView {
    fn from(c: usage_charge::Model) -> Self {
        Self {
            id: c.id,
            subscription_id: c.subscription_id,
            amount: c.quantity.saturating_mul(c.unit_price),
            description: c.description,
            quantity: c.quantity,
            unit_price: c.unit_price,
            occurred_on: c.occurred_on,
            invoice_id: c.invoice_id,
        }
    }
}

/// Filters of `GET /subscriptions/{id}/usage-charges`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Only billed (`true`) or only unbilled (`false`) charges.
    pub billed: Option<bool>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(UsageQuery);
