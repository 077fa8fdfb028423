//! `dotmac-isp`: the ISP management application each tenant runs (port 8001).
//!
//! For now it serves its probes; the ISP domains (customers, billing, network, support) join
//! as modules with their own entities, services and routes.

pub mod config;
pub mod http;
pub mod probes;
