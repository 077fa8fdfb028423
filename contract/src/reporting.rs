//! What an instance reports to the management API, and the answers it gets.
//!
//! The instance sends these; the management API deserialises the same types (refusing unknown
//! fields) and checks the rules the schemas state before storing anything.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST` path of usage event batches, under the API's base URL.
pub const USAGE_EVENTS_PATH: &str = "/api/v1/plugins/usage-events";
/// `POST` path of health reports.
pub const HEALTH_CHECKS_PATH: &str = "/api/v1/monitoring/health-checks";
/// `POST` path of alerts.
pub const ALERTS_PATH: &str = "/api/v1/monitoring/alerts";
/// `POST` path of metric samples.
pub const METRICS_PATH: &str = "/api/v1/monitoring/metrics";

/// Most events in one usage batch, and most samples in one metrics batch.
pub const MAX_BATCH: usize = 1000;

/// The metrics an instance meters.
pub mod metric {
    /// Authenticated API calls.
    pub const API_CALLS: &str = "api_calls";
    /// Payments and usage charges recorded.
    pub const TRANSACTIONS: &str = "transactions";
    /// Database size in gigabytes.
    pub const STORAGE_GB: &str = "storage_gb";

    /// Every metric an instance reports.
    pub const ALL: [&str; 3] = [API_CALLS, TRANSACTIONS, STORAGE_GB];

    /// Whether `metric` is a gauge, whose month counts its peak reading (storage), rather than
    /// a counter, whose month counts the sum (calls, payments).
    pub fn is_gauge(metric: &str) -> bool {
        metric == STORAGE_GB
    }
}

/// One usage event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageEvent {
    /// Unique per event (1–255 bytes); a resent event with the same key counts once.
    #[schemars(length(min = 1, max = 255), regex(pattern = "^[\\x21-\\x7e]+$"))]
    pub idempotency_key: String,
    /// Tenant; a tenant token's own by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Plugin the metric belongs to; `core` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[a-z][a-z0-9_-]{0,62}$"))]
    pub plugin: Option<String>,
    /// Metric (`api_calls`, `transactions`, `storage_gb`, …).
    #[schemars(regex(pattern = "^[a-z][a-z0-9_-]{0,62}$"))]
    pub metric: String,
    /// Amount, finite and not negative.
    #[schemars(range(min = 0))]
    pub quantity: f64,
    /// When it happened (RFC 3339).
    pub occurred_at: DateTime<Utc>,
}

/// `POST /plugins/usage-events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageBatch {
    /// 1 to 1,000 events.
    #[schemars(length(min = 1, max = 1000))]
    pub events: Vec<UsageEvent>,
}

/// Counts of one ingested batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ingested {
    /// Events stored now.
    pub accepted: u64,
    /// Events already stored before (same idempotency key).
    pub duplicates: u64,
}

/// Health state reported by an instance.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum HealthState {
    /// All checks pass.
    #[default]
    Healthy,
    /// Serving, with some checks failing.
    Degraded,
    /// Not serving.
    Unhealthy,
}

impl HealthState {
    /// The name on the wire and in the platform database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "Healthy",
            Self::Degraded => "Degraded",
            Self::Unhealthy => "Unhealthy",
        }
    }
}

/// `POST /monitoring/health-checks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthReport {
    /// Tenant; a tenant token's own by default.
    pub tenant: Option<String>,
    /// Healthy, Degraded or Unhealthy.
    pub status: HealthState,
    /// Each check and its state.
    #[serde(default)]
    pub checks: serde_json::Map<String, serde_json::Value>,
    /// The instance's version.
    pub version: Option<String>,
    /// When the instance made the report; now by default.
    pub reported_at: Option<DateTime<Utc>>,
    /// Short explanation when not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub message: Option<String>,
}

