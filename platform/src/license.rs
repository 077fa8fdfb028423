//! A license's status, computed from its spec, its age, the catalog, the other licenses of the
//! same tenant and plugin, and its usage this month. Pure: the same facts give the same status.
//!
//! Lifecycle: a license with trial days is in `Trial` until they have passed since its
//! creation. It is then paid (`Active`) while `validUntil` is unset or ahead. Past `validUntil`
//! it renews (stays `Active`) with `autoRenew`, and is `Expired` without. A trial that ends
//! with no `validUntil` and no `autoRenew` expires instead of converting to paid.
//! `suspended` wins over all of these.
//!
//! A license grants its plugin's features while it is in Trial or Active, its tenant exists,
//! no older live license holds the same plugin for the same tenant (the younger one gets
//! `Conflict`), and no metered metric is over its limit this month (`LimitExceeded`, until the
//! month ends or the limit is raised).

use std::collections::BTreeMap;

use dotmac_contract::month::Month;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::{
    conditions::{condition, is_true},
    crd::{PluginLicense, PluginLicenseStatus, plugin_license::LicenseState},
    plugins::{Catalog, Plugin},
};

/// Where a license is in its life, before the catalog, conflicts and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// The state.
    pub state: LicenseState,
    /// Why, for the Ready condition.
    pub message: String,
    /// When the state changes next by the clock alone (trial end, `validUntil`).
    pub next_change: Option<Timestamp>,
}

/// `spec.validUntil` is not an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValidUntil(pub String);

/// The license's lifecycle state at `now`.
pub fn lifecycle(
    license: &PluginLicense,
    created: Timestamp,
    now: Timestamp,
) -> Result<Lifecycle, InvalidValidUntil> {
    let spec = &license.spec;
    let valid_until = spec
        .valid_until
        .as_deref()
        .map(|v| {
            v.parse::<Timestamp>()
                .map_err(|_| InvalidValidUntil(v.to_owned()))
        })
        .transpose()?;
    // The CRD caps trialDays at 365, so the sum stays far inside the calendar.
    let trial = SignedDuration::from_hours(24 * i64::from(spec.trial_days.max(0)));
    let trial_end = created.saturating_add(trial).unwrap_or(Timestamp::MAX);
    let lifecycle = if spec.suspended {
        Lifecycle {
            state: LicenseState::Suspended,
            message: "suspended on request (spec.suspended)".into(),
            next_change: None,
        }
    } else if spec.trial_days > 0 && now < trial_end {
        Lifecycle {
            state: LicenseState::Trial,
            message: format!("trial until {}", rfc3339(trial_end)),
            next_change: Some(trial_end),
        }
    } else {
        match valid_until {
            Some(until) if now < until => Lifecycle {
                state: LicenseState::Active,
                message: format!("paid until {}", rfc3339(until)),
                next_change: Some(until),
            },
            Some(until) if spec.auto_renew => Lifecycle {
                state: LicenseState::Active,
                message: format!("renewed automatically after {}", rfc3339(until)),
                next_change: None,
            },
            Some(until) => Lifecycle {
                state: LicenseState::Expired,
                message: format!("expired at {} without autoRenew", rfc3339(until)),
                next_change: None,
            },
            None if spec.trial_days > 0 && !spec.auto_renew => Lifecycle {
                state: LicenseState::Expired,
                message: format!(
                    "the trial ended at {} and neither autoRenew nor validUntil continues it",
                    rfc3339(trial_end)
                ),
                next_change: None,
            },
            None => Lifecycle {
                state: LicenseState::Active,
                message: "paid, renewing monthly".into(),
                next_change: None,
            },
        }
    };
    Ok(lifecycle)
}

/// Whether a license still holds its plugin for its tenant: anything but Expired. A license
/// with an unreadable `validUntil` holds it too, so that fixing it cannot steal the plugin.
pub fn is_live(license: &PluginLicense, now: Timestamp) -> bool {
    license.metadata.deletion_timestamp.is_none()
        && lifecycle(license, created(license, now), now)
            .map_or(true, |l| l.state != LicenseState::Expired)
}

/// When the license was created; `now` for one not yet stored.
pub fn created(license: &PluginLicense, now: Timestamp) -> Timestamp {
    license
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now, |t| t.0)
}

