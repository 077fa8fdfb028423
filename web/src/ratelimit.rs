//! Per-token request limits in Redis: a counter per token and minute under a key prefix
//! (`t:<tenant>:rl:` for an ISP instance, `platform:rl:` for the management API), so every
//! replica shares the budget.

use std::time::{SystemTime, UNIX_EPOCH};

use fred::{clients::Client, interfaces::KeysInterface};

/// Counts requests per token and minute.
#[derive(Clone)]
pub struct RateLimiter {
    client: Client,
    prefix: String,
}

impl RateLimiter {
    /// A limiter keeping its counters under `prefix` (which ends in `:`).
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    /// Counts one request of `token`. Returns the seconds until the window resets when the
    /// token is over `limit`. When Redis cannot be reached the request passes (logged): a rate
    /// limit must not take the API down with it.
    pub async fn check(&self, token: &str, limit: u64) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let key = format!("{}{token}:{}", self.prefix, now / 60);
        match self.client.incr::<u64, _>(&key).await {
            Ok(count) => {
                if count == 1
                    && let Err(error) = self.client.expire::<(), _>(&key, 120, None).await
                {
                    tracing::warn!(%error, "rate limit: setting the counter's expiry failed");
                }
                (count > limit).then_some(60 - now % 60)
            }
            Err(error) => {
                tracing::warn!(%error, "rate limit: Redis unavailable; letting the request through");
                None
            }
        }
    }
}

/// The 429 problem answer, with `Retry-After`.
pub fn refusal(limit: u64, retry_after: u64) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = crate::problem::Problem::rate_limited(limit).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&retry_after.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}
