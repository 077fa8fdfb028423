//! Helpers shared by the operator's test files.

#![allow(dead_code, reason = "each test file uses a different subset")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::{path::PathBuf, process::Command, time::Duration};

use dotmac_devcluster::{DevCluster, Options};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client, api::PostParams};

/// A devcluster whose Deployments become available after 50 ms, with the platform's CRDs.
pub async fn cluster_with_crds() -> (DevCluster, Client) {
    let cluster = DevCluster::start_with(Options {
        rollout_delay: Duration::from_millis(50),
        ..Options::default()
    })
    .await
    .unwrap();
    let client = cluster.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_operator::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    (cluster, client)
}

/// A migrated SQLite platform database in its own folder, removed on drop.
pub struct PlatformDb {
    /// The connection.
    pub db: sea_orm::DatabaseConnection,
    _dir: tempfile::TempDir,
}

impl PlatformDb {
    /// Creates one.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("platform.db").display()
        );
        let db = dotmac_operator::metering::open(&url).await.unwrap();
        Self { db, _dir: dir }
    }
}

/// `bao server -dev` on a free loopback port (from `scripts/tools`), stopped on drop.
pub struct DevBao {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
}

impl DevBao {
    /// Starts a dev server with root token `test-root` on a free port.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port).await
    }

    /// Starts a dev server on `port`.
    pub async fn start_on(port: u16) -> Self {
        // reqwest uses the process-wide rustls provider the binaries install.
        dotmac_telemetry::install_crypto_provider();
        let bao = std::env::var("DOTMAC_BAO")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/bao")
            });
        let addr = format!("http://127.0.0.1:{port}");
        let child = Command::new(&bao)
            .args([
                "server",
                "-dev",
                "-dev-root-token-id=test-root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}): run scripts/tools", bao.display()));
        for _ in 0..300 {
            if reqwest::get(format!("{addr}/v1/sys/health"))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, addr }
    }
}

impl Drop for DevBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