/// The live license, other than `license`, that holds the same plugin for the same tenant and
/// came first: `license` conflicts with it. Creation times have whole seconds, so within one
/// second the license whose status already grants wins, then the first name.
pub fn holder<'a>(
    license: &PluginLicense,
    others: impl IntoIterator<Item = &'a PluginLicense>,
    now: Timestamp,
) -> Option<&'a PluginLicense> {
    let key = |l: &PluginLicense| {
        let holding = l
            .status
            .as_ref()
            .is_some_and(|s| !s.conditions.is_empty() && !is_true(&s.conditions, "Conflict"));
        (
            created(l, now),
            !holding,
            l.metadata.name.clone().unwrap_or_default(),
        )
    };
    let own = key(license);
    others
        .into_iter()
        .filter(|o| {
            o.spec.tenant_ref == license.spec.tenant_ref
                && o.spec.plugin == license.spec.plugin
                && o.metadata.name != license.metadata.name
                && is_live(o, now)
                && key(o) < own
        })
        .min_by_key(|o| key(o))
}

/// What the reconcile found out about a license.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The clock.
    pub now: Timestamp,
    /// Whether the Tenant named by `tenantRef` exists.
    pub tenant_exists: bool,
    /// The name of the older live license for the same tenant and plugin, if any.
    pub holder: Option<&'a str>,
    /// Usage per metric this month.
    pub usage: &'a BTreeMap<String, f64>,
    /// The plugin catalog in force.
    pub catalog: &'a Catalog,
}

/// The computed status, and when the clock alone changes it next.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The status to write.
    pub status: PluginLicenseStatus,
    /// Trial end, `validUntil` or the month's end, whichever comes first.
    pub next_change: Timestamp,
    /// Whether usage can take features away, so it is worth reading again soon.
    pub metered: bool,
}

/// The license's status from `facts`.
pub fn assess(license: &PluginLicense, facts: &Facts<'_>) -> Assessment {
    let now = facts.now;
    let month = Month::of(now);
    let (period_start, period_end) = (month.start(), month.end());
    let previous = license
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let generation = license.metadata.generation;
    let cond = |type_: &str, ok: bool, reason: &str, message: String| {
        condition(previous, generation, type_, ok, reason, message, &now)
    };
    let plugin = facts.catalog.find(&license.spec.plugin);
    let metering = Metering::of(license, plugin, facts.usage);
    let lifecycle = lifecycle(license, created(license, now), now);
    let (granting, reason, message) = verdict(license, facts, &lifecycle, &metering.over);
    let state = lifecycle.as_ref().ok().map(|l| l.state);
    let clock_change = lifecycle.as_ref().ok().and_then(|l| l.next_change);
    let entitlements = match (granting, plugin) {
        (true, Some(p)) => p.features.clone(),
        _ => Vec::new(),
    };
    let (conflict, conflict_reason, conflict_message) = match facts.holder {
        Some(holder) => (
            true,
            "DuplicateLicense",
            format!(
                "only one live license per tenant and plugin: {holder} came first; delete one of them"
            ),
        ),
        None => (
            false,
            "Unique",
            "the only live license for this tenant and plugin".into(),
        ),
    };
    let (over, over_reason, over_message) = if metering.over.is_empty() {
        (
            false,
            "WithinLimits",
            "usage is within every limit this month".to_owned(),
        )
    } else {
        (true, "OverLimit", metering.over.join(", "))
    };
    let conditions = vec![
        cond("Ready", granting, reason, message),
        cond("Conflict", conflict, conflict_reason, conflict_message),
        cond("LimitExceeded", over, over_reason, over_message),
    ];
    let metered = granting_possible(state) && metering.limits.values().any(|l| *l >= 0);
    Assessment {
        status: PluginLicenseStatus {
            state,
            conditions,
            limits: metering.limits,
            usage: metering.usage,
            period_start: Some(rfc3339(period_start)),
            period_end: Some(rfc3339(period_end)),
            entitlements,
            observed_generation: generation,
        },
        next_change: clock_change.map_or(period_end, |c| c.min(period_end)),
        metered,
    }
}

/// A license's limits (its tier's, overridden by `spec.limits`), its usage this month of the
/// plugin's metrics, and the metrics over their limit.
struct Metering {
    limits: BTreeMap<String, i64>,
    usage: BTreeMap<String, i64>,
    over: Vec<String>,
}

