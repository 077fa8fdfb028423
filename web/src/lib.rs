//! HTTP conventions shared by DotMac's APIs: RFC 9457 problem+json errors naming the field at
//! fault, extractors that answer bad input that way, typed answers and cursor-paged lists with
//! `Link` headers, OpenAPI documents generated from the routes, bearer tokens, per-token rate
//! limits and the Redis client they use, and the Prometheus text format.

pub mod access;
pub mod assets;
pub mod bearer;
pub mod client;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod problem;
pub mod ratelimit;
pub mod redis;
pub mod response;
pub mod shutdown;

pub use response::{Accepted, Acknowledged, Created, Located, Recorded};
