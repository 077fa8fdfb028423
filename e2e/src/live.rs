//! One platform per test or benchmark: devcluster in process as the cluster and its node (the
//! isp-runtime image mapped to the built `dotmac-isp`), an OpenBao dev server, the
//! `dotmac-operator run` binary (controllers and management API) on the machine's PostgreSQL,
//! and kubectl. It needs the workspace's binaries built next to the running executable
//! (`target/<profile>/`) and the service tier (`scripts/tools`, `scripts/services`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failure should stop the test loudly"
)]

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use dotmac_devcluster::{DevCluster, Options, runtime::images::ImageMap};
use dotmac_testkit::openbao::DevBao;
use k8s_openapi::{
    api::core::v1::{Secret, Service},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{Api, Client, api::PostParams};
use serde_json::Value;

/// The workspace's folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A workspace binary next to this test's (or this crate's binary's) executable
/// (`target/debug/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // A test runs from target/<profile>/deps/, a binary of this crate from target/<profile>/.
    let dir = exe.parent().unwrap();
    let path = if dir.ends_with("deps") {
        dir.parent().unwrap().join(name)
    } else {
        dir.join(name)
    };
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --bin {name}` (cargo nextest run --workspace builds it)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub use dotmac_testkit::{eventually, unique};

/// The running platform; everything stops on drop.
pub struct Live {
    /// The cluster.
    pub cluster: DevCluster,
    /// A client of it.
    pub client: Client,
    /// The management API (`http://127.0.0.1:<port>`).
    pub api: String,
    /// Its admin token.
    pub admin_token: String,
    _operator: tokio::process::Child,
    _bao: DevBao,
    dir: tempfile::TempDir,
}

impl Live {
    /// Starts it all with the machine's PostgreSQL and `redis` as the Redis admin URL.
    pub async fn start_with_redis(redis: &str) -> Self {
        dotmac_telemetry::install_crypto_provider();
        let bao = DevBao::start().await;
        let dir = tempfile::tempdir().unwrap();
        let freeradius = freeradius_stand_in(dir.path());
        let cluster = DevCluster::start_with(Options {
            run_images: ImageMap::default()
                .with("ghcr.io/dotmac/isp-runtime", binary("dotmac-isp"))
                .with("ghcr.io/dotmac/freeradius", freeradius),
            restart_backoff: Duration::from_secs(1),
            ..Options::default()
        })
        .await
        .unwrap();
        let client = cluster.client().unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in dotmac_platform::crd::all() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        let bao_token = dir.path().join("bao-token");
        std::fs::write(&bao_token, "test-root\n").unwrap();
        let admin_token = format!("dmp_{}", unique("e2eadmin"));
        let admin_file = dir.path().join("api-token");
        std::fs::write(&admin_file, &admin_token).unwrap();
        let (api_port, health_port) = (free_port(), free_port());
        let api = format!("http://127.0.0.1:{api_port}");
        let log = std::fs::File::create(dir.path().join("operator.log")).unwrap();
        let operator = tokio::process::Command::new(binary("dotmac-operator"))
            .arg("run")
            .env("KUBECONFIG", cluster.kubeconfig())
            .env("DOTMAC_LEADER_ELECTION", "false")
            .env(
                "DOTMAC_OPERATOR_HEALTH_LISTEN",
                format!("127.0.0.1:{health_port}"),
            )
            .env("DOTMAC_API_LISTEN", format!("127.0.0.1:{api_port}"))
            .env("DOTMAC_API_BOOTSTRAP_TOKEN_FILE", &admin_file)
            .env(
                "DOTMAC_PLATFORM_DATABASE_URL",
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("platform.db").display()
                ),
            )
            .env(
                "DOTMAC_POSTGRES_ADMIN_URL",
                dotmac_testkit::require_postgres(),
            )
            .env("DOTMAC_REDIS_ADMIN_URL", redis)
            .env("DOTMAC_OPENBAO_ADDR", &bao.addr)
            .env("DOTMAC_OPENBAO_TOKEN_FILE", &bao_token)
            .env("DOTMAC_INSTANCE_API_URL", &api)
            .env("DOTMAC_USAGE_POLL_SECONDS", "1")
            .env("DOTMAC_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let probe = format!("http://127.0.0.1:{health_port}/readyz");
        eventually("the operator ready", 60, || async {
            let up = reqwest::get(&probe).await.ok()?.status().is_success();
            up.then_some(())
        })
        .await;
        Self {
            cluster,
            client,
            api,
            admin_token,
            _operator: operator,
            _bao: bao,
            dir,
        }
    }

