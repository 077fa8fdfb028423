//! The Tenant controller against devcluster: a Tenant becomes an isolated, running instance;
//! edits follow; suspension, drift, deletion, restarts, leader failover and a missing reseller
//! behave as an SRE expects, and a tenant's mail Secret is reported until it exists.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::{collections::BTreeMap, future::Future, time::Duration};

use clap::Parser;
use dotmac_devcluster::DevCluster;
use dotmac_operator::config::ControllerConfig;
use dotmac_platform::crd::{Reseller, Tenant, tenant::TenantPhase};
use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    coordination::v1::Lease,
    core::v1::{ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount},
    networking::v1::{Ingress, NetworkPolicy},
    policy::v1::PodDisruptionBudget,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: ControllerConfig,
}

fn config(extra: &[&str]) -> ControllerConfig {
    let mut args = vec!["test"];
    if !extra.contains(&"--health-listen") {
        args.extend(["--health-listen", "127.0.0.1:0"]);
    }
    args.extend_from_slice(extra);
    let mut config = Args::parse_from(args).config;
    if !extra.contains(&"--leader-election") {
        config.leader_election = false;
    }
    config
}

async fn cluster() -> (DevCluster, Client) {
    common::cluster_with_crds().await
}

fn start(client: &Client, config: ControllerConfig) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        let _ = common::controller(client, config).await;
    })
}

fn tenant(name: &str, spec: serde_json::Value) -> Tenant {
    let mut base = json!({"displayName": format!("ISP {name}"), "contactEmail": format!("noc@{name}.example")});
    json_patch::merge(&mut base, &spec);
    serde_json::from_value(
        json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
        "metadata": {"name": name}, "spec": base}),
    )
    .unwrap()
}

/// Polls `check` until it returns Some, for up to `secs` seconds.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The pod template's config hash, which changes when the pods must roll.
fn config_hash(deployment: &Deployment) -> String {
    deployment
        .spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap()["platform.dotmac.io/config-hash"]
        .clone()
}

/// A Tenant's Ready condition.
fn ready_condition(tenant: Tenant) -> Condition {
    tenant
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
}

async fn phase_is(tenants: &Api<Tenant>, name: &str, phase: TenantPhase) -> Tenant {
    eventually(30, &format!("{name} to be {phase:?}"), || async {
        tenants.get_opt(name).await.unwrap().filter(|t| {
            t.status.as_ref().and_then(|s| s.phase) == Some(phase)
                && t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation
        })
    })
    .await
}

