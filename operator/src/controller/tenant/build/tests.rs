//! The desired objects of a tenant, checked as the API server will receive them.

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
    objects.iter().find(|o| o.kind() == kind)
}

/// The manifest of the object of `kind`, as it is applied.
fn manifest(objects: &[Desired], kind: Kind) -> Value {
    find(objects, kind).unwrap().manifest().unwrap()
}

#[test]
fn a_minimal_tenant_gets_its_isolated_set() {
    let objects = desired(&tenant(json!({})), &config(), &Inputs::default());
    let kinds: Vec<Kind> = objects.iter().map(Desired::kind).collect();
    let always: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| *k != Kind::Secret)
        .take(8)
        .collect();
    assert_eq!(
        kinds, always,
        "every object but the optional Secret, RADIUS Service, Ingress, HPA and PDB"
    );
    for o in &objects {
        let m = &o.manifest().unwrap()["metadata"];
        assert_eq!(
            m["labels"]["app.kubernetes.io/managed-by"],
            "dotmac-operator"
        );
        assert_eq!(m["labels"]["app.kubernetes.io/part-of"], "dotmac");
        assert_eq!(m["labels"]["platform.dotmac.io/tenant"], "acme");
        assert_eq!(m["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(
            o.namespace(),
            (o.kind() != Kind::Namespace).then_some("dotmac-tenant-acme")
        );
    }
    let deployment = &manifest(&objects, Kind::Deployment);
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
    let quota = &manifest(&objects, Kind::ResourceQuota)["spec"]["hard"];
    assert_eq!(quota["requests.cpu"], "200m");
    assert_eq!(quota["limits.memory"], "2Gi");
    assert_eq!(quota["requests.storage"], "5Gi");
    let policy = &manifest(&objects, Kind::NetworkPolicy)["spec"];
    assert_eq!(policy["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(policy["podSelector"], json!({}));
    assert_eq!(
        policy["ingress"].as_array().unwrap().len(),
        2,
        "no scraper let in"
    );
}

#[test]
fn a_monitoring_namespace_may_scrape_the_instance_port() {
    let config = Args::parse_from(["test", "--monitoring-namespace", "monitoring"]).config;
    let objects = desired(&tenant(json!({})), &config, &Inputs::default());
    let ingress = &manifest(&objects, Kind::NetworkPolicy)["spec"]["ingress"];
    assert_eq!(
        ingress[2],
        json!({
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"port": 8001, "protocol": "TCP"}]
        })
    );
}

