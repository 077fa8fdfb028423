//! `just bench api`: the management API in process on devcluster and the machine's
//! PostgreSQL. Prints usage events ingested per second (batches of 1,000, four clients, every
//! key checked for duplicates; goal ≥ 20,000/s), the rate of a batch resent in full (all
//! duplicates), and requests per second with p50/p99 latency for `GET
//! /api/v1/plugins/entitlements/{id}` next to the constant `/healthz` on the same server (goal:
//! at least half its throughput).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::{Duration, Instant};

use dotmac_devcluster::DevCluster;
use dotmac_management_api::{self, ApiConfig};
use dotmac_platform::crd::Tenant;
use futures_util::{StreamExt, stream};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const EVENTS: usize = 200_000;
const BATCH: usize = 1000;
const CLIENTS: usize = 4;
const LOAD_SECONDS: u64 = 5;
const CONCURRENCY: usize = 32;

fn batch(n: usize) -> Value {
    let events: Vec<Value> = (0..BATCH)
        .map(|i| json!({"idempotency_key": format!("bench:{n}:{i}"), "tenant": "bench", "metric": if i % 2 == 0 { "api_calls" } else { "transactions" }, "quantity": 1, "occurred_at": "2026-11-24T10:00:00Z"}))
        .collect();
    json!({"events": events})
}

async fn ingest(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    batches: std::ops::Range<usize>,
) -> (f64, u64, u64) {
    let started = Instant::now();
    let results: Vec<Value> = stream::iter(batches)
        .map(|n| {
            let body = batch(n);
            async move {
                http.post(format!("{base}/plugins/usage-events"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(CLIENTS)
        .collect()
        .await;
    let accepted = results
        .iter()
        .map(|r| r["accepted"].as_u64().unwrap())
        .sum();
    let duplicates = results
        .iter()
        .map(|r| r["duplicates"].as_u64().unwrap())
        .sum();
    (started.elapsed().as_secs_f64(), accepted, duplicates)
}

async fn load(http: &reqwest::Client, url: &str, token: &str) -> (f64, Duration, Duration) {
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let workers = (0..CONCURRENCY).map(|_| async move {
        let mut latencies = Vec::new();
        while Instant::now() < deadline {
            let started = Instant::now();
            let response = http.get(url).bearer_auth(token).send().await.unwrap();
            assert!(response.status().is_success());
            response.bytes().await.unwrap();
            latencies.push(started.elapsed());
        }
        latencies
    });
    let mut latencies: Vec<Duration> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
        .collect();
    latencies.sort_unstable();
    let rps = latencies.len() as f64 / LOAD_SECONDS as f64;
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (rps, p(0.5), p(0.99))
}

#[tokio::main]
async fn main() {
    dotmac_telemetry::install_crypto_provider();
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_platform::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let tenant: Tenant = serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
        "metadata": {"name": "bench"}, "spec": {"displayName": "Bench ISP", "contactEmail": "noc@bench.example", "plan": "premium"}})).unwrap();
    Api::<Tenant>::all(client.clone())
        .create(&PostParams::default(), &tenant)
        .await
        .unwrap();

    let name = format!("platform_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(&dotmac_testkit::require_postgres())
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "bench-admin-token").unwrap();
    let config = ApiConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        bootstrap_token_file: Some(token_file),
        portals_dir: None,
        redis_url: None,
        rate_limit_per_minute: 1200,
        trust_forwarded_for: false,
        public_url: "http://127.0.0.1".into(),
        smtp_url: None,
        mail_from: "bench@dotmac.invalid".into(),
    };
    let db = dotmac_metering::open(&dotmac_testkit::postgres_url(&name))
        .await
        .unwrap();
    let (app, state) = dotmac_management_api::assemble(
        &config,
        db,
        client.clone(),
        dotmac_platform::plugins::source::PluginCatalog::fixed(
            dotmac_platform::plugins::Catalog::embedded().unwrap(),
        ),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = format!("http://{addr}/api/v1");
    let token = "bench-admin-token";
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let entitlements = format!("{base}/plugins/entitlements/bench");
    for _ in 0..100 {
        if http
            .get(&entitlements)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    eprintln!("ingesting {EVENTS} usage events in batches of {BATCH} with {CLIENTS} clients …");
    let (seconds, accepted, _) = ingest(&http, &base, token, 0..EVENTS / BATCH).await;
    assert_eq!(accepted as usize, EVENTS);
    let (dup_seconds, _, duplicates) = ingest(&http, &base, token, 0..EVENTS / BATCH / 4).await;
    assert_eq!(duplicates as usize, EVENTS / 4);
    eprintln!(
        "loading /healthz and the entitlements route for {LOAD_SECONDS} s each with {CONCURRENCY} clients …"
    );
    let constant = load(&http, &format!("http://{addr}/healthz"), token).await;
    let gated = load(&http, &entitlements, token).await;

    let rate = EVENTS as f64 / seconds;
    println!();
    println!(
        "usage events (PostgreSQL, idempotent): {EVENTS} in {seconds:.2} s = {rate:.0} events/s (goal ≥ 20,000: {}); resent duplicates: {:.0} events/s",
        if rate >= 20_000.0 { "met" } else { "NOT met" },
        duplicates as f64 / dup_seconds
    );
    println!(
        "GET /healthz (constant):          {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        constant.0,
        constant.1.as_secs_f64() * 1e3,
        constant.2.as_secs_f64() * 1e3
    );
    println!(
        "GET /plugins/entitlements/{{id}}:   {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({:.0} % of the constant route; goal ≥ 50 %: {})",
        gated.0,
        gated.1.as_secs_f64() * 1e3,
        gated.2.as_secs_f64() * 1e3,
        gated.0 / constant.0 * 100.0,
        if gated.0 >= constant.0 / 2.0 {
            "met"
        } else {
            "NOT met"
        }
    );

    state.db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    drop(cluster);
}
