//! Dunning: what a run does for unpaid invoices on a given day, following the tenant's policy.
//! Past its due date an invoice is overdue; past the grace period it gets a late fee (an
//! invoice of its own, once); past the further suspension period the customer's internet
//! subscriptions are suspended for non-payment; and when the overdue balance is paid they are
//! resumed. Every action is recorded once in `dunning_actions`, so a run repeated on the same
//! day does nothing more.

//! `run` is the dunning run; `service` holds the policy and reactivation, callable from a
//! payment's transaction; `routes` is the policy API; `entity` is the tables.

pub mod entity;
mod routes;
pub mod run;
pub mod service;

pub use routes::routes;
pub use run::execute;
pub use service::{NON_PAYMENT, policy, reactivate_if_settled};
