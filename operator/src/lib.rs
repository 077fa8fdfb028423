//! DotMac platform operator: the custom resources of `platform.dotmac.io`, the feature catalog,
//! and the controllers that turn Tenants into isolated ISP instances.

pub mod api;
pub mod catalog;
pub mod config;
pub mod controller;
pub mod crd;
pub mod metering;
pub mod plugins;
pub mod provision;
pub mod sizes;
