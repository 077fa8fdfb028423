//! A billing run killed with SIGKILL halfway and started again gives exactly the invoices of an
//! uninterrupted run: same numbers, same subscriptions and periods, same amounts, no gaps.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::{process::Stdio, time::Duration};

use common::{Backend, TestDatabase};
use dotmac_isp::{config::DatabaseConfig, people::Role, server, tokens};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use uuid::Uuid;

const SUBSCRIPTIONS: u64 = 3000;

struct Instance {
    child: Child,
    base: String,
}

async fn spawn(url: &str, tenant: &str) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dotmac-isp"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", url)
        .env("DOTMAC_TENANT", tenant)
        .env("DOTMAC_BILLING_BATCH_SIZE", "50")
        .env("DOTMAC_RUN_LEASE_SECONDS", "2")
        // Runs start over the API here, not on the business-day schedule.
        .env("DOTMAC_SCHEDULED_RUNS", "false")
        .env("RUST_LOG", "info")
        .env_remove("REDIS_URL")
        .env_remove("DOTMAC_ENTITLEMENTS_FILE")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && entry["fields"]["message"] == "dotmac-isp listening"
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(
                    entry["fields"]["addr"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    });
    let addr = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .unwrap()
        .unwrap();
    Instance {
        child,
        base: format!("http://{addr}/api/v1"),
    }
}

async fn invoices(db: &DatabaseConnection) -> Vec<(String, Uuid, String, i64, i64)> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT number, subscription_id, CAST(period_start AS TEXT), tax, total FROM invoices ORDER BY number",
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.try_get_by_index(0).unwrap(), r.try_get_by_index(1).unwrap(), r.try_get_by_index(2).unwrap(), r.try_get_by_index(3).unwrap(), r.try_get_by_index(4).unwrap()))
    .collect()
}

/// How many of subscriptions and customers the planner has no statistics for.
async fn unanalysed(db: &DatabaseConnection) -> i64 {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT COUNT(*) FROM pg_class WHERE relname IN ('subscriptions', 'customers') AND reltuples < 0",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index(0)
    .unwrap()
}

async fn prepare(tenant: &str) -> (TestDatabase, DatabaseConnection, String) {
    let database = TestDatabase::create(Backend::Postgres).await;
    let db = server::database(&DatabaseConfig {
        database_url: database.url.clone(),
        tenant: tenant.to_owned(),
        max_connections: 4,
    })
    .await
    .unwrap();
    dotmac_isp::seed::seed(&db, SUBSCRIPTIONS, "2026-10-01".parse().unwrap(), |_| {})
        .await
        .unwrap();
    // Freshly loaded, as after an import: no planner statistics, and autovacuum kept away so the
    // run is what gathers them.
    db.execute_unprepared(
        "ALTER TABLE subscriptions SET (autovacuum_enabled = false); ALTER TABLE customers SET (autovacuum_enabled = false)",
    )
    .await
    .unwrap();
    assert_eq!(unanalysed(&db).await, 2);
    // Usage on every fifth subscription, billed on the same invoices.
    db.execute_unprepared(
        "INSERT INTO usage_charges (id, subscription_id, description, quantity, unit_price, occurred_on, created_at) \
         SELECT gen_random_uuid(), id, 'Data over allowance, GB', 1 + n % 20, 150, DATE '2026-09-20', now() \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM subscriptions) s WHERE n % 5 = 0",
    )
    .await
    .unwrap();
    let (_, token) = tokens::create(&db, tenant, "crash-test", Role::TenantAdmin)
        .await
        .unwrap();
    (database, db, token)
}

async fn wait_for(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    run: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..3000 {
        if let Ok(response) = http
            .get(format!("{base}/billing-runs/{run}"))
            .bearer_auth(token)
            .send()
            .await
            && let Ok(value) = response.json::<Value>().await
            && done(&value)
        {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("run {run} never reached the expected state");
}

#[tokio::test]
async fn a_billing_run_killed_halfway_and_restarted_matches_an_uninterrupted_run() {
    dotmac_telemetry::install_crypto_provider();
    let http = reqwest::Client::new();
    let tenant = common::tenant_name();

    // Reference: uninterrupted.
    let (_reference, reference_db, token) = prepare(&tenant).await;
    let instance = spawn(&_reference.url, &tenant).await;
    let run: Value = http
        .post(format!("{}/billing-runs", instance.base))
        .bearer_auth(&token)
        .json(&json!({"date": "2026-10-01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let finished = wait_for(
        &http,
        &instance.base,
        &token,
        run["id"].as_str().unwrap(),
        |r| r["status"] == "succeeded",
    )
    .await;
    assert_eq!(finished["created"], SUBSCRIPTIONS as i64);
    assert_eq!(
        unanalysed(&reference_db).await,
        0,
        "the run analyses tables it finds without statistics"
    );
    drop(instance);
    let expected = invoices(&reference_db).await;

    // Interrupted: SIGKILL once some batches are committed, then start again.
    let (_interrupted, interrupted_db, token) = prepare(&tenant).await;
    let mut instance = spawn(&_interrupted.url, &tenant).await;
    let run: Value = http
        .post(format!("{}/billing-runs", instance.base))
        .bearer_auth(&token)
        .json(&json!({"date": "2026-10-01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = run["id"].as_str().unwrap().to_owned();
    let progress = wait_for(&http, &instance.base, &token, &run_id, |r| {
        r["processed"].as_i64().unwrap_or(0) >= 300
    })
    .await;
    instance.child.kill().await.unwrap();
    let at_kill = invoices(&interrupted_db).await.len();
    assert!(
        at_kill < SUBSCRIPTIONS as usize,
        "the run finished before it was killed ({progress})"
    );
    assert_eq!(progress["status"], "running");
    let instance = spawn(&_interrupted.url, &tenant).await;
    let finished = wait_for(&http, &instance.base, &token, &run_id, |r| {
        r["status"] == "succeeded"
    })
    .await;
    assert!(finished["attempts"].as_i64().unwrap() >= 2, "{finished}");
    assert_eq!(finished["created"], SUBSCRIPTIONS as i64);
    let got = invoices(&interrupted_db).await;
    assert_eq!(got.len(), SUBSCRIPTIONS as usize);
    assert_eq!(
        got, expected,
        "the restarted run differs from the uninterrupted one"
    );
    let numbers: Vec<String> = (1..=SUBSCRIPTIONS).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(
        got.iter().map(|i| i.0.clone()).collect::<Vec<_>>(),
        numbers,
        "numbers have gaps"
    );
    // Each charge is on exactly one invoice, its own subscription's.
    let linked = interrupted_db
        .query_one_raw(Statement::from_string(
            interrupted_db.get_database_backend(),
            "SELECT COUNT(*), COUNT(i.id) FROM usage_charges u \
             LEFT JOIN invoices i ON i.id = u.invoice_id AND i.subscription_id = u.subscription_id",
        ))
        .await
        .unwrap()
        .unwrap();
    let (charges, on_own_invoice): (i64, i64) = (
        linked.try_get_by_index(0).unwrap(),
        linked.try_get_by_index(1).unwrap(),
    );
    assert_eq!(charges, SUBSCRIPTIONS as i64 / 5);
    assert_eq!(on_own_invoice, charges, "a usage charge was left unbilled");
    drop(instance);
}
