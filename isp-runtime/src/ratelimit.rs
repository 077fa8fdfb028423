//! Per-token request limits in Redis: a counter per token and minute (`t:<tenant>:rl:…`), so
//! every replica of the instance shares the budget.

use std::time::{SystemTime, UNIX_EPOCH};

use fred::{clients::Client, interfaces::KeysInterface};
use uuid::Uuid;

/// Counts requests per token and minute.
#[derive(Clone)]
pub struct RateLimiter {
    client: Client,
    prefix: String,
}

impl RateLimiter {
    /// A limiter keeping its counters under `t:<tenant>:rl:`.
    pub fn new(client: Client, tenant: &str) -> Self {
        Self {
            client,
            prefix: format!("t:{tenant}:rl:"),
        }
    }

    /// Counts one request of `token`. Returns the seconds until the window resets when the
    /// token is over `limit`. When Redis cannot be reached the request passes (logged): a rate
    /// limit must not take the API down with it.
    pub async fn check(&self, token: Uuid, limit: u64) -> Option<u64> {
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
