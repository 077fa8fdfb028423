//! A reseller's tenants, monthly recurring revenue and commission, and its status. Pure.
//!
//! Revenue counts, per tenant that is not suspended or being deleted, its plan's list price
//! and the tier price of each license that is paid (`Active`, not in conflict); trials earn
//! nothing. Commission is the reseller's rate (its override, or the tier's: bronze 10 %,
//! silver 12 %, gold 15 %, platinum 18 %) of that revenue, rounded half away from zero to the
//! cent here and only here.

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{
    catalog,
    conditions::{condition, is_true},
    crd::{
        PluginLicense, Reseller, ResellerStatus, Tenant,
        common::Money,
        plugin_license::LicenseState,
        reseller::{ResellerTenants, ResellerTier},
        tenant::Plan,
    },
    plugins::Catalog,
};

/// A paid license in a tenant's revenue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseRevenue {
    /// Catalog id of the plugin.
    pub plugin: String,
    /// Tier.
    pub tier: String,
    /// Monthly price in minor units.
    pub monthly_price: i64,
}

/// One tenant's part of a reseller's revenue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantRevenue {
    /// The tenant.
    pub tenant: String,
    /// Its plan.
    pub plan: Plan,
    /// Suspended tenants are listed but earn nothing.
    pub suspended: bool,
    /// The plan's monthly list price in minor units.
    pub plan_price: i64,
    /// Paid licenses.
    pub licenses: Vec<LicenseRevenue>,
    /// What the tenant brings in a month, in minor units.
    pub total: i64,
}

/// Everything the reseller's status and ledger row are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Revenue per tenant naming the reseller, by name.
    pub lines: Vec<TenantRevenue>,
    /// Monthly recurring revenue in minor units of [`catalog::CURRENCY`].
    pub mrr: i64,
    /// Commission rate in percent.
    pub rate: Decimal,
    /// Commission in minor units.
    pub commission: i64,
    /// Tenants whose plan is not in `allowedPlans`.
    pub disallowed: Vec<(String, Plan)>,
}

impl Summary {
    /// The reseller's tenants, by name.
    pub fn names(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.tenant.clone()).collect()
    }
}

/// The reseller's commission rate in percent.
pub fn rate(reseller: &Reseller) -> Decimal {
    match reseller
        .spec
        .commission_rate_percent
        .and_then(Decimal::from_f64_retain)
    {
        // An f64 such as 16.5 is exact; 12.1 is not, so keep four decimals.
        Some(rate) => rate.round_dp(4).normalize(),
        None => Decimal::from(match reseller.spec.tier {
            ResellerTier::Bronze => 10,
            ResellerTier::Silver => 12,
            ResellerTier::Gold => 15,
            ResellerTier::Platinum => 18,
        }),
    }
}

/// `rate` percent of `amount` minor units, rounded half away from zero to a minor unit.
pub fn commission(amount: i64, rate: Decimal) -> i64 {
    let exact = Decimal::from(amount) * rate / Decimal::ONE_HUNDRED;
    exact
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .try_into()
        .unwrap_or(i64::MAX)
}

/// The reseller's summary from every tenant and license.
pub fn summarise<'a>(
    reseller: &Reseller,
    tenants: impl IntoIterator<Item = &'a Tenant>,
    licenses: &[&PluginLicense],
    catalog: &Catalog,
) -> Summary {
    let name = reseller.metadata.name.as_deref().unwrap_or_default();
    let mut own: Vec<&Tenant> = tenants
        .into_iter()
        .filter(|t| {
            t.spec.reseller_ref.as_deref() == Some(name) && t.metadata.deletion_timestamp.is_none()
        })
        .collect();
    own.sort_by_key(|t| t.metadata.name.clone());
    let lines: Vec<TenantRevenue> = own.iter().map(|t| revenue(t, licenses, catalog)).collect();
    let mrr = lines.iter().map(|l| l.total).sum();
    let rate = rate(reseller);
    let allowed = &reseller.spec.allowed_plans;
    Summary {
        disallowed: lines
            .iter()
            .filter(|l| !allowed.is_empty() && !allowed.contains(&l.plan))
            .map(|l| (l.tenant.clone(), l.plan))
            .collect(),
        commission: commission(mrr, rate),
        rate,
        mrr,
        lines,
    }
}

