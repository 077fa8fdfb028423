//! Usage and health reach the management API: usage through the database outbox, so nothing
//! is lost while the management API is down and nothing is counted twice when it comes back;
//! health on its interval. The management API is played by a small receiver here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use common::{Backend, Options, TestApp, id};
use serde_json::{Value, json};

/// What the receiver saw: events by idempotency key (deduplicated as the real one does),
/// deliveries in all, the sizes of the batches it refused while down, health reports, and
/// whether it is up.
#[derive(Default)]
struct Seen {
    events: Mutex<BTreeMap<String, Value>>,
    deliveries: Mutex<usize>,
    refused: Mutex<Vec<usize>>,
    health: Mutex<Vec<Value>>,
    down: AtomicBool,
}

async fn usage(
    State(seen): State<Arc<Seen>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    assert_eq!(headers["authorization"], "Bearer tenant-token");
    if seen.down.load(Ordering::SeqCst) {
        let size = body["events"].as_array().map_or(0, Vec::len);
        seen.refused.lock().unwrap().push(size);
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({})));
    }
    let mut events = seen.events.lock().unwrap();
    let mut duplicates = 0;
    for event in body["events"].as_array().unwrap() {
        *seen.deliveries.lock().unwrap() += 1;
        let key = event["idempotency_key"].as_str().unwrap().to_owned();
        if events.insert(key, event.clone()).is_some() {
            duplicates += 1;
        }
    }
    (
        StatusCode::OK,
        Json(
            json!({"accepted": body["events"].as_array().unwrap().len() - duplicates, "duplicates": duplicates}),
        ),
    )
}

async fn health(State(seen): State<Arc<Seen>>, Json(body): Json<Value>) -> StatusCode {
    seen.health.lock().unwrap().push(body);
    StatusCode::ACCEPTED
}

async fn receiver() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/api/v1/plugins/usage-events", post(usage))
        .route("/api/v1/monitoring/health-checks", post(health))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn metric_total(seen: &Seen, tenant: &str, metric: &str) -> f64 {
    seen.events
        .lock()
        .unwrap()
        .values()
        .filter(|e| e["metric"] == metric && e["tenant"] == tenant)
        .map(|e| e["quantity"].as_f64().unwrap())
        .sum()
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen");
}

