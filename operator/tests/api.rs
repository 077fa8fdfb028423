//! The management API over HTTP against devcluster and a real platform database (SQLite and
//! PostgreSQL): the tenant lifecycle through the API with the controller running, token roles
//! and reseller isolation, usage events counted once, health reports reaching the Tenant's
//! status, and bad input answered with problem+json and nothing written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::time::Duration;

use clap::Parser;
use dotmac_management_api::{
    self, ApiConfig, PlatformDatabase,
    tokens::{self, Role},
};
use dotmac_operator::config::ControllerConfig;
use dotmac_platform::crd::Tenant;
use dotmac_platform::plugins::{
    Catalog,
    source::{CatalogConfig, PluginCatalog},
};
use kube::{Api, Client, api::ListParams};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    controller: ControllerConfig,
    #[command(flatten)]
    api: ApiConfig,
    #[command(flatten)]
    database: PlatformDatabase,
    #[command(flatten)]
    catalog: CatalogConfig,
}

struct Harness {
    base: String,
    client: Client,
    http: reqwest::Client,
    admin: String,
    db: sea_orm::DatabaseConnection,
    _cluster: dotmac_devcluster::DevCluster,
    _dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        if let Ok(admin) =
                            sea_orm::Database::connect(&dotmac_testkit::require_postgres()).await
                        {
                            let _ = sea_orm::ConnectionTrait::execute_unprepared(
                                &admin,
                                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                            )
                            .await;
                        }
                    });
            })
            .join();
        }
    }
}

async fn harness(postgres: bool) -> Harness {
    harness_with(postgres, &[]).await
}

