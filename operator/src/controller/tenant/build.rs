//! The desired objects of a tenant, built by pure functions from the Tenant and the operator's
//! settings. Nothing here talks to the cluster.

use std::collections::BTreeMap;

use dotmac_contract::{entitlements::EntitlementsFile, instance};
use serde_json::{Value, json};

use super::names::{self, APP, CREDENTIALS_SECRET, ISP_PORT, MANAGED_BY, PART_OF, TENANT_LABEL};
use kube::Resource;

use dotmac_platform::catalog;

use dotmac_platform::crd::Tenant;

use dotmac_platform::sizes;

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
    pub const ALL: [Kind; 12] = [
        Kind::Namespace,
        Kind::ServiceAccount,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::NetworkPolicy,
        Kind::ResourceQuota,
        Kind::LimitRange,
        Kind::Deployment,
        Kind::Service,
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
            Kind::Service => ("", "v1", "Service", "services"),
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

    fn api_version(self) -> String {
        match self.gvk() {
            ("", version, _, _) => version.to_owned(),
            (group, version, _, _) => format!("{group}/{version}"),
        }
    }
}

/// One desired object.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Its type.
    pub kind: Kind,
    /// Its namespace (none for the Namespace itself).
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// The full manifest to server-side apply.
    pub manifest: Value,
}

/// What the desired state depends on besides the Tenant and the settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Hash of the credentials Secret's data (empty when it does not exist yet).
    pub credentials_hash: String,
    /// The credentials Secret's data, when the data plane provides it.
    pub credentials: Option<BTreeMap<String, String>>,
    /// Features licensed through plugins.
    pub licensed: Vec<String>,
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

fn labels(tenant: &str) -> Value {
    json!({
        MANAGED_BY.0: MANAGED_BY.1,
        PART_OF.0: PART_OF.1,
        TENANT_LABEL: tenant,
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/instance": tenant,
    })
}

