//! What the instance does around its domain: jobs queued in Redis with retries and a
//! dead-letter list, per-token rate limits in Redis, entitlements gating features, an audit log
//! the database keeps append-only, and an OpenAPI 3.1 document the responses conform to.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Backend, Options, TestApp, id};
use dotmac_isp::entitlements::{Entitlements, Gate};
use fred::interfaces::{ClientLike, KeysInterface, ListInterface};
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

async fn redis() -> fred::clients::Client {
    let client = fred::types::Builder::from_config(
        fred::types::config::Config::from_url(&dotmac_testkit::require_redis()).unwrap(),
    )
    .build()
    .unwrap();
    client.init().await.unwrap();
    client
}

async fn clean_keys(tenant: &str) {
    let client = redis().await;
    for key in ["jobs", "jobs:processing", "jobs:dead"] {
        let _: () = client.del(format!("t:{tenant}:{key}")).await.unwrap();
    }
}

#[tokio::test]
async fn billing_runs_queue_in_redis() {
    let app = TestApp::start(
        Backend::Postgres,
        Options {
            redis: true,
            ..Options::default()
        },
    )
    .await;
    let customer = app.customer("queue@example.com", "US", None).await;
    let plan = app.plan("P", 3000).await;
    app.subscribe(&customer, &plan, "2026-09-01").await;
    let run = app.run("billing", "2026-10-01").await;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["created"], 1);
    let client = redis().await;
    let processing: i64 = client
        .llen(format!("t:{}:jobs:processing", app.tenant))
        .await
        .unwrap();
    assert_eq!(processing, 0, "a finished job leaves the processing list");
    clean_keys(&app.tenant).await;
}

#[tokio::test]
async fn a_job_failing_every_attempt_is_dead_lettered_and_its_run_failed() {
    let app = TestApp::start(
        Backend::Postgres,
        Options {
            redis: true,
            ..Options::default()
        },
    )
    .await;
    let customer = app.customer("dead@example.com", "US", None).await;
    let plan = app.plan("P", 3000).await;
    app.subscribe(&customer, &plan, "2026-09-01").await;
    // A fault the real database produces on demand: the lines table is gone.
    app.state
        .db
        .execute_unprepared("ALTER TABLE invoice_lines RENAME TO invoice_lines_away")
        .await
        .unwrap();
    let run = app.run("billing", "2026-10-01").await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["attempts"], 3);
    assert!(
        run["error"].as_str().unwrap().contains("invoice_lines"),
        "{run}"
    );
    let client = redis().await;
    let dead: Vec<String> = client
        .lrange(format!("t:{}:jobs:dead", app.tenant), 0, -1)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].contains(run["id"].as_str().unwrap()));
    app.state
        .db
        .execute_unprepared("ALTER TABLE invoice_lines_away RENAME TO invoice_lines")
        .await
        .unwrap();
    assert_eq!(
        app.count("invoices").await,
        1,
        "the failed run left nothing half-made"
    );
    clean_keys(&app.tenant).await;
}

fn entitled(features: &[&str]) -> Gate {
    Gate::fixed(Entitlements {
        plan: "basic".into(),
        features: features.iter().map(|f| (*f).to_owned()).collect(),
        feature_plans: BTreeMap::from([("unlimited_apis".to_owned(), "enterprise".to_owned())]),
        feature_plugins: BTreeMap::new(),
    })
}

#[tokio::test]
async fn unlimited_apis_lifts_the_rate_limit() {
    let app = TestApp::start(
        Backend::Sqlite,
        Options {
            redis: true,
            rate_limit: 2,
            gate: Some(entitled(&["advanced_analytics", "unlimited_apis"])),
            ..Options::default()
        },
    )
    .await;
    for _ in 0..5 {
        assert_eq!(
            app.call(Method::GET, "/plans", None).await.0,
            StatusCode::OK
        );
    }
    clean_keys(&app.tenant).await;
}

#[tokio::test]
async fn each_token_has_its_own_budget_per_minute() {
    let app = TestApp::start(
        Backend::Sqlite,
        Options {
            redis: true,
            rate_limit: 5,
            gate: Some(entitled(&["advanced_analytics"])),
            ..Options::default()
        },
    )
    .await;
    let (_, second) = dotmac_isp::tokens::create(
        &app.state.db,
        &app.tenant,
        "second",
        dotmac_isp::people::Role::TenantAdmin,
    )
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.call(Method::GET, "/plans", None).await.0);
    }
    // The sixth may land in a new minute; then the budget starts again. Try once more.
    if statuses[5] == StatusCode::OK {
        statuses.clear();
        for _ in 0..6 {
            statuses.push(app.call(Method::GET, "/plans", None).await.0);
        }
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        1,
        "{statuses:?}"
    );
    let response = app
        .http
        .get(format!("{}/api/v1/plans", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "https://dotmac.io/problems/rate-limited");
    assert_eq!(
        app.call_as(&second, Method::GET, "/plans", None).await.0,
        StatusCode::OK,
        "another token is not limited"
    );
    clean_keys(&app.tenant).await;
}

