//! Usage-based charges: what a subscriber used beyond the plan (data over the allowance, call
//! minutes, a truck roll), recorded against a subscription and billed in arrears. The billing
//! run puts every unbilled charge that occurred before the period it bills on that period's
//! invoice; cancelling bills what is left on a final usage invoice. A charge is billed once: it
//! is linked to its invoice in the transaction that issues it. Recording needs the
//! `advanced_billing` feature.

//! `service` holds the rules and takes a transaction; `routes` turns HTTP into service calls;
//! `wire` is what the API reads and writes; `entity` is the table.

pub mod entity;
mod routes;
pub mod service;
mod wire;

pub use routes::routes;
pub use service::{bill_remaining, line, mark_billed, unbilled_between};
pub use wire::{NewUsageCharge, UsageChargeView, UsageQuery};
