//! The desired objects of a tenant, built by pure functions from the Tenant and the operator's
//! settings as typed Kubernetes objects: a misspelt field does not compile. Nothing here talks
//! to the cluster; [`Desired::manifest`] serialises an object for server-side apply.

mod limits;
mod network;
#[cfg(test)]
mod tests;
mod workload;

use std::collections::{BTreeMap, BTreeSet};

use dotmac_contract::{entitlements::EntitlementsFile, instance};
use dotmac_platform::{catalog, crd::Tenant, sizes};
use k8s_openapi::{
    ByteString,
    api::{
        apps::v1::Deployment,
        autoscaling::v2::HorizontalPodAutoscaler,
        core::v1::{
            ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount,
        },
        networking::v1::{Ingress, NetworkPolicy},
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference},
};
use kube::Resource;
use serde_json::{Value, json};

use super::names::{
    self, APP, CREDENTIALS_SECRET, ISP_PORT, MANAGED_BY, PART_OF, RADIUS, TENANT_LABEL,
};
use crate::config::ControllerConfig;

/// The API type of a desired object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// v1 Namespace.
    Namespace,
    /// v1 ServiceAccount.
    ServiceAccount,
    /// v1 ConfigMap.
    ConfigMap,
    /// v1 Secret (the tenant's credentials, when the data plane is on).
    Secret,
    /// apps/v1 Deployment.
    Deployment,
    /// v1 Service.
    Service,
    /// v1 Service `radius`: FreeRADIUS's UDP ports for the NAS, when `spec.radius` asks.
    RadiusService,
    /// networking.k8s.io/v1 Ingress.
    Ingress,
    /// networking.k8s.io/v1 NetworkPolicy.
    NetworkPolicy,
    /// v1 ResourceQuota.
    ResourceQuota,
    /// v1 LimitRange.
    LimitRange,
    /// autoscaling/v2 HorizontalPodAutoscaler.
    HorizontalPodAutoscaler,
    /// policy/v1 PodDisruptionBudget.
    PodDisruptionBudget,
}

impl Kind {
    /// Every kind, in apply order: the namespace first, the workload after its configuration.
    pub const ALL: [Kind; 13] = [
        Kind::Namespace,
        Kind::ServiceAccount,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::NetworkPolicy,
        Kind::ResourceQuota,
        Kind::LimitRange,
        Kind::Deployment,
        Kind::Service,
        Kind::RadiusService,
        Kind::Ingress,
        Kind::HorizontalPodAutoscaler,
        Kind::PodDisruptionBudget,
    ];

    /// (group, version, kind, plural).
    pub fn gvk(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::Namespace => ("", "v1", "Namespace", "namespaces"),
            Kind::ServiceAccount => ("", "v1", "ServiceAccount", "serviceaccounts"),
            Kind::ConfigMap => ("", "v1", "ConfigMap", "configmaps"),
            Kind::Secret => ("", "v1", "Secret", "secrets"),
            Kind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Kind::Service | Kind::RadiusService => ("", "v1", "Service", "services"),
            Kind::Ingress => ("networking.k8s.io", "v1", "Ingress", "ingresses"),
            Kind::NetworkPolicy => (
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
            ),
            Kind::ResourceQuota => ("", "v1", "ResourceQuota", "resourcequotas"),
            Kind::LimitRange => ("", "v1", "LimitRange", "limitranges"),
            Kind::HorizontalPodAutoscaler => (
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
                "horizontalpodautoscalers",
            ),
            Kind::PodDisruptionBudget => (
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
            ),
        }
    }
}

impl Kind {
    /// The name of the tenant's one object of this kind in its namespace.
    pub fn object_name(self) -> &'static str {
        match self {
            Kind::RadiusService => RADIUS,
            Kind::Secret => CREDENTIALS_SECRET,
            _ => APP,
        }
    }
}

