//! Self-care: what a subscriber signed in to the portal reads and does about their own
//! account (their services with their plans, their invoices and payments, and paying an
//! invoice with a voucher). Every route needs the `selfcare` permission, which only the
//! subscriber role has, and reads only the signed-in account's customer.

mod routes;
mod wire;

pub use routes::routes;
pub use wire::{MyInvoiceQuery, MyPaymentQuery, ServiceView};
