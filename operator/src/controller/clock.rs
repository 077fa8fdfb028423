//! Requeues timed by the clock: a license's trial end, a reseller's month end.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

/// How long from `now` until one second past `then`; one second when `then` has passed, so the
/// reconcile that sees the change runs after it, not on its edge.
pub fn until(now: Timestamp, then: Timestamp) -> Duration {
    let ahead = Duration::try_from(now.duration_until(then)).unwrap_or_default();
    ahead.saturating_add(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_just_past_the_change() {
        let now: Timestamp = "2026-11-30T23:59:00Z".parse().unwrap();
        let end: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        assert_eq!(until(now, end), Duration::from_secs(61));
        assert_eq!(until(end, now), Duration::from_secs(1), "already past");
    }
}
