//! Prepaid vouchers: staff make them in named batches (each code shown once), subscribers pay
//! invoices with them in the portal, and what an invoice does not use stays on the voucher.
//!
//! `service` holds the rules and takes a transaction; `routes` turns HTTP into service calls;
//! `wire` is what the API reads and writes; `entity` is the table.

pub mod entity;
mod routes;
pub mod service;
mod wire;

pub use routes::routes;
pub use wire::{
    NewVoucherBatch, VoucherBatch, VoucherPayment, VoucherQuery, VoucherStatus, VoucherView,
};