impl Metering {
    fn of(license: &PluginLicense, plugin: Option<&Plugin>, used: &BTreeMap<String, f64>) -> Self {
        let tier = plugin.and_then(|p| p.tier(&license.spec.tier));
        let mut limits: BTreeMap<String, i64> = tier.map(|t| t.limits.clone()).unwrap_or_default();
        limits.extend(license.spec.limits.clone());
        let usage: BTreeMap<String, i64> = plugin
            .map(|p| p.metrics.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|metric| {
                let used = used.get(metric).copied().unwrap_or(0.0);
                (metric.clone(), used.round() as i64)
            })
            .collect();
        let over = usage
            .iter()
            .filter_map(|(metric, used)| {
                let limit = *limits.get(metric)?;
                (limit >= 0 && *used > limit).then(|| format!("{metric} {used} of {limit}"))
            })
            .collect();
        Self {
            limits,
            usage,
            over,
        }
    }
}

/// Whether the license grants its features, with the Ready condition's reason and message: the
/// first of an unreadable `validUntil`, an unknown plugin or tier, a missing tenant, a conflict,
/// an expired or suspended state, or a limit exceeded; granted otherwise.
fn verdict(
    license: &PluginLicense,
    facts: &Facts<'_>,
    lifecycle: &Result<Lifecycle, InvalidValidUntil>,
    over: &[String],
) -> (bool, &'static str, String) {
    let spec = &license.spec;
    let plugin = facts.catalog.find(&spec.plugin);
    let tier = plugin.and_then(|p| p.tier(&spec.tier));
    match (lifecycle, plugin, tier) {
        (Err(InvalidValidUntil(value)), _, _) => (
            false,
            "InvalidValidUntil",
            format!("spec.validUntil {value:?} is not an RFC 3339 time"),
        ),
        (_, None, _) => (
            false,
            "UnknownPlugin",
            format!("spec.plugin {:?} is not in the plugin catalog", spec.plugin),
        ),
        (_, Some(p), None) => {
            let tiers: Vec<&str> = p.tiers.iter().map(|t| t.name.as_str()).collect();
            (
                false,
                "UnknownTier",
                format!(
                    "spec.tier {:?} is not a tier of {} (tiers: {})",
                    spec.tier,
                    p.id,
                    tiers.join(", ")
                ),
            )
        }
        _ if !facts.tenant_exists => (
            false,
            "TenantNotFound",
            format!(
                "tenant {:?} named in spec.tenantRef does not exist",
                spec.tenant_ref
            ),
        ),
        (_, _, _) if facts.holder.is_some() => (
            false,
            "Conflict",
            format!(
                "license {} already holds {} for tenant {}",
                facts.holder.unwrap_or_default(),
                spec.plugin,
                spec.tenant_ref
            ),
        ),
        (Ok(l), _, _) if matches!(l.state, LicenseState::Expired | LicenseState::Suspended) => {
            (false, state_reason(l.state), l.message.clone())
        }
        _ if !over.is_empty() => (
            false,
            "LimitExceeded",
            format!(
                "over the limit this month: {}; features return next month or when spec.limits is raised",
                over.join(", ")
            ),
        ),
        (Ok(l), _, _) => (true, state_reason(l.state), l.message.clone()),
    }
}

fn granting_possible(state: Option<LicenseState>) -> bool {
    matches!(state, Some(LicenseState::Trial | LicenseState::Active))
}

fn state_reason(state: LicenseState) -> &'static str {
    match state {
        LicenseState::Trial => "Trial",
        LicenseState::Active => "Active",
        LicenseState::Expired => "Expired",
        LicenseState::Suspended => "Suspended",
    }
}

