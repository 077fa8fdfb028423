//! `Tenant` (short name `tn`): one ISP running its own isolated isp-runtime instance.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use dotmac_contract::reporting::HealthState;

use super::common::{
    Conditions, DNS_LABEL_PATTERN, EMAIL_PATTERN, HOSTNAME_PATTERN, OBJECT_NAME_PATTERN,
    conditions_schema, date_time_schema, string_set_schema,
};

/// The longest tenant name: it becomes the namespace `dotmac-tenant-<name>` and the
/// PostgreSQL database and role `tenant_<name>`, which must stay within their limits.
pub const MAX_TENANT_NAME_LEN: usize = 40;

/// The CEL rule on `spec.features`: only features an instance has can be overridden (a test
/// keeps it equal to
/// [`dotmac_contract::entitlements::feature::ALL`]).
const FEATURES_RULE: &str = "self.all(k, k in ['advanced_analytics', 'advanced_billing', 'network_access', 'unlimited_apis'])";
/// What a Tenant overriding an unknown feature is told.
const FEATURES_MESSAGE: &str = "unknown feature; the features are advanced_analytics, advanced_billing, network_access and unlimited_apis";

/// Desired state of a tenant: which ISP, which feature tier, how big, where it is reachable.
#[allow(
    clippy::duplicated_attributes,
    reason = "every printcolumn(...) repeats its own type_ and json_path keys"
)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "platform.dotmac.io",
    version = "v1alpha1",
    kind = "Tenant",
    plural = "tenants",
    shortname = "tn",
    category = "dotmac",
    status = "TenantStatus",
    derive = "PartialEq",
    doc = "An ISP on the DotMac platform: one isolated isp-runtime instance with its own namespace, database, Redis user and OpenBao namespace.",
    printcolumn(name = "Plan", type_ = "string", json_path = ".spec.plan", description = "Feature tier"),
    printcolumn(name = "Size", type_ = "string", json_path = ".spec.size", description = "Resource size"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", description = "Lifecycle phase"),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas", description = "Ready replicas"),
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".status.endpoint", description = "Where the instance is reachable"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    selectable = ".spec.plan",
    selectable = ".spec.resellerRef",
    validation = Rule::new("size(self.metadata.name) <= 40").message("a tenant name must be at most 40 characters, because it becomes a namespace and database name").field_path(".metadata.name").reason(Reason::FieldValueInvalid),
    validation = Rule::new("self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')").message("a tenant name must start with a letter and contain only lowercase letters, digits and '-' (no '.')").field_path(".metadata.name").reason(Reason::FieldValueInvalid)
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!(has(self.replicas) && has(self.autoscaling))").message("replicas and autoscaling are mutually exclusive: set one or the other").field_path(".replicas").reason(Reason::FieldValueForbidden)
)]
pub struct TenantSpec {
    /// Human-readable name of the ISP, shown in portals and invoices.
    #[schemars(length(min = 1, max = 100))]
    pub display_name: String,

    /// Address the platform writes to about this tenant (billing, incidents).
    #[schemars(length(max = 254), regex(pattern = EMAIL_PATTERN))]
    pub contact_email: String,

    /// Feature tier: which features the tenant's instance has (see the plugin catalog).
    #[serde(default)]
    pub plan: Plan,

    /// Resource size: CPU, memory, storage and the replica ceiling of the instance.
    #[serde(default)]
    pub size: Size,

    /// Name of the Reseller that sold this tenant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub reseller_ref: Option<String>,

    /// Hostname the instance is served on through an Ingress, for example `portal.acme-isp.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 253),
        regex(pattern = HOSTNAME_PATTERN)
    )]
    pub domain: Option<String>,

    /// isp-runtime image tag to run; the operator's default version when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"))]
    pub version: Option<String>,

    /// Fixed number of instance replicas. Mutually exclusive with `autoscaling`; at most the
    /// size's replica ceiling. Defaults to 1 when neither is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 20))]
    pub replicas: Option<i32>,

    /// Horizontal autoscaling of the instance on CPU. Mutually exclusive with `replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,

    /// Scale the instance to zero and stop serving, keeping all data and configuration.
    #[serde(default)]
    pub suspended: bool,

    /// What happens to the tenant's database and OpenBao namespace when the Tenant is deleted.
    /// Can be changed to `Retain` at any time, but never from `Retain` to `Delete`.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf || self == 'Retain'").message("deletionPolicy cannot be changed from Retain to Delete on an existing tenant").reason(Reason::FieldValueForbidden))]
    pub deletion_policy: DeletionPolicy,

    /// Usage limits enforced by the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<TenantLimits>,

    /// How the ISP runs its business: currency, payment terms, and the local hours of its
    /// billing and dunning runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business: Option<Business>,

    /// How the instance sends invitation and password-reset e-mail; none is sent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<Mail>,

    /// FreeRADIUS beside the instance, for the ISP's NAS (BNGs, PPPoE concentrators) to sign
    /// subscribers in through. Needs the `network_access` feature; none without this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<Radius>,

    /// Explicit feature overrides by feature id: `true` grants a feature beyond the plan,
    /// `false` withdraws one the plan includes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new(FEATURES_RULE).message(FEATURES_MESSAGE).reason(Reason::FieldValueInvalid))]
    #[schemars(extend("maxProperties" = 64))]
    pub features: BTreeMap<String, bool>,
}

