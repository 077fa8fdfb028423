//! DotMac platform operator: the controllers that turn Tenants into isolated ISP instances,
//! keep PluginLicenses and Resellers' status, and provision each tenant's PostgreSQL, Redis
//! and OpenBao. The resource types live in `dotmac-platform`, the management API in
//! `dotmac-management-api`; the `dotmac-operator` binary hosts them all.

pub mod config;
pub mod controller;
pub mod provision;
