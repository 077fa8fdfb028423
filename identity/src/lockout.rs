//! The lockout rule: [`MAX_FAILURES`] failed sign-ins within [`WINDOW_MINUTES`] lock the
//! account, or the source address, for [`WINDOW_MINUTES`] from the last of them, unless an
//! admin lifts the lock first. Counting starts afresh after a lifted lock or a successful
//! sign-in. Attempts refused while locked are not failures, so a lock ends when it says.

use chrono::{DateTime, Duration, Utc};

/// Failures that lock.
pub const MAX_FAILURES: usize = 5;
/// The window they are counted in, and how long a lock lasts.
pub const WINDOW_MINUTES: i64 = 15;

/// The window as a duration.
pub fn window() -> Duration {
    Duration::minutes(WINDOW_MINUTES)
}

/// How far back failures can matter at any moment: a lock from [`MAX_FAILURES`] failures
/// spanning a window lasts one more.
pub fn lookback() -> Duration {
    window() * 2
}

/// Until when a subject with `failures` (their times, any order) is locked at `now`, counting
/// only failures after `since` (the last success or lifted lock); `None` when it is not.
pub fn locked_until(
    failures: &[DateTime<Utc>],
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut counted: Vec<DateTime<Utc>> = failures
        .iter()
        .copied()
        .filter(|at| since.is_none_or(|since| *at > since) && *at <= now)
        .collect();
    counted.sort_unstable();
    counted
        .windows(MAX_FAILURES)
        .filter(|run| run[MAX_FAILURES - 1] - run[0] <= window())
        .map(|run| run[MAX_FAILURES - 1] + window())
        .filter(|until| *until > now)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_recent_failures_lock_until_the_window_passes_or_the_lock_is_lifted() {
        let now = Utc::now();
        let minutes = |m: &[i64]| {
            m.iter()
                .map(|m| now - Duration::minutes(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(locked_until(&minutes(&[1, 2, 3, 4]), None, now), None);
        let five = minutes(&[1, 2, 3, 4, 5]);
        assert_eq!(
            locked_until(&five, None, now),
            Some(now - Duration::minutes(1) + window())
        );
        assert_eq!(
            locked_until(&minutes(&[1, 2, 3, 4, 17]), None, now),
            None,
            "more than a window apart"
        );
        assert_eq!(
            locked_until(&minutes(&[10, 11, 12, 13, 14]), None, now),
            Some(now + Duration::minutes(5)),
            "the lock lasts a window from the fifth failure"
        );
        assert_eq!(
            locked_until(&five, Some(now - Duration::seconds(30)), now),
            None,
            "lifted"
        );
        assert_eq!(locked_until(&five, None, now + window()), None, "expired");
    }
}
