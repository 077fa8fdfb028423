//! HTTP conventions shared by DotMac's APIs: RFC 9457 problem+json errors naming the field at
//! fault, extractors that answer bad input that way, cursor-paged lists with `Link` headers,
//! bearer tokens, per-token rate limits and the Redis client they use.

pub mod bearer;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod problem;
pub mod ratelimit;
pub mod redis;
pub mod response;

pub use response::{Accepted, Acknowledged, Created, Located, Recorded, created};
