//! Helpers shared by the operator's test files.

#![allow(dead_code, reason = "each test file uses a different subset")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::time::Duration;

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
    for crd in dotmac_platform::crd::all() {
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
        let db = dotmac_metering::open(&url).await.unwrap();
        Self { db, _dir: dir }
    }
}

/// The controllers with `config`, a platform database of their own and the embedded catalog.
pub async fn controller(
    client: Client,
    config: dotmac_operator::config::ControllerConfig,
) -> Result<(), dotmac_operator::controller::RunError> {
    let platform = PlatformDb::new().await;
    controller_on(client, config, &platform).await
}

/// The controllers with `config` on the platform database `platform`.
pub async fn controller_on(
    client: Client,
    config: dotmac_operator::config::ControllerConfig,
    platform: &PlatformDb,
) -> Result<(), dotmac_operator::controller::RunError> {
    let catalog = dotmac_platform::plugins::source::PluginCatalog::fixed(
        dotmac_platform::plugins::Catalog::embedded().unwrap(),
    );
    dotmac_operator::controller::run(client, config, platform.db.clone(), catalog).await
}
