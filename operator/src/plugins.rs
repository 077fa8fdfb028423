//! The plugin catalog embedded in the operator: each plugin's features, metered metrics, trial
//! length and tiers with their monthly price and usage limits per metric (-1 is unlimited).

use serde::Serialize;

/// A pricing tier of a plugin.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tier {
    /// Tier id (`starter`).
    pub name: &'static str,
    /// Monthly price in minor units of `currency`.
    pub monthly_price: i64,
    /// ISO 4217 currency.
    pub currency: &'static str,
    /// Usage limit per metric for one period; -1 is unlimited.
    pub limits: &'static [(&'static str, i64)],
}

/// A plugin a tenant can license.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Plugin {
    /// Catalog id (`advanced-analytics`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Features a live licence adds to the tenant's entitlements.
    pub features: &'static [&'static str],
    /// Metrics its usage is metered by.
    pub metrics: &'static [&'static str],
    /// Days of free trial a new licence gets; 0 for none.
    pub trial_days: i32,
    /// Tiers, cheapest first.
    pub tiers: &'static [Tier],
}

const USD: &str = "USD";

/// Every plugin, by id.
pub const CATALOG: &[Plugin] = &[
    Plugin {
        id: "advanced-analytics",
        name: "Advanced analytics",
        description: "Churn, ARPU and network-usage dashboards with exports",
        features: &["advanced_analytics"],
        metrics: &["api_calls"],
        trial_days: 14,
        tiers: &[
            Tier {
                name: "starter",
                monthly_price: 4_900,
                currency: USD,
                limits: &[("api_calls", 100_000)],
            },
            Tier {
                name: "pro",
                monthly_price: 14_900,
                currency: USD,
                limits: &[("api_calls", -1)],
            },
        ],
    },
    Plugin {
        id: "ai-insights",
        name: "AI insights",
        description: "Predicted churn and payment risk per subscriber",
        features: &["ai_insights", "predictive_analytics"],
        metrics: &["api_calls"],
        trial_days: 14,
        tiers: &[Tier {
            name: "pro",
            monthly_price: 29_900,
            currency: USD,
            limits: &[("api_calls", 1_000_000)],
        }],
    },
    Plugin {
        id: "sms-notifications",
        name: "SMS notifications",
        description: "Payment reminders and outage notices by SMS",
        features: &["sms_notifications"],
        metrics: &["transactions"],
        trial_days: 7,
        tiers: &[
            Tier {
                name: "standard",
                monthly_price: 1_900,
                currency: USD,
                limits: &[("transactions", 1_000)],
            },
            Tier {
                name: "pro",
                monthly_price: 7_900,
                currency: USD,
                limits: &[("transactions", 20_000)],
            },
        ],
    },
    Plugin {
        id: "voip-gateway",
        name: "VoIP gateway",
        description: "SIP trunking and call records for voice plans",
        features: &["voip"],
        metrics: &["api_calls", "transactions", "storage_gb"],
        trial_days: 0,
        tiers: &[
            Tier {
                name: "standard",
                monthly_price: 9_900,
                currency: USD,
                limits: &[
                    ("api_calls", 100_000),
                    ("transactions", 10_000),
                    ("storage_gb", 50),
                ],
            },
            Tier {
                name: "pro",
                monthly_price: 29_900,
                currency: USD,
                limits: &[
                    ("api_calls", 1_000_000),
                    ("transactions", 50_000),
                    ("storage_gb", -1),
                ],
            },
        ],
    },
    Plugin {
        id: "white-labelling",
        name: "White labelling",
        description: "The ISP's own brand and domain on every portal",
        features: &["white_labelling"],
        metrics: &[],
        trial_days: 30,
        tiers: &[Tier {
            name: "standard",
            monthly_price: 9_900,
            currency: USD,
            limits: &[],
        }],
    },
];

/// A plugin by id.
pub fn find(id: &str) -> Option<&'static Plugin> {
    CATALOG.iter().find(|p| p.id == id)
}

impl Plugin {
    /// A tier by name.
    pub fn tier(&self, name: &str) -> Option<&'static Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_name_catalog_plugins_and_tiers() {
        assert!(
            find("advanced-analytics")
                .and_then(|p| p.tier("starter"))
                .is_some()
        );
        assert!(find("voip-gateway").and_then(|p| p.tier("pro")).is_some());
        for plugin in CATALOG {
            assert!(!plugin.tiers.is_empty(), "{}", plugin.id);
            for tier in plugin.tiers {
                for (metric, _) in tier.limits {
                    assert!(
                        plugin.metrics.contains(metric),
                        "{}: {metric} is limited but not metered",
                        plugin.id
                    );
                }
            }
        }
    }
}
