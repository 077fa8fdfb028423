//! devcluster as a node: pods of a mapped image run as local processes (a Python fixture,
//! `fixtures/pod.py`), with the kubelet's environment, volumes, probes, restarts, graceful
//! deletion and rolling updates, and Services that forward to ready pods.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::{path::Path, time::Duration};

use dotmac_testkit::eventually;

use dotmac_devcluster::{DevCluster, Options, runtime::images::ImageMap};
use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    core::v1::{ConfigMap, Pod, Secret, Service},
};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const IMAGE: &str = "example.test/fixture";
const MOUNT: &str = "/run/devcluster-fixture/config";

/// A node running the fixture for `IMAGE`, from a copy in a temporary directory under `/tmp`:
/// the pods mount an emptyDir over `/tmp`, which must hide neither the program nor a volume.
async fn node() -> (DevCluster, Client, tempfile::TempDir) {
    dotmac_telemetry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("pod.py");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pod.py"),
        &fixture,
    )
    .unwrap();
    let cluster = DevCluster::start_with(Options {
        run_images: ImageMap::default().with(IMAGE, fixture),
        restart_backoff: Duration::from_millis(500),
        ..Options::default()
    })
    .await
    .unwrap();
    let client = cluster.client().unwrap();
    (cluster, client, dir)
}

async fn setup(client: &Client, ns: &str, replicas: i32, term_delay: &str) {
    common::namespace(client, ns).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    cms.create(&PostParams::default(), &serde_json::from_value(json!({
        "metadata": {"name": "app"}, "data": {"ready": "yes", "greeting": "hello", "TENANT": "acme"}})).unwrap())
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
        "metadata": {"name": "creds"}, "stringData": {"DATABASE_URL": "postgres://fixture"}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment(replicas, term_delay)).unwrap(),
        )
        .await
        .unwrap();
}

fn deployment(replicas: i32, term_delay: &str) -> Value {
    json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "web", "image": format!("{IMAGE}:1.0"),
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "envFrom": [{"configMapRef": {"name": "app"}}, {"secretRef": {"name": "creds"}}],
                        "env": [
                            {"name": "LISTEN", "value": "0.0.0.0:8080"},
                            {"name": "CONFIG_DIR", "value": MOUNT},
                            {"name": "TERM_DELAY", "value": term_delay},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                            {"name": "WHO", "value": "$(TENANT) at $(POD_NAME)"}
                        ],
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 1, "failureThreshold": 1},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1, "failureThreshold": 2},
                        "volumeMounts": [{"name": "config", "mountPath": MOUNT}, {"name": "tmp", "mountPath": "/tmp"}]
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": "app"}}, {"name": "tmp", "emptyDir": {}}]
                }
            }
        }
    })
}

async fn ready_replicas(client: &Client, ns: &str) -> i32 {
    let d = Api::<Deployment>::namespaced(client.clone(), ns)
        .get("web")
        .await
        .unwrap();
    d.status.and_then(|s| s.ready_replicas).unwrap_or(0)
}