fn revenue(tenant: &Tenant, licenses: &[&PluginLicense], catalog: &Catalog) -> TenantRevenue {
    let name = tenant.metadata.name.clone().unwrap_or_default();
    let mut paid: Vec<LicenseRevenue> = licenses
        .iter()
        .filter(|l| l.spec.tenant_ref == name && l.metadata.deletion_timestamp.is_none())
        .filter(|l| {
            l.status.as_ref().is_some_and(|s| {
                s.state == Some(LicenseState::Active) && !is_true(&s.conditions, "Conflict")
            })
        })
        .filter_map(|l| {
            let tier = catalog.find(&l.spec.plugin)?.tier(&l.spec.tier)?;
            Some(LicenseRevenue {
                plugin: l.spec.plugin.clone(),
                tier: l.spec.tier.clone(),
                monthly_price: tier.monthly_price,
            })
        })
        .collect();
    paid.sort_by(|a, b| a.plugin.cmp(&b.plugin));
    let plan_price = catalog::plan_price(tenant.spec.plan);
    let suspended = tenant.spec.suspended;
    let total = if suspended {
        0
    } else {
        plan_price + paid.iter().map(|l| l.monthly_price).sum::<i64>()
    };
    TenantRevenue {
        tenant: name,
        plan: tenant.spec.plan,
        suspended,
        plan_price,
        licenses: paid,
        total,
    }
}

/// An amount for people: `USD 123.45`.
pub fn display(minor: i64) -> String {
    format!("{} {}", catalog::CURRENCY, Decimal::new(minor, 2))
}

/// The status for `summary`; `ledger` is the error recording the month's accrual, if any.
pub fn status(
    reseller: &Reseller,
    summary: &Summary,
    ledger: Option<&str>,
    now: &Timestamp,
) -> ResellerStatus {
    let previous = reseller
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let generation = reseller.metadata.generation;
    let cond = |(type_, ok, reason, message): (&str, bool, &str, String)| -> Condition {
        condition(previous, generation, type_, ok, reason, message, now)
    };
    let count = summary.lines.len() as i32;
    let money = |amount_minor| Money {
        amount_minor,
        currency: catalog::CURRENCY.into(),
    };
    ResellerStatus {
        tenants: Some(ResellerTenants {
            count,
            names: summary.names(),
        }),
        monthly_recurring_revenue: Some(money(summary.mrr)),
        commission_accrued: Some(money(summary.commission)),
        conditions: vec![
            cond(ready(summary, ledger)),
            cond(tenant_limit(reseller.spec.max_tenants, count)),
            cond(plans_allowed(summary)),
        ],
        observed_generation: generation,
    }
}

/// A condition before its bookkeeping: type, whether it holds, reason and message.
type Verdict = (&'static str, bool, &'static str, String);

fn ready(summary: &Summary, ledger: Option<&str>) -> Verdict {
    match ledger {
        None => (
            "Ready",
            true,
            "Reconciled",
            format!(
                "{} tenants, {} a month, commission {} at {} %",
                summary.lines.len(),
                display(summary.mrr),
                display(summary.commission),
                summary.rate
            ),
        ),
        Some(error) => (
            "Ready",
            false,
            "LedgerUnavailable",
            format!("the commission ledger could not be written: {error}"),
        ),
    }
}

fn tenant_limit(max_tenants: Option<i32>, count: i32) -> Verdict {
    let (reached, reason, message) = match max_tenants {
        None => (
            false,
            "Unlimited",
            format!("{count} tenants, no maxTenants"),
        ),
        Some(max) if count > max => (
            true,
            "OverLimit",
            format!("{count} tenants, more than maxTenants {max}: the API refuses new ones"),
        ),
        Some(max) if count == max => (
            true,
            "AtLimit",
            format!("{count} tenants, at maxTenants: the API refuses new ones"),
        ),
        Some(max) => (
            false,
            "BelowLimit",
            format!("{count} of at most {max} tenants"),
        ),
    };
    ("TenantLimitReached", reached, reason, message)
}

