//! Billing: subscriptions on plans, their invoices, payments, refunds and credit notes, metered
//! usage charges, the billing and dunning runs, and the dunning policy.

pub mod dunning;
pub mod invoices;
pub mod payments;
pub mod runs;
pub mod subscriptions;
pub mod usage_charges;