#[test]
fn credentials_become_the_secret_and_roll_the_pods() {
    let data = BTreeMap::from([("DATABASE_URL".to_owned(), "postgres://u:p@h/d".to_owned())]);
    let inputs = Inputs {
        credentials_hash: "h1".into(),
        credentials: Some(data),
        licensed: BTreeMap::new(),
        mail_hash: String::new(),
    };
    let objects = desired(&tenant(json!({})), &config(), &inputs);
    let secret = &manifest(&objects, Kind::Secret);
    assert_eq!(secret["metadata"]["name"], "dotmac-tenant-credentials");
    assert_eq!(
        secret["data"]["DATABASE_URL"], "cG9zdGdyZXM6Ly91OnBAaC9k",
        "base64 of the URL"
    );
    let position = |k: Kind| objects.iter().position(|o| o.kind() == k).unwrap();
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
    let ingress = &manifest(&objects, Kind::Ingress);
    assert_eq!(ingress["spec"]["rules"][0]["host"], "portal.acme.example");
    let hpa = &manifest(&objects, Kind::HorizontalPodAutoscaler);
    assert_eq!(hpa["spec"]["maxReplicas"], 5, "capped by the medium size");
    assert!(find(&objects, Kind::PodDisruptionBudget).is_some());
    assert!(
        manifest(&objects, Kind::Deployment)["spec"]
            .get("replicas")
            .is_none(),
        "the HPA owns replicas"
    );
    assert_eq!(endpoint(&full), "https://portal.acme.example");

    let suspended = tenant(json!({"replicas": 3, "suspended": true}));
    let objects = desired(&suspended, &config(), &Inputs::default());
    assert_eq!(manifest(&objects, Kind::Deployment)["spec"]["replicas"], 0);
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
        manifest(&desired(t, &config(), inputs), Kind::Deployment)["spec"]["template"]["metadata"]["annotations"]["platform.dotmac.io/config-hash"].clone()
    };
    let base = hash_of(&Inputs::default(), &t);
    assert_eq!(base, hash_of(&Inputs::default(), &t), "stable");
    assert_eq!(
        base,
        hash_of(
            &Inputs {
                licensed: BTreeMap::from([(
                    "advanced_analytics".to_owned(),
                    "advanced-analytics".to_owned(),
                )]),
                ..Inputs::default()
            },
            &t
        ),
        "an entitlement change reaches the running pods through the file, no restart"
    );
    assert_eq!(
        base,
        hash_of(
            &Inputs::default(),
            &tenant(json!({"features": {"unlimited_apis": true}}))
        ),
        "feature overrides too"
    );
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
        &config(),
        &Inputs::default(),
    );
    assert_eq!(data["DOTMAC_API_RATE_LIMIT_PER_MINUTE"], "100");
    assert!(
        !data.contains_key("DOTMAC_MANAGEMENT_API_URL"),
        "no reports without the operator's instance API URL"
    );
    let reporting = ControllerConfig {
        instance_api_url: Some("http://dotmac-api.dotmac-system.svc:8000".into()),
        ..config()
    };
    let reported = config_data(&tenant(json!({})), &reporting, &Inputs::default());
    assert_eq!(
        reported["DOTMAC_MANAGEMENT_API_URL"],
        "http://dotmac-api.dotmac-system.svc:8000"
    );
    let file: serde_json::Value = serde_json::from_str(&data["entitlements.json"]).unwrap();
    assert!(
        file["features"]
            .as_array()
            .unwrap()
            .contains(&json!("advanced_billing"))
    );
    // The business settings reach the instance's environment.
    let business = config_data(
        &tenant(
            json!({"business": {"currency": "NGN", "paymentTermsDays": 14, "timeZone": "Africa/Lagos", "billingHour": 1, "dunningHour": 9}}),
        ),
        &config(),
        &Inputs::default(),
    );
    for (key, value) in [
        ("DOTMAC_CURRENCY", "NGN"),
        ("DOTMAC_PAYMENT_TERMS_DAYS", "14"),
        ("DOTMAC_TIME_ZONE", "Africa/Lagos"),
        ("DOTMAC_BILLING_HOUR", "1"),
        ("DOTMAC_DUNNING_HOUR", "9"),
    ] {
        assert_eq!(business[key], value, "{key}");
    }
    assert!(
        !data.contains_key("DOTMAC_TIME_ZONE"),
        "the instance's defaults otherwise"
    );
    // With a domain, e-mailed links point at it and client addresses come from the Ingress.
    let public = config_data(
        &tenant(json!({"domain": "acme.isp.example"})),
        &config(),
        &Inputs::default(),
    );
    assert_eq!(public["DOTMAC_PUBLIC_URL"], "https://acme.isp.example");
    assert_eq!(public["DOTMAC_TRUST_FORWARDED_FOR"], "true");
    assert!(
        !data.contains_key("DOTMAC_PUBLIC_URL") && !data.contains_key("DOTMAC_TRUST_FORWARDED_FOR")
    );
    // A feature a license grants beyond the plan is metered against its plugin.
    let licensed = Inputs {
        licensed: BTreeMap::from([
            (
                "advanced_analytics".to_owned(),
                "advanced-analytics".to_owned(),
            ),
            ("advanced_billing".to_owned(), "usage-billing".to_owned()),
        ]),
        ..Inputs::default()
    };
    let with_licenses = config_data(&tenant(json!({"plan": "basic"})), &config(), &licensed);
    let licensed_file: serde_json::Value =
        serde_json::from_str(&with_licenses["entitlements.json"]).unwrap();
    assert_eq!(
        licensed_file["featurePlugins"],
        json!({"advanced_analytics": "advanced-analytics"}),
        "a feature the plan includes is the plan's"
    );
    // The instance names the plan a refused feature needs from this map.
    assert_eq!(file["featurePlans"]["advanced_billing"], "basic");
    assert_eq!(file["featurePlans"]["unlimited_apis"], "enterprise");
}

