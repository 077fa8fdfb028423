//! Payments, refunds and credit notes against issued invoices.
//!
//! `service` holds the rules and takes a transaction; `routes` turns HTTP into service calls;
//! `wire` is what the API reads and writes; `entity` is the tables.

pub mod entity;
mod routes;
pub mod service;
mod wire;

pub use routes::routes;
pub use service::credit;
pub use wire::{
    CreditNoteQuery, CreditNoteView, Method, NewCreditNote, NewPayment, NewRefund, PaymentQuery,
    PaymentReceipt, PaymentView, RefundView,
};
