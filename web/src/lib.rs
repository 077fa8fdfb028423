//! HTTP conventions shared by DotMac's APIs: RFC 9457 problem+json errors naming the field at
//! fault, extractors that answer bad input that way, and cursor-paged lists with `Link` headers.

pub mod extract;
pub mod page;
pub mod problem;
pub mod ratelimit;
