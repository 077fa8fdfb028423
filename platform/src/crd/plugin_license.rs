//! `PluginLicense` (short name `plic`): one plugin subscription of one tenant.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    CATALOG_ID_PATTERN, Conditions, TENANT_NAME_PATTERN, conditions_schema, date_time_schema,
    string_set_schema,
};

/// Desired state of a plugin subscription.
#[allow(
    clippy::duplicated_attributes,
    reason = "every printcolumn(...) repeats its own type_ and json_path keys"
)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "platform.dotmac.io",
    version = "v1alpha1",
    kind = "PluginLicense",
    plural = "pluginlicenses",
    shortname = "plic",
    category = "dotmac",
    status = "PluginLicenseStatus",
    derive = "PartialEq",
    doc = "A tenant's subscription to one plugin of the catalog, with its tier, trial, validity and usage limits.",
    printcolumn(name = "Tenant", type_ = "string", json_path = ".spec.tenantRef"),
    printcolumn(name = "Plugin", type_ = "string", json_path = ".spec.plugin"),
    printcolumn(name = "Tier", type_ = "string", json_path = ".spec.tier"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Valid Until", type_ = "string", json_path = ".spec.validUntil"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    selectable = ".spec.tenantRef",
    selectable = ".spec.plugin"
)]
#[serde(rename_all = "camelCase")]
pub struct PluginLicenseSpec {
    /// Name of the Tenant holding the license. Cannot be changed after creation.
    #[schemars(length(min = 1, max = 40), regex(pattern = TENANT_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("tenantRef is immutable: create a new license for another tenant").reason(Reason::FieldValueForbidden))]
    pub tenant_ref: String,

    /// Catalog id of the licensed plugin, for example `advanced-analytics`. Cannot be changed
    /// after creation.
    #[schemars(length(min = 1, max = 63), regex(pattern = CATALOG_ID_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("plugin is immutable: create a new license for another plugin").reason(Reason::FieldValueForbidden))]
    pub plugin: String,

    /// Pricing tier of the plugin, as named in the catalog (for example `starter`, `pro`).
    #[serde(default = "default_tier")]
    #[schemars(length(min = 1, max = 63), regex(pattern = CATALOG_ID_PATTERN))]
    pub tier: String,

    /// Length of the free trial in days, counted from creation; 0 for none.
    #[serde(default)]
    #[schemars(range(min = 0, max = 365))]
    pub trial_days: i32,

    /// End of the paid period (RFC 3339); open-ended when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "date_time_schema")]
    pub valid_until: Option<String>,

    /// Usage limit per metered metric for one period (for example `api_calls`, `storage_gb`,
    /// `transactions`); -1 means unlimited.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new("self.all(k, k.matches('^[a-z][a-z0-9]*(_[a-z0-9]+)*$') && self[k] >= -1)").message("limits are keyed by metric id (for example api_calls) and are -1 (unlimited) or more").reason(Reason::FieldValueInvalid))]
    #[schemars(extend("maxProperties" = 32))]
    pub limits: BTreeMap<String, i64>,

    /// Renew the license for another period when `validUntil` passes.
    #[serde(default = "default_true")]
    pub auto_renew: bool,

    /// Withdraw the plugin's features without ending the license.
    #[serde(default)]
    pub suspended: bool,
}

fn default_tier() -> String {
    "standard".to_owned()
}

fn default_true() -> bool {
    true
}

/// State of a license.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum LicenseState {
    /// In its free trial.
    #[default]
    Trial,
    /// Paid and in force.
    Active,
    /// Past its validity without renewal.
    Expired,
    /// Withdrawn on request or for a breach.
    Suspended,
}

/// Observed state of a license, written by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginLicenseStatus {
    /// Where the license is in its lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<LicenseState>,
    /// Ready, Conflict (another live license for the same tenant and plugin), LimitExceeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Conditions,
    /// Usage per metered metric in the current period.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub usage: BTreeMap<String, i64>,
    /// The limits in force per metered metric: the catalog tier's, overlaid by `spec.limits`;
    /// -1 is unlimited.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, i64>,
    /// Start of the current usage period (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "date_time_schema")]
    pub period_start: Option<String>,
    /// End of the current usage period (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "date_time_schema")]
    pub period_end: Option<String>,
    /// Feature ids this license grants right now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "string_set_schema")]
    pub entitlements: Vec<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