#[tokio::test]
async fn a_tenant_becomes_a_running_isolated_instance() {
    let (_cluster, client) = cluster().await;
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(
            &PostParams::default(),
            &tenant("acme", json!({"plan": "basic"})),
        )
        .await
        .unwrap();
    let ready = phase_is(&tenants, "acme", TenantPhase::Ready).await;
    let status = ready.status.clone().unwrap();
    assert_eq!(status.namespace.as_deref(), Some("dotmac-tenant-acme"));
    assert_eq!(status.ready_replicas, Some(1));
    assert_eq!(
        status.endpoint.as_deref(),
        Some("http://isp-runtime.dotmac-tenant-acme.svc.cluster.local:8001")
    );
    assert!(status.entitlements.contains(&"advanced_billing".to_owned()));
    for wanted in [
        "Ready",
        "Progressing",
        "Degraded",
        "NamespaceReady",
        "WorkloadReady",
    ] {
        let c = status
            .conditions
            .iter()
            .find(|c| c.type_ == wanted)
            .unwrap_or_else(|| panic!("{wanted} condition"));
        assert_eq!(c.observed_generation, ready.metadata.generation);
        assert!(!c.reason.is_empty() && !c.message.is_empty());
    }
    assert!(
        ready
            .finalizers()
            .contains(&"platform.dotmac.io/cleanup".to_owned())
    );

    let ns = "dotmac-tenant-acme";
    let namespace = Api::<Namespace>::all(client.clone()).get(ns).await.unwrap();
    assert_eq!(namespace.labels()["platform.dotmac.io/tenant"], "acme");
    assert_eq!(namespace.owner_references()[0].uid, ready.uid().unwrap());
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    Api::<Service>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    Api::<NetworkPolicy>::namespaced(client.clone(), ns)
        .get("default-deny")
        .await
        .unwrap();
    let quota = Api::<ResourceQuota>::namespaced(client.clone(), ns)
        .get("tenant-quota")
        .await
        .unwrap();
    assert_eq!(quota.spec.unwrap().hard.unwrap()["requests.cpu"].0, "200m");
    Api::<LimitRange>::namespaced(client.clone(), ns)
        .get("tenant-limits")
        .await
        .unwrap();
    let cm = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    assert!(features(&cm.data.unwrap()).contains(&"advanced_billing".to_owned()));
    let deployment = Api::<Deployment>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    let pod = deployment.spec.template.spec.unwrap();
    assert_eq!(
        pod.containers[0]
            .security_context
            .as_ref()
            .unwrap()
            .read_only_root_filesystem,
        Some(true)
    );
    assert!(
        Api::<Ingress>::namespaced(client.clone(), ns)
            .get_opt("isp-runtime")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn spec_changes_are_followed_and_optional_objects_come_and_go() {
    let (_cluster, client) = cluster().await;
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    let ns = "dotmac-tenant-zeta";
    tenants
        .create(&PostParams::default(), &tenant("zeta", json!({})))
        .await
        .unwrap();
    phase_is(&tenants, "zeta", TenantPhase::Ready).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let before = deployments.get("isp-runtime").await.unwrap();

    tenants.patch("zeta", &PatchParams::default(), &Patch::Merge(json!({"spec": {
        "plan": "premium", "size": "large", "version": "9.9.9", "domain": "portal.zeta.example",
        "autoscaling": {"minReplicas": 2, "maxReplicas": 20, "targetCPUUtilizationPercentage": 60}}}))).await.unwrap();
    eventually(30, "the changes to reach the children", || async {
        let d = deployments.get("isp-runtime").await.unwrap();
        let container = d.spec.template.spec.as_ref().unwrap().containers[0].clone();
        (container.image.as_deref() == Some("ghcr.io/dotmac/isp-runtime:9.9.9")
            && container
                .resources
                .as_ref()
                .unwrap()
                .limits
                .as_ref()
                .unwrap()["cpu"]
                .0
                == "4"
            && config_hash(&d) != config_hash(&before)
            && Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
                .get_opt("isp-runtime")
                .await
                .unwrap()
                .is_some())
        .then_some(())
    })
    .await;
    let hpa = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    assert_eq!(hpa.spec.max_replicas, 8, "capped by the large size");
    Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    let ingress = Api::<Ingress>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    assert_eq!(
        ingress.spec.unwrap().rules.unwrap()[0].host.as_deref(),
        Some("portal.zeta.example")
    );
    let cm = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get("isp-runtime")
        .await
        .unwrap();
    assert!(features(&cm.data.unwrap()).contains(&"advanced_analytics".to_owned()));

    tenants.patch("zeta", &PatchParams::default(), &Patch::Merge(json!({"spec": {
        "limits": {"apiRateLimitPerMinute": 600, "maxCustomers": 900}, "features": {"unlimited_apis": true, "advanced_billing": false}}}))).await.unwrap();
    let data = eventually(30, "limits and features to reach the ConfigMap", || async {
        let data = Api::<ConfigMap>::namespaced(client.clone(), ns)
            .get("isp-runtime")
            .await
            .unwrap()
            .data
            .unwrap();
        (data
            .get("DOTMAC_API_RATE_LIMIT_PER_MINUTE")
            .map(String::as_str)
            == Some("600"))
        .then_some(data)
    })
    .await;
    assert_eq!(data["DOTMAC_MAX_CUSTOMERS"], "900");
    assert!(features(&data).contains(&"unlimited_apis".to_owned()));
    assert!(!features(&data).contains(&"advanced_billing".to_owned()));
    let status = phase_is(&tenants, "zeta", TenantPhase::Ready)
        .await
        .status
        .unwrap();
    assert!(status.entitlements.contains(&"unlimited_apis".to_owned()));
    let ready = phase_is(&tenants, "zeta", TenantPhase::Ready).await;
    assert_eq!(
        ready.status.unwrap().endpoint.as_deref(),
        Some("https://portal.zeta.example")
    );

    tenants
        .patch(
            "zeta",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"domain": null, "autoscaling": null, "replicas": 1}})),
        )
        .await
        .unwrap();
    eventually(30, "the ingress, HPA and PDB to be pruned", || async {
        let gone = Api::<Ingress>::namespaced(client.clone(), ns)
            .get_opt("isp-runtime")
            .await
            .unwrap()
            .is_none()
            && Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns)
                .get_opt("isp-runtime")
                .await
                .unwrap()
                .is_none()
            && Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
                .get_opt("isp-runtime")
                .await
                .unwrap()
                .is_none();
        gone.then_some(())
    })
    .await;
    assert_eq!(
        deployments.get("isp-runtime").await.unwrap().spec.replicas,
        Some(1)
    );
}

