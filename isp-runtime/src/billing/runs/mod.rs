//! Billing and dunning runs: started over the API, queued as jobs, executed by the worker, and
//! readable with their progress.
//!
//! `service` records and reads runs; `worker` claims and executes them; `billing` is the billing
//! run itself (the dunning run is in `billing::dunning`); `routes` and `wire` are the API;
//! `entity` is the table.

pub mod billing;
pub mod entity;
mod routes;
pub mod service;
mod wire;
pub mod worker;

pub use routes::routes;
pub use wire::{NewRun, RunKind, RunQuery, RunStatus, RunView};
pub use worker::{RunSettings, execute, give_up, requeue_unfinished};
