//! `dotmac-isp`: the ISP management application each tenant runs (port 8001).
//!
//! Customers, plans, subscriptions, invoices, payments and dunning over a REST API under
//! `/api/v1`, on PostgreSQL or embedded SQLite; billing and dunning runs as queued jobs;
//! subscribers' network access through FreeRADIUS ([`network`]).
//! Pure rules live in [`domain`]; each domain folder ([`customers`], [`catalog`], the parts of
//! [`billing`], [`audit`]) holds its service (the rules, on the caller's transaction), routes,
//! wire types and entities.

/// mimalloc rather than glibc's malloc, in every binary that links the instance (the server,
/// its tests and benchmarks alike): many small short-lived allocations per request (JSON,
/// rows, headers) spent a fifth of the instance's CPU in glibc on RADIUS sign-ins.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod analytics;
pub mod api;
pub mod audit;
pub mod billing;
pub mod catalog;
pub mod config;
pub mod customers;
pub mod db;
pub mod domain;
pub mod entitlements;
pub mod error;
pub mod http;
pub mod jobs;
pub mod network;
pub mod openbao;
pub mod people;
pub mod probes;
pub mod reporting;
pub mod schedule;
pub mod seed;
pub mod selfcare;
pub mod server;
pub mod tokens;
pub mod validate;
