//! `just bench provision [N]`: provisions N tenants (default 200) end to end through the
//! operator binary (devcluster, the machine's PostgreSQL and Redis, an OpenBao dev server) and
//! prints the time until all are Ready, next to a baseline that makes the same PostgreSQL,
//! Redis and OpenBao calls directly with the same concurrency.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use dotmac_devcluster::Options;
use dotmac_operator::{config::DataPlaneConfig, controller::tenant::dataplane::DataPlane};
use dotmac_platform::crd::Tenant;
use futures_util::{StreamExt, stream};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

mod support;

const CONCURRENCY: usize = 16;

fn tenant(name: &str) -> Tenant {
    serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"displayName": "Bench ISP", "contactEmail": "noc@bench.example", "deletionPolicy": "Delete"}})).unwrap()
}

async fn start_bao(dir: &Path) -> (tokio::process::Child, String) {
    let bao = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/bao");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("http://127.0.0.1:{port}");
    std::fs::write(dir.join("token"), "bench-root").unwrap();
    let child = tokio::process::Command::new(bao)
        .args([
            "server",
            "-dev",
            "-dev-root-token-id=bench-root",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("bao (run scripts/tools)");
    for _ in 0..300 {
        if reqwest::get(format!("{addr}/v1/sys/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, addr)
}

async fn operator_run(n: usize, dir: &Path, bao: &str) -> Duration {
    let (cluster, client) = support::cluster(Options {
        rollout_delay: Duration::from_millis(20),
        ..Options::default()
    })
    .await;
    let health = support::free_addr();
    let mut operator = tokio::process::Command::new(env!("CARGO_BIN_EXE_dotmac-operator"))
        .arg("controller")
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("RUST_LOG", "warn")
        .env("DOTMAC_LEADER_ELECTION", "false")
        .env("DOTMAC_CONCURRENCY", CONCURRENCY.to_string())
        .env("DOTMAC_OPERATOR_HEALTH_LISTEN", health.to_string())
        .env(
            "DOTMAC_POSTGRES_ADMIN_URL",
            dotmac_testkit::require_postgres(),
        )
        .env("DOTMAC_REDIS_ADMIN_URL", dotmac_testkit::require_redis())
        .env("DOTMAC_OPENBAO_ADDR", bao)
        .env("DOTMAC_OPENBAO_TOKEN_FILE", dir.join("token"))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    let started = Instant::now();
    for i in 0..n {
        tenants
            .create(&PostParams::default(), &tenant(&format!("bo{i:04}")))
            .await
            .unwrap();
    }
    support::wait_ready(
        &tenants,
        n,
        Duration::from_secs(900),
        Duration::from_millis(100),
    )
    .await;
    let took = started.elapsed();
    for i in 0..n {
        tenants
            .delete(&format!("bo{i:04}"), &DeleteParams::default())
            .await
            .unwrap();
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
    operator.kill().await.unwrap();
    took
}

async fn baseline_run(n: usize, dir: &Path, bao: &str) -> Duration {
    let config = DataPlaneConfig {
        postgres_admin_url: Some(dotmac_testkit::require_postgres()),
        redis_admin_url: Some(dotmac_testkit::require_redis()),
        openbao_addr: Some(bao.into()),
        openbao_token_file: Some(dir.join("token")),
        ..DataPlaneConfig::default()
    };
    let plane = DataPlane::from_config(&config).await.unwrap().unwrap();
    let tenants: Vec<Tenant> = (0..n)
        .map(|i| {
            let mut t = tenant(&format!("bb{i:04}"));
            t.metadata.uid = Some(format!("uid-{i}"));
            t
        })
        .collect();
    let started = Instant::now();
    stream::iter(&tenants)
        .for_each_concurrent(CONCURRENCY, |t| {
            let plane = &plane;
            async move {
                let done = plane.provision(t).await;
                if let Err(blocked) = &done.secret_data {
                    panic!("{}: {}", blocked.part, blocked.error);
                }
            }
        })
        .await;
    let took = started.elapsed();
    stream::iter(&tenants)
        .for_each_concurrent(CONCURRENCY, |t| {
            let plane = &plane;
            async move {
                if let Some((part, error)) = plane.cleanup(t).await.failure() {
                    panic!("cleanup of the {part}: {error}");
                }
            }
        })
        .await;
    took
}

#[tokio::main]
async fn main() {
    dotmac_telemetry::install_crypto_provider();
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let (_bao, addr) = start_bao(dir.path()).await;
    let baseline = baseline_run(n, dir.path(), &addr).await;
    let operator = operator_run(n, dir.path(), &addr).await;
    println!(
        "provision {n} tenants (concurrency {CONCURRENCY}): operator end to end {:.1} s, direct PostgreSQL/Redis/OpenBao calls {:.1} s, ratio {:.2} (goal <= 1.5)",
        operator.as_secs_f64(),
        baseline.as_secs_f64(),
        operator.as_secs_f64() / baseline.as_secs_f64()
    );
}