/// Feature tier of a tenant.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Customers, plans, subscriptions, invoicing in the tenant's currency, payments, dunning.
    #[default]
    Free,
    /// Free plus advanced billing: plans in other currencies and usage-based charges.
    Basic,
    /// Basic plus advanced analytics: revenue, ARPU and churn by month.
    Premium,
    /// Premium plus unlimited APIs: no per-token rate limit.
    Enterprise,
}

impl Plan {
    /// The plan's name as written in a Tenant.
    pub fn name(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Basic => "basic",
            Self::Premium => "premium",
            Self::Enterprise => "enterprise",
        }
    }
}

/// Resource size of a tenant's instance.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// 100m/500m CPU, 256Mi/1Gi memory, 5Gi storage, up to 2 replicas.
    #[default]
    Micro,
    /// 250m/1 CPU, 512Mi/2Gi memory, 10Gi storage, up to 3 replicas.
    Small,
    /// 500m/2 CPU, 1Gi/4Gi memory, 20Gi storage, up to 5 replicas.
    Medium,
    /// 1/4 CPU, 2Gi/8Gi memory, 50Gi storage, up to 8 replicas.
    Large,
    /// 2/8 CPU, 4Gi/16Gi memory, 100Gi storage, up to 12 replicas.
    Xlarge,
}

impl Size {
    /// The size's name as written in a Tenant.
    pub fn name(self) -> &'static str {
        match self {
            Self::Micro => "micro",
            Self::Small => "small",
            Self::Medium => "medium",
            Self::Large => "large",
            Self::Xlarge => "xlarge",
        }
    }
}

/// What deleting a Tenant does to its data.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the database and the OpenBao namespace; disable the database login.
    #[default]
    Retain,
    /// Drop the database, role, Redis user and OpenBao namespace.
    Delete,
}

/// CPU-based horizontal autoscaling bounds.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.minReplicas <= self.maxReplicas").message("minReplicas must not exceed maxReplicas").field_path(".minReplicas").reason(Reason::FieldValueInvalid)
)]
pub struct Autoscaling {
    /// Lowest number of replicas.
    #[serde(default = "default_min_replicas")]
    #[schemars(range(min = 1, max = 20))]
    pub min_replicas: i32,
    /// Highest number of replicas; capped by the size's replica ceiling.
    #[schemars(range(min = 1, max = 20))]
    pub max_replicas: i32,
    /// Average CPU utilisation the autoscaler aims for, in percent of the request.
    #[serde(default = "default_target_cpu")]
    #[schemars(range(min = 10, max = 95))]
    #[serde(rename = "targetCPUUtilizationPercentage")]
    pub target_cpu_utilization_percentage: i32,
}

fn default_min_replicas() -> i32 {
    1
}

fn default_target_cpu() -> i32 {
    70
}

/// Usage limits of a tenant's instance.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantLimits {
    /// Most customers the ISP may manage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub max_customers: Option<i64>,
    /// API requests allowed per minute per API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub api_rate_limit_per_minute: Option<i32>,
}

/// How the ISP runs its business; each field has a default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Business {
    /// ISO 4217 code of its plans and invoices; `USD` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[A-Z]{3}$"))]
    pub currency: Option<String>,
    /// Days from an invoice's issue to its due date; 30 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 365))]
    pub payment_terms_days: Option<i32>,
    /// IANA time zone its business day runs in (`Africa/Lagos`, `America/Chicago`); `UTC` by
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 64),
        regex(pattern = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
    )]
    pub time_zone: Option<String>,
    /// Local hour (0–23) of the billing run on the first day of each month; 2 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 23))]
    pub billing_hour: Option<i32>,
    /// Local hour (0–23) of the daily dunning run; 6 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 23))]
    pub dunning_hour: Option<i32>,
}

/// The instance's outgoing e-mail.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mail {
    /// Sender of the e-mail, as a mailbox: `Acme ISP <noreply@acme-isp.net>`.
    #[schemars(length(min = 3, max = 320), regex(pattern = "^[^\\r\\n]*@[^\\r\\n]*$"))]
    pub from: String,
    /// The Secret in the tenant's namespace (`dotmac-tenant-<name>`) and its key holding the
    /// SMTP server's URL with its credentials: `smtps://user:password@host:465`, or
    /// `smtp://host:587?tls=required`. Until it exists the Tenant reports `MailReady=False`.
    pub smtp_secret_ref: SecretKeyRef,
}

/// How the tenant's NAS reach its FreeRADIUS.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Radius {
    /// The Service the NAS send to (UDP 1812 and 1813): `LoadBalancer` (the default) or
    /// `NodePort`. Either keeps the NAS's own source address (`externalTrafficPolicy: Local`),
    /// by which the instance knows each NAS.
    #[serde(default)]
    pub service_type: RadiusServiceType,
    /// The networks the NAS send from, as CIDRs (`198.51.100.0/24`). RADIUS from anywhere else
    /// is refused by the load balancer and the NetworkPolicy; from anywhere when empty (a
    /// packet from an address that is no registered NAS is still dropped, and counted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), inner(length(min = 3, max = 43), regex(pattern = CIDR_PATTERN)))]
    pub nas_networks: Vec<String>,
}

