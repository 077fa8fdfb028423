//! `just bench converge [N]`: applies N tenants (default 1,000) to devcluster with the real
//! operator binary running as its own process, and prints the seconds until all are Ready,
//! API reads and writes per tenant, writes during idle seconds (must be 0), and the
//! operator's peak RSS. `DOTMAC_BENCH_IDLE_SECONDS` sets the idle window (default 60).
//!
//! Then, with the data plane on (the PostgreSQL and Redis of `scripts/services`, an OpenBao
//! dev server of its own), `DOTMAC_BENCH_CHECK_TENANTS` tenants (default 50) are made Ready
//! and left idle for the same window: it prints the backend reads per tenant per minute that
//! checking them costs at the default `--verify-seconds` (60), and the backend writes (must be
//! 0). `DOTMAC_BENCH_CHECK_TENANTS=0` skips this.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::{Duration, Instant};

use dotmac_devcluster::{DevCluster, Options};
use dotmac_platform::crd::Tenant;
use futures_util::{StreamExt, stream};
use kube::api::{Api, PostParams};
use serde_json::json;

mod support;

const READS: [&str; 3] = ["get", "list", "watch"];
const WRITES: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn total(cluster: &DevCluster, verbs: &[&str]) -> u64 {
    let resources = [
        "tenants",
        "namespaces",
        "serviceaccounts",
        "configmaps",
        "deployments",
        "services",
        "ingresses",
        "networkpolicies",
        "resourcequotas",
        "limitranges",
        "horizontalpodautoscalers",
        "poddisruptionbudgets",
        "secrets",
        "resellers",
        "events",
        "leases",
    ];
    verbs
        .iter()
        .flat_map(|v| resources.iter().map(move |r| cluster.requests(v, r)))
        .sum()
}

async fn run(n: usize, idle: Duration) {
    let (cluster, client) = support::cluster(Options {
        rollout_delay: Duration::from_millis(100),
        history: 400_000,
        ..Options::default()
    })
    .await;
    let health = support::free_addr();
    let state = tempfile::tempdir().unwrap();
    let mut operator = support::operator(&cluster, state.path(), health)
        .env("DOTMAC_CONCURRENCY", "64")
        .spawn()
        .unwrap();
    let pid = operator.id().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let tenants: Api<Tenant> = Api::all(client.clone());
    let (reads0, writes0) = (total(&cluster, &READS), total(&cluster, &WRITES));
    let started = Instant::now();
    stream::iter(0..n)
        .for_each_concurrent(32, |i| {
            let tenants = tenants.clone();
            async move {
                let t: Tenant = serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
                    "metadata": {"name": format!("bench-{i:05}")},
                    "spec": {"displayName": format!("Bench ISP {i}"), "contactEmail": "noc@bench.example"}})).unwrap();
                tenants.create(&PostParams::default(), &t).await.unwrap();
            }
        })
        .await;
    let applied = started.elapsed();
    support::wait_ready(
        &tenants,
        n,
        Duration::from_secs(1800),
        Duration::from_millis(250),
    )
    .await;
    let converged = started.elapsed();
    // The bench's own requests: N creates, and one list per poll (not counted: tenants lists).
    let reads = total(&cluster, &READS) - reads0 - cluster.requests("list", "tenants");
    let writes = total(&cluster, &WRITES) - writes0 - n as u64;
    let rss_converged = peak_rss_mib(pid);
    println!(
        "converge {n} tenants: all Ready in {:.1} s (creates took {:.1} s)",
        converged.as_secs_f64(),
        applied.as_secs_f64()
    );
    println!(
        "  operator API requests per tenant: {:.1} reads, {:.1} writes",
        reads as f64 / n as f64,
        writes as f64 / n as f64
    );
    if !idle.is_zero() {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let before = total(&cluster, &WRITES);
        tokio::time::sleep(idle).await;
        let idle_writes = total(&cluster, &WRITES) - before;
        println!(
            "  writes during {} idle seconds: {idle_writes}",
            idle.as_secs()
        );
    }
    println!(
        "  operator peak RSS: {:.1} MiB (at convergence {:.1} MiB)",
        peak_rss_mib(pid),
        rss_converged
    );
    operator.kill().await.unwrap();
}

/// `dotmac_operator_backend_requests_total` by (backend, access), from the operator's metrics.
async fn backend_requests(health: std::net::SocketAddr) -> Vec<(String, String, f64)> {
    let text = reqwest::get(format!("http://{health}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("dotmac_operator_backend_requests_total{backend=\""))
        .filter_map(|rest| {
            let (backend, rest) = rest.split_once("\",access=\"")?;
            let (access, value) = rest.split_once("\"} ")?;
            Some((backend.to_owned(), access.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Data-plane checks: `n` tenants Ready with their backends, then `idle` of checks.
async fn checks(n: usize, idle: Duration) {
    let (cluster, client) = support::cluster(Options {
        rollout_delay: Duration::from_millis(100),
        ..Options::default()
    })
    .await;
    let bao = dotmac_testkit::openbao::DevBao::start().await;
    let state = tempfile::tempdir().unwrap();
    let health = support::free_addr();
    let mut command = support::operator(&cluster, state.path(), health);
    support::data_plane(&mut command, &bao, state.path());
    let mut operator = command.spawn().unwrap();
    let tenants: Api<Tenant> = Api::all(client.clone());
    let prefix = format!("chk{}", std::process::id() % 100_000);
    for i in 0..n {
        let t: Tenant = serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": format!("{prefix}-{i}")},
            "spec": {"displayName": "Check ISP", "contactEmail": "noc@check.example", "deletionPolicy": "Delete"}})).unwrap();
        tenants.create(&PostParams::default(), &t).await.unwrap();
    }
    support::wait_ready(
        &tenants,
        n,
        Duration::from_secs(600),
        Duration::from_millis(250),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = backend_requests(health).await;
    let api_writes = total(&cluster, &WRITES);
    tokio::time::sleep(idle).await;
    let after = backend_requests(health).await;
    let minutes = idle.as_secs_f64() / 60.0;
    println!(
        "checks of {n} tenants with their data plane over {} idle seconds:",
        idle.as_secs()
    );
    for ((backend, access, was), (_, _, now)) in before.iter().zip(&after) {
        let per = (now - was) / n as f64 / minutes;
        println!("  {backend} {access}s per tenant per minute: {per:.1}");
    }
    println!(
        "  Kubernetes writes while checking: {}",
        total(&cluster, &WRITES) - api_writes
    );
    support::delete_all(&tenants, (0..n).map(|i| format!("{prefix}-{i}"))).await;
    operator.kill().await.unwrap();
}

#[tokio::main]
async fn main() {
    // reqwest (the metrics scrape) uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .or_else(|| std::env::var("DOTMAC_BENCH_TENANTS").ok()?.parse().ok())
        .unwrap_or(1_000);
    let idle = Duration::from_secs(
        std::env::var("DOTMAC_BENCH_IDLE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    run(n, idle).await;
    let checked = std::env::var("DOTMAC_BENCH_CHECK_TENANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    if checked > 0 && !idle.is_zero() {
        checks(checked, idle).await;
    }
    if std::env::var("DOTMAC_BENCH_SKIP_10K").is_err() && n < 10_000 {
        run(10_000, Duration::ZERO).await;
    }
}
