//! `dotmac-isp`: the ISP management application each tenant runs (port 8001).
//!
//! Customers, plans, subscriptions, invoices, payments and dunning over a REST API under
//! `/api/v1`, on PostgreSQL or embedded SQLite; billing and dunning runs as queued jobs.
//! Pure rules live in [`domain`]; each other module owns one resource's service logic and
//! routes.

pub mod api;
pub mod audit;
pub mod billing_run;
pub mod catalog;
pub mod config;
pub mod customers;
pub mod db;
pub mod domain;
pub mod dunning;
pub mod entitlements;
pub mod error;
pub mod http;
pub mod invoices;
pub mod jobs;
pub mod payments;
pub mod probes;
pub mod reporting;
pub mod runs;
pub mod seed;
pub mod server;
pub mod subscriptions;
pub mod tokens;
pub mod usage_charges;
pub mod validate;
