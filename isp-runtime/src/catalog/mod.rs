//! The catalog: service plans (what customers subscribe to; a price is never cut while active
//! subscriptions use it) and tax rates by jurisdiction. In `customers/`'s shape: `plans` and
//! `taxes` hold the rules, `routes` the HTTP, `wire` the API types.

pub mod entity;
pub mod plans;
mod routes;
pub mod taxes;
mod wire;

pub use routes::routes;
pub use wire::{
    NewPlan, NewTaxRate, OverAllowance, PlanPatch, PlanQuery, PlanView, ServiceType, TaxQuery,
    TaxRateView,
};
