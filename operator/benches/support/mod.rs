//! What the operator's benchmarks share: devcluster with the platform's CRDs, a free loopback
//! address, and waiting until tenants are Ready.

#![allow(dead_code, reason = "each benchmark uses a different subset")]

use std::{
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use dotmac_devcluster::{DevCluster, Options};
use dotmac_platform::crd::{Tenant, tenant::TenantPhase};
use dotmac_testkit::openbao::DevBao;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Client,
    api::{Api, ListParams, PostParams},
};

/// devcluster with `options` and the platform's CRDs, and a client of it.
pub async fn cluster(options: Options) -> (DevCluster, Client) {
    let cluster = DevCluster::start_with(options).await.unwrap();
    let client = cluster.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_platform::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    (cluster, client)
}

/// The operator binary's `controller` against `cluster`: its platform database in `state`, no
/// leader election, health on `health`, warnings only. The caller adds settings and spawns it.
pub fn operator(cluster: &DevCluster, state: &Path, health: SocketAddr) -> tokio::process::Command {
    let platform = format!("sqlite://{}?mode=rwc", state.join("platform.db").display());
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_dotmac-operator"));
    command
        .arg("controller")
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("DOTMAC_PLATFORM_DATABASE_URL", platform)
        .env("DOTMAC_LEADER_ELECTION", "false")
        .env("DOTMAC_OPERATOR_HEALTH_LISTEN", health.to_string())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    command
}

/// Turns the data plane on: the machine's PostgreSQL and Redis, and `bao` with its root token
/// written to a file in `state`.
pub fn data_plane(command: &mut tokio::process::Command, bao: &DevBao, state: &Path) {
    let token = state.join("bao-token");
    std::fs::write(&token, "test-root\n").unwrap();
    command
        .env(
            "DOTMAC_POSTGRES_ADMIN_URL",
            dotmac_testkit::require_postgres(),
        )
        .env("DOTMAC_REDIS_ADMIN_URL", dotmac_testkit::require_redis())
        .env("DOTMAC_OPENBAO_ADDR", &bao.addr)
        .env("DOTMAC_OPENBAO_TOKEN_FILE", token);
}

/// Deletes the tenants `names` and waits until none is left.
pub async fn delete_all(tenants: &Api<Tenant>, names: impl IntoIterator<Item = String>) {
    for name in names {
        tenants.delete(&name, &Default::default()).await.unwrap();
    }
    while !tenants
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A loopback address nothing listens on.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Polls every `poll` until `n` tenants are Ready; fails after `limit`.
pub async fn wait_ready(tenants: &Api<Tenant>, n: usize, limit: Duration, poll: Duration) {
    let started = Instant::now();
    loop {
        let ready = tenants
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|t| t.status.as_ref().and_then(|s| s.phase) == Some(TenantPhase::Ready))
            .count();
        if ready == n {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{ready}/{n} Ready after {} s",
            limit.as_secs()
        );
        tokio::time::sleep(poll).await;
    }
}