#[tokio::test]
async fn suspend_resume_and_drift_is_put_back() {
    let (_cluster, client) = cluster().await;
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "dotmac-tenant-sky");
    tenants
        .create(
            &PostParams::default(),
            &tenant("sky", json!({"size": "small", "replicas": 2})),
        )
        .await
        .unwrap();
    phase_is(&tenants, "sky", TenantPhase::Ready).await;

    tenants
        .patch(
            "sky",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspended": true}})),
        )
        .await
        .unwrap();
    let suspended = phase_is(&tenants, "sky", TenantPhase::Suspended).await;
    assert_eq!(suspended.status.unwrap().ready_replicas, Some(0));
    assert_eq!(
        deployments.get("isp-runtime").await.unwrap().spec.replicas,
        Some(0)
    );
    assert!(
        Api::<ConfigMap>::namespaced(client.clone(), "dotmac-tenant-sky")
            .get_opt("isp-runtime")
            .await
            .unwrap()
            .is_some(),
        "everything else is kept"
    );
    tenants
        .patch(
            "sky",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspended": false}})),
        )
        .await
        .unwrap();
    phase_is(&tenants, "sky", TenantPhase::Ready).await;

    // `kubectl scale deployment isp-runtime --replicas=5` by hand is put back.
    deployments
        .patch_scale(
            "isp-runtime",
            &PatchParams {
                field_manager: Some("kubectl".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    eventually(30, "the drift to be reverted", || async {
        (deployments.get("isp-runtime").await.unwrap().spec.replicas == Some(2)).then_some(())
    })
    .await;
}

/// Deletes the `name` object of `K` and waits for the operator to put it back: its uid changes.
async fn deleted_by_hand_comes_back<K>(api: Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let before = api.get(name).await.unwrap().uid();
    api.delete(name, &DeleteParams::default()).await.unwrap();
    let what = format!("{} {name} to come back", std::any::type_name::<K>());
    eventually(10, &what, || async {
        api.get_opt(name)
            .await
            .unwrap()
            .filter(|o| o.uid() != before)
            .map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn every_child_deleted_by_hand_is_back_within_seconds() {
    let (_cluster, client) = cluster().await;
    // The resync is 300 s: only the watches can bring the objects back this fast.
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    let spec = json!({"domain": "portal.gone.example",
                      "autoscaling": {"minReplicas": 2, "maxReplicas": 4}});
    tenants
        .create(&PostParams::default(), &tenant("gone", spec))
        .await
        .unwrap();
    phase_is(&tenants, "gone", TenantPhase::Ready).await;
    let ns = "dotmac-tenant-gone";
    let c = || client.clone();
    deleted_by_hand_comes_back(Api::<NetworkPolicy>::namespaced(c(), ns), "default-deny").await;
    deleted_by_hand_comes_back(Api::<ResourceQuota>::namespaced(c(), ns), "tenant-quota").await;
    deleted_by_hand_comes_back(Api::<LimitRange>::namespaced(c(), ns), "tenant-limits").await;
    deleted_by_hand_comes_back(Api::<ServiceAccount>::namespaced(c(), ns), "isp-runtime").await;
    deleted_by_hand_comes_back(Api::<ConfigMap>::namespaced(c(), ns), "isp-runtime").await;
    deleted_by_hand_comes_back(Api::<Service>::namespaced(c(), ns), "isp-runtime").await;
    deleted_by_hand_comes_back(Api::<Ingress>::namespaced(c(), ns), "isp-runtime").await;
    deleted_by_hand_comes_back(
        Api::<HorizontalPodAutoscaler>::namespaced(c(), ns),
        "isp-runtime",
    )
    .await;
    deleted_by_hand_comes_back(
        Api::<PodDisruptionBudget>::namespaced(c(), ns),
        "isp-runtime",
    )
    .await;
    deleted_by_hand_comes_back(Api::<Deployment>::namespaced(c(), ns), "isp-runtime").await;
    phase_is(&tenants, "gone", TenantPhase::Ready).await;
}

#[tokio::test]
async fn deleting_removes_everything_then_the_finalizer() {
    let (cluster, client) = cluster().await;
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(
            &PostParams::default(),
            &tenant("gone", json!({"domain": "gone.example"})),
        )
        .await
        .unwrap();
    phase_is(&tenants, "gone", TenantPhase::Ready).await;
    tenants
        .delete("gone", &DeleteParams::default())
        .await
        .unwrap();
    eventually(30, "the tenant to be gone", || async {
        tenants
            .get_opt("gone")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt("dotmac-tenant-gone")
            .await
            .unwrap()
            .is_none()
    );
    let leftovers = Api::<ConfigMap>::all(client.clone())
        .list(&ListParams::default().labels("platform.dotmac.io/tenant=gone"))
        .await
        .unwrap();
    assert!(leftovers.items.is_empty());
    // A deleted tenant is never provisioned again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt("dotmac-tenant-gone")
            .await
            .unwrap()
            .is_none()
    );
    drop(cluster);
}

#[tokio::test]
async fn a_missing_reseller_is_a_condition_not_a_crash() {
    let (_cluster, client) = cluster().await;
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(
            &PostParams::default(),
            &tenant("orphan", json!({"resellerRef": "nobody"})),
        )
        .await
        .unwrap();
    let ready = ready_condition(phase_is(&tenants, "orphan", TenantPhase::Pending).await);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "ResellerNotFound")
    );
    assert!(ready.message.contains("nobody"));
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt("dotmac-tenant-orphan")
            .await
            .unwrap()
            .is_none(),
        "nothing half-made"
    );
    let reseller: Reseller = serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Reseller",
        "metadata": {"name": "nobody"}, "spec": {"displayName": "Nobody", "contactEmail": "n@b.example"}})).unwrap();
    Api::<Reseller>::all(client.clone())
        .create(&PostParams::default(), &reseller)
        .await
        .unwrap();
    phase_is(&tenants, "orphan", TenantPhase::Ready).await;
}