/// A RADIUS Service's type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RadiusServiceType {
    /// A load balancer's address.
    #[default]
    LoadBalancer,
    /// A port on every node.
    NodePort,
}

/// The shape of an IPv4 or IPv6 CIDR; [`TenantSpec::fault`] checks the rest.
const CIDR_PATTERN: &str = "^[0-9a-fA-F:.]+/[0-9]{1,3}$";

/// A key of a Secret in the tenant's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
    /// The key in its data.
    #[schemars(length(min = 1, max = 253), regex(pattern = "^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

impl TenantSpec {
    /// What the schema cannot check, as (field, message): `business.timeZone` must name a zone
    /// of the IANA database (the one built into every binary, so operator and instance agree),
    /// and each of `radius.nasNetworks` must be a network in CIDR notation.
    pub fn fault(&self) -> Option<(&'static str, String)> {
        let networks = self.radius.iter().flat_map(|r| &r.nas_networks);
        for network in networks {
            if network.parse::<ipnet::IpNet>().is_err() {
                return Some((
                    "spec.radius.nasNetworks",
                    format!(
                        "{network:?} is not a network in CIDR notation (for example 198.51.100.0/24)"
                    ),
                ));
            }
        }
        let zone = self.business.as_ref()?.time_zone.as_deref()?;
        jiff::tz::TimeZone::get(zone).err().map(|_| {
            (
                "spec.business.timeZone",
                format!("{zone:?} is not an IANA time zone (for example Europe/London)"),
            )
        })
    }
}

/// Lifecycle phase of a tenant.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum TenantPhase {
    /// Accepted, nothing provisioned yet.
    #[default]
    Pending,
    /// Parts are being created or changed.
    Provisioning,
    /// Every part is ready and the instance serves.
    Ready,
    /// Something that was ready is failing.
    Degraded,
    /// Scaled to zero on request; data and configuration kept.
    Suspended,
    /// Being removed.
    Deleting,
}

/// Observed state of a tenant, written by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// Lifecycle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<TenantPhase>,
    /// Ready, Progressing, Degraded and one condition per part (NamespaceReady, DatabaseReady,
    /// CacheReady, SecretsReady, WorkloadReady).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Conditions,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The tenant's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// URL the instance is reachable at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Replicas of the instance that pass their readiness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Feature ids in force: the plan's, licensed plugins' and overrides, less what is over a limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "string_set_schema")]
    pub entitlements: Vec<String>,
    /// Last health report from the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<TenantHealth>,
}

/// A health report sent by a tenant's instance to the management API.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantHealth {
    /// Overall state reported by the instance.
    pub status: HealthState,
    /// When the instance made the report (RFC 3339).
    #[schemars(schema_with = "date_time_schema")]
    pub checked_at: String,
    /// Short explanation when not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use dotmac_contract::entitlements::feature;

    #[test]
    fn an_unknown_time_zone_is_a_fault_naming_the_field() {
        let spec = |zone: &str| -> super::TenantSpec {
            serde_json::from_value(serde_json::json!({
                "displayName": "A", "contactEmail": "a@b.example",
                "business": {"timeZone": zone}}))
            .unwrap()
        };
        assert_eq!(spec("Africa/Lagos").fault(), None);
        assert_eq!(spec("UTC").fault(), None);
        let (field, message) = spec("Mars/Olympus_Mons").fault().unwrap();
        assert_eq!(field, "spec.business.timeZone");
        assert!(message.contains("Mars/Olympus_Mons"), "{message}");
    }

    #[test]
    fn a_nas_network_that_is_no_cidr_is_a_fault_naming_the_field() {
        let spec = |networks: &[&str]| -> super::TenantSpec {
            serde_json::from_value(serde_json::json!({
                "displayName": "A", "contactEmail": "a@b.example",
                "radius": {"nasNetworks": networks}}))
            .unwrap()
        };
        assert_eq!(spec(&["198.51.100.0/24", "2001:db8::/32"]).fault(), None);
        let (field, message) = spec(&["198.51.100.0/24", "300.1.1.0/24"]).fault().unwrap();
        assert_eq!(field, "spec.radius.nasNetworks");
        assert!(message.contains("300.1.1.0/24"), "{message}");
    }

    #[test]
    fn the_features_rule_names_every_feature_and_no_other() {
        let quoted: Vec<String> = feature::ALL.iter().map(|f| format!("'{f}'")).collect();
        let rule = format!("self.all(k, k in [{}])", quoted.join(", "));
        assert_eq!(super::FEATURES_RULE, rule);
        let [first, second, third, last] = feature::ALL;
        assert!(
            super::FEATURES_MESSAGE.ends_with(&format!("{first}, {second}, {third} and {last}")),
            "{}",
            super::FEATURES_MESSAGE
        );
    }
}
