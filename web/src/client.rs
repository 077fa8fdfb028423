//! Where a request came from, for lockouts and the audit log.

use axum::extract::{ConnectInfo, Request};

/// The caller's address: the last `X-Forwarded-For` hop when the API sits behind a proxy it
/// trusts to append it, else the connection's peer (`unknown` when served without connection
/// info).
pub fn address(request: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(hop) = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|hop| !hop.is_empty())
    {
        return hop.to_owned();
    }
    request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}
