//! The instance's own health, as it reports it to the management API: the database, Redis and
//! the job queue, each checked. Unhealthy when the database fails (nothing works without it),
//! Degraded when Redis or the job queue does (the API serves; billing runs and rate limits
//! wait), with the failing checks named in the message.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use dotmac_contract::reporting::HealthState;
use sea_orm::DatabaseConnection;

use crate::jobs::JobQueue;

/// What the checks need: the database, the queue, and whether the worker still runs.
#[derive(Clone)]
pub struct Checks {
    db: DatabaseConnection,
    queue: JobQueue,
    worker: Arc<AtomicBool>,
}

/// One assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The overall state.
    pub status: HealthState,
    /// Each check: `ok`, or why not.
    pub checks: serde_json::Map<String, serde_json::Value>,
    /// The failing checks and their reasons, when there are any.
    pub message: Option<String>,
}

impl Checks {
    /// Checks over `db` and `queue`; `worker` is true while the job worker runs.
    pub fn new(db: DatabaseConnection, queue: JobQueue, worker: Arc<AtomicBool>) -> Self {
        Self { db, queue, worker }
    }

    /// Runs every check, each within [`CHECK_TIMEOUT`] (a server that hangs fails it).
    pub async fn assess(&self) -> Assessment {
        let database = within(async { self.db.ping().await.map_err(|e| e.to_string()) }).await;
        let redis = tokio::time::timeout(CHECK_TIMEOUT, self.queue.ping())
            .await
            .unwrap_or_else(|_| Some(Err(no_answer())));
        let jobs = if self.worker.load(Ordering::Relaxed) {
            within(async { self.queue.backlog().await.map(|_| ()) }).await
        } else {
            Err("the job worker stopped".to_owned())
        };
        assessment(database, redis, jobs)
    }
}

/// How long one check may take.
pub const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

fn no_answer() -> String {
    format!("no answer within {} s", CHECK_TIMEOUT.as_secs())
}

async fn within(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(no_answer()))
}

/// The state from each check's outcome (`redis` is `None` without Redis).
fn assessment(
    database: Result<(), String>,
    redis: Option<Result<(), String>>,
    jobs: Result<(), String>,
) -> Assessment {
    let mut checks = serde_json::Map::new();
    let mut failing = Vec::new();
    let mut record = |name: &str, outcome: &Result<(), String>| match outcome {
        Ok(()) => {
            checks.insert(name.to_owned(), "ok".into());
        }
        Err(why) => {
            checks.insert(name.to_owned(), why.clone().into());
            failing.push(format!("{name}: {why}"));
        }
    };
    record("database", &database);
    if let Some(redis) = &redis {
        record("redis", redis);
    }
    record("jobs", &jobs);
    let status = match (database.is_ok(), failing.is_empty()) {
        (false, _) => HealthState::Unhealthy,
        (true, false) => HealthState::Degraded,
        (true, true) => HealthState::Healthy,
    };
    Assessment {
        status,
        checks,
        message: (!failing.is_empty()).then(|| failing.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_or_jobs_failing_degrades_and_the_database_failing_is_unhealthy() {
        let healthy = assessment(Ok(()), Some(Ok(())), Ok(()));
        assert_eq!(healthy.status, HealthState::Healthy);
        assert_eq!(healthy.message, None);
        let redis_down = assessment(
            Ok(()),
            Some(Err("connection refused".into())),
            Err("connection refused".into()),
        );
        assert_eq!(redis_down.status, HealthState::Degraded);
        assert_eq!(
            redis_down.message.as_deref(),
            Some("redis: connection refused; jobs: connection refused")
        );
        assert_eq!(redis_down.checks["database"], "ok");
        let db_down = assessment(Err("timed out".into()), None, Ok(()));
        assert_eq!(db_down.status, HealthState::Unhealthy);
        assert!(!db_down.checks.contains_key("redis"), "no Redis configured");
    }
}