/// Declares [`Desired`], one variant per [`Kind`] holding that kind's typed object.
macro_rules! desired_objects {
    ($($kind:ident: $type:ty),* $(,)?) => {
        /// One desired object, typed.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(
            clippy::large_enum_variant,
            reason = "a dozen per reconcile, built and applied at once: boxing saves nothing"
        )]
        pub enum Desired {
            $(
                #[doc = concat!("A ", stringify!($kind), ".")]
                $kind($type),
            )*
        }

        impl Desired {
            /// Its type.
            pub fn kind(&self) -> Kind {
                match self {
                    $(Desired::$kind(_) => Kind::$kind,)*
                }
            }

            /// Its metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Desired::$kind(object) => &object.metadata,)*
                }
            }

            /// The manifest to server-side apply: the object as JSON.
            pub fn manifest(&self) -> Result<Value, serde_json::Error> {
                match self {
                    $(Desired::$kind(object) => serde_json::to_value(object),)*
                }
            }
        }
    };
}

desired_objects!(
    Namespace: Namespace,
    ServiceAccount: ServiceAccount,
    ConfigMap: ConfigMap,
    Secret: Secret,
    NetworkPolicy: NetworkPolicy,
    ResourceQuota: ResourceQuota,
    LimitRange: LimitRange,
    Deployment: Deployment,
    Service: Service,
    RadiusService: Service,
    Ingress: Ingress,
    HorizontalPodAutoscaler: HorizontalPodAutoscaler,
    PodDisruptionBudget: PodDisruptionBudget,
);

impl Desired {
    /// Its name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// Its namespace (none for the Namespace itself).
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }
}

/// What the desired state depends on besides the Tenant and the settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Hash of the credentials Secret's data (empty when it does not exist yet).
    pub credentials_hash: String,
    /// The credentials Secret's data, when the data plane provides it.
    pub credentials: Option<BTreeMap<String, String>>,
    /// Features licensed through plugins, each with its plugin.
    pub licensed: BTreeMap<String, String>,
    /// Hash of the SMTP URL in `spec.mail.smtpSecretRef` (empty while it does not exist), so
    /// the pods roll when it appears or changes.
    pub mail_hash: String,
}

/// The replicas the Deployment should run: 0 when suspended, none when an autoscaler owns
/// the number, otherwise `replicas` (default 1) within the size's ceiling.
pub fn deployment_replicas(tenant: &Tenant) -> Option<i32> {
    let spec = &tenant.spec;
    let ceiling = sizes::profile(spec.size).max_replicas;
    match (spec.suspended, &spec.autoscaling) {
        (true, _) => Some(0),
        (false, Some(_)) => None,
        (false, None) => Some(spec.replicas.unwrap_or(1).clamp(1, ceiling)),
    }
}

/// Replicas that must be ready for the workload to count as ready.
pub fn wanted_replicas(tenant: &Tenant) -> i32 {
    match (deployment_replicas(tenant), &tenant.spec.autoscaling) {
        (Some(n), _) => n,
        (None, Some(a)) => a
            .min_replicas
            .min(sizes::profile(tenant.spec.size).max_replicas),
        (None, None) => 1,
    }
}

/// Whether the tenant gets FreeRADIUS: `spec.radius` asks, and it has `network_access` (from
/// its plan, overrides or the `licensed` features).
pub fn radius_wanted<'a>(tenant: &Tenant, licensed: impl IntoIterator<Item = &'a str>) -> bool {
    tenant.spec.radius.is_some()
        && catalog::entitlements(&tenant.spec, licensed)
            .iter()
            .any(|f| f == dotmac_contract::entitlements::feature::NETWORK_ACCESS)
}

/// The endpoint the instance is reachable at.
pub fn endpoint(tenant: &Tenant) -> String {
    let name = tenant.metadata.name.as_deref().unwrap_or_default();
    match &tenant.spec.domain {
        Some(domain) => format!("https://{domain}"),
        None => format!(
            "http://{APP}.{}.svc.cluster.local:{ISP_PORT}",
            names::namespace(name)
        ),
    }
}

