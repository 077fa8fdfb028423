//! The plugin catalog: each plugin's features, metered metrics, trial length and tiers with
//! their monthly price and usage limits per metric (-1 is unlimited). The operator ships a
//! default (`default.yaml`); a ConfigMap with the same layout replaces it while it runs
//! ([`source`]).

pub mod source;

use std::collections::{BTreeMap, BTreeSet};

use dotmac_contract::{entitlements::feature, reporting::metric};
use serde::{Deserialize, Serialize};

/// A pricing tier of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tier {
    /// Tier id (`starter`).
    pub name: String,
    /// Monthly price in minor units of `currency`.
    pub monthly_price: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Usage limit per metric for one period; -1 is unlimited, a metric left out is unlimited.
    #[serde(default)]
    pub limits: BTreeMap<String, i64>,
}

/// A plugin a tenant can license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plugin {
    /// Catalog id (`advanced-analytics`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Features a live license adds to the tenant's entitlements.
    pub features: Vec<String>,
    /// Metrics its usage is metered by.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Days of free trial a new license gets; 0 for none.
    #[serde(default)]
    pub trial_days: i32,
    /// Tiers, cheapest first; a subscription without a tier gets the first.
    pub tiers: Vec<Tier>,
}

impl Plugin {
    /// A tier by name.
    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }
}

/// Every plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The plugins, by id.
    pub plugins: Vec<Plugin>,
}

/// A catalog that cannot be used, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CatalogError {
    /// Path of the field (`plugins[1].tiers[0].currency`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn fault(field: impl Into<String>, message: impl Into<String>) -> CatalogError {
    CatalogError {
        field: field.into(),
        message: message.into(),
    }
}

/// Whether `id` matches the CRDs' catalog id pattern `^[a-z][a-z0-9]*([_-][a-z0-9]+)*$`
/// and fits in 63 characters.
fn is_catalog_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && !bytes.last().is_some_and(|b| matches!(b, b'_' | b'-'))
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
        && !bytes
            .windows(2)
            .any(|w| matches!(w[0], b'_' | b'-') && matches!(w[1], b'_' | b'-'))
}

impl Catalog {
    /// The catalog the operator ships with.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_yaml(Self::embedded_text())
    }

    /// The YAML of the catalog the operator ships with: a starting point for a ConfigMap.
    pub fn embedded_text() -> &'static str {
        include_str!("default.yaml")
    }

    /// Reads and checks a catalog in the ConfigMap layout.
    pub fn from_yaml(text: &str) -> Result<Self, CatalogError> {
        let catalog: Self = serde_yaml::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default();
            fault("plugins", format!("{e}{at}"))
        })?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// A plugin by id.
    pub fn find(&self, id: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.id == id)
    }

    /// Checks what serde cannot: ids, uniqueness, prices, currencies and limits.
    pub fn validate(&self) -> Result<(), CatalogError> {
        if self.plugins.is_empty() {
            return Err(fault("plugins", "must list at least one plugin"));
        }
        let mut ids = BTreeSet::new();
        for (i, plugin) in self.plugins.iter().enumerate() {
            let at = format!("plugins[{i}]");
            if !ids.insert(plugin.id.as_str()) {
                return Err(fault(
                    format!("{at}.id"),
                    format!("{} appears twice", plugin.id),
                ));
            }
            plugin.validate(&at)?;
        }
        Ok(())
    }
}

impl Plugin {
    /// Checks one plugin, found at `at` in the catalog.
    fn validate(&self, at: &str) -> Result<(), CatalogError> {
        if !is_catalog_id(&self.id) {
            return Err(fault(
                format!("{at}.id"),
                format!(
                    "{:?} must be lowercase letters, digits, '-' or '_', starting with a letter, at most 63 characters",
                    self.id
                ),
            ));
        }
        if self.features.is_empty() {
            return Err(fault(
                format!("{at}.features"),
                "must grant at least one feature",
            ));
        }
        // A plugin sells only what an instance does: a feature it gates, a metric it reports.
        let known = |list: &[&str], name: &String| list.contains(&name.as_str());
        if let Some((k, bad)) = self
            .features
            .iter()
            .enumerate()
            .find(|(_, f)| !known(&feature::ALL, f))
        {
            return Err(fault(
                format!("{at}.features[{k}]"),
                format!(
                    "{bad:?} is not a feature an instance has; the features are {}",
                    feature::ALL.join(", ")
                ),
            ));
        }
        if let Some((k, bad)) = self
            .metrics
            .iter()
            .enumerate()
            .find(|(_, m)| !known(&metric::ALL, m))
        {
            return Err(fault(
                format!("{at}.metrics[{k}]"),
                format!(
                    "{bad:?} is not a metric an instance reports; the metrics are {}",
                    metric::ALL.join(", ")
                ),
            ));
        }
        if !(0..=365).contains(&self.trial_days) {
            return Err(fault(format!("{at}.trialDays"), "must be 0 to 365"));
        }
        if self.tiers.is_empty() {
            return Err(fault(format!("{at}.tiers"), "must list at least one tier"));
        }
        let mut names = BTreeSet::new();
        for (j, tier) in self.tiers.iter().enumerate() {
            let at = format!("{at}.tiers[{j}]");
            if !is_catalog_id(&tier.name) || !names.insert(tier.name.as_str()) {
                return Err(fault(
                    format!("{at}.name"),
                    format!("{:?} must be a unique catalog id", tier.name),
                ));
            }
            self.validate_tier(tier, &at)?;
        }
        Ok(())
    }

