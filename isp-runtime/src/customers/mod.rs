//! Customers: the ISP's subscribers. Unique customer number and e-mail, an address that sets
//! the tax jurisdiction, a billing currency, and a lifecycle
//! pending → active → suspended ⇄ active → cancelled.
//!
//! `service` holds the rules and takes a transaction, so a route, a job, the CLI or a test
//! calls the same code; `routes` only turns HTTP into service calls and back; `wire` is what the
//! API reads and writes.

pub mod entity;
mod routes;
pub mod service;
mod wire;

pub use routes::routes;
pub use service::find;
pub use wire::{Address, CustomerPatch, CustomerQuery, CustomerType, CustomerView, NewCustomer};