#[test]
fn radius_puts_freeradius_beside_the_instance_and_opens_udp_to_the_nas_networks() {
    let acme = tenant(json!({"plan": "basic", "radius": {"nasNetworks": ["198.51.100.0/24"]}}));
    let objects = desired(&acme, &config(), &Inputs::default());
    let pod = &manifest(&objects, Kind::Deployment)["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    let (instance, radius) = (&containers[0], &containers[1]);
    assert_eq!(radius["name"], "radius");
    assert_eq!(
        radius["image"],
        format!("ghcr.io/dotmac/freeradius:{}", env!("CARGO_PKG_VERSION"))
    );
    let env = |c: &Value, name: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // FreeRADIUS reaches the AAA endpoints and the instance its counters on the pod's
    // loopback, both with the AAA secret from the credentials Secret, never in the manifest.
    assert_eq!(
        env(instance, "DOTMAC_AAA_LISTEN")["value"],
        "127.0.0.1:8002"
    );
    assert_eq!(
        env(instance, "DOTMAC_RADIUS_STATUS")["value"],
        "127.0.0.1:18121"
    );
    assert_eq!(
        env(radius, "DOTMAC_AAA_URL")["value"],
        "http://127.0.0.1:8002"
    );
    assert_eq!(
        env(radius, "DOTMAC_AAA_SECRET")["valueFrom"]["secretKeyRef"],
        json!({"name": "dotmac-tenant-credentials", "key": "DOTMAC_AAA_SECRET", "optional": false})
    );
    assert_eq!(radius["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(radius["securityContext"]["runAsNonRoot"], true);

    let service = manifest(&objects, Kind::RadiusService);
    assert_eq!(service["metadata"]["name"], "radius");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(
        service["spec"]["externalTrafficPolicy"], "Local",
        "the instance knows a NAS by its source address"
    );
    assert_eq!(
        service["spec"]["loadBalancerSourceRanges"],
        json!(["198.51.100.0/24"])
    );
    let ports: Vec<(i64, &str)> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["port"].as_i64().unwrap(), p["protocol"].as_str().unwrap()))
        .collect();
    assert_eq!(ports, [(1812, "UDP"), (1813, "UDP")]);

    let policy = &manifest(&objects, Kind::NetworkPolicy)["spec"];
    let nas = json!([{"ipBlock": {"cidr": "198.51.100.0/24"}}]);
    assert!(
        policy["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["from"] == nas
                && r["ports"] == json!([{"protocol": "UDP", "port": 1812}, {"protocol": "UDP", "port": 1813}])),
        "{policy}"
    );
    assert!(
        policy["egress"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["to"] == nas && r["ports"] == json!([{"protocol": "UDP"}])),
        "CoA to the NAS: {policy}"
    );
    // The quota makes room for FreeRADIUS beside each of the size's replicas (micro: 2 of
    // 100m and 1Gi at most, beside 50m and 128Mi).
    let hard = &manifest(&objects, Kind::ResourceQuota)["spec"]["hard"];
    assert_eq!(hard["requests.cpu"], "300m");
    assert_eq!(hard["limits.memory"], "2304Mi");

    // A NodePort, open to any NAS; and none of it without the network_access feature.
    let anywhere = desired(
        &tenant(json!({"plan": "basic", "radius": {"serviceType": "NodePort"}})),
        &config(),
        &Inputs::default(),
    );
    let service = manifest(&anywhere, Kind::RadiusService);
    assert_eq!(service["spec"]["type"], "NodePort");
    assert_eq!(service["spec"].get("loadBalancerSourceRanges"), None);
    for without in [
        json!({"plan": "basic", "radius": {}, "features": {"network_access": false}}),
        json!({"plan": "free", "radius": {}}),
    ] {
        let objects = desired(&tenant(without), &config(), &Inputs::default());
        assert!(find(&objects, Kind::RadiusService).is_none());
        let pod = &manifest(&objects, Kind::Deployment)["spec"]["template"]["spec"];
        assert_eq!(pod["containers"].as_array().unwrap().len(), 1);
    }
}