#[tokio::test]
async fn an_unknown_time_zone_holds_the_tenant_and_a_running_one_keeps_its_config() {
    let (_cluster, client) = cluster().await;
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    let zone = |zone: &str| json!({"business": {"timeZone": zone}});
    tenants
        .create(
            &PostParams::default(),
            &tenant("tz", zone("Mars/Olympus_Mons")),
        )
        .await
        .unwrap();
    let Condition {
        reason, message, ..
    } = ready_condition(phase_is(&tenants, "tz", TenantPhase::Pending).await);
    assert_eq!(reason, "InvalidSpec");
    assert!(
        message.starts_with("spec.business.timeZone: \"Mars/Olympus_Mons\""),
        "{message}"
    );
    let namespaces = Api::<Namespace>::all(client.clone());
    assert!(
        namespaces
            .get_opt("dotmac-tenant-tz")
            .await
            .unwrap()
            .is_none(),
        "nothing half-made"
    );

    let fix = |z: &str| Patch::Merge(json!({"spec": zone(z)}));
    tenants
        .patch("tz", &PatchParams::default(), &fix("Africa/Lagos"))
        .await
        .unwrap();
    phase_is(&tenants, "tz", TenantPhase::Ready).await;
    let configured = || async {
        Api::<ConfigMap>::namespaced(client.clone(), "dotmac-tenant-tz")
            .get("isp-runtime")
            .await
            .unwrap()
            .data
            .unwrap()["DOTMAC_TIME_ZONE"]
            .clone()
    };
    assert_eq!(configured().await, "Africa/Lagos");
    tenants
        .patch("tz", &PatchParams::default(), &fix("Africa/Atlantis"))
        .await
        .unwrap();
    let degraded = ready_condition(phase_is(&tenants, "tz", TenantPhase::Degraded).await);
    assert_eq!(degraded.reason, "InvalidSpec");
    assert_eq!(
        configured().await,
        "Africa/Lagos",
        "the running instance keeps its last good zone"
    );
}

