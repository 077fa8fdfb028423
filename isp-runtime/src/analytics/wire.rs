//! What `/analytics/revenue` answers.

use serde::Serialize;

/// `GET /analytics/revenue`: one series per currency.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Revenue {
    /// Per currency of the plans, oldest month first.
    pub by_currency: Vec<CurrencyRevenue>,
}

/// One currency's months.
#[derive(Debug, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct CurrencyRevenue {
    /// ISO 4217 code.
    pub currency: String,
    /// Oldest first; the current month as of today.
    pub months: Vec<MonthRevenue>,
}

/// One month's figures.
#[derive(Debug, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct MonthRevenue {
    /// `2026-11`.
    pub month: String,
    /// Monthly recurring revenue at the month's end, in minor units.
    pub mrr: i64,
    /// Subscriptions in service at the month's end.
    pub active_subscriptions: i64,
    /// Customers with one in service at the month's end.
    pub active_customers: i64,
    /// MRR per active customer, in minor units.
    pub arpu: i64,
    /// Subscriptions activated in the month.
    pub new_subscriptions: i64,
    /// Subscriptions cancelled in the month.
    pub cancelled_subscriptions: i64,
    /// Cancelled in the month over those in service at its start, in percent (`1.25`).
    pub churn_percent: String,
}