#[tokio::test]
async fn max_customers_refuses_the_one_too_many_naming_the_limit() {
    let app = TestApp::start(
        Backend::Sqlite,
        Options {
            max_customers: Some(2),
            ..Options::default()
        },
    )
    .await;
    let first = app.customer("a@example.com", "US", None).await;
    app.customer("b@example.com", "US", None).await;
    let body = json!({"display_name": "C", "email": "c@example.com", "address": {"country": "US"}});
    let (status, problem) = app
        .call(Method::POST, "/customers", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["field"], "limits.maxCustomers");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("at most 2 customers"),
        "{problem}"
    );
    assert_eq!(app.count("customers").await, 2, "nothing half-made");
    // A cancelled customer frees its place.
    app.post(
        &format!("/customers/{first}/cancel"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    app.post("/customers", body, StatusCode::CREATED).await;
}

#[tokio::test]
async fn multi_currency_and_usage_charges_need_advanced_billing() {
    let free = Entitlements {
        plan: "free".into(),
        features: BTreeSet::from(["advanced_analytics".to_owned()]),
        feature_plans: BTreeMap::from([("advanced_billing".to_owned(), "basic".to_owned())]),
        feature_plugins: BTreeMap::new(),
    };
    let app = TestApp::start(
        Backend::Sqlite,
        Options {
            gate: Some(Gate::fixed(free)),
            ..Options::default()
        },
    )
    .await;
    for (path, body) in [
        (
            "/customers",
            json!({"display_name": "E", "email": "eur@example.com", "currency": "EUR", "address": {"country": "DE"}}),
        ),
        (
            "/plans",
            json!({"code": "EUR", "name": "EUR", "service_type": "internet", "price": 1000, "currency": "EUR"}),
        ),
    ] {
        let (status, problem) = app.call(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(problem["feature"], "advanced_billing");
        assert_eq!(problem["plan"], "basic");
        assert!(problem["detail"].as_str().unwrap().contains("basic plan"));
    }
    assert_eq!(app.count("customers").await + app.count("plans").await, 0);
    let customer = app.customer("usd@example.com", "US", None).await;
    let plan = app.plan("USD", 1000).await;
    let (sub, _) = app.subscribe(&customer, &plan, "2026-09-01").await;
    let charge =
        json!({"description": "Data over allowance, GB", "quantity": 2, "unit_price": 100});
    let path = format!("/subscriptions/{sub}/usage-charges");
    let (status, problem) = app.call(Method::POST, &path, Some(charge.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["feature"], "advanced_billing");
    assert_eq!(problem["plan"], "basic");
    assert_eq!(app.count("usage_charges").await, 0);
    assert_eq!(
        app.get(&path).await["items"],
        json!([]),
        "reading is not gated"
    );

    let basic = Entitlements {
        plan: "basic".into(),
        features: BTreeSet::from([
            "advanced_analytics".to_owned(),
            "advanced_billing".to_owned(),
        ]),
        feature_plans: BTreeMap::new(),
        feature_plugins: BTreeMap::new(),
    };
    let app = TestApp::start(
        Backend::Sqlite,
        Options {
            gate: Some(Gate::fixed(basic)),
            ..Options::default()
        },
    )
    .await;
    app.post("/customers", json!({"display_name": "E", "email": "eur@example.com", "currency": "EUR", "address": {"country": "DE"}}), StatusCode::CREATED).await;
    let customer = app.customer("usd@example.com", "US", None).await;
    let plan = app.plan("USD", 1000).await;
    let (sub, _) = app.subscribe(&customer, &plan, "2026-09-01").await;
    app.post(
        &format!("/subscriptions/{sub}/usage-charges"),
        charge,
        StatusCode::CREATED,
    )
    .await;
}

on_both_backends! {
    async fn the_audit_log_records_who_and_cannot_be_rewritten(app) {
        let customer = app.customer("audit@example.com", "US", None).await;
        let log = app.get(&format!("/audit-log?entity=customer&entity_id={customer}")).await;
        let entries = log["items"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["action"], "customer.created");
        assert_eq!(entries[0]["actor"], "test-admin");
        for statement in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
            let error = app.state.db.execute_unprepared(statement).await.unwrap_err();
            assert!(error.to_string().contains("append-only"), "{error}");
        }
        assert_eq!(app.count("audit_log").await, 1);
    }

    async fn responses_conform_to_the_openapi_document(app) {
        let document = app.http.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap().json::<Value>().await.unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        let paths = document["paths"].as_object().unwrap();
        for path in ["/customers", "/customers/{id}", "/plans/{id}", "/subscriptions/{id}/change-plan", "/invoices/{id}/issue", "/payments/{id}/refunds", "/credit-notes", "/billing-runs/{id}", "/dunning/policy", "/audit-log", "/subscriptions/{id}/usage-charges", "/usage-charges/{id}"] {
            assert!(paths.contains_key(path), "{path} missing from the document");
        }
        for path in ["/payments", "/subscriptions/{id}/usage-charges"] {
            let post = &paths[path]["post"];
            assert!(post["responses"]["200"].is_object() && post["responses"]["201"].is_object(), "{path}: a replay (200) and a first request (201)");
            assert!(post["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"), "{path}: Idempotency-Key");
        }
        let conforms = |schema_name: &str, instance: &Value| {
            let schema = json!({"$ref": format!("#/components/schemas/{schema_name}"), "components": document["components"]});
            let validator = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> = validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(errors.is_empty(), "{schema_name}: {errors:?}\n{instance}");
        };
        app.tax("VAT", "GB", None, "20", false, 0).await;
        let customer = app.post("/customers", json!({"display_name": "D", "email": "doc@example.com", "address": {"country": "GB"}}), StatusCode::CREATED).await;
        conforms("CustomerView", &customer);
        let plan = app.plan("P", 3000).await;
        conforms("PlanView", &app.get(&format!("/plans/{plan}")).await);
        let (sub, invoice) = app.subscribe(&id(&customer), &plan, "2026-09-16").await;
        conforms("InvoiceView", &invoice);
        conforms("SubscriptionView", &app.get(&format!("/subscriptions/{sub}")).await);
        let receipt = app.post("/payments", json!({"invoice_id": id(&invoice), "amount": 100, "method": "cash"}), StatusCode::CREATED).await;
        conforms("PaymentReceipt", &receipt);
        let run = app.run("billing", "2026-10-01").await;
        conforms("RunView", &run);
        let policy = app.get("/dunning/policy").await;
        conforms("DunningPolicy", &policy);
        let charge = app.post(&format!("/subscriptions/{sub}/usage-charges"), json!({"description": "GB", "quantity": 2, "unit_price": 150, "occurred_on": "2026-10-02"}), StatusCode::CREATED).await;
        conforms("UsageChargeView", &charge);
        let cancelled = app.post(&format!("/subscriptions/{sub}/cancel"), json!({"date": "2026-10-20"}), StatusCode::OK).await;
        conforms("ChangeOutcome", &cancelled);
        let (_, problem) = app.call(Method::POST, "/payments", Some(json!({"invoice_id": id(&invoice), "amount": -1, "method": "cash"}))).await;
        conforms("Problem", &problem);
        let page = app.get("/invoices").await;
        let page_schema = document["paths"]["/invoices"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            .as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        conforms(&page_schema, &page);
    }
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_response_breaking_the_document() {
    let app = TestApp::start(Backend::Sqlite, Options::default()).await;
    dotmac_isp::seed::seed(&app.state.db, 5, "2026-10-01".parse().unwrap(), |_| {})
        .await
        .unwrap();
    let schemathesis = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/venv/bin/schemathesis"
    );
    assert!(
        std::path::Path::new(schemathesis).exists(),
        "schemathesis not found at {schemathesis}: run scripts/tools"
    );
    let url = format!("{}/api/v1/openapi.json", app.base);
    let auth = format!("Authorization: Bearer {}", app.token);
    let output = tokio::process::Command::new(schemathesis)
        .args(["run", &url, "-H", &auth, "--max-examples", "25", "--seed", "3", "--no-color", "--generation-database", "none"])
        .args(["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_for_prometheus() {
    let app = TestApp::start(Backend::Sqlite, Options::default()).await;
    let customer = app
        .post(
            "/customers",
            json!({"display_name": "Ada", "email": "ada@example.com", "address": {"country": "US"}}),
            StatusCode::CREATED,
        )
        .await;
    let id = customer["id"].as_str().unwrap();
    app.get(&format!("/customers/{id}")).await;
    let text = app.metrics().await;
    for line in [
        "dotmac_isp_requests_total{method=\"POST\",route=\"/api/v1/customers\",status=\"201\"} 1",
        "dotmac_isp_requests_total{method=\"GET\",route=\"/api/v1/customers/{id}\",status=\"200\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    assert!(!text.contains(id), "raw paths never become series");
}