async fn pods(client: &Client, ns: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

fn ip(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .unwrap_or_default()
}

async fn get(url: &str) -> Option<String> {
    let response = reqwest::get(url).await.ok()?;
    response.status().is_success().then_some(())?;
    response.text().await.ok()
}

#[tokio::test]
async fn pods_run_with_their_environment_volumes_and_services() {
    let (cluster, client, _fixture) = node().await;
    setup(&client, "web", 2, "0").await;
    eventually("two ready replicas", 30, || async {
        (ready_replicas(&client, "web").await == 2).then_some(())
    })
    .await;
    let running = pods(&client, "web").await;
    assert_eq!(running.len(), 2);
    let first = &running[0];
    assert!(ip(first).starts_with("127."), "{}", ip(first));
    assert_ne!(
        ip(&running[0]),
        ip(&running[1]),
        "each pod has its own address"
    );

    let env: Value = serde_json::from_str(
        &get(&format!("http://{}:8080/env", ip(first)))
            .await
            .unwrap(),
    )
    .unwrap();
    let name = first.metadata.name.clone().unwrap();
    assert_eq!(
        env["LISTEN"],
        format!("{}:8080", ip(first)),
        "the listen setting binds the pod's address"
    );
    assert_eq!(env["DATABASE_URL"], "postgres://fixture");
    assert_eq!(env["POD_NAME"], name.as_str());
    assert_eq!(env["POD_IP"], ip(first).as_str());
    assert_eq!(env["WHO"], format!("acme at {name}"));
    assert_eq!(env["HOSTNAME"], name.as_str());

    let file_url = format!("http://{}:8080/file?path={MOUNT}/greeting", ip(first));
    assert_eq!(get(&file_url).await.unwrap(), "hello");
    assert!(
        !Path::new(MOUNT).join("greeting").exists(),
        "the volume is only in the pod's own view"
    );

    // The Service listens on its loopback cluster IP and forwards to ready pods.
    let services: Api<Service> = Api::namespaced(client.clone(), "web");
    let svc = services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 8081, "targetPort": "http"}]}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let cluster_ip = svc.spec.unwrap().cluster_ip.unwrap();
    let through = eventually("the Service answering", 10, || async {
        get(&format!("http://{cluster_ip}:8081/env")).await
    })
    .await;
    assert!(through.contains("postgres://fixture"));

    // A ConfigMap change reaches the mounted file in place, with no restart.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "web");
    cms.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"greeting": "bonjour"}})),
    )
    .await
    .unwrap();
    eventually("the new greeting", 10, || async {
        (get(&file_url).await.as_deref() == Some("bonjour")).then_some(())
    })
    .await;

    // Readiness comes from the probe: pods that stop answering /ready leave the Service.
    cms.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"ready": "no"}})),
    )
    .await
    .unwrap();
    eventually("no ready replica", 15, || async {
        (ready_replicas(&client, "web").await == 0).then_some(())
    })
    .await;
    assert!(
        get(&format!("http://{cluster_ip}:8081/env"))
            .await
            .is_none(),
        "no endpoint left"
    );
    cms.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"ready": "yes"}})),
    )
    .await
    .unwrap();
    eventually("ready again", 15, || async {
        (ready_replicas(&client, "web").await == 2).then_some(())
    })
    .await;
    let restarts: i32 = pods(&client, "web")
        .await
        .iter()
        .flat_map(|p| p.status.clone().unwrap().container_statuses.unwrap())
        .map(|c| c.restart_count)
        .sum();
    assert_eq!(restarts, 0, "config and readiness changes restart nothing");

    // Running pods that stay as they are write nothing, probes passing or not.
    let before = cluster.writes();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(cluster.writes(), before, "a steady node writes nothing");
}

#[tokio::test]
async fn a_crashing_container_restarts_with_back_off_and_a_failing_liveness_probe_restarts_it() {
    let (_cluster, client, _fixture) = node().await;
    setup(&client, "crash", 1, "0").await;
    eventually("ready", 30, || async {
        (ready_replicas(&client, "crash").await == 1).then_some(())
    })
    .await;
    let pod = pods(&client, "crash").await.remove(0);
    let name = pod.metadata.name.clone().unwrap();
    assert!(
        get(&format!("http://{}:8080/exit?code=3", ip(&pod)))
            .await
            .is_some()
    );
    let api: Api<Pod> = Api::namespaced(client.clone(), "crash");
    let status = eventually("a restart", 20, || async {
        let s = api
            .get(&name)
            .await
            .ok()?
            .status?
            .container_statuses?
            .remove(0);
        (s.restart_count >= 1 && s.ready).then_some(s)
    })
    .await;
    let last = status.last_state.unwrap().terminated.unwrap();
    assert_eq!(last.exit_code, 3);
    assert_eq!(last.reason.as_deref(), Some("Error"));

    // A second quick crash waits out a longer back-off, shown as CrashLoopBackOff.
    let pod = api.get(&name).await.unwrap();
    assert!(
        get(&format!("http://{}:8080/exit?code=4", ip(&pod)))
            .await
            .is_some()
    );
    let waiting = eventually("CrashLoopBackOff", 10, || async {
        let s = api
            .get(&name)
            .await
            .ok()?
            .status?
            .container_statuses?
            .remove(0);
        s.state?
            .waiting
            .filter(|w| w.reason.as_deref() == Some("CrashLoopBackOff"))
    })
    .await;
    assert!(
        waiting.message.unwrap().contains("back-off 1s"),
        "the back-off doubles"
    );

    // Liveness: /healthz failing twice gets the container killed and restarted.
    eventually("ready after the back-off", 20, || async {
        (ready_replicas(&client, "crash").await == 1).then_some(())
    })
    .await;
    let before = api
        .get(&name)
        .await
        .unwrap()
        .status
        .unwrap()
        .container_statuses
        .unwrap()[0]
        .restart_count;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "crash");
    cms.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"alive": "no"}})),
    )
    .await
    .unwrap();
    eventually("a liveness restart", 20, || async {
        let s = api
            .get(&name)
            .await
            .ok()?
            .status?
            .container_statuses?
            .remove(0);
        (s.restart_count > before).then_some(())
    })
    .await;
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "crash");
    let reasons: Vec<String> = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            format!(
                "{} {}",
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default()
            )
        })
        .collect();
    for expected in [
        "Scheduled",
        "Started",
        "BackOff",
        "Unhealthy Liveness probe failed",
        "Killing Container web failed liveness probe",
    ] {
        assert!(
            reasons.iter().any(|r| r.starts_with(expected)),
            "{expected} in {reasons:#?}"
        );
    }
}