#[tokio::test]
async fn a_missing_mail_secret_is_a_condition_and_its_arrival_rolls_the_pods() {
    let (_cluster, client) = cluster().await;
    let _controller = start(&client, config(&[]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    let mail = json!({"mail": {"from": "Acme ISP <noreply@acme.example>", "smtpSecretRef": {"name": "smtp", "key": "url"}}});
    tenants
        .create(&PostParams::default(), &tenant("mailer", mail))
        .await
        .unwrap();
    let condition = |t: &Tenant, type_: &str| {
        t.status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_).cloned())
    };
    let waiting = eventually(30, "MailReady=False", || async {
        tenants
            .get_opt("mailer")
            .await
            .unwrap()
            .filter(|t| condition(t, "MailReady").is_some_and(|c| c.status == "False"))
    })
    .await;
    let mail_ready = condition(&waiting, "MailReady").unwrap();
    assert_eq!(mail_ready.reason, "SmtpSecretMissing");
    assert!(
        mail_ready.message.contains("dotmac-tenant-mailer/smtp"),
        "{}",
        mail_ready.message
    );
    assert_eq!(
        waiting.status.as_ref().unwrap().phase,
        Some(TenantPhase::Provisioning)
    );
    assert_eq!(ready_condition(waiting).reason, "SmtpSecretMissing");

    // Everything else is applied meanwhile, so the Secret can be made in the namespace.
    let namespace = "dotmac-tenant-mailer";
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deployment = eventually(30, "the Deployment", || async {
        deployments.get_opt("isp-runtime").await.unwrap()
    })
    .await;
    let pod = serde_json::to_value(&deployment.spec.template).unwrap();
    let env = &pod["spec"]["containers"][0]["env"];
    let smtp = env
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DOTMAC_SMTP_URL")
        .unwrap();
    assert_eq!(
        smtp["valueFrom"]["secretKeyRef"],
        json!({"name": "smtp", "key": "url", "optional": true})
    );
    let before = config_hash(&deployment);
    let configured = Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .get("isp-runtime")
        .await
        .unwrap();
    assert_eq!(
        configured.data.unwrap()["DOTMAC_MAIL_FROM"],
        "Acme ISP <noreply@acme.example>"
    );

    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "smtp"}, "stringData": {"url": "smtps://noc:hunter2@mail.acme.example:465"}})).unwrap();
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let ready = phase_is(&tenants, "mailer", TenantPhase::Ready).await;
    assert_eq!(
        condition(&ready, "MailReady").unwrap().reason,
        "SecretFound"
    );
    let after = config_hash(&deployments.get("isp-runtime").await.unwrap());
    assert_ne!(before, after, "the pods roll to read the new Secret");
    let status = serde_json::to_string(&ready.status).unwrap();
    assert!(!status.contains("hunter2"), "no secret in the status");
}

fn object_counts(all: &[(String, usize)]) -> BTreeMap<String, usize> {
    all.iter().cloned().collect()
}

#[tokio::test]
async fn a_restarted_operator_converges_without_duplicates() {
    let (_cluster, client) = cluster().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    for i in 0..10 {
        tenants
            .create(&PostParams::default(), &tenant(&format!("t{i}"), json!({})))
            .await
            .unwrap();
    }
    let first = start(&client, config(&[]));
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.abort();
    let _second = start(&client, config(&[]));
    for i in 0..10 {
        phase_is(&tenants, &format!("t{i}"), TenantPhase::Ready).await;
    }
    let configmaps = Api::<ConfigMap>::all(client.clone())
        .list(&ListParams::default().labels("app.kubernetes.io/managed-by=dotmac-operator"))
        .await
        .unwrap();
    let deployments = Api::<Deployment>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let counts = object_counts(&[
        ("configmaps".into(), configmaps.items.len()),
        ("deployments".into(), deployments.items.len()),
    ]);
    assert_eq!(counts["configmaps"], 10);
    assert_eq!(counts["deployments"], 10);
}

