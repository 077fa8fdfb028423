//! The management API over HTTP against devcluster and a real platform database (SQLite and
//! PostgreSQL): the tenant lifecycle through the API with the controller running, token roles
//! and reseller isolation, usage events counted once, health reports reaching the Tenant's
//! status, tokens made and revoked over the API, who did what to which tenant in the audit
//! log, people signing in (passwords, TOTP, lockout, sessions) with a route matrix over every
//! caller, and bad input answered with problem+json and nothing written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod audit;
#[path = "../common/mod.rs"]
mod common;
mod document;
mod licenses;
mod people;
mod plugins;
mod readiness;
mod reports;
mod resellers;
mod tenants;

use std::time::Duration;

use clap::Parser;
use dotmac_management_api::{
    self, ApiConfig, PlatformDatabase,
    tokens::{self, Role},
};
use dotmac_operator::config::ControllerConfig;
use dotmac_platform::{
    crd::Tenant,
    plugins::{
        Catalog,
        source::{CatalogConfig, PluginCatalog},
    },
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
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
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