fn selector(tenant: &str) -> Value {
    json!({"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": tenant})
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

/// The ConfigMap's data: the instance's settings and its entitlements file.
pub fn config_data(tenant: &Tenant, inputs: &Inputs) -> BTreeMap<String, String> {
    let name = tenant.metadata.name.clone().unwrap_or_default();
    let spec = &tenant.spec;
    let file = EntitlementsFile {
        plan: spec.plan.name().to_owned(),
        features: catalog::entitlements(spec, inputs.licensed.iter().map(String::as_str))
            .into_iter()
            .collect(),
        feature_plans: catalog::feature_plans()
            .into_iter()
            .map(|(feature, plan)| (feature.to_owned(), plan.name().to_owned()))
            .collect(),
    };
    let mut data = BTreeMap::new();
    let mut set = |key: &str, value: String| data.insert(key.to_owned(), value);
    set(instance::TENANT, name);
    set(instance::TENANT_DISPLAY_NAME, spec.display_name.clone());
    set(instance::PLAN, spec.plan.name().to_owned());
    set(instance::SIZE, spec.size.name().to_owned());
    set(
        instance::ENTITLEMENTS_FILE,
        instance::ENTITLEMENTS_PATH.to_owned(),
    );
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
    let name = tenant.metadata.name.clone().unwrap_or_default();
    let ns = names::namespace(&name);
    let spec = &tenant.spec;
    let size = sizes::profile(spec.size);
    let owner = json!([{
        "apiVersion": Tenant::api_version(&()), "kind": Tenant::kind(&()), "name": name,
        "uid": tenant.metadata.uid.clone().unwrap_or_default(), "controller": true, "blockOwnerDeletion": true,
    }]);
    let meta = |object_name: &str, namespaced: bool| {
        let mut m = json!({"name": object_name, "labels": labels(&name), "ownerReferences": owner});
        if namespaced {
            m["namespace"] = json!(ns);
        }
        m
    };
    let object = |kind: Kind, object_name: &str, body: Value| {
        let namespaced = kind != Kind::Namespace;
        let mut manifest = json!({"apiVersion": kind.api_version(), "kind": kind.gvk().2,
                                  "metadata": meta(object_name, namespaced)});
        if let (Some(target), Some(fields)) = (manifest.as_object_mut(), body.as_object()) {
            for (k, v) in fields {
                target.insert(k.clone(), v.clone());
            }
        }
        Desired {
            kind,
            namespace: namespaced.then(|| ns.clone()),
            name: object_name.to_owned(),
            manifest,
        }
    };

    let data = config_data(tenant, inputs);
    let config_hash = hash(&json!({"config": data, "credentials": inputs.credentials_hash}));
    let version = spec
        .version
        .clone()
        .unwrap_or_else(|| config.isp_default_version.clone());
    let mut deployment_spec = json!({
        "selector": {"matchLabels": selector(&name)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": labels(&name), "annotations": {"platform.dotmac.io/config-hash": config_hash}},
            "spec": {
                "serviceAccountName": APP,
                "automountServiceAccountToken": false,
                "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": APP,
                    "image": format!("{}:{version}", config.isp_image),
                    "args": ["serve"],
                    "ports": [{"name": "http", "containerPort": ISP_PORT, "protocol": "TCP"}],
                    "env": [{"name": instance::LISTEN, "value": format!("0.0.0.0:{ISP_PORT}")}],
                    "envFrom": [{"configMapRef": {"name": APP}}, {"secretRef": {"name": CREDENTIALS_SECRET, "optional": true}}],
                    "resources": {
                        "requests": {"cpu": size.cpu_request, "memory": size.memory_request},
                        "limits": {"cpu": size.cpu_limit, "memory": size.memory_limit},
                    },
                    "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3},
                    "startupProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 2, "failureThreshold": 30},
                    "securityContext": {"runAsNonRoot": true, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
                    "volumeMounts": [{"name": "config", "mountPath": instance::CONFIG_DIR, "readOnly": true},
                                     {"name": "tmp", "mountPath": "/tmp"}],
                }],
                "volumes": [{"name": "config", "configMap": {"name": APP, "items": [{"key": instance::ENTITLEMENTS_KEY, "path": instance::ENTITLEMENTS_KEY}]}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            }
        }
    });
    if let Some(replicas) = deployment_replicas(tenant) {
        deployment_spec["replicas"] = json!(replicas);
    }

    let mut egress = vec![
        json!({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
               "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}),
        json!({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": config.platform_namespace}}}],
               "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 6379},
                         {"protocol": "TCP", "port": 8200}, {"protocol": "TCP", "port": 8000}]}),
    ];
    if !config.egress_cidrs.is_empty() {
        let blocks: Vec<Value> = config
            .egress_cidrs
            .iter()
            .map(|c| json!({"ipBlock": {"cidr": c}}))
            .collect();
        egress.push(json!({"to": blocks, "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 6379}, {"protocol": "TCP", "port": 8200}]}));
    }

    let quota_of = |per_replica: &str| scale_quantity(per_replica, size.max_replicas);
    let mut out = vec![
        object(Kind::Namespace, &ns, json!({})),
        object(
            Kind::ServiceAccount,
            APP,
            json!({"automountServiceAccountToken": false}),
        ),
        object(Kind::ConfigMap, APP, json!({"data": data})),
    ];
    if let Some(credentials) = &inputs.credentials {
        let encoded: BTreeMap<&String, Value> = credentials
            .iter()
            .map(|(k, v)| {
                (
                    k,
                    serde_json::to_value(k8s_openapi::ByteString(v.clone().into_bytes()))
                        .unwrap_or_default(),
                )
            })
            .collect();
        out.push(object(
            Kind::Secret,
            CREDENTIALS_SECRET,
            json!({"type": "Opaque", "data": encoded}),
        ));
    }
    out.extend([
        object(
            Kind::NetworkPolicy,
            "default-deny",
            json!({"spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": config.ingress_namespace}}}]},
                    {"from": [{"podSelector": {}}]},
                ],
                "egress": egress,
            }}),
        ),
        object(
            Kind::ResourceQuota,
            "tenant-quota",
            json!({"spec": {"hard": {
                "requests.cpu": quota_of(size.cpu_request), "limits.cpu": quota_of(size.cpu_limit),
                "requests.memory": quota_of(size.memory_request), "limits.memory": quota_of(size.memory_limit),
                "requests.storage": size.storage, "persistentvolumeclaims": "4",
                "pods": (size.max_replicas + 2).to_string(),
            }}}),
        ),
        object(
            Kind::LimitRange,
            "tenant-limits",
            json!({"spec": {"limits": [{
                "type": "Container",
                "default": {"cpu": size.cpu_limit, "memory": size.memory_limit},
                "defaultRequest": {"cpu": size.cpu_request, "memory": size.memory_request},
                "max": {"cpu": size.cpu_limit, "memory": size.memory_limit},
            }]}}),
        ),
        object(Kind::Deployment, APP, json!({"spec": deployment_spec})),
        object(
            Kind::Service,
            APP,
            json!({"spec": {"selector": selector(&name),
            "ports": [{"name": "http", "port": ISP_PORT, "targetPort": "http", "protocol": "TCP"}]}}),
        ),
    ]);
    if let Some(domain) = &spec.domain {
        out.push(object(
            Kind::Ingress,
            APP,
            json!({"spec": {
                "ingressClassName": config.ingress_class,
                "tls": [{"hosts": [domain], "secretName": format!("{APP}-tls")}],
                "rules": [{"host": domain, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": APP, "port": {"number": ISP_PORT}}}}]}}],
            }}),
        ));
    }
    if let (Some(autoscaling), false) = (&spec.autoscaling, spec.suspended) {
        let max = autoscaling.max_replicas.min(size.max_replicas);
        out.push(object(Kind::HorizontalPodAutoscaler, APP, json!({"spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP},
            "minReplicas": autoscaling.min_replicas.min(max),
            "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": autoscaling.target_cpu_utilization_percentage}}}],
        }})));
    }
    if wanted_replicas(tenant) > 1 {
        out.push(object(
            Kind::PodDisruptionBudget,
            APP,
            json!({"spec": {
            "maxUnavailable": 1, "selector": {"matchLabels": selector(&name)}}}),
        ));
    }
    out
}

