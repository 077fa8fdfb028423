//! `Reseller` (short name `rsl`): a channel partner that sells tenants and earns commission.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Conditions, EMAIL_PATTERN, Money, conditions_schema, string_set_schema};
use super::tenant::Plan;

/// Desired state of a reseller.
#[allow(
    clippy::duplicated_attributes,
    reason = "every printcolumn(...) repeats its own type_ and json_path keys"
)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "platform.dotmac.io",
    version = "v1alpha1",
    kind = "Reseller",
    plural = "resellers",
    shortname = "rsl",
    category = "dotmac",
    status = "ResellerStatus",
    derive = "PartialEq",
    doc = "A channel partner that sells DotMac tenants and earns commission on their revenue.",
    printcolumn(name = "Tier", type_ = "string", json_path = ".spec.tier"),
    printcolumn(
        name = "Tenants",
        type_ = "integer",
        json_path = ".status.tenants.count"
    ),
    printcolumn(name = "Max", type_ = "integer", json_path = ".spec.maxTenants"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ResellerSpec {
    /// Company name of the partner.
    #[schemars(length(min = 1, max = 100))]
    pub display_name: String,

    /// Address for statements and commission reports.
    #[schemars(length(max = 254), regex(pattern = EMAIL_PATTERN))]
    pub contact_email: String,

    /// Partner tier; sets the default commission rate (bronze 10 %, silver 12 %, gold 15 %,
    /// platinum 18 %).
    #[serde(default)]
    pub tier: ResellerTier,

    /// Commission rate in percent of monthly recurring revenue, replacing the tier's rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub commission_rate_percent: Option<f64>,

    /// Plans this reseller may sell; every plan when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub allowed_plans: Vec<Plan>,

    /// Most tenants this reseller may have; unlimited when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100_000))]
    pub max_tenants: Option<i32>,
}

/// Partner tier of a reseller.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResellerTier {
    /// 10 % commission.
    #[default]
    Bronze,
    /// 12 % commission.
    Silver,
    /// 15 % commission.
    Gold,
    /// 18 % commission.
    Platinum,
}

/// The tenants a reseller has.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ResellerTenants {
    /// Number of tenants referring to this reseller.
    pub count: i32,
    /// Their names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "string_set_schema")]
    pub names: Vec<String>,
}

/// Observed state of a reseller, written by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResellerStatus {
    /// Tenants sold by this reseller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenants: Option<ResellerTenants>,
    /// Monthly recurring revenue of those tenants at catalog prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_recurring_revenue: Option<Money>,
    /// Commission accrued in the current period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission_accrued: Option<Money>,
    /// Ready, and TenantLimitReached or PlanNotAllowed when tenants break the reseller's limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Conditions,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