async fn harness_with(postgres: bool, extra: &[&str]) -> Harness {
    dotmac_telemetry::install_crypto_provider();
    let (cluster, client) = common::cluster_with_crds().await;
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_name) = if postgres {
        let name = format!("platform_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(&dotmac_testkit::require_postgres())
            .await
            .unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        (dotmac_testkit::postgres_url(&name), Some(name))
    } else {
        (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("platform.db").display()
            ),
            None,
        )
    };
    let token_file = dir.path().join("bootstrap-token");
    std::fs::write(&token_file, "bootstrap-admin-token-for-tests\n").unwrap();
    let args = Args::parse_from(
        [
            "test",
            "--health-listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
            "--platform-database-url",
            &url,
            "--bootstrap-token-file",
            token_file.to_str().unwrap(),
            // Absent until a test writes it: the embedded catalog until then.
            "--plugin-catalog-configmap",
            "default/plugin-catalog",
        ]
        .into_iter()
        .chain(extra.iter().copied()),
    );
    let mut controller = args.controller;
    controller.leader_election = false;
    let db = dotmac_metering::open(&args.database.url).await.unwrap();
    let plugins = PluginCatalog::start(&args.catalog, client.clone()).unwrap();
    let controller_client = client.clone();
    let controller_db = db.clone();
    let controller_plugins = plugins.clone();
    tokio::spawn(async move {
        let _ = dotmac_operator::controller::run(
            controller_client,
            controller,
            controller_db,
            controller_plugins,
        )
        .await;
    });
    let (app, state) = dotmac_management_api::assemble(&args.api, db, client.clone(), plugins)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // Ready once the database answers and the caches hold their first lists.
    let http = reqwest::Client::new();
    eventually("/readyz", || async {
        let response = http
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    Harness {
        base: format!("http://{addr}/api/v1"),
        client,
        http: reqwest::Client::new(),
        admin: "bootstrap-admin-token-for-tests".into(),
        db: state.db,
        _cluster: cluster,
        _dir: dir,
        pg_name,
    }
}

impl Harness {
    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let problem = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json");
        let text = response.text().await.unwrap();
        if status.is_client_error() || status.is_server_error() {
            assert!(problem, "{status} {text}");
        }
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap()
            },
        )
    }

    async fn token(
        &self,
        name: &str,
        role: Role,
        reseller: Option<&str>,
        tenant: Option<&str>,
    ) -> String {
        tokens::create(&self.db, name, role, reseller, tenant)
            .await
            .unwrap()
    }

    async fn reseller(&self, name: &str) {
        let api: Api<dotmac_platform::crd::Reseller> = Api::all(self.client.clone());
        let reseller = serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Reseller",
            "metadata": {"name": name}, "spec": {"displayName": name, "contactEmail": format!("ops@{name}.example"), "tier": "gold"}})).unwrap();
        api.create(&Default::default(), &reseller).await.unwrap();
    }

    async fn wait_phase(&self, token: &str, name: &str, phase: &str) -> Value {
        for _ in 0..300 {
            let (status, body) = self
                .call(
                    Some(token),
                    Method::GET,
                    &format!("/tenant-orchestration/deployments/{name}"),
                    None,
                )
                .await;
            if status == StatusCode::OK && body["status"]["phase"] == phase {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{name} never reached {phase}");
    }
}

fn new_tenant(name: &str) -> Value {
    json!({"name": name, "spec": {"displayName": format!("ISP {name}"), "contactEmail": format!("noc@{name}.example"), "plan": "basic"}})
}

async fn lifecycle(postgres: bool) {
    let h = harness(postgres).await;
    let admin = h.admin.clone();
    // Create → Ready.
    let response = h
        .http
        .post(format!("{}/tenant-orchestration/deployments", h.base))
        .bearer_auth(&admin)
        .json(&new_tenant("alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        "/api/v1/tenant-orchestration/deployments/alpha"
    );
    h.wait_phase(&admin, "alpha", "Ready").await;
    // Scale, recorded as an Event.
    let (status, scaled) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments/alpha/scale",
            Some(json!({"replicas": 3, "reason": "evening peak"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{scaled}");
    assert_eq!(scaled["spec"]["replicas"], 3);
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(h.client.clone());
    let mut found = false;
    for _ in 0..50 {
        let list = events.list(&ListParams::default()).await.unwrap();
        if list.items.iter().any(|e| {
            e.reason.as_deref() == Some("Scaled")
                && e.note
                    .as_deref()
                    .is_some_and(|n| n.contains("evening peak"))
        }) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the scale reason is in an Event");
    // Patch the plan: the entitlements follow.
    let (status, patched) = h
        .call(
            Some(&admin),
            Method::PATCH,
            "/tenant-orchestration/deployments/alpha",
            Some(json!({"plan": "premium"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["spec"]["plan"], "premium");
    let (_, entitlements) = h
        .call(
            Some(&admin),
            Method::GET,
            "/plugins/entitlements/alpha",
            None,
        )
        .await;
    assert!(
        entitlements["features"]
            .as_array()
            .unwrap()
            .contains(&json!("white_labelling"))
    );
    // Bad input names the field and changes nothing.
    for (path, body, field) in [
        (
            "/tenant-orchestration/deployments/alpha",
            json!({"displayName": "x"}),
            "displayName",
        ),
        (
            "/tenant-orchestration/deployments/alpha",
            json!({"replicas": 99}),
            "spec.replicas",
        ),
        (
            "/tenant-orchestration/deployments/alpha/scale",
            json!({"replicas": 0, "reason": "x"}),
            "replicas",
        ),
        (
            "/tenant-orchestration/deployments/alpha/scale",
            json!({"replicas": 2, "reason": ""}),
            "reason",
        ),
    ] {
        let method = if path.ends_with("scale") {
            Method::POST
        } else {
            Method::PATCH
        };
        let (status, problem) = h.call(Some(&admin), method, path, Some(body)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {problem}"
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    for (body, field) in [
        (
            json!({"name": "Bad_Name", "spec": {"displayName": "x", "contactEmail": "a@b.example"}}),
            "name",
        ),
        (
            json!({"name": "beta", "spec": {"displayName": "x"}}),
            "spec",
        ),
        (
            json!({"name": "beta", "spec": {"displayName": "x", "contactEmail": "a@b.example", "plan": "gold"}}),
            "spec.plan",
        ),
    ] {
        let (status, problem) = h
            .call(
                Some(&admin),
                Method::POST,
                "/tenant-orchestration/deployments",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(
            problem["field"].as_str().unwrap().starts_with(field),
            "{problem}"
        );
    }
    let (status, _) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("alpha")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        Api::<Tenant>::all(h.client.clone())
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1,
        "bad input created nothing"
    );
    let (status, after) = h
        .call(
            Some(&admin),
            Method::GET,
            "/tenant-orchestration/deployments/alpha",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["spec"]["replicas"], 3);
    // Delete.
    let (status, _) = h
        .call(
            Some(&admin),
            Method::DELETE,
            "/tenant-orchestration/deployments/alpha",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for _ in 0..100 {
        if Api::<Tenant>::all(h.client.clone())
            .get_opt("alpha")
            .await
            .unwrap()
            .is_none()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("alpha was not deleted");
}

#[tokio::test]
async fn tenant_lifecycle_sqlite() {
    lifecycle(false).await;
}

#[tokio::test]
async fn tenant_lifecycle_postgres() {
    lifecycle(true).await;
}

#[tokio::test]
async fn roles_and_reseller_isolation() {
    let h = harness(false).await;
    h.reseller("north").await;
    h.reseller("south").await;
    let north = h
        .token("north-token", Role::Reseller, Some("north"), None)
        .await;
    let south = h
        .token("south-token", Role::Reseller, Some("south"), None)
        .await;
    let tenant = h.token("t-token", Role::Tenant, None, Some("n1")).await;
    let (status, created) = h
        .call(
            Some(&north),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("n1")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["spec"]["resellerRef"], "north",
        "a reseller's tenant is its own"
    );
    let mut other = new_tenant("n2");
    other["spec"]["resellerRef"] = json!("south");
    let (status, _) = h
        .call(
            Some(&north),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(other),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    h.wait_phase(&north, "n1", "Ready").await;
    // 401 without a token or with an unknown one; 404 for another reseller's tenant; 403 for a
    // tenant token on orchestration.
    assert_eq!(
        h.call(None, Method::GET, "/tenant-orchestration/deployments", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.call(
            Some("dmp_nope"),
            Method::GET,
            "/tenant-orchestration/deployments",
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.call(
            Some(&south),
            Method::GET,
            "/tenant-orchestration/deployments/n1",
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(
            Some(&south),
            Method::DELETE,
            "/tenant-orchestration/deployments/n1",
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(
            Some(&south),
            Method::POST,
            "/tenant-orchestration/deployments/n1/scale",
            Some(json!({"replicas": 2, "reason": "x"}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, listed) = h
        .call(
            Some(&south),
            Method::GET,
            "/tenant-orchestration/deployments",
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let (_, listed) = h
        .call(
            Some(&north),
            Method::GET,
            "/tenant-orchestration/deployments?reseller=north",
            None,
        )
        .await;
    assert_eq!(listed["items"][0]["name"], "n1");
    assert_eq!(
        h.call(
            Some(&tenant),
            Method::GET,
            "/tenant-orchestration/deployments",
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(Some(&tenant), Method::GET, "/plugins/entitlements/n1", None)
            .await
            .0,
        StatusCode::OK
    );
    // Revoked tokens stop working once the API's token cache lets them go.
    assert!(tokens::revoke(&h.db, "north-token").await.unwrap());
    tokio::time::sleep(dotmac_management_api::TOKEN_CACHE_TTL + Duration::from_millis(100)).await;
    assert_eq!(
        h.call(
            Some(&north),
            Method::GET,
            "/tenant-orchestration/deployments",
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
}

async fn usage_and_health(postgres: bool) {
    let h = harness(postgres).await;
    let (status, _) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("gamma")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    h.wait_phase(&h.admin, "gamma", "Ready").await;
    let instance = h
        .token("gamma-instance", Role::Tenant, None, Some("gamma"))
        .await;
    let events: Vec<Value> = (0..5)
        .map(|i| json!({"idempotency_key": format!("gamma:api_calls:{i}"), "metric": "api_calls", "quantity": 10, "occurred_at": "2026-11-24T10:00:00Z"}))
        .collect();
    let (status, first) = h
        .call(
            Some(&instance),
            Method::POST,
            "/plugins/usage-events",
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first, json!({"accepted": 5, "duplicates": 0}));
    let mut resent = events.clone();
    resent.push(json!({"idempotency_key": "gamma:api_calls:5", "metric": "api_calls", "quantity": 1, "occurred_at": "2026-11-24T10:01:00Z"}));
    let (_, second) = h
        .call(
            Some(&instance),
            Method::POST,
            "/plugins/usage-events",
            Some(json!({"events": resent})),
        )
        .await;
    assert_eq!(second, json!({"accepted": 1, "duplicates": 5}));
    let row = sea_orm::ConnectionTrait::query_one_raw(&h.db, sea_orm::Statement::from_string(h.db.get_database_backend(),
        "SELECT quantity, events FROM usage_rollups WHERE tenant = 'gamma' AND metric = 'api_calls' AND period = '2026-11'")).await.unwrap().unwrap();
    assert_eq!(
        row.try_get_by_index::<f64>(0).unwrap(),
        51.0,
        "duplicates are counted once"
    );
    assert_eq!(row.try_get_by_index::<i64>(1).unwrap(), 6);
    // A tenant token reports only for itself; bad events name the field; nothing is written.
    let (status, _) = h.call(Some(&instance), Method::POST, "/plugins/usage-events", Some(json!({"events": [{"idempotency_key": "x", "tenant": "other", "metric": "api_calls", "quantity": 1, "occurred_at": "2026-11-24T10:00:00Z"}]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"idempotency_key": format!("k{i}"), "metric": "m", "quantity": 1, "occurred_at": "2026-11-24T10:00:00Z"})).collect();
    for (body, field) in [
        (json!({"events": []}), "events"),
        (json!({"events": too_many}), "events"),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "Bad Metric", "quantity": 1, "occurred_at": "2026-11-24T10:00:00Z"}]}),
            "events[0].metric",
        ),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "m", "quantity": -1, "occurred_at": "2026-11-24T10:00:00Z"}]}),
            "events[0].quantity",
        ),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "m", "quantity": "1", "occurred_at": "2026-11-24T10:00:00Z"}]}),
            "events[0].quantity",
        ),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "m", "quantity": 1, "occurred_at": "yesterday"}]}),
            "events[0].occurred_at",
        ),
    ] {
        let (status, problem) = h
            .call(
                Some(&instance),
                Method::POST,
                "/plugins/usage-events",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field);
    }
    let count = sea_orm::ConnectionTrait::query_one_raw(
        &h.db,
        sea_orm::Statement::from_string(
            h.db.get_database_backend(),
            "SELECT COUNT(*) FROM usage_events",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(count.try_get_by_index::<i64>(0).unwrap(), 6);
    // Health reaches the Tenant's status.
    let (status, _) = h.call(Some(&instance), Method::POST, "/monitoring/health-checks", Some(json!({"status": "Degraded", "checks": {"database": "ok", "redis": "unavailable"}, "message": "Redis down"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, problem) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/health-checks",
            Some(json!({"status": "Sleepy"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "status");
    assert_eq!(
        rows(&h, "health_checks").await,
        1,
        "the refused report was not stored"
    );
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    for _ in 0..50 {
        let tenant = tenants.get("gamma").await.unwrap();
        if let Some(health) = tenant.status.and_then(|s| s.health) {
            assert_eq!(json!(health.status), json!("Degraded"));
            assert_eq!(health.message.as_deref(), Some("Redis down"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the health report never reached the Tenant's status");
}

#[tokio::test]
async fn usage_and_health_sqlite() {
    usage_and_health(false).await;
}

#[tokio::test]
async fn usage_and_health_postgres() {
    usage_and_health(true).await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let h = harness(false).await;
    let (status, document) = h.call(None, Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    for path in [
        "/tenant-orchestration/deployments",
        "/tenant-orchestration/deployments/{tenant_id}",
        "/tenant-orchestration/deployments/{tenant_id}/scale",
        "/plugins/entitlements/{tenant_id}",
        "/plugins/usage-events",
        "/monitoring/health-checks",
        "/monitoring/alerts",
        "/monitoring/metrics",
        "/resellers",
        "/resellers/{name}/tenants",
        "/plugins/catalog",
        "/plugins/subscriptions",
    ] {
        assert!(document["paths"][path].is_object(), "{path}");
    }
    // Requests are counted under their route template, never the raw path.
    h.call(
        Some(&h.admin),
        Method::GET,
        "/tenant-orchestration/deployments/nobody",
        None,
    )
    .await;
    let text = h
        .http
        .get(h.base.replace("/api/v1", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("dotmac_api_requests_total{method=\"GET\",route=\"/api/v1/tenant-orchestration/deployments/{tenant_id}\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/openapi.json\",status=\"200\""),
        "{text}"
    );
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_response_breaking_the_document() {
    let h = harness(false).await;
    h.reseller("north").await;
    let (status, _) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("known")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let schemathesis = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/venv/bin/schemathesis"
    );
    assert!(
        std::path::Path::new(schemathesis).exists(),
        "schemathesis not found at {schemathesis}: run scripts/tools"
    );
    let url = format!("{}/openapi.json", h.base);
    let auth = format!("Authorization: Bearer {}", h.admin);
    let output = tokio::process::Command::new(schemathesis)
        .args(["run", &url, "-H", &auth, "--max-examples", "40", "--seed", "7", "--no-color"])
        .args(["--generation-database", "none"])
        .args(["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn rows(h: &Harness, table: &str) -> i64 {
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &h.db,
        sea_orm::Statement::from_string(
            h.db.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn resellers_alerts_and_metrics() {
    let h = harness(false).await;
    let admin = h.admin.clone();
    let east = json!({"name": "east", "spec": {"displayName": "East Partners", "contactEmail": "ops@east.example", "tier": "gold"}});
    let (status, created) = h
        .call(Some(&admin), Method::POST, "/resellers", Some(east.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        h.call(Some(&admin), Method::POST, "/resellers", Some(east))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, problem) = h.call(Some(&admin), Method::POST, "/resellers", Some(json!({"name": "West!", "spec": {"displayName": "W", "contactEmail": "w@w.example", "tier": "gold"}}))).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    let (status, problem) = h.call(Some(&admin), Method::POST, "/resellers", Some(json!({"name": "west", "spec": {"displayName": "W", "contactEmail": "w@w.example", "tier": "tin"}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["field"].as_str().unwrap().contains("tier"),
        "{problem}"
    );
    let (_, resellers) = h.call(Some(&admin), Method::GET, "/resellers", None).await;
    assert_eq!(
        resellers["items"].as_array().unwrap().len(),
        1,
        "refused resellers were not created"
    );

    let limited = json!({"name": "tiny", "spec": {"displayName": "Tiny", "contactEmail": "ops@tiny.example", "tier": "bronze", "maxTenants": 1, "allowedPlans": ["free", "basic"]}});
    assert_eq!(
        h.call(Some(&admin), Method::POST, "/resellers", Some(limited))
            .await
            .0,
        StatusCode::CREATED
    );
    let mut premium = new_tenant("t1");
    premium["spec"]["resellerRef"] = json!("tiny");
    premium["spec"]["plan"] = json!("premium");
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(premium),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("spec.plan")),
        "{problem}"
    );
    let mut first = new_tenant("t1");
    first["spec"]["resellerRef"] = json!("tiny");
    assert_eq!(
        h.call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(first)
        )
        .await
        .0,
        StatusCode::CREATED
    );
    h.wait_phase(&admin, "t1", "Ready").await;
    let mut second = new_tenant("t2");
    second["spec"]["resellerRef"] = json!("tiny");
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(second),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "maxTenants: {problem}");

    let reseller = h
        .token("east-token", Role::Reseller, Some("east"), None)
        .await;
    assert_eq!(h.call(Some(&reseller), Method::POST, "/resellers", Some(json!({"name": "x", "spec": {"displayName": "X", "contactEmail": "x@x.example", "tier": "gold"}}))).await.0, StatusCode::FORBIDDEN);
    let (_, listed) = h
        .call(Some(&reseller), Method::GET, "/resellers", None)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        h.call(
            Some(&reseller),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("e1"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let mut seen = false;
    for _ in 0..50 {
        let (_, tenants) = h
            .call(
                Some(&reseller),
                Method::GET,
                "/resellers/east/tenants",
                None,
            )
            .await;
        if tenants["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "e1")
        {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the reseller's tenant is listed");
    assert_eq!(
        h.call(
            Some(&reseller),
            Method::GET,
            "/resellers/west/tenants",
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    let instance = h.token("e1-instance", Role::Tenant, None, Some("e1")).await;
    let alert = json!({"name": "disk_almost_full", "severity": "warning", "message": "90 % used"});
    let (status, first) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/alerts",
            Some(alert.clone()),
        )
        .await;
    assert_eq!(
        (status, first["count"].as_i64()),
        (StatusCode::CREATED, Some(1))
    );
    let (status, again) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/alerts",
            Some(alert),
        )
        .await;
    assert_eq!(
        (status, again["count"].as_i64()),
        (StatusCode::OK, Some(2)),
        "the same alert within an hour counts up"
    );
    let (status, _) = h.call(Some(&instance), Method::POST, "/monitoring/alerts", Some(json!({"name": "backup_failed", "severity": "critical", "message": "nightly backup"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(rows(&h, "alerts").await, 2);
    for (body, field) in [
        (
            json!({"name": "x", "severity": "apocalyptic", "message": "m"}),
            "severity",
        ),
        (
            json!({"name": "Bad Name", "severity": "info", "message": "m"}),
            "name",
        ),
        (
            json!({"name": "x", "severity": "info", "message": ""}),
            "message",
        ),
    ] {
        let (status, problem) = h
            .call(
                Some(&instance),
                Method::POST,
                "/monitoring/alerts",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field);
    }
    assert_eq!(
        h.call(
            Some(&instance),
            Method::POST,
            "/monitoring/alerts",
            Some(json!({"tenant": "other", "name": "x", "severity": "info", "message": "m"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = h.call(Some(&instance), Method::POST, "/monitoring/metrics", Some(json!({"samples": [{"name": "requests_per_second", "value": 12.5}, {"name": "p99_ms", "value": 41.0, "at": "2026-11-24T10:00:00Z"}]}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, problem) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/metrics",
            Some(json!({"samples": []})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("samples"))
    );
    let (status, problem) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/metrics",
            Some(json!({"samples": [{"name": "ok", "value": "high"}]})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("samples[0].value"))
    );
    assert_eq!(rows(&h, "metrics").await, 2);
    assert_eq!(
        h.call(
            Some(&reseller),
            Method::POST,
            "/monitoring/metrics",
            Some(json!({"tenant": "e1", "samples": [{"name": "x", "value": 1}]}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn plugin_catalog_and_trial_subscriptions() {
    let h = harness(false).await;
    let admin = h.admin.clone();
    h.reseller("north").await;
    let north = h
        .token("north-token", Role::Reseller, Some("north"), None)
        .await;
    let mut tenant = new_tenant("p1");
    tenant["spec"]["resellerRef"] = json!("north");
    assert_eq!(
        h.call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(tenant)
        )
        .await
        .0,
        StatusCode::CREATED
    );
    h.wait_phase(&admin, "p1", "Ready").await;
    let (status, catalog) = h
        .call(Some(&north), Method::GET, "/plugins/catalog", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let analytics = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "advanced-analytics")
        .unwrap()
        .clone();
    assert_eq!(analytics["trialDays"], 14);
    assert_eq!(analytics["tiers"][0]["limits"]["api_calls"], 100_000);

    let (status, license) = h
        .call(
            Some(&north),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "advanced-analytics"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{license}");
    assert_eq!(license["name"], "p1-advanced-analytics");
    assert_eq!(
        license["spec"]["trialDays"], 14,
        "a plugin with trial days starts as a trial"
    );
    assert_eq!(license["spec"]["tier"], "starter");
    assert!(
        license["spec"].get("limits").is_none(),
        "tier limits come from the catalog, spec.limits only overrides: {license}"
    );
    let stored: Api<dotmac_platform::crd::PluginLicense> = Api::all(h.client.clone());
    assert_eq!(
        stored
            .get("p1-advanced-analytics")
            .await
            .unwrap()
            .spec
            .tenant_ref,
        "p1"
    );
    let (status, paid) = h
        .call(
            Some(&admin),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "voip-gateway", "tier": "pro"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        paid["spec"]["trialDays"], 0,
        "a plugin without trial days is paid from the start"
    );

    assert_eq!(
        h.call(
            Some(&north),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "advanced-analytics"}))
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    for (body, field) in [
        (json!({"tenant": "p1", "plugin": "teleportation"}), "plugin"),
        (
            json!({"tenant": "p1", "plugin": "ai-insights", "tier": "gold"}),
            "tier",
        ),
        (json!({"tenant": "p1"}), "plugin"),
    ] {
        let (status, problem) = h
            .call(
                Some(&admin),
                Method::POST,
                "/plugins/subscriptions",
                Some(body),
            )
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{problem}"
        );
    }
    h.reseller("south").await;
    let south = h
        .token("south-token", Role::Reseller, Some("south"), None)
        .await;
    assert_eq!(
        h.call(
            Some(&south),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "ai-insights"}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let instance = h.token("p1-instance", Role::Tenant, None, Some("p1")).await;
    assert_eq!(
        h.call(
            Some(&instance),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "ai-insights"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        stored
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        2,
        "refused subscriptions made nothing"
    );
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit_in_redis() {
    let h = harness_with(
        false,
        &[
            "--api-redis-url",
            &dotmac_testkit::require_redis(),
            "--api-rate-limit-per-minute",
            "5",
        ],
    )
    .await;
    let first = h
        .token(
            &format!("limited-{}", uuid::Uuid::new_v4().simple()),
            Role::Admin,
            None,
            None,
        )
        .await;
    let second = h
        .token(
            &format!("other-{}", uuid::Uuid::new_v4().simple()),
            Role::Admin,
            None,
            None,
        )
        .await;
    let mut limited = 0;
    for _ in 0..12 {
        let (status, problem) = h
            .call(Some(&first), Method::GET, "/plugins/catalog", None)
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(problem["type"], "https://dotmac.io/problems/rate-limited");
            limited += 1;
        }
    }
    // Twelve calls may straddle a minute boundary: at least one window overflowed.
    assert!(limited >= 1, "no 429 after 12 calls at 5 a minute");
    assert_eq!(
        h.call(Some(&second), Method::GET, "/plugins/catalog", None)
            .await
            .0,
        StatusCode::OK,
        "another token has its own budget"
    );
}

/// Polls `check` every 100 ms for up to 60 s.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    for _ in 0..600 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The features in the tenant's ConfigMap (what its instance reads).
async fn configmap_features(client: &Client, tenant: &str) -> Vec<String> {
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), &format!("dotmac-tenant-{tenant}"));
    let Ok(list) = maps.list(&ListParams::default()).await else {
        return Vec::new();
    };
    list.items
        .iter()
        .filter_map(|m| m.data.as_ref()?.get("entitlements.json").cloned())
        .filter_map(|file| serde_json::from_str::<Value>(&file).ok())
        .flat_map(|v| {
            v["features"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
        })
        .collect()
}

#[tokio::test]
async fn licenses_trial_to_paid_limits_conflicts_and_reseller_commissions() {
    let h = harness_with(true, &["--usage-poll-seconds", "1"]).await;
    let admin = h.admin.clone();
    let licenses: Api<dotmac_platform::crd::PluginLicense> = Api::all(h.client.clone());
    let resellers: Api<dotmac_platform::crd::Reseller> = Api::all(h.client.clone());
    let (status, _) = h
        .call(
            Some(&admin),
            Method::POST,
            "/resellers",
            Some(json!({"name": "west",
            "spec": {"displayName": "West", "contactEmail": "ops@west.example", "tier": "gold",
                     "maxTenants": 1, "allowedPlans": ["basic", "premium"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let west = h
        .token("west-token", Role::Reseller, Some("west"), None)
        .await;
    let mut tenant = new_tenant("l1");
    tenant["spec"]["plan"] = json!("premium");
    tenant["spec"]["resellerRef"] = json!("west");
    let (status, body) = h
        .call(
            Some(&west),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(tenant),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    h.wait_phase(&west, "l1", "Ready").await;

    // A paid license (no trial days) and a trial both grant their features at once.
    for plugin in ["voip-gateway", "ai-insights"] {
        let (status, body) = h
            .call(
                Some(&west),
                Method::POST,
                "/plugins/subscriptions",
                Some(json!({"tenant": "l1", "plugin": plugin})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let state = |name: &'static str| {
        let licenses = licenses.clone();
        move || {
            let licenses = licenses.clone();
            async move {
                licenses
                    .get(name)
                    .await
                    .ok()
                    .and_then(|l| l.status)
                    .and_then(|s| s.state)
                    .map(|s| format!("{s:?}"))
            }
        }
    };
    assert_eq!(
        eventually("voip state", state("l1-voip-gateway")).await,
        "Active"
    );
    assert_eq!(
        eventually("trial state", state("l1-ai-insights")).await,
        "Trial"
    );
    let entitled = |feature: &'static str, wanted: bool| {
        let h = &h;
        let west = west.clone();
        move || {
            let west = west.clone();
            async move {
                let (_, body) = h
                    .call(Some(&west), Method::GET, "/plugins/entitlements/l1", None)
                    .await;
                let api = body["features"]
                    .as_array()
                    .is_some_and(|f| f.contains(&json!(feature)));
                let file = configmap_features(&h.client, "l1")
                    .await
                    .iter()
                    .any(|f| f == feature);
                (api == wanted && file == wanted).then_some(())
            }
        }
    };
    eventually("voip licensed", entitled("voip", true)).await;
    eventually(
        "ai_insights licensed in trial",
        entitled("ai_insights", true),
    )
    .await;

    // Revenue counts the plan and the paid license, not the trial: gold earns 15 %.
    let mrr = |amount: i64| {
        let resellers = resellers.clone();
        move || {
            let resellers = resellers.clone();
            async move {
                let status = resellers.get("west").await.ok()?.status?;
                (status.monthly_recurring_revenue.as_ref()?.amount_minor == amount)
                    .then_some(status)
            }
        }
    };
    let status = eventually("MRR with the paid license", mrr(29_900 + 9_900)).await;
    assert_eq!(status.commission_accrued.unwrap().amount_minor, 5_970);
    assert_eq!(status.tenants.unwrap().names, vec!["l1".to_owned()]);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let (status, ledger) = h
        .call(
            Some(&west),
            Method::GET,
            "/resellers/west/commissions",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ledger["items"][0]["period"], json!(month));
    assert_eq!(ledger["items"][0]["commission"]["amountMinor"], 5_970);
    assert_eq!(ledger["items"][0]["lines"][0]["tenant"], "l1");

    // Trial → paid: the trial ends now and the license joins the revenue.
    let (status, body) = h
        .call(
            Some(&west),
            Method::POST,
            "/plugins/subscriptions/l1-ai-insights/activate",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["spec"]["trialDays"], 0);
    assert_eq!(
        eventually("paid", || async {
            let s = state("l1-ai-insights")().await?;
            (s == "Active").then_some(s)
        })
        .await,
        "Active"
    );
    let status = eventually("MRR with both licenses", mrr(29_900 + 9_900 + 29_900)).await;
    assert_eq!(status.commission_accrued.unwrap().amount_minor, 10_455);
    let (_, ledger) = h
        .call(
            Some(&admin),
            Method::GET,
            "/resellers/west/commissions",
            None,
        )
        .await;
    assert_eq!(
        ledger["items"].as_array().unwrap().len(),
        1,
        "one row per month, updated"
    );
    assert_eq!(ledger["items"][0]["commission"]["amountMinor"], 10_455);

    // A second live license for the same plugin: refused by the API, Conflict when applied.
    let (status, _) = h
        .call(
            Some(&west),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "l1", "plugin": "voip-gateway", "tier": "pro"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let second: dotmac_platform::crd::PluginLicense = serde_json::from_value(json!({
        "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "PluginLicense",
        "metadata": {"name": "l1-voip-again"},
        "spec": {"tenantRef": "l1", "plugin": "voip-gateway", "tier": "pro"}}))
    .unwrap();
    licenses.create(&Default::default(), &second).await.unwrap();
    let conflict = eventually("conflict", || async {
        let s = licenses.get("l1-voip-again").await.ok()?.status?;
        s.conditions
            .iter()
            .find(|c| c.type_ == "Conflict" && c.status == "True")
            .cloned()
    })
    .await;
    assert!(
        conflict.message.contains("l1-voip-gateway"),
        "{}",
        conflict.message
    );
    assert!(
        licenses
            .get("l1-voip-again")
            .await
            .unwrap()
            .status
            .unwrap()
            .entitlements
            .is_empty()
    );
    // An expired license holds nothing and conflicts with nothing.
    let expired: dotmac_platform::crd::PluginLicense = serde_json::from_value(json!({
        "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "PluginLicense",
        "metadata": {"name": "l1-sms-lapsed"},
        "spec": {"tenantRef": "l1", "plugin": "sms-notifications", "validUntil": "2026-01-01T00:00:00Z", "autoRenew": false}})).unwrap();
    licenses
        .create(&Default::default(), &expired)
        .await
        .unwrap();
    assert_eq!(
        eventually("expired", state("l1-sms-lapsed")).await,
        "Expired"
    );

    // Usage over the limit withdraws the metered plugin's feature from the tenant.
    let instance = h.token("l1-instance", Role::Tenant, None, Some("l1")).await;
    let now = chrono::Utc::now().to_rfc3339();
    let (status, body) = h
        .call(Some(&instance), Method::POST, "/plugins/usage-events", Some(json!({"events": [
            {"idempotency_key": "l1:tx:1", "plugin": "voip-gateway", "metric": "transactions", "quantity": 6000, "occurred_at": now},
            {"idempotency_key": "l1:tx:2", "plugin": "voip-gateway", "metric": "transactions", "quantity": 4000, "occurred_at": now},
        ]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let usage = eventually("usage in status", || async {
        let s = licenses.get("l1-voip-gateway").await.ok()?.status?;
        (s.usage.get("transactions") == Some(&10_000)).then_some(s)
    })
    .await;
    assert!(
        usage.entitlements.contains(&"voip".to_owned()),
        "at the limit is not over it"
    );
    assert_eq!(
        usage.limits["transactions"], 10_000,
        "the tier's limit, in status"
    );
    h.call(Some(&instance), Method::POST, "/plugins/usage-events", Some(json!({"events": [
        {"idempotency_key": "l1:tx:3", "plugin": "voip-gateway", "metric": "transactions", "quantity": 1, "occurred_at": now},
    ]})))
    .await;
    let over = eventually("LimitExceeded", || async {
        let s = licenses.get("l1-voip-gateway").await.ok()?.status?;
        s.conditions
            .iter()
            .find(|c| c.type_ == "LimitExceeded" && c.status == "True")
            .cloned()
    })
    .await;
    assert!(
        over.message.contains("transactions 10001 of 10000"),
        "{}",
        over.message
    );
    eventually("voip withdrawn", entitled("voip", false)).await;
    eventually("ai_insights kept", entitled("ai_insights", true)).await;

    // Suspending a license withdraws its features without ending it; lifting it restores them.
    let suspend = |on: bool| {
        let licenses = licenses.clone();
        async move {
            licenses
                .patch(
                    "l1-ai-insights",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(json!({"spec": {"suspended": on}})),
                )
                .await
        }
    };
    suspend(true).await.unwrap();
    assert_eq!(
        eventually("suspended", || async {
            let s = state("l1-ai-insights")().await?;
            (s == "Suspended").then_some(s)
        })
        .await,
        "Suspended"
    );
    eventually("ai_insights withdrawn", entitled("ai_insights", false)).await;
    suspend(false).await.unwrap();
    eventually("ai_insights back", entitled("ai_insights", true)).await;
    assert_eq!(state("l1-ai-insights")().await.as_deref(), Some("Active"));

    // A tenant applied with kubectl past the reseller's limits shows on the reseller.
    let mut applied: dotmac_platform::crd::Tenant = serde_json::from_value(json!({
        "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "l2"},
        "spec": {"displayName": "L2", "contactEmail": "noc@l2.example", "plan": "enterprise", "resellerRef": "west"}})).unwrap();
    applied.metadata.labels = None;
    Api::<dotmac_platform::crd::Tenant>::all(h.client.clone())
        .create(&Default::default(), &applied)
        .await
        .unwrap();
    let status = eventually("limit conditions", || async {
        let s = resellers.get("west").await.ok()?.status?;
        (s.tenants.as_ref()?.count == 2).then_some(s)
    })
    .await;
    let condition = |t: &str| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            condition("TenantLimitReached").status.as_str(),
            condition("TenantLimitReached").reason.as_str()
        ),
        ("True", "OverLimit")
    );
    assert_eq!(condition("PlanNotAllowed").status, "True");
    assert!(
        condition("PlanNotAllowed")
            .message
            .contains("l2 (enterprise)")
    );

    // Bad input and other callers: clear problems, and the ledger is untouched.
    let ledger_rows = rows(&h, "commission_ledger WHERE reseller = 'west'").await;
    h.reseller("east").await;
    let east = h
        .token("east-token", Role::Reseller, Some("east"), None)
        .await;
    for (token, path, wanted) in [
        (&east, "/resellers/west/commissions", StatusCode::NOT_FOUND),
        (
            &instance,
            "/resellers/west/commissions",
            StatusCode::NOT_FOUND,
        ),
        (
            &admin,
            "/resellers/nobody/commissions",
            StatusCode::NOT_FOUND,
        ),
        (
            &admin,
            "/resellers/west/commissions?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            "/resellers/west/commissions?cursor=2026-13",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            "/resellers/west/commissions?colour=red",
            StatusCode::BAD_REQUEST,
        ),
        (&admin, "/plugins/subscriptions/nope", StatusCode::NOT_FOUND),
        (
            &east,
            "/plugins/subscriptions/l1-voip-gateway",
            StatusCode::NOT_FOUND,
        ),
        (
            &instance,
            "/plugins/subscriptions/l1-voip-gateway",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, problem) = h.call(Some(token), Method::GET, path, None).await;
        assert_eq!(status, wanted, "{path}: {problem}");
    }
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::GET,
            "/resellers/west/commissions?cursor=2026-13",
            None,
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor"))
    );
    for (token, name, wanted) in [
        (&east, "l1-voip-gateway", StatusCode::NOT_FOUND),
        (&admin, "nope", StatusCode::NOT_FOUND),
        (&admin, "l1-sms-lapsed", StatusCode::CONFLICT),
    ] {
        let (status, problem) = h
            .call(
                Some(token),
                Method::POST,
                &format!("/plugins/subscriptions/{name}/activate"),
                None,
            )
            .await;
        assert_eq!(status, wanted, "{name}: {problem}");
    }
    assert_eq!(
        licenses.get("l1-sms-lapsed").await.unwrap().spec.trial_days,
        0
    );
    assert!(
        !licenses.get("l1-sms-lapsed").await.unwrap().spec.auto_renew,
        "a refused activation changed nothing"
    );
    assert_eq!(
        rows(&h, "commission_ledger WHERE reseller = 'west'").await,
        ledger_rows
    );
}

#[tokio::test]
async fn the_plugin_catalog_follows_its_configmap() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let h = harness(false).await;
    let admin = h.admin.clone();
    let licenses: Api<dotmac_platform::crd::PluginLicense> = Api::all(h.client.clone());
    let maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    let catalog_has = |plugin: &'static str, present: bool| {
        let h = &h;
        let admin = admin.clone();
        move || {
            let admin = admin.clone();
            async move {
                let (_, body) = h
                    .call(Some(&admin), Method::GET, "/plugins/catalog", None)
                    .await;
                let items = body["items"].as_array()?.clone();
                (items.iter().any(|p| p["id"] == plugin) == present).then_some(items)
            }
        }
    };
    assert_eq!(
        h.call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("c1"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    h.wait_phase(&admin, "c1", "Ready").await;
    let (status, _) = h
        .call(
            Some(&admin),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "c1", "plugin": "advanced-analytics"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let limit = |value: i64| {
        let licenses = licenses.clone();
        move || {
            let licenses = licenses.clone();
            async move {
                let s = licenses.get("c1-advanced-analytics").await.ok()?.status?;
                (s.limits.get("api_calls") == Some(&value)).then_some(())
            }
        }
    };
    eventually("the embedded tier limit", limit(100_000)).await;

    // A ConfigMap replaces the catalog: a new plugin, a lower limit on an existing tier.
    let text = Catalog::embedded_text().replacen(
        "limits: {api_calls: 100000}",
        "limits: {api_calls: 500}",
        1,
    ) + "  - id: fibre-maps\n    name: Fibre maps\n    features: [fibre_maps]\n    tiers:\n      - {name: standard, monthlyPrice: 500, currency: USD}\n";
    let configmap = |text: &str| -> ConfigMap {
        serde_json::from_value(
            json!({"metadata": {"name": "plugin-catalog"}, "data": {"plugins.yaml": text}}),
        )
        .unwrap()
    };
    maps.create(&Default::default(), &configmap(&text))
        .await
        .unwrap();
    let items = eventually("fibre-maps in the catalog", catalog_has("fibre-maps", true)).await;
    assert_eq!(items.len(), 6);
    eventually("the license following the new limit", limit(500)).await;
    let (status, body) = h
        .call(
            Some(&admin),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "c1", "plugin": "fibre-maps"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    eventually("fibre_maps entitled", || async {
        configmap_features(&h.client, "c1")
            .await
            .contains(&"fibre_maps".to_owned())
            .then_some(())
    })
    .await;

    // A broken edit is refused with an event; the catalog in force stays.
    maps.replace(
        "plugin-catalog",
        &Default::default(),
        &configmap(&text.replace("currency: USD}", "currency: EUR}")),
    )
    .await
    .unwrap();
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(h.client.clone(), "default");
    let refused = eventually("the InvalidCatalog event", || async {
        events
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("InvalidCatalog"))
    })
    .await;
    let note = refused.note.unwrap_or_default();
    assert!(
        note.contains("plugins[5].tiers[0].currency"),
        "the event names the field: {note}"
    );
    eventually("fibre-maps kept", catalog_has("fibre-maps", true)).await;

    // Without the ConfigMap the embedded catalog is back, and the license for the plugin it
    // lacks grants nothing.
    maps.delete("plugin-catalog", &Default::default())
        .await
        .unwrap();
    eventually("fibre-maps gone", catalog_has("fibre-maps", false)).await;
    eventually("UnknownPlugin", || async {
        let s = licenses.get("c1-fibre-maps").await.ok()?.status?;
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.reason == "UnknownPlugin")
            .then_some(())
    })
    .await;
    eventually("fibre_maps withdrawn", || async {
        (!configmap_features(&h.client, "c1")
            .await
            .contains(&"fibre_maps".to_owned()))
        .then_some(())
    })
    .await;
    eventually("the embedded limit again", limit(100_000)).await;
}

#[tokio::test]
async fn while_its_caches_load_the_api_is_not_ready_and_answers_503() {
    dotmac_telemetry::install_crypto_provider();
    // A cluster that never answers: the tenant and license caches never fill.
    let client =
        Client::try_from(kube::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
    let platform = common::PlatformDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("bootstrap-token");
    std::fs::write(&token_file, "bootstrap-admin-token-for-tests\n").unwrap();
    let args = Args::parse_from([
        "test",
        "--bootstrap-token-file",
        token_file.to_str().unwrap(),
    ]);
    let plugins = PluginCatalog::fixed(Catalog::embedded().unwrap());
    let (app, _) = dotmac_management_api::assemble(&args.api, platform.db.clone(), client, plugins)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();

    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], true);
    assert_eq!(body["checks"]["tenantCache"], false);

    // An empty cache must not answer "no tenants"; the list waits, then says why it cannot.
    let list = http
        .get(format!("{base}/api/v1/tenant-orchestration/deployments"))
        .bearer_auth("bootstrap-admin-token-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(list.headers()["content-type"], "application/problem+json");
    let problem: Value = list.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("tenant cache")),
        "{problem}"
    );
}