/// Severity of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Needs a look.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// The name on the wire and in the platform database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// `POST /monitoring/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// Tenant; a tenant token's own by default.
    pub tenant: Option<String>,
    /// Stable name; the same name within an hour counts up instead of adding an alert.
    #[schemars(regex(pattern = "^[a-z][a-z0-9_-]{0,62}$"))]
    pub name: String,
    /// info, warning or critical.
    pub severity: Severity,
    /// What happened (1–1,000 characters).
    #[schemars(length(min = 1, max = 1000))]
    pub message: String,
}

/// What became of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AlertRecorded {
    /// Sightings of this alert on its current row (1 for a new alert).
    pub count: i64,
}

/// One metric sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Metric name (`http_requests_per_second`).
    #[schemars(regex(pattern = "^[a-z][a-z0-9_-]{0,62}$"))]
    pub name: String,
    /// Finite value.
    pub value: f64,
    /// When it was measured; now by default.
    pub at: Option<DateTime<Utc>>,
}

/// `POST /monitoring/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsBatch {
    /// Tenant; a tenant token's own by default.
    pub tenant: Option<String>,
    /// 1 to 1,000 samples.
    #[schemars(length(min = 1, max = 1000))]
    pub samples: Vec<Sample>,
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;

    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-30T23:59:59Z".parse().unwrap()
    }

    /// Serialises, parses back and compares; returns the JSON for wire-shape assertions.
    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
        value: &T,
    ) -> serde_json::Value {
        let json = serde_json::to_value(value).unwrap();
        assert_eq!(&serde_json::from_value::<T>(json.clone()).unwrap(), value);
        json
    }

    #[test]
    fn a_usage_batch_round_trips_in_snake_case() {
        let batch = UsageBatch {
            events: vec![UsageEvent {
                idempotency_key: "acme:transactions:1".into(),
                tenant: Some("acme".into()),
                plugin: None,
                metric: metric::TRANSACTIONS.into(),
                quantity: 1.0,
                occurred_at: at(),
            }],
        };
        let json = round_trip(&batch);
        assert_eq!(json["events"][0]["idempotency_key"], "acme:transactions:1");
        assert_eq!(json["events"][0]["occurred_at"], "2026-11-30T23:59:59Z");
        assert!(json["events"][0].get("plugin").is_none());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = serde_json::from_str::<UsageEvent>(
            r#"{"idempotency_key":"k","metric":"api_calls","quantity":1,"occurred_at":"2026-11-30T00:00:00Z","colour":"red"}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("colour"), "{error}");
    }

    #[test]
    fn ingested_round_trips() {
        round_trip(&Ingested {
            accepted: 3,
            duplicates: 1,
        });
    }

    #[test]
    fn a_health_report_round_trips_with_its_state_names() {
        let mut checks = serde_json::Map::new();
        checks.insert("database".into(), "ok".into());
        let report = HealthReport {
            tenant: None,
            status: HealthState::Degraded,
            checks,
            version: Some("0.1.0".into()),
            reported_at: Some(at()),
            message: Some("redis: connection refused".into()),
        };
        let json = round_trip(&report);
        assert_eq!(json["status"], HealthState::Degraded.as_str());
        for state in [
            HealthState::Healthy,
            HealthState::Degraded,
            HealthState::Unhealthy,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }

    #[test]
    fn an_alert_round_trips_with_its_severity_names() {
        let json = round_trip(&Alert {
            tenant: Some("acme".into()),
            name: "billing_run_failed".into(),
            severity: Severity::Critical,
            message: "the run stopped".into(),
        });
        assert_eq!(json["severity"], "critical");
        for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
            assert_eq!(serde_json::to_value(severity).unwrap(), severity.as_str());
        }
        round_trip(&AlertRecorded { count: 2 });
    }

    #[test]
    fn a_metrics_batch_round_trips() {
        round_trip(&MetricsBatch {
            tenant: None,
            samples: vec![Sample {
                name: "http_requests_per_second".into(),
                value: 12.5,
                at: Some(at()),
            }],
        });
    }
}