/// Whole seconds, as Kubernetes writes times: `2026-11-01T00:00:00Z`.
fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    use super::*;

    static CATALOG: std::sync::LazyLock<Catalog> =
        std::sync::LazyLock::new(|| Catalog::embedded().unwrap());

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn license(name: &str, created: &str, spec: serde_json::Value) -> PluginLicense {
        let mut base = json!({"tenantRef": "acme", "plugin": "usage-billing", "tier": "standard"});
        json_patch::merge(&mut base, &spec);
        let mut l: PluginLicense = serde_json::from_value(json!({
            "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "PluginLicense",
            "metadata": {"name": name, "generation": 1}, "spec": base}))
        .unwrap();
        l.metadata.creation_timestamp = Some(Time(created.parse().unwrap()));
        l
    }

    fn state(l: &PluginLicense, now: &str) -> LicenseState {
        lifecycle(l, created(l, at(now)), at(now)).unwrap().state
    }

    #[test]
    fn a_trial_converts_to_paid_with_auto_renew_and_expires_without() {
        let renewing = license("a", "2026-11-01T00:00:00Z", json!({"trialDays": 7}));
        assert_eq!(
            state(&renewing, "2026-11-07T23:59:59Z"),
            LicenseState::Trial
        );
        assert_eq!(
            state(&renewing, "2026-11-08T00:00:00Z"),
            LicenseState::Active
        );
        let ending = license(
            "b",
            "2026-11-01T00:00:00Z",
            json!({"trialDays": 7, "autoRenew": false}),
        );
        assert_eq!(
            state(&ending, "2026-11-08T00:00:00Z"),
            LicenseState::Expired
        );
        let paid_ahead = license(
            "c",
            "2026-11-01T00:00:00Z",
            json!({"trialDays": 7, "autoRenew": false, "validUntil": "2027-01-01T00:00:00Z"}),
        );
        assert_eq!(
            state(&paid_ahead, "2026-12-01T00:00:00Z"),
            LicenseState::Active
        );
        assert_eq!(
            state(&paid_ahead, "2027-01-01T00:00:00Z"),
            LicenseState::Expired
        );
    }

    #[test]
    fn valid_until_renews_or_expires_and_suspension_wins() {
        let renewing = license(
            "a",
            "2026-01-01T00:00:00Z",
            json!({"validUntil": "2026-06-01T00:00:00Z"}),
        );
        assert_eq!(
            state(&renewing, "2026-07-01T00:00:00Z"),
            LicenseState::Active
        );
        let lapsing = license(
            "b",
            "2026-01-01T00:00:00Z",
            json!({"validUntil": "2026-06-01T00:00:00Z", "autoRenew": false}),
        );
        assert_eq!(
            state(&lapsing, "2026-05-31T00:00:00Z"),
            LicenseState::Active
        );
        assert_eq!(
            state(&lapsing, "2026-06-01T00:00:00Z"),
            LicenseState::Expired
        );
        let suspended = license(
            "c",
            "2026-01-01T00:00:00Z",
            json!({"suspended": true, "trialDays": 30}),
        );
        assert_eq!(
            state(&suspended, "2026-01-02T00:00:00Z"),
            LicenseState::Suspended
        );
    }

    #[test]
    fn the_older_live_license_holds_the_plugin() {
        let first = license("acme-billing", "2026-11-01T00:00:00Z", json!({}));
        let second = license("acme-billing-2", "2026-11-02T00:00:00Z", json!({}));
        let expired = license(
            "acme-billing-0",
            "2026-10-01T00:00:00Z",
            json!({"validUntil": "2026-10-15T00:00:00Z", "autoRenew": false}),
        );
        let other_plugin = license(
            "acme-analytics",
            "2026-10-01T00:00:00Z",
            json!({"plugin": "advanced-analytics"}),
        );
        let all = [&first, &second, &expired, &other_plugin];
        let now = at("2026-11-20T00:00:00Z");
        assert!(holder(&first, all.iter().copied(), now).is_none());
        assert_eq!(
            holder(&second, all.iter().copied(), now).and_then(|l| l.metadata.name.clone()),
            Some("acme-billing".into())
        );
        // Within one second, the license already granting keeps the plugin.
        let mut granting = license("acme-billing-b", "2026-11-03T00:00:00Z", json!({}));
        let newcomer = license("acme-billing-a", "2026-11-03T00:00:00Z", json!({}));
        let none = BTreeMap::new();
        let status = assess(&granting, &facts("2026-11-03T00:00:00Z", &none)).status;
        granting.status = Some(status);
        let pair = [&granting, &newcomer];
        assert!(holder(&granting, pair.iter().copied(), now).is_none());
        assert!(holder(&newcomer, pair.iter().copied(), now).is_some());
    }

    fn facts<'a>(now: &str, usage: &'a BTreeMap<String, f64>) -> Facts<'a> {
        Facts {
            now: at(now),
            tenant_exists: true,
            holder: None,
            usage,
            catalog: &CATALOG,
        }
    }

    fn reason(a: &Assessment, type_: &str) -> (String, String) {
        let c = a
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .unwrap();
        (c.status.clone(), c.reason.clone())
    }

    #[test]
    fn usage_over_a_limit_withdraws_the_features_until_next_month() {
        let l = license("a", "2026-11-01T00:00:00Z", json!({}));
        let within = BTreeMap::from([("transactions".to_owned(), 10_000.0)]);
        let a = assess(&l, &facts("2026-11-20T10:00:00Z", &within));
        assert_eq!(a.status.entitlements, vec!["advanced_billing".to_owned()]);
        assert_eq!(a.status.usage.get("transactions"), Some(&10_000));
        assert_eq!(
            reason(&a, "LimitExceeded"),
            ("False".into(), "WithinLimits".into())
        );
        assert!(a.metered);
        assert_eq!(
            a.status.period_start.as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
        assert_eq!(a.status.period_end.as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(a.next_change, at("2026-12-01T00:00:00Z"));

        let over = BTreeMap::from([("transactions".to_owned(), 10_001.0)]);
        let a = assess(&l, &facts("2026-11-20T10:00:00Z", &over));
        assert!(a.status.entitlements.is_empty());
        assert_eq!(
            reason(&a, "LimitExceeded"),
            ("True".into(), "OverLimit".into())
        );
        assert_eq!(
            reason(&a, "Ready"),
            ("False".into(), "LimitExceeded".into())
        );
        assert_eq!(a.status.state, Some(LicenseState::Active));

        let raised = license(
            "a",
            "2026-11-01T00:00:00Z",
            json!({"limits": {"transactions": -1}}),
        );
        let a = assess(&raised, &facts("2026-11-20T10:00:00Z", &over));
        assert_eq!(a.status.entitlements, vec!["advanced_billing".to_owned()]);
        assert!(!a.metered, "nothing left to meter against");
    }

    #[test]
    fn conflicts_unknown_catalog_entries_and_missing_tenants_grant_nothing() {
        let none = BTreeMap::new();
        let l = license("a", "2026-11-01T00:00:00Z", json!({}));
        let mut f = facts("2026-11-20T10:00:00Z", &none);
        f.holder = Some("acme-billing");
        let a = assess(&l, &f);
        assert!(a.status.entitlements.is_empty());
        assert_eq!(
            reason(&a, "Conflict"),
            ("True".into(), "DuplicateLicense".into())
        );
        assert_eq!(reason(&a, "Ready").1, "Conflict");

        let f = Facts {
            tenant_exists: false,
            ..facts("2026-11-20T10:00:00Z", &none)
        };
        assert_eq!(reason(&assess(&l, &f), "Ready").1, "TenantNotFound");

        let f = facts("2026-11-20T10:00:00Z", &none);
        let unknown = license("b", "2026-11-01T00:00:00Z", json!({"plugin": "nope"}));
        assert_eq!(reason(&assess(&unknown, &f), "Ready").1, "UnknownPlugin");
        let tier = license("c", "2026-11-01T00:00:00Z", json!({"tier": "gold"}));
        let a = assess(&tier, &f);
        assert_eq!(reason(&a, "Ready").1, "UnknownTier");
        assert!(a.status.conditions[0].message.contains("standard, pro"));
    }

    #[test]
    fn the_same_facts_give_an_equal_status_and_a_trial_requeues_at_its_end() {
        let none = BTreeMap::new();
        let mut l = license("a", "2026-11-25T00:00:00Z", json!({"trialDays": 3}));
        let first = assess(&l, &facts("2026-11-26T00:00:00Z", &none));
        assert_eq!(first.status.state, Some(LicenseState::Trial));
        assert_eq!(first.next_change, at("2026-11-28T00:00:00Z"));
        l.status = Some(first.status.clone());
        let again = assess(&l, &facts("2026-11-26T00:05:00Z", &none));
        assert_eq!(
            again.status, first.status,
            "a steady license writes nothing"
        );
    }
}
