//! The contract between the operator, the management API and each isp-runtime instance.
//!
//! Both sides of every exchange use these types, so a renamed field or setting fails to
//! compile instead of failing at run time:
//! - [`instance`]: the settings the operator writes into an instance's ConfigMap (environment
//!   variable names) and where it mounts the entitlements file;
//! - [`entitlements`]: that file's content;
//! - [`month`]: the calendar month usage, license periods and commissions count in;
//! - [`reporting`]: what an instance sends to the management API (usage events, health
//!   reports, alerts, metric samples) and what it gets back.

pub mod entitlements;
pub mod instance;
pub mod month;
pub mod reporting;
