//! Controller metrics in the Prometheus text format, per controller (`tenant`, `license`,
//! `reseller`): reconciles, errors by reason, a duration histogram and reconciles in flight (the
//! work queue's depth as the controller sees it); whether this replica leads; each watch's
//! state and restarts; and, on the leader, each Tenant's phase (what the Degraded alert reads).

use std::{
    collections::BTreeMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use dotmac_web::metrics::{Exposition, Kind};

/// Upper bounds of the duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// One controller's reconcile counters.
#[derive(Debug, Default)]
pub struct Reconciles {
    count: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    duration_micros: AtomicU64,
    in_flight: AtomicU64,
}

impl Reconciles {
    /// Runs one reconcile, counting it in flight while it runs and recording its duration and
    /// its error's `reason`, if any.
    pub async fn measure<T, E>(
        &self,
        reconcile: impl Future<Output = Result<T, E>>,
        reason: impl FnOnce(&E) -> String,
    ) -> Result<T, E> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = reconcile.await;
        self.observe(started.elapsed(), result.as_ref().err().map(reason));
        result
    }

    fn observe(&self, took: Duration, error: Option<String>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
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
}

/// The controllers' counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// The Tenant controller's reconciles.
    pub tenant: Reconciles,
    /// The PluginLicense controller's reconciles.
    pub license: Reconciles,
    /// The Reseller controller's reconciles.
    pub reseller: Reconciles,
    /// Whether this replica holds the leader Lease.
    pub leader: AtomicBool,
    /// Whether the caches have synced.
    pub ready: AtomicBool,
    /// Every watch, up or down.
    pub watches: std::sync::Arc<super::watches::Watches>,
    /// The leader's Tenant cache, once its controllers run.
    pub tenants: std::sync::OnceLock<kube::runtime::reflector::Store<dotmac_platform::crd::Tenant>>,
}

