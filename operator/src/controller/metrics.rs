//! Controller metrics in the Prometheus text format: reconciles, errors by reason, a duration
//! histogram, reconciles in flight (the work queue's depth as the controller sees it) and
//! whether this replica leads.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

/// Upper bounds of the duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The controller's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    reconciles: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    duration_micros: AtomicU64,
    in_flight: AtomicU64,
    /// Whether this replica holds the leader Lease.
    pub leader: AtomicBool,
    /// Whether the caches have synced.
    pub ready: AtomicBool,
}

impl Metrics {
    /// Marks a reconcile as started.
    pub fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a finished reconcile and its error reason, if any.
    pub fn observe(&self, took: Duration, error: Option<String>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        self.duration_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(reason) = error {
            *self
                .errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(reason)
                .or_default() += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let count = self.reconciles.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP dotmac_operator_reconciles_total Tenant reconciles run.\n# TYPE dotmac_operator_reconciles_total counter\ndotmac_operator_reconciles_total {count}"
        );
        let _ = writeln!(
            out,
            "# HELP dotmac_operator_reconcile_errors_total Failed reconciles by reason.\n# TYPE dotmac_operator_reconcile_errors_total counter"
        );
        for (reason, n) in self
            .errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "dotmac_operator_reconcile_errors_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP dotmac_operator_reconcile_duration_seconds Time per reconcile.\n# TYPE dotmac_operator_reconcile_duration_seconds histogram"
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "dotmac_operator_reconcile_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "dotmac_operator_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "dotmac_operator_reconcile_duration_seconds_sum {}",
            self.duration_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "dotmac_operator_reconcile_duration_seconds_count {count}"
        );
        let _ = writeln!(
            out,
            "# HELP dotmac_operator_reconciles_in_flight Reconciles running now.\n# TYPE dotmac_operator_reconciles_in_flight gauge\ndotmac_operator_reconciles_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP dotmac_operator_leader Whether this replica is the leader.\n# TYPE dotmac_operator_leader gauge\ndotmac_operator_leader {}",
            u8::from(self.leader.load(Ordering::Relaxed))
        );
        out
    }
}
