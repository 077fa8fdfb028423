//! Per-object exponential backoff with jitter, shared by the controllers' error policies.

use std::{collections::HashMap, sync::Mutex, time::Duration};

/// Consecutive failures per object name.
#[derive(Debug, Default)]
pub struct Failures(Mutex<HashMap<String, u32>>);

impl Failures {
    /// Counts a failure of `name` and returns how long to wait before the next try.
    pub fn failed(&self, name: &str) -> Duration {
        let failures = {
            let mut map = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = map.entry(name.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        backoff(failures, name)
    }

    /// Forgets `name`'s failures after a success.
    pub fn succeeded(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
    }
}

/// The delay after `failures` consecutive failures: 1 s doubling to 256 s, capped at 5 minutes,
/// plus up to 10 % jitter so objects failing together do not retry together.
fn backoff(failures: u32, salt: &str) -> Duration {
    let base = Duration::from_secs(1u64 << failures.clamp(1, 9).saturating_sub(1))
        .min(Duration::from_secs(300));
    base + jitter(base / 10, salt)
}

/// A jitter up to `max`, spread by the clock and the name.
pub fn jitter(max: Duration, salt: &str) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = salt.bytes().fold(u64::from(nanos), |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let millis = max.as_millis() as u64;
    Duration::from_millis(if millis == 0 { 0 } else { seed % millis })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let within = |d: Duration, secs: u64| {
            d >= Duration::from_secs(secs) && d <= Duration::from_secs(secs) * 11 / 10
        };
        assert!(within(backoff(1, "acme"), 1));
        assert!(within(backoff(2, "acme"), 2));
        assert!(within(backoff(5, "acme"), 16));
        assert!(within(backoff(40, "acme"), 256));
        let failures = Failures::default();
        assert!(within(failures.failed("acme"), 1));
        assert!(within(failures.failed("acme"), 2));
        failures.succeeded("acme");
        assert!(within(failures.failed("acme"), 1));
    }
}