fn plans_allowed(summary: &Summary) -> Verdict {
    if summary.disallowed.is_empty() {
        return (
            "PlanNotAllowed",
            false,
            "AllPlansAllowed",
            "every tenant's plan is allowed".into(),
        );
    }
    let tenants: Vec<String> = summary
        .disallowed
        .iter()
        .map(|(t, p)| {
            let plan = serde_json::to_value(p)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{t} ({plan})")
        })
        .collect();
    (
        "PlanNotAllowed",
        true,
        "PlanNotAllowed",
        format!(
            "tenants on plans outside allowedPlans: {}",
            tenants.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reseller(spec: serde_json::Value) -> Reseller {
        let mut base = json!({"displayName": "N", "contactEmail": "a@n.example"});
        json_patch::merge(&mut base, &spec);
        serde_json::from_value(
            json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Reseller",
            "metadata": {"name": "north", "generation": 1}, "spec": base}),
        )
        .unwrap()
    }

    fn tenant(name: &str, plan: &str, extra: serde_json::Value) -> Tenant {
        let mut spec = json!({"displayName": name, "contactEmail": "a@b.example", "plan": plan, "resellerRef": "north"});
        json_patch::merge(&mut spec, &extra);
        serde_json::from_value(
            json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": name}, "spec": spec}),
        )
        .unwrap()
    }

    fn license(
        tenant: &str,
        plugin: &str,
        tier: &str,
        state: &str,
        conflict: bool,
    ) -> PluginLicense {
        serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "PluginLicense",
            "metadata": {"name": format!("{tenant}-{plugin}")},
            "spec": {"tenantRef": tenant, "plugin": plugin, "tier": tier},
            "status": {"state": state, "conditions": [{"type": "Conflict", "status": if conflict {"True"} else {"False"},
                "reason": "x", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}))
        .unwrap()
    }

    #[test]
    fn tier_rates_and_overrides() {
        assert_eq!(rate(&reseller(json!({}))), Decimal::from(10));
        assert_eq!(
            rate(&reseller(json!({"tier": "silver"}))),
            Decimal::from(12)
        );
        assert_eq!(rate(&reseller(json!({"tier": "gold"}))), Decimal::from(15));
        assert_eq!(
            rate(&reseller(json!({"tier": "platinum"}))),
            Decimal::from(18)
        );
        assert_eq!(
            rate(&reseller(
                json!({"tier": "gold", "commissionRatePercent": 16.5})
            ))
            .to_string(),
            "16.5"
        );
        assert_eq!(
            rate(&reseller(json!({"commissionRatePercent": 12.1}))).to_string(),
            "12.1"
        );
    }

    #[test]
    fn commission_rounds_half_away_from_zero_to_the_cent() {
        assert_eq!(commission(9_900, Decimal::from(15)), 1_485);
        // 16.5 % of 99.00 = 16.335 → 16.34
        assert_eq!(commission(9_900, "16.5".parse().unwrap()), 1_634);
        // 12.5 % of 0.04 = 0.005 → 0.01
        assert_eq!(commission(4, "12.5".parse().unwrap()), 1);
        assert_eq!(commission(0, Decimal::from(18)), 0);
    }

    #[test]
    fn revenue_counts_plans_and_paid_licenses_but_not_trials_conflicts_or_suspended_tenants() {
        let r = reseller(json!({"tier": "gold"}));
        let tenants = [
            tenant("acme", "premium", json!({})),
            tenant("beta", "basic", json!({"suspended": true})),
            tenant("other", "enterprise", json!({"resellerRef": "south"})),
        ];
        let licenses = [
            license("acme", "usage-billing", "pro", "Active", false),
            license("acme", "advanced-analytics", "starter", "Trial", false),
            license("acme", "usage-billing", "standard", "Active", true),
            license("beta", "usage-billing", "pro", "Active", false),
        ];
        let refs: Vec<&PluginLicense> = licenses.iter().collect();
        let s = summarise(&r, &tenants, &refs, &Catalog::embedded().unwrap());
        assert_eq!(s.names(), vec!["acme".to_owned(), "beta".to_owned()]);
        // premium 299.00 + usage billing pro 99.00; beta is suspended.
        assert_eq!(s.mrr, 29_900 + 9_900);
        assert_eq!(s.lines[0].licenses.len(), 1);
        assert_eq!(s.lines[1].total, 0);
        assert_eq!(s.commission, 5_970);
    }

    #[test]
    fn limits_and_plans_become_conditions() {
        let r = reseller(json!({"maxTenants": 1, "allowedPlans": ["free", "basic"]}));
        let tenants = [
            tenant("acme", "premium", json!({})),
            tenant("beta", "basic", json!({})),
        ];
        let s = summarise(&r, &tenants, &[], &Catalog::embedded().unwrap());
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let status = status(&r, &s, None, &now);
        let get = |t: &str| status.conditions.iter().find(|c| c.type_ == t).unwrap();
        assert_eq!(get("TenantLimitReached").status, "True");
        assert_eq!(get("TenantLimitReached").reason, "OverLimit");
        assert_eq!(get("PlanNotAllowed").status, "True");
        assert!(get("PlanNotAllowed").message.contains("acme (premium)"));
        assert_eq!(get("Ready").status, "True");
        assert_eq!(status.tenants.as_ref().unwrap().count, 2);
        let failed = super::status(&r, &s, Some("database is down"), &now);
        assert_eq!(failed.conditions[0].reason, "LedgerUnavailable");
    }
}