    /// Checks a tier's price, currency and limits.
    fn validate_tier(&self, tier: &Tier, at: &str) -> Result<(), CatalogError> {
        if tier.monthly_price < 0 {
            return Err(fault(format!("{at}.monthlyPrice"), "must not be negative"));
        }
        if tier.currency != crate::catalog::CURRENCY {
            return Err(fault(
                format!("{at}.currency"),
                format!(
                    "{:?}: must be {}, the currency reseller revenue is counted in",
                    tier.currency,
                    crate::catalog::CURRENCY
                ),
            ));
        }
        for (metric, limit) in &tier.limits {
            if !self.metrics.contains(metric) {
                return Err(fault(
                    format!("{at}.limits.{metric}"),
                    "limits a metric the plugin is not metered by",
                ));
            }
            if *limit < -1 {
                return Err(fault(
                    format!("{at}.limits.{metric}"),
                    "must be -1 (unlimited) or more",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_valid_and_names_the_examples_plugins() {
        let catalog = Catalog::embedded().unwrap();
        let analytics = catalog.find("advanced-analytics").unwrap();
        assert_eq!(analytics.trial_days, 14);
        assert_eq!(
            analytics.tier("starter").unwrap().limits["api_calls"],
            100_000
        );
        assert!(
            catalog
                .find("usage-billing")
                .and_then(|p| p.tier("pro"))
                .is_some()
        );
        assert!(catalog.find("nope").is_none());
    }

    #[test]
    fn a_bad_catalog_is_refused_naming_the_field() {
        let base = include_str!("default.yaml");
        let cases = [
            (
                "currency: USD\n        limits: {api_calls: 100000}",
                "currency: usd\n        limits: {api_calls: 100000}",
                "plugins[0].tiers[0].currency",
            ),
            (
                "monthlyPrice: 4900",
                "monthlyPrice: -1",
                "plugins[0].tiers[0].monthlyPrice",
            ),
            (
                "limits: {api_calls: 100000}",
                "limits: {api_calls: -2}",
                "plugins[0].tiers[0].limits.api_calls",
            ),
            (
                "limits: {api_calls: 100000}",
                "limits: {storage_gb: 5}",
                "plugins[0].tiers[0].limits.storage_gb",
            ),
            (
                "id: usage-billing",
                "id: advanced-analytics",
                "plugins[1].id",
            ),
            ("id: usage-billing", "id: Usage", "plugins[1].id"),
            ("trialDays: 30", "trialDays: 400", "plugins[1].trialDays"),
            (
                "features: [unlimited_apis]",
                "features: []",
                "plugins[2].features",
            ),
            (
                "features: [advanced_billing]",
                "features: [advanced_billing, voip]",
                "plugins[1].features[1]",
            ),
            (
                "metrics: [transactions]",
                "metrics: [transactions, minutes]",
                "plugins[1].metrics[1]",
            ),
            (
                "name: pro\n        monthlyPrice: 14900",
                "name: starter\n        monthlyPrice: 14900",
                "plugins[0].tiers[1].name",
            ),
        ];
        for (from, to, field) in cases {
            assert_eq!(base.matches(from).count(), 1, "{from}");
            let error = Catalog::from_yaml(&base.replacen(from, to, 1)).unwrap_err();
            assert_eq!(error.field, field, "{to}: {error}");
        }
        let error = Catalog::from_yaml("plugins:\n  - id: x\n    colour: red\n").unwrap_err();
        assert!(error.message.contains("colour"), "{error}");
        assert!(error.message.contains("line 3"), "{error}");
        assert_eq!(
            Catalog::from_yaml("plugins: []").unwrap_err().field,
            "plugins"
        );
    }
}
