//! The append-only audit log: who changed what, written in the same transaction as the change
//! (the database refuses updates and deletes of its rows), and readable over the API.

pub mod entity;
mod routes;
pub mod service;
mod wire;

pub use routes::routes;
pub use service::{append, by, record};
pub use wire::{AuditQuery, AuditView};