    /// Starts it all on the machine's PostgreSQL and Redis.
    pub async fn start() -> Self {
        Self::start_with_redis(&dotmac_testkit::require_redis()).await
    }

    /// The operator process's id.
    pub fn operator_pid(&self) -> Option<u32> {
        self._operator.id()
    }

    /// The operator's log so far, for a failure message.
    pub fn operator_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("operator.log")).unwrap_or_default()
    }

    /// kubectl (from `scripts/tools`) against the cluster; panics with its output on failure.
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        let kubectl = std::env::var("DOTMAC_KUBECTL")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo().join(".tools/bin/kubectl"));
        let mut child = tokio::process::Command::new(&kubectl)
            .args(args)
            .env("KUBECONFIG", self.cluster.kubeconfig())
            .env("HOME", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {} ({e}): run scripts/tools", kubectl.display())
            });
        if let Some(text) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut input = child.stdin.take().unwrap();
            input.write_all(text.as_bytes()).await.unwrap();
        }
        drop(child.stdin.take());
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("kubectl finished within 60 s")
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Deletes Tenants and waits until they are gone, so their databases and Redis users go
    /// with them (under `deletionPolicy: Delete`).
    pub async fn delete_tenants(&self, names: &[&str]) {
        let mut args = vec!["delete", "tenant"];
        args.extend(names);
        args.push("--timeout=120s");
        self.kubectl(&args, None).await;
    }

    /// A Tenant's JSON path value, as kubectl prints it.
    pub async fn tenant_field(&self, name: &str, path: &str) -> String {
        self.kubectl(
            &["get", "tenant", name, "-o", &format!("jsonpath={{{path}}}")],
            None,
        )
        .await
    }

    /// Waits for the Tenant's phase.
    pub async fn phase(&self, name: &str, phase: &str, secs: u64) {
        eventually(&format!("{name} {phase}"), secs, || async {
            (self.tenant_field(name, ".status.phase").await == phase).then_some(())
        })
        .await;
    }

    /// The instance's base URL: its Service's loopback address.
    pub async fn instance_url(&self, tenant: &str) -> String {
        service_url(
            &self.client,
            &format!("dotmac-tenant-{tenant}"),
            "isp-runtime",
        )
        .await
    }

    /// One value of the tenant's credentials Secret.
    pub async fn credential(&self, tenant: &str, key: &str) -> String {
        let secrets: Api<Secret> =
            Api::namespaced(self.client.clone(), &format!("dotmac-tenant-{tenant}"));
        let secret = secrets.get("dotmac-tenant-credentials").await.unwrap();
        String::from_utf8(secret.data.unwrap()[key].0.clone()).unwrap()
    }

    /// A staff token of the tenant's instance, made as an operator of the ISP would, with
    /// `dotmac-isp admin create-token` on the instance's own database.
    pub async fn staff_token(&self, tenant: &str) -> String {
        let out = tokio::process::Command::new(binary("dotmac-isp"))
            .args(["admin", "create-token", "--name", "e2e"])
            .env(
                "DATABASE_URL",
                self.credential(tenant, "DATABASE_URL").await,
            )
            .env("DOTMAC_TENANT", tenant)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

/// Service `name` of `namespace` as a URL: its cluster IP (a loopback address under the
/// devcluster node) and first port.
pub async fn service_url(client: &Client, namespace: &str, name: &str) -> String {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let spec = services.get(name).await.unwrap().spec.unwrap();
    format!(
        "http://{}:{}",
        spec.cluster_ip.unwrap(),
        spec.ports.unwrap()[0].port
    )
}

/// `GET url` with a bearer token: status and JSON body.
pub async fn get(url: &str, token: Option<&str>) -> Option<(u16, Value)> {
    let mut request = reqwest::Client::new().get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or(Value::Null)))
}

/// `POST url` with a bearer token and a JSON body: status and JSON body.
pub async fn post(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// What stands in for the freeradius image in `dir`: its entrypoint on the checkout's
/// configuration (a pod's program cannot find its own path; devcluster runs it by descriptor).
pub fn freeradius_stand_in(dir: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("freeradius");
    let script = format!(
        "#!/bin/sh\nDOTMAC_RADDB='{}' exec '{}' \"$@\"\n",
        repo().join("isp-runtime/radius").display(),
        repo().join("images/freeradius/entrypoint").display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A Tenant manifest.
pub fn tenant_yaml(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: platform.dotmac.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: {name}\nspec:\n  displayName: E2E {name}\n  contactEmail: noc@{name}.example\n{extra}"
    )
}