/// The labels every object of `tenant` carries.
fn labels(tenant: &str) -> BTreeMap<String, String> {
    [
        (MANAGED_BY.0, MANAGED_BY.1),
        (PART_OF.0, PART_OF.1),
        (TENANT_LABEL, tenant),
        ("app.kubernetes.io/name", APP),
        ("app.kubernetes.io/instance", tenant),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The labels that select the tenant's instance pods.
fn selector(tenant: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            [
                ("app.kubernetes.io/name", APP),
                ("app.kubernetes.io/instance", tenant),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ),
        ..LabelSelector::default()
    }
}

/// What every object of one tenant shares: its name, namespace, labels and owner.
struct Owned<'a> {
    tenant: &'a Tenant,
    name: String,
    namespace: String,
}

impl<'a> Owned<'a> {
    fn new(tenant: &'a Tenant) -> Self {
        let name = tenant.metadata.name.clone().unwrap_or_default();
        Self {
            tenant,
            namespace: names::namespace(&name),
            name,
        }
    }

    /// Metadata of the object `object_name` in the tenant's namespace (or of the namespace
    /// itself when `namespaced` is false), owned by the Tenant.
    fn meta(&self, object_name: &str, namespaced: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some(object_name.to_owned()),
            namespace: namespaced.then(|| self.namespace.clone()),
            labels: Some(labels(&self.name)),
            owner_references: Some(vec![OwnerReference {
                api_version: Tenant::api_version(&()).into_owned(),
                kind: Tenant::kind(&()).into_owned(),
                name: self.name.clone(),
                uid: self.tenant.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        }
    }

    /// Metadata of `object_name` in the tenant's namespace.
    fn namespaced(&self, object_name: &str) -> ObjectMeta {
        self.meta(object_name, true)
    }
}

/// A short stable hash (FNV-1a, hex) of a value's JSON.
pub fn hash(value: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in value.to_string().bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The ConfigMap's data: the instance's settings (with where it reports, when the operator
/// knows) and its entitlements file.
pub fn config_data(
    tenant: &Tenant,
    config: &ControllerConfig,
    inputs: &Inputs,
) -> BTreeMap<String, String> {
    let name = tenant.metadata.name.clone().unwrap_or_default();
    let spec = &tenant.spec;
    let features: BTreeSet<String> =
        catalog::entitlements(spec, inputs.licensed.keys().map(String::as_str))
            .into_iter()
            .collect();
    let in_plan = catalog::plan_features(spec.plan);
    let feature_plugins = inputs
        .licensed
        .iter()
        .filter(|(feature, _)| features.contains(*feature) && !in_plan.contains(feature.as_str()))
        .map(|(feature, plugin)| (feature.clone(), plugin.clone()))
        .collect();
    let file = EntitlementsFile {
        plan: spec.plan.name().to_owned(),
        features,
        feature_plans: catalog::feature_plans()
            .into_iter()
            .map(|(feature, plan)| (feature.to_owned(), plan.name().to_owned()))
            .collect(),
        feature_plugins,
    };
    let mut data = BTreeMap::new();
    let mut set = |key: &str, value: String| data.insert(key.to_owned(), value);
    set(instance::TENANT, name);
    set(instance::TENANT_DISPLAY_NAME, spec.display_name.clone());
    set(instance::PLAN, spec.plan.name().to_owned());
    set(instance::SIZE, spec.size.name().to_owned());
    set(
        instance::DATABASE_MAX_CONNECTIONS,
        sizes::profile(spec.size).database_connections.to_string(),
    );
    set(
        instance::ENTITLEMENTS_FILE,
        instance::ENTITLEMENTS_PATH.to_owned(),
    );
    if let Some(url) = &config.instance_api_url {
        set(instance::MANAGEMENT_API_URL, url.clone());
    }
    // With a domain, people reach the instance through its Ingress, which appends the
    // client's address to X-Forwarded-For.
    if spec.domain.is_some() {
        set(instance::PUBLIC_URL, endpoint(tenant));
        set(instance::TRUST_FORWARDED_FOR, "true".to_owned());
    }
    if let Some(mail) = &spec.mail {
        set(instance::MAIL_FROM, mail.from.clone());
    }
    if let Some(business) = &spec.business {
        let mut optional = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                set(key, v);
            }
        };
        optional(instance::CURRENCY, business.currency.clone());
        optional(
            instance::PAYMENT_TERMS_DAYS,
            business.payment_terms_days.map(|d| d.to_string()),
        );
        optional(instance::TIME_ZONE, business.time_zone.clone());
        optional(
            instance::BILLING_HOUR,
            business.billing_hour.map(|h| h.to_string()),
        );
        optional(
            instance::DUNNING_HOUR,
            business.dunning_hour.map(|h| h.to_string()),
        );
    }
    if let Some(limits) = &spec.limits {
        if let Some(n) = limits.max_customers {
            set(instance::MAX_CUSTOMERS, n.to_string());
        }
        if let Some(n) = limits.api_rate_limit_per_minute {
            set(instance::API_RATE_LIMIT_PER_MINUTE, n.to_string());
        }
    }
    set(instance::ENTITLEMENTS_KEY, json!(file).to_string());
    data
}

/// Every object the tenant should have, in apply order.
pub fn desired(tenant: &Tenant, config: &ControllerConfig, inputs: &Inputs) -> Vec<Desired> {
    let owned = Owned::new(tenant);
    let size = sizes::profile(tenant.spec.size);
    let data = config_data(tenant, config, inputs);
    // The instance re-reads its entitlements file in place; only settings read at start roll
    // the pods.
    let mut settings = data.clone();
    settings.remove(instance::ENTITLEMENTS_KEY);
    let config_hash = hash(
        &json!({"config": settings, "credentials": inputs.credentials_hash, "mail": inputs.mail_hash}),
    );
    let mut out = vec![
        Desired::Namespace(Namespace {
            metadata: owned.meta(&owned.namespace, false),
            ..Namespace::default()
        }),
        Desired::ServiceAccount(ServiceAccount {
            metadata: owned.namespaced(APP),
            automount_service_account_token: Some(false),
            ..ServiceAccount::default()
        }),
        Desired::ConfigMap(ConfigMap {
            metadata: owned.namespaced(APP),
            data: Some(data),
            ..ConfigMap::default()
        }),
    ];
    if let Some(credentials) = &inputs.credentials {
        out.push(Desired::Secret(Secret {
            metadata: owned.namespaced(CREDENTIALS_SECRET),
            type_: Some("Opaque".into()),
            data: Some(
                credentials
                    .iter()
                    .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                    .collect(),
            ),
            ..Secret::default()
        }));
    }
    let radius = radius_wanted(tenant, inputs.licensed.keys().map(String::as_str))
        .then_some(tenant.spec.radius.as_ref())
        .flatten();
    out.extend([
        Desired::NetworkPolicy(network::policy(&owned, config, radius)),
        Desired::ResourceQuota(limits::quota(&owned, &size, radius.is_some())),
        Desired::LimitRange(limits::limit_range(&owned, &size)),
        Desired::Deployment(workload::deployment(
            &owned,
            config,
            &size,
            config_hash,
            radius.is_some(),
        )),
        Desired::Service(network::service(&owned)),
    ]);
    out.extend(
        radius.map(|radius| Desired::RadiusService(network::radius_service(&owned, radius))),
    );
    out.extend(network::ingress(&owned, config).map(Desired::Ingress));
    out.extend(limits::autoscaler(&owned, &size).map(Desired::HorizontalPodAutoscaler));
    out.extend(limits::disruption_budget(&owned).map(Desired::PodDisruptionBudget));
    out
}
