//! Subscriptions: a customer's service on a plan, billed in advance per calendar period, with
//! the lifecycle pending → active → suspended ⇄ active → cancelled and plan changes.
//!
//! `service` holds the rules and takes a transaction; `routes` turns HTTP into service calls;
//! `wire` is what the API reads and writes; `entity` is the table.

pub mod entity;
mod routes;
pub mod service;
mod wire;

pub use routes::routes;
pub use service::{find, period_line, period_price, resume_in};
pub use wire::{
    ChangeOutcome, Effective, NewSubscription, PlanChange, SubscriptionQuery, SubscriptionView,
};