impl Metrics {
    fn controllers(&self) -> [(&'static str, &Reconciles); 3] {
        [
            ("tenant", &self.tenant),
            ("license", &self.license),
            ("reseller", &self.reseller),
        ]
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        const RECONCILES: &str = "dotmac_operator_reconciles_total";
        const ERRORS: &str = "dotmac_operator_reconcile_errors_total";
        const IN_FLIGHT: &str = "dotmac_operator_reconciles_in_flight";
        const LEADER: &str = "dotmac_operator_leader";
        let mut text = Exposition::default();
        text.family(RECONCILES, Kind::Counter, "Reconciles run, by controller.");
        for (name, r) in self.controllers() {
            text.sample(
                RECONCILES,
                &[("controller", name)],
                r.count.load(Ordering::Relaxed),
            );
        }
        let help = "Failed reconciles by controller and reason.";
        text.family(ERRORS, Kind::Counter, help);
        for (name, r) in self.controllers() {
            let errors = r.errors.lock().unwrap_or_else(PoisonError::into_inner);
            for (reason, n) in errors.iter() {
                text.sample(ERRORS, &[("controller", name), ("reason", reason)], n);
            }
        }
        self.durations(&mut text);
        let help = "Reconciles running now, by controller.";
        text.family(IN_FLIGHT, Kind::Gauge, help);
        for (name, r) in self.controllers() {
            let in_flight = r.in_flight.load(Ordering::Relaxed);
            text.sample(IN_FLIGHT, &[("controller", name)], in_flight);
        }
        text.family(LEADER, Kind::Gauge, "Whether this replica is the leader.");
        text.sample(LEADER, &[], u8::from(self.leader.load(Ordering::Relaxed)));
        self.watches.render(&mut text);
        self.phases(&mut text);
        crate::provision::calls::render(&mut text);
        text.finish()
    }

    /// One sample per Tenant with a phase: `dotmac_operator_tenant_phase{tenant, phase} 1`.
    fn phases(&self, text: &mut Exposition) {
        const PHASE: &str = "dotmac_operator_tenant_phase";
        let Some(store) = self.tenants.get() else {
            return;
        };
        text.family(PHASE, Kind::Gauge, "Each Tenant's phase (1).");
        let mut phases: Vec<(String, String)> = store
            .state()
            .iter()
            .filter_map(|t| {
                let phase = t.status.as_ref()?.phase?;
                // The variants' names are their wire names.
                Some((
                    kube::ResourceExt::name_any(t.as_ref()),
                    format!("{phase:?}"),
                ))
            })
            .collect();
        phases.sort();
        for (tenant, phase) in &phases {
            text.sample(PHASE, &[("tenant", tenant), ("phase", phase)], 1);
        }
    }

    /// The reconcile duration histogram of each controller.
    fn durations(&self, text: &mut Exposition) {
        const NAME: &str = "dotmac_operator_reconcile_duration_seconds";
        let (bucket, sum, count_name) = (
            format!("{NAME}_bucket"),
            format!("{NAME}_sum"),
            format!("{NAME}_count"),
        );
        text.family(NAME, Kind::Histogram, "Time per reconcile.");
        for (name, r) in self.controllers() {
            let count = r.count.load(Ordering::Relaxed);
            for (bound, n) in BUCKETS.iter().zip(&r.buckets) {
                let le = bound.to_string();
                let labels = [("controller", name), ("le", le.as_str())];
                text.sample(&bucket, &labels, n.load(Ordering::Relaxed));
            }
            text.sample(&bucket, &[("controller", name), ("le", "+Inf")], count);
            let seconds = r.duration_micros.load(Ordering::Relaxed) as f64 / 1e6;
            text.sample(&sum, &[("controller", name)], seconds);
            text.sample(&count_name, &[("controller", name)], count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_controller_is_counted_under_its_own_label() {
        let metrics = Metrics::default();
        let ok: Result<(), String> = metrics.tenant.measure(async { Ok(()) }, Clone::clone).await;
        assert!(ok.is_ok());
        let failed: Result<(), String> = metrics
            .license
            .measure(async { Err("UsageUnavailable".to_owned()) }, Clone::clone)
            .await;
        assert!(failed.is_err());
        let text = metrics.render();
        for line in [
            "dotmac_operator_reconciles_total{controller=\"tenant\"} 1",
            "dotmac_operator_reconciles_total{controller=\"license\"} 1",
            "dotmac_operator_reconciles_total{controller=\"reseller\"} 0",
            "dotmac_operator_reconcile_errors_total{controller=\"license\",reason=\"UsageUnavailable\"} 1",
            "dotmac_operator_reconcile_duration_seconds_count{controller=\"license\"} 1",
            "dotmac_operator_reconciles_in_flight{controller=\"tenant\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(!text.contains("dotmac_operator_tenant_phase"), "{text}");
    }

    #[test]
    fn the_leader_reports_each_tenants_phase() {
        use dotmac_platform::crd::{Tenant, TenantStatus, tenant::TenantPhase};
        use kube::runtime::{reflector, watcher};
        let (store, mut writer) = reflector::store::<Tenant>();
        for (name, phase) in [
            ("beta", Some(TenantPhase::Degraded)),
            ("acme", Some(TenantPhase::Ready)),
            ("new", None),
        ] {
            let mut tenant: Tenant = serde_json::from_value(serde_json::json!({
                "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
                "metadata": {"name": name},
                "spec": {"displayName": name, "contactEmail": "noc@example.com"}
            }))
            .unwrap();
            tenant.status = phase.map(|phase| TenantStatus {
                phase: Some(phase),
                ..TenantStatus::default()
            });
            writer.apply_watcher_event(&watcher::Event::Apply(tenant));
        }
        let metrics = Metrics::default();
        metrics.tenants.set(store).unwrap();
        let text = metrics.render();
        let phases: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("dotmac_operator_tenant_phase{"))
            .collect();
        assert_eq!(
            phases,
            [
                "dotmac_operator_tenant_phase{tenant=\"acme\",phase=\"Ready\"} 1",
                "dotmac_operator_tenant_phase{tenant=\"beta\",phase=\"Degraded\"} 1",
            ]
        );
    }
}