#[tokio::test]
async fn deletion_is_graceful_and_a_rolling_update_keeps_every_replica_ready() {
    let (cluster, client, _fixture) = node().await;
    setup(&client, "roll", 2, "1").await;
    eventually("two ready", 30, || async {
        (ready_replicas(&client, "roll").await == 2).then_some(())
    })
    .await;
    let api: Api<Pod> = Api::namespaced(client.clone(), "roll");
    let victim = pods(&client, "roll").await.remove(0);
    let name = victim.metadata.name.clone().unwrap();
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    let marked = api.get(&name).await.unwrap();
    assert!(
        marked.metadata.deletion_timestamp.is_some(),
        "the pod waits for its process"
    );
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(5));
    eventually("the pod gone", 15, || async {
        api.get(&name).await.is_err().then_some(())
    })
    .await;
    eventually("a replacement", 30, || async {
        (ready_replicas(&client, "roll").await == 2).then_some(())
    })
    .await;

    // A template change rolls out one surge pod at a time, never below two ready.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "roll");
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"template": {"metadata": {"annotations": {"rev": "2"}}}}}),
            ),
        )
        .await
        .unwrap();
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "roll");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut lowest = i32::MAX;
    loop {
        let status = deployments.get("web").await.unwrap().status.unwrap();
        let ready = status.ready_replicas.unwrap_or(0);
        lowest = lowest.min(ready);

        let emptied = sets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|rs| rs.spec.replicas == Some(0))
            .count();
        if status.updated_replicas == Some(2)
            && ready == 2
            && status.replicas == Some(2)
            && emptied == 1
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rollout did not finish: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        lowest >= 2,
        "maxUnavailable 0 kept two replicas ready, saw {lowest}"
    );
    let hashes: std::collections::BTreeSet<String> = pods(&client, "roll")
        .await
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            p.metadata
                .labels
                .as_ref()?
                .get("pod-template-hash")
                .cloned()
        })
        .collect();
    assert_eq!(hashes.len(), 1, "every pod runs the new template");
    cluster.stop().await;
}

#[tokio::test]
async fn no_pod_process_outlives_a_killed_devcluster() {
    dotmac_telemetry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pod.py");
    let mut devcluster = tokio::process::Command::new(env!("CARGO_BIN_EXE_devcluster"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--run-image")
        .arg(format!("{IMAGE}={}", fixture.display()))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = eventually("devcluster up", 30, || async {
        let config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().ok()?);
        let client = Client::try_from(config).ok()?;
        client.apiserver_version().await.ok()?;
        Some(client)
    })
    .await;
    setup(&client, "orphans", 1, "0").await;
    eventually("ready", 30, || async {
        (ready_replicas(&client, "orphans").await == 1).then_some(())
    })
    .await;
    let address = format!("{}:8080", ip(&pods(&client, "orphans").await[0]));
    assert!(get(&format!("http://{address}/ready")).await.is_some());
    devcluster.start_kill().unwrap();
    devcluster.wait().await.unwrap();
    eventually("the pod's process gone", 10, || async {
        tokio::net::TcpStream::connect(&address)
            .await
            .is_err()
            .then_some(())
    })
    .await;
}
