//! `just bench provision [N]`: provisions N tenants (default 200) end to end through the
//! operator binary (devcluster, the machine's PostgreSQL and Redis, an OpenBao dev server) and
//! prints the time until all are Ready, next to a baseline that makes the same PostgreSQL,
//! Redis and OpenBao calls directly with the same concurrency.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::{Duration, Instant};

use dotmac_devcluster::Options;
use dotmac_operator::{config::DataPlaneConfig, controller::tenant::dataplane::DataPlane};
use dotmac_platform::crd::Tenant;
use dotmac_testkit::openbao::DevBao;
use futures_util::{StreamExt, stream};
use kube::api::{Api, PostParams};
use serde_json::json;

mod support;

const CONCURRENCY: usize = 16;

fn tenant(name: &str) -> Tenant {
    serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"displayName": "Bench ISP", "contactEmail": "noc@bench.example", "deletionPolicy": "Delete"}})).unwrap()
}

async fn operator_run(n: usize, bao: &DevBao) -> Duration {
    let (cluster, client) = support::cluster(Options {
        rollout_delay: Duration::from_millis(20),
        ..Options::default()
    })
    .await;
    let health = support::free_addr();
    let state = tempfile::tempdir().unwrap();
    let mut command = support::operator(&cluster, state.path(), health);
    command.env("DOTMAC_CONCURRENCY", CONCURRENCY.to_string());
    support::data_plane(&mut command, bao, state.path());
    let mut operator = command.spawn().unwrap();
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
    support::delete_all(&tenants, (0..n).map(|i| format!("bo{i:04}"))).await;
    operator.kill().await.unwrap();
    took
}

async fn baseline_run(n: usize, bao: &DevBao) -> Duration {
    let state = tempfile::tempdir().unwrap();
    let token = state.path().join("bao-token");
    std::fs::write(&token, "test-root\n").unwrap();
    let config = DataPlaneConfig {
        postgres_admin_url: Some(dotmac_testkit::require_postgres()),
        redis_admin_url: Some(dotmac_testkit::require_redis()),
        openbao_addr: Some(bao.addr.clone()),
        openbao_token_file: Some(token),
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
    let bao = DevBao::start().await;
    let baseline = baseline_run(n, &bao).await;
    let operator = operator_run(n, &bao).await;
    println!(
        "provision {n} tenants (concurrency {CONCURRENCY}): operator end to end {:.1} s, direct PostgreSQL/Redis/OpenBao calls {:.1} s, ratio {:.2} (goal <= 1.5)",
        operator.as_secs_f64(),
        baseline.as_secs_f64(),
        operator.as_secs_f64() / baseline.as_secs_f64()
    );
}
