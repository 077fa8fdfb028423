//! Invoices: draft → issued (numbered, gapless) → paid or overdue → refunded, or void.
//!
//! `store` prices and stores invoices in bulk for every kind of charge; `service` holds the
//! staff rules and takes a transaction; `routes` turns HTTP into service calls; `wire` is what
//! the API reads and writes; `entity` is the tables.

pub mod entity;
mod routes;
pub mod service;
pub mod store;
mod wire;

pub use routes::routes;
pub use service::{find_for_update, settle, view, view_of};
pub use store::{Issue, Kind, Prepared, insert, number, prepare, store};
pub use wire::{InvoiceQuery, InvoiceView, IssueRequest, LineView, NewInvoice, NewLine};
