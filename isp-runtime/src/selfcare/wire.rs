//! What the self-care API reads and writes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{billing::subscriptions::SubscriptionView, catalog::PlanView};

/// One of the subscriber's services: the subscription and the plan it is on.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ServiceView {
    /// The subscription.
    pub subscription: SubscriptionView,
    /// Its plan.
    pub plan: PlanView,
}

/// Filters of `GET /me/invoices`; drafts are never shown.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MyInvoiceQuery {
    /// Only this status (`issued`, `overdue`, `paid`, `refunded`, `void`).
    pub status: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

/// Paging of `GET /me/payments`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MyPaymentQuery {
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(MyInvoiceQuery, MyPaymentQuery);