#[tokio::test]
async fn steady_state_writes_nothing() {
    let (cluster, client) = cluster().await;
    let _controller = start(&client, config(&["--resync-seconds", "2"]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    for i in 0..50 {
        tenants
            .create(&PostParams::default(), &tenant(&format!("s{i}"), json!({})))
            .await
            .unwrap();
    }
    for i in 0..50 {
        phase_is(&tenants, &format!("s{i}"), TenantPhase::Ready).await;
    }
    // Wait for the last status writes and rollouts: a second without a write.
    eventually(30, "the writes to settle", || async {
        let writes = cluster.writes();
        tokio::time::sleep(Duration::from_secs(1)).await;
        (cluster.writes() == writes).then_some(())
    })
    .await;
    // Then count writes over seven resync periods: every tenant is read each time.
    let writes_before = cluster.writes();
    let gets_before = cluster.requests("get", "deployments");
    eventually(60, "seven rounds of resyncs", || async {
        (cluster.requests("get", "deployments") >= gets_before + 7 * 50).then_some(())
    })
    .await;
    assert_eq!(
        cluster.writes(),
        writes_before,
        "no write requests during seven rounds of resyncs"
    );
}

#[tokio::test]
async fn two_replicas_one_leader_and_failover() {
    let (_cluster, client) = cluster().await;
    let elected = |id: &str| {
        config(&[
            "--leader-election",
            "true",
            "--lease-seconds",
            "3",
            "--identity",
            id,
        ])
    };
    let a = start(&client, elected("replica-a"));
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let holder = eventually(10, "a leader", || async {
        leases
            .get_opt("dotmac-operator-leader")
            .await
            .unwrap()
            .and_then(|l| l.spec?.holder_identity)
    })
    .await;
    assert_eq!(holder, "replica-a");
    let _b = start(&client, elected("replica-b"));
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("lead", json!({})))
        .await
        .unwrap();
    phase_is(&tenants, "lead", TenantPhase::Ready).await;
    let still = leases
        .get("dotmac-operator-leader")
        .await
        .unwrap()
        .spec
        .unwrap()
        .holder_identity
        .unwrap();
    assert_eq!(still, "replica-a", "the standby does not take a live lease");

    a.abort(); // the leader dies without releasing its lease
    let took_over = tokio::time::Instant::now();
    eventually(15, "replica-b to take over", || async {
        (leases
            .get("dotmac-operator-leader")
            .await
            .unwrap()
            .spec?
            .holder_identity
            .as_deref()
            == Some("replica-b"))
        .then_some(())
    })
    .await;
    assert!(
        took_over.elapsed() < Duration::from_secs(3 + 3),
        "within the lease duration plus one retry period"
    );
    tenants
        .create(&PostParams::default(), &tenant("after", json!({})))
        .await
        .unwrap();
    phase_is(&tenants, "after", TenantPhase::Ready).await;
}

#[tokio::test]
async fn health_readiness_and_metrics_on_the_health_port() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    let (_cluster, client) = cluster().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let _controller = start(&client, config(&["--health-listen", &listen]));
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("probe", json!({})))
        .await
        .unwrap();
    phase_is(&tenants, "probe", TenantPhase::Ready).await;
    let base = format!("http://{listen}");
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reconciles: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("dotmac_operator_reconciles_total{controller=\"tenant\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(reconciles >= 2, "{metrics}");
    assert!(metrics.contains(
        "dotmac_operator_reconcile_duration_seconds_bucket{controller=\"tenant\",le=\"+Inf\"}"
    ));
    assert!(metrics.contains("dotmac_operator_leader 1"));
    for controller in ["tenant", "license", "reseller"] {
        assert!(
            metrics.contains(&format!(
                "dotmac_operator_reconciles_in_flight{{controller=\"{controller}\"}}"
            )),
            "{metrics}"
        );
    }
}

/// The features in force, from a ConfigMap's entitlements file.
fn features(data: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let file: serde_json::Value = serde_json::from_str(&data["entitlements.json"]).unwrap();
    serde_json::from_value(file["features"].clone()).unwrap()
}