/// `per_replica × replicas` as a Kubernetes quantity (`100m × 2 = 200m`, `1Gi × 3 = 3Gi`).
fn scale_quantity(per_replica: &str, replicas: i32) -> String {
    let split = per_replica
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(per_replica.len());
    let (number, unit) = per_replica.split_at(split);
    let n: i64 = number.parse().unwrap_or(0);
    format!("{}{unit}", n * i64::from(replicas))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        config: ControllerConfig,
    }

    fn config() -> ControllerConfig {
        Args::parse_from(["test"]).config
    }

    fn tenant(spec: Value) -> Tenant {
        let mut base = json!({"displayName": "Acme", "contactEmail": "noc@acme.example"});
        json_patch::merge(&mut base, &spec);
        let mut t: Tenant = serde_json::from_value(
            json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": "acme", "uid": "u-1"}, "spec": base}),
        )
        .unwrap();
        t.metadata.uid = Some("u-1".into());
        t
    }

    fn find(objects: &[Desired], kind: Kind) -> Option<&Desired> {
        objects.iter().find(|o| o.kind == kind)
    }

    #[test]
    fn a_minimal_tenant_gets_its_isolated_set() {
        let objects = desired(&tenant(json!({})), &config(), &Inputs::default());
        let kinds: Vec<Kind> = objects.iter().map(|o| o.kind).collect();
        let always: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::Secret)
            .take(8)
            .collect();
        assert_eq!(
            kinds, always,
            "every object but the optional Secret, Ingress, HPA and PDB"
        );
        for o in &objects {
            let m = &o.manifest["metadata"];
            assert_eq!(
                m["labels"]["app.kubernetes.io/managed-by"],
                "dotmac-operator"
            );
            assert_eq!(m["labels"]["app.kubernetes.io/part-of"], "dotmac");
            assert_eq!(m["labels"]["platform.dotmac.io/tenant"], "acme");
            assert_eq!(m["ownerReferences"][0]["uid"], "u-1");
            assert_eq!(
                o.namespace.as_deref(),
                (o.kind != Kind::Namespace).then_some("dotmac-tenant-acme")
            );
        }
        let deployment = &find(&objects, Kind::Deployment).unwrap().manifest;
        assert_eq!(deployment["spec"]["replicas"], 1);
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(
            container["image"],
            format!("ghcr.io/dotmac/isp-runtime:{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            container["resources"]["requests"],
            json!({"cpu": "100m", "memory": "256Mi"})
        );
        assert_eq!(
            container["resources"]["limits"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(
            container["securityContext"]["capabilities"]["drop"],
            json!(["ALL"])
        );
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
        assert_eq!(
            container["envFrom"][1]["secretRef"]["name"],
            "dotmac-tenant-credentials"
        );
        let quota = &find(&objects, Kind::ResourceQuota).unwrap().manifest["spec"]["hard"];
        assert_eq!(quota["requests.cpu"], "200m");
        assert_eq!(quota["limits.memory"], "2Gi");
        assert_eq!(quota["requests.storage"], "5Gi");
        let policy = &find(&objects, Kind::NetworkPolicy).unwrap().manifest["spec"];
        assert_eq!(policy["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(policy["podSelector"], json!({}));
    }

    #[test]
    fn credentials_become_the_secret_and_roll_the_pods() {
        let data = BTreeMap::from([("DATABASE_URL".to_owned(), "postgres://u:p@h/d".to_owned())]);
        let inputs = Inputs {
            credentials_hash: "h1".into(),
            credentials: Some(data),
            licensed: Vec::new(),
        };
        let objects = desired(&tenant(json!({})), &config(), &inputs);
        let secret = &find(&objects, Kind::Secret).unwrap().manifest;
        assert_eq!(secret["metadata"]["name"], "dotmac-tenant-credentials");
        assert_eq!(
            secret["data"]["DATABASE_URL"], "cG9zdGdyZXM6Ly91OnBAaC9k",
            "base64 of the URL"
        );
        let position = |k: Kind| objects.iter().position(|o| o.kind == k).unwrap();
        assert!(
            position(Kind::Secret) < position(Kind::Deployment),
            "credentials exist before the pods"
        );
    }

    #[test]
    fn optional_objects_follow_the_spec() {
        let full = tenant(json!({"size": "medium", "domain": "portal.acme.example",
            "autoscaling": {"minReplicas": 2, "maxReplicas": 9}}));
        let objects = desired(&full, &config(), &Inputs::default());
        let ingress = &find(&objects, Kind::Ingress).unwrap().manifest;
        assert_eq!(ingress["spec"]["rules"][0]["host"], "portal.acme.example");
        let hpa = &find(&objects, Kind::HorizontalPodAutoscaler)
            .unwrap()
            .manifest;
        assert_eq!(hpa["spec"]["maxReplicas"], 5, "capped by the medium size");
        assert!(find(&objects, Kind::PodDisruptionBudget).is_some());
        assert!(
            find(&objects, Kind::Deployment).unwrap().manifest["spec"]
                .get("replicas")
                .is_none(),
            "the HPA owns replicas"
        );
        assert_eq!(endpoint(&full), "https://portal.acme.example");

        let suspended = tenant(json!({"replicas": 3, "suspended": true}));
        let objects = desired(&suspended, &config(), &Inputs::default());
        assert_eq!(
            find(&objects, Kind::Deployment).unwrap().manifest["spec"]["replicas"],
            0
        );
        assert!(find(&objects, Kind::PodDisruptionBudget).is_none());
        assert!(find(&objects, Kind::Ingress).is_none());
        assert_eq!(
            deployment_replicas(&tenant(json!({"replicas": 20}))),
            Some(2),
            "micro allows 2"
        );
    }

    #[test]
    fn config_or_credentials_changes_roll_the_pods() {
        let t = tenant(json!({}));
        let hash_of = |inputs: &Inputs, t: &Tenant| {
            desired(t, &config(), inputs).into_iter().find(|o| o.kind == Kind::Deployment).unwrap().manifest
                ["spec"]["template"]["metadata"]["annotations"]["platform.dotmac.io/config-hash"].clone()
        };
        let base = hash_of(&Inputs::default(), &t);
        assert_eq!(base, hash_of(&Inputs::default(), &t), "stable");
        assert_ne!(
            base,
            hash_of(
                &Inputs {
                    credentials_hash: "x".into(),
                    ..Inputs::default()
                },
                &t
            )
        );
        assert_ne!(
            base,
            hash_of(&Inputs::default(), &tenant(json!({"plan": "basic"})))
        );
        let data = config_data(
            &tenant(json!({"plan": "basic", "limits": {"apiRateLimitPerMinute": 100}})),
            &Inputs::default(),
        );
        assert_eq!(data["DOTMAC_API_RATE_LIMIT_PER_MINUTE"], "100");
        let file: serde_json::Value = serde_json::from_str(&data["entitlements.json"]).unwrap();
        assert!(
            file["features"]
                .as_array()
                .unwrap()
                .contains(&json!("advanced_billing"))
        );
        // The instance names the plan a refused feature needs from this map.
        assert_eq!(file["featurePlans"]["advanced_billing"], "basic");
        assert_eq!(file["featurePlans"]["ai_insights"], "enterprise");
    }
}