async fn reports_survive_an_outage(backend: Backend) {
    let (url, seen) = receiver().await;
    seen.down.store(true, Ordering::SeqCst);
    let app = TestApp::start(
        backend,
        Options {
            management_api: Some(url),
            ..Options::default()
        },
    )
    .await;
    // While the management API is down: three payments and some API calls.
    let customer = app.customer("usage@example.com", "US", None).await;
    let plan = app.plan("P", 3000).await;
    let (_, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
    for _ in 0..3 {
        app.post(
            "/payments",
            json!({"invoice_id": id(&invoice), "amount": 100, "method": "cash"}),
            StatusCode::CREATED,
        )
        .await;
    }
    // The sender tried, with the payments in its batch, and was refused.
    eventually("a refused batch carrying the payments", || {
        seen.refused.lock().unwrap().iter().any(|n| *n >= 3)
    })
    .await;
    assert!(seen.events.lock().unwrap().is_empty());
    let waiting = app.count("usage_outbox").await;
    assert!(
        waiting >= 4,
        "payments and API calls wait in the outbox ({waiting})"
    );
    // Back up: everything arrives, once.
    seen.down.store(false, Ordering::SeqCst);
    let tenant = app.tenant.clone();
    eventually("three transactions delivered", || {
        metric_total(&seen, &tenant, "transactions") == 3.0
    })
    .await;
    // Customer, plan and subscription created, one activation, three payments.
    eventually("the API calls delivered", || {
        metric_total(&seen, &tenant, "api_calls") == 7.0
    })
    .await;
    assert!(metric_total(&seen, &tenant, "storage_gb") > 0.0);
    eventually("health reported", || {
        !seen.health.lock().unwrap().is_empty()
    })
    .await;
    let report = seen.health.lock().unwrap()[0].clone();
    assert_eq!(report["tenant"], app.tenant.as_str());
    assert_eq!(report["status"], "Healthy");
    assert_eq!(report["checks"]["database"], "ok");
    // Sent rows are marked; a resend of the same rows (after a lost answer) is a duplicate at
    // the receiver, never a second count.
    let mut unsent = i64::MAX;
    for _ in 0..100 {
        let row = sea_orm::ConnectionTrait::query_one_raw(
            &app.state.db,
            sea_orm::Statement::from_string(
                app.state.db.get_database_backend(),
                "SELECT COUNT(*) FROM usage_outbox WHERE sent_at IS NULL",
            ),
        )
        .await
        .unwrap()
        .unwrap();
        unsent = row.try_get_by_index::<i64>(0).unwrap();
        if unsent == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unsent, 0, "delivered events are marked sent");
    let delivered_before = *seen.deliveries.lock().unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.state.db,
        "UPDATE usage_outbox SET sent_at = NULL",
    )
    .await
    .unwrap();
    eventually("the resend arrived", || {
        *seen.deliveries.lock().unwrap() > delivered_before
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        metric_total(&seen, &tenant, "transactions"),
        3.0,
        "a resent event was counted twice"
    );
}

#[tokio::test]
async fn sqlite() {
    reports_survive_an_outage(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres() {
    reports_survive_an_outage(Backend::Postgres).await;
}

/// An instance reporting to a receiver, on a free plan with `features` licensed through their
/// plugins, as (feature, plugin).
async fn licensed(features: &[(&str, &str)]) -> (TestApp, Arc<Seen>) {
    use dotmac_isp::entitlements::{Entitlements, Gate};
    let (url, seen) = receiver().await;
    let entitlements = Entitlements {
        plan: "free".into(),
        features: features.iter().map(|(f, _)| (*f).to_owned()).collect(),
        feature_plans: BTreeMap::new(),
        feature_plugins: features
            .iter()
            .map(|(f, p)| ((*f).to_owned(), (*p).to_owned()))
            .collect(),
    };
    let options = Options {
        management_api: Some(url),
        gate: Some(Gate::fixed(entitlements)),
        ..Options::default()
    };
    (TestApp::start(Backend::Sqlite, options).await, seen)
}

/// The quantity of `metric` the receiver got from `tenant` against `plugin` (null: the
/// platform's own).
fn counted(seen: &Seen, tenant: &str, metric: &str, plugin: &Value) -> f64 {
    seen.events
        .lock()
        .unwrap()
        .values()
        .filter(|e| e["metric"] == metric && e["tenant"] == tenant)
        .filter(|e| e.get("plugin").unwrap_or(&Value::Null) == plugin)
        .map(|e| e["quantity"].as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn a_licensed_features_calls_count_against_its_plugin() {
    let (app, seen) = licensed(&[("advanced_analytics", "advanced-analytics")]).await;
    for _ in 0..3 {
        let figures = app.get("/analytics/revenue?months=2").await;
        assert_eq!(figures["by_currency"], json!([]), "no subscriptions yet");
    }
    app.customer("core@example.com", "US", None).await;
    let by_plugin = |plugin: Value| counted(&seen, &app.tenant, "api_calls", &plugin);
    eventually("the analytics calls counted against their plugin", || {
        by_plugin(json!("advanced-analytics")) == 3.0 && by_plugin(Value::Null) == 1.0
    })
    .await;
    // Bad input names the field and answers nothing else.
    for (months, expected) in [
        ("0", StatusCode::UNPROCESSABLE_ENTITY),
        ("25", StatusCode::UNPROCESSABLE_ENTITY),
        ("six", StatusCode::BAD_REQUEST),
    ] {
        let (status, problem) = app
            .call(
                reqwest::Method::GET,
                &format!("/analytics/revenue?months={months}"),
                None,
            )
            .await;
        assert_eq!(status, expected, "{problem}");
        assert_eq!(problem["field"], "months", "{problem}");
    }
}

#[tokio::test]
async fn usage_charges_and_unthrottled_calls_count_against_the_plugins_that_grant_them() {
    let (app, seen) = licensed(&[
        ("advanced_billing", "usage-billing"),
        ("unlimited_apis", "unlimited-api"),
    ])
    .await;
    let customer = app.customer("meter@example.com", "US", None).await;
    let plan = app.plan("FIBRE-100", 3000).await;
    let (sub, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
    let charge = json!({"description": "Data over allowance, GB", "quantity": 3, "unit_price": 150, "occurred_on": "2026-09-20"});
    app.post(
        &format!("/subscriptions/{sub}/usage-charges"),
        charge,
        StatusCode::CREATED,
    )
    .await;
    let payment = json!({"invoice_id": id(&invoice), "amount": invoice["total"], "method": "cash", "received_on": "2026-09-05"});
    app.post("/payments", payment, StatusCode::CREATED).await;
    let total = |metric: &str, plugin: Value| counted(&seen, &app.tenant, metric, &plugin);
    // Six calls: the usage charge used advanced billing; the other five went through only
    // because the unlimited-api license lifts the rate limit.
    eventually("each event counted against its plugin", || {
        total("transactions", json!("usage-billing")) == 1.0
            && total("transactions", Value::Null) == 1.0
            && total("api_calls", json!("usage-billing")) == 1.0
            && total("api_calls", json!("unlimited-api")) == 5.0
            && total("api_calls", Value::Null) == 0.0
    })
    .await;
}
