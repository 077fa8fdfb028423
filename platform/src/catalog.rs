//! The feature catalog: which features each plan includes, and the one function that computes a
//! tenant's entitlements (the operator writes them into the tenant's ConfigMap; the management
//! API answers with the same function).

use std::collections::{BTreeMap, BTreeSet};

use dotmac_contract::entitlements::feature;

use crate::crd::{PluginLicense, TenantSpec, tenant::Plan};

/// Features of the free plan: none; it is what every instance does (customers, plans,
/// subscriptions, invoicing in the tenant's currency, payments, dunning, audit).
const FREE: &[&str] = &[];
/// Features the basic plan adds.
const BASIC: &[&str] = &[feature::ADVANCED_BILLING, feature::NETWORK_ACCESS];
/// Features the premium plan adds.
const PREMIUM: &[&str] = &[feature::ADVANCED_ANALYTICS];
/// Features the enterprise plan adds.
const ENTERPRISE: &[&str] = &[feature::UNLIMITED_APIS];

/// The currency of every catalog price.
pub const CURRENCY: &str = "USD";

/// A plan's monthly list price in minor units of [`CURRENCY`]: what a reseller's recurring
/// revenue counts for a tenant on it.
pub fn plan_price(plan: Plan) -> i64 {
    match plan {
        Plan::Free => 0,
        Plan::Basic => 9_900,
        Plan::Premium => 29_900,
        Plan::Enterprise => 99_900,
    }
}

/// Every plan, cheapest first.
pub const PLANS: [Plan; 4] = [Plan::Free, Plan::Basic, Plan::Premium, Plan::Enterprise];

/// Every feature a plan includes, its own and the lower plans'.
pub fn plan_features(plan: Plan) -> BTreeSet<&'static str> {
    let tiers: &[&[&str]] = match plan {
        Plan::Free => &[FREE],
        Plan::Basic => &[FREE, BASIC],
        Plan::Premium => &[FREE, BASIC, PREMIUM],
        Plan::Enterprise => &[FREE, BASIC, PREMIUM, ENTERPRISE],
    };
    tiers.iter().flat_map(|t| t.iter().copied()).collect()
}

/// The lowest plan that includes `feature`, for "upgrade to …" messages.
pub fn plan_with(feature: &str) -> Option<Plan> {
    PLANS
        .into_iter()
        .find(|plan| plan_features(*plan).contains(feature))
}

/// Every catalog feature with the lowest plan that includes it, written beside a tenant's
/// entitlements so its instance can say which plan a refused feature needs.
pub fn feature_plans() -> BTreeMap<&'static str, Plan> {
    [FREE, BASIC, PREMIUM, ENTERPRISE]
        .iter()
        .zip(PLANS)
        .flat_map(|(features, plan)| features.iter().map(move |f| (*f, plan)))
        .collect()
}

/// The features in force for a tenant: its plan's, plus features licensed through plugins,
/// then its explicit overrides (`true` grants, `false` withdraws). Sorted, without duplicates.
pub fn entitlements<'a>(
    spec: &TenantSpec,
    licensed: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut features: BTreeSet<String> = plan_features(spec.plan)
        .into_iter()
        .map(str::to_owned)
        .collect();
    features.extend(licensed.into_iter().map(str::to_owned));
    for (feature, enabled) in &spec.features {
        if *enabled {
            features.insert(feature.clone());
        } else {
            features.remove(feature);
        }
    }
    features.into_iter().collect()
}

/// The features `tenant`'s licenses grant right now, as their controller last wrote them.
pub fn licensed<'a>(
    licenses: impl IntoIterator<Item = &'a PluginLicense>,
    tenant: &str,
) -> Vec<String> {
    let features: BTreeSet<&String> = licenses
        .into_iter()
        .filter(|l| l.spec.tenant_ref == tenant && l.metadata.deletion_timestamp.is_none())
        .filter_map(|l| l.status.as_ref())
        .flat_map(|s| s.entitlements.iter())
        .collect();
    features.into_iter().cloned().collect()
}

/// The features plugin licenses grant `tenant`, each with its plugin (the oldest license's when
/// two grant one feature).
pub fn licensed_plugins<'a>(
    licenses: impl IntoIterator<Item = &'a PluginLicense>,
    tenant: &str,
) -> BTreeMap<String, String> {
    let mut granting: Vec<&PluginLicense> = licenses
        .into_iter()
        .filter(|l| l.spec.tenant_ref == tenant && l.metadata.deletion_timestamp.is_none())
        .collect();
    granting.sort_by_key(|l| l.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let mut out = BTreeMap::new();
    for license in granting {
        for feature in license.status.iter().flat_map(|s| s.entitlements.iter()) {
            out.entry(feature.clone())
                .or_insert_with(|| license.spec.plugin.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(plan: Plan, overrides: &[(&str, bool)]) -> TenantSpec {
        let mut spec: TenantSpec = serde_json::from_value(serde_json::json!({
            "displayName": "A", "contactEmail": "a@b.example"}))
        .unwrap();
        spec.plan = plan;
        spec.features = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        spec
    }

    #[test]
    fn plans_include_the_lower_plans() {
        assert!(plan_features(Plan::Free).is_empty());
        assert_eq!(plan_features(Plan::Basic).len(), 2);
        assert_eq!(plan_features(Plan::Premium).len(), 3);
        assert_eq!(
            plan_features(Plan::Enterprise),
            feature::ALL.into_iter().collect(),
            "the top plan sells every feature"
        );
        assert!(plan_features(Plan::Premium).is_superset(&plan_features(Plan::Basic)));
        assert_eq!(plan_with("advanced_billing"), Some(Plan::Basic));
        assert_eq!(plan_with("unlimited_apis"), Some(Plan::Enterprise));
        assert_eq!(plan_with("network_access"), Some(Plan::Basic));
        assert_eq!(plan_with("nope"), None);
    }

    #[test]
    fn overrides_grant_and_withdraw_and_licenses_add() {
        let got = entitlements(
            &spec(
                Plan::Basic,
                &[("unlimited_apis", true), ("advanced_billing", false)],
            ),
            ["advanced_analytics"],
        );
        assert_eq!(
            got,
            ["advanced_analytics", "network_access", "unlimited_apis"]
        );
        assert!(got.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    }
}
