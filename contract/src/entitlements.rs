//! The entitlements file: the features a tenant's plan and licenses give it, written by the
//! operator into the tenant's ConfigMap (key [`crate::instance::ENTITLEMENTS_KEY`]) and re-read
//! by the running instance when it changes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The features an instance gates: everything the catalog sells is one of these, and each
/// switches a behaviour of the running instance. What every instance does (customers, plans,
/// subscriptions, invoicing in the tenant's currency, payments, dunning, audit) is not gated.
pub mod feature {
    /// Plans priced in another currency than the tenant's, and usage-based charges on
    /// subscriptions (each recorded charge is a `transactions` event).
    pub const ADVANCED_BILLING: &str = "advanced_billing";
    /// Revenue, ARPU and churn by month (`/api/v1/analytics/revenue`).
    pub const ADVANCED_ANALYTICS: &str = "advanced_analytics";
    /// Subscribers' routers sign in through RADIUS: NAS, service logins, IP pools, sessions.
    pub const NETWORK_ACCESS: &str = "network_access";
    /// No per-token rate limit on the instance's API.
    pub const UNLIMITED_APIS: &str = "unlimited_apis";

    /// Every feature, sorted.
    pub const ALL: [&str; 4] = [
        ADVANCED_ANALYTICS,
        ADVANCED_BILLING,
        NETWORK_ACCESS,
        UNLIMITED_APIS,
    ];
}

/// The file's content (JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementsFile {
    /// The tenant's plan.
    pub plan: String,
    /// The features in force.
    pub features: BTreeSet<String>,
    /// For every catalog feature, the lowest plan that has it (for "upgrade to …" messages).
    #[serde(default)]
    pub feature_plans: BTreeMap<String, String>,
    /// For each feature in force through a plugin license (not the plan), the plugin: the
    /// instance counts the usage of that feature against it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_plugins: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feature_list_is_sorted_and_unique() {
        assert!(feature::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn round_trips_with_camel_case_keys() {
        let file = EntitlementsFile {
            plan: "basic".into(),
            features: [
                "advanced_billing".to_owned(),
                "advanced_analytics".to_owned(),
            ]
            .into(),
            feature_plans: [("advanced_billing".to_owned(), "basic".to_owned())].into(),
            feature_plugins: BTreeMap::new(),
        };
        let text = serde_json::to_string(&file).unwrap();
        assert_eq!(
            text,
            r#"{"plan":"basic","features":["advanced_analytics","advanced_billing"],"featurePlans":{"advanced_billing":"basic"}}"#
        );
        assert_eq!(
            serde_json::from_str::<EntitlementsFile>(&text).unwrap(),
            file
        );
    }

    #[test]
    fn feature_plans_may_be_absent() {
        let file: EntitlementsFile =
            serde_json::from_str(r#"{"plan":"free","features":[]}"#).unwrap();
        assert!(file.feature_plans.is_empty());
        assert!(file.feature_plugins.is_empty());
    }
}
