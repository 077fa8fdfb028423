//! An isp-runtime instance for tests: served in process on a free port, on embedded SQLite or
//! a fresh PostgreSQL database of its own (dropped afterwards), with a staff token.

#![allow(dead_code, reason = "each test file uses part of the harness")]

pub mod radius;

use std::net::SocketAddr;

use dotmac_isp::{
    api::AppState,
    config::{DatabaseConfig, ServeConfig},
    entitlements::Gate,
    people::Role,
    server, tokens,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Which database backs the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How the instance is set up.
pub struct Options {
    pub redis: bool,
    pub gate: Option<Gate>,
    pub batch_size: u64,
    pub rate_limit: u64,
    pub currency: &'static str,
    pub management_api: Option<String>,
    pub max_customers: Option<u64>,
    pub time_zone: &'static str,
    pub scheduled_runs: bool,
    /// SMTP for invitation and reset e-mail.
    pub smtp_url: Option<String>,
    /// Take client addresses from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Serve the AAA endpoints for FreeRADIUS (with [`AAA_SECRET`]).
    pub aaa: bool,
    /// What suspended subscribers get in the LibreQoS export.
    pub libreqos_suspended: dotmac_isp::network::libreqos::SuspendedShaping,
    /// Most database connections the instance holds.
    pub max_connections: u32,
    /// What suspended subscribers get from RADIUS.
    pub suspended_access: dotmac_isp::network::aaa::SuspendedAccess,
    /// The tenant's OpenBao, for network secrets.
    pub openbao: Option<dotmac_isp::openbao::BaoConfig>,
    /// FreeRADIUS's status port, whose drop counters the instance reads.
    pub radius_status: Option<std::net::SocketAddr>,
    /// How often network enforcement runs (the shipped default is 1,000 ms; tests wait less).
    pub network_tick_ms: u64,
}

/// The password FreeRADIUS signs in to a test instance's AAA endpoints with.
pub const AAA_SECRET: &str = "aaa-test-secret-0123456789";

impl Default for Options {
    fn default() -> Self {
        Self {
            redis: false,
            gate: None,
            batch_size: 1000,
            rate_limit: 600,
            currency: "USD",
            management_api: None,
            max_customers: None,
            time_zone: "UTC",
            scheduled_runs: false,
            smtp_url: None,
            trust_forwarded_for: false,
            aaa: false,
            max_connections: 4,
            libreqos_suspended: dotmac_isp::network::libreqos::SuspendedShaping::Exclude,
            suspended_access: dotmac_isp::network::aaa::SuspendedAccess::Reject,
            openbao: None,
            radius_status: None,
            network_tick_ms: 100,
        }
    }
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}?mode=rwc", dir.path().join("isp.db").display()),
                name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let name = format!("isp_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(&dotmac_testkit::require_postgres())
                    .await
                    .unwrap();
                sea_orm::ConnectionTrait::execute_unprepared(
                    &admin,
                    &format!("CREATE DATABASE {name}"),
                )
                .await
                .unwrap();
                admin.close().await.unwrap();
                Self {
                    url: dotmac_testkit::postgres_url(&name),
                    name: Some(name),
                    _dir: dir,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            // Dropped from a thread of its own: Drop cannot await on the test's runtime.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
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

/// A served instance.
pub struct TestApp {
    pub base: String,
    pub token: String,
    pub tenant: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub db: TestDatabase,
    /// The AAA endpoints' base URL, when served.
    pub aaa: Option<String>,
    server: tokio::task::JoinHandle<()>,
    aaa_server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(aaa) = &self.aaa_server {
            aaa.abort();
        }
    }
}

/// The tenant name tests use: unique, so Redis keys never collide.
pub fn tenant_name() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

impl TestApp {
    pub async fn start(backend: Backend, options: Options) -> Self {
        dotmac_telemetry::install_crypto_provider();
        let db = TestDatabase::create(backend).await;
        let tenant = tenant_name();
        let config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: DatabaseConfig {
                max_connections: options.max_connections,
                database_url: db.url.clone(),
                tenant: tenant.clone(),
            },
            redis_url: options.redis.then(dotmac_testkit::require_redis),
            entitlements_file: None,
            portals_dir: None,
            currency: options.currency.to_owned(),
            payment_terms_days: 30,
            rate_limit_per_minute: options.rate_limit,
            max_customers: options.max_customers,
            time_zone: options.time_zone.to_owned(),
            billing_hour: 2,
            dunning_hour: 6,
            scheduled_runs: options.scheduled_runs,
            billing_batch_size: options.batch_size,
            run_lease_seconds: 60,
            management_api_url: options.management_api.clone(),
            management_api_token: options
                .management_api
                .as_ref()
                .map(|_| "tenant-token".to_owned()),
            usage_report_seconds: 1,
            health_report_seconds: 1,
            public_url: "http://isp.test".to_owned(),
            trust_forwarded_for: options.trust_forwarded_for,
            smtp_url: options.smtp_url.clone(),
            mail_from: "Test ISP <noreply@isp.test>".to_owned(),
            aaa_listen: None,
            aaa_secret: options.aaa.then(|| AAA_SECRET.to_owned()),
            acct_interim_seconds: 300,
            suspended_access: options.suspended_access,
            walled_garden_filter: "walled-garden".to_owned(),
            service_filter: "internet".to_owned(),
            network_tick_ms: options.network_tick_ms,
            libreqos_suspended: options.libreqos_suspended,
            radius_status: options.radius_status,
            openbao_addr: options.openbao.as_ref().map(|b| b.addr.clone()),
            openbao_namespace: options.openbao.as_ref().map(|b| b.namespace.clone()),
            openbao_role_id: options.openbao.as_ref().map(|b| b.role_id.clone()),
            openbao_secret_id: options.openbao.as_ref().map(|b| b.secret_id.clone()),
        };
        let (router, state) = server::assemble(&config, options.gate).await.unwrap();
        let (_, token) = tokens::create(&state.db, &tenant, "test-admin", Role::TenantAdmin)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let (aaa, aaa_server) = if options.aaa {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let records = dotmac_isp::network::auth_log::connection(&state.db, &db.url)
                .await
                .unwrap();
            let router =
                dotmac_isp::network::aaa::router(state.clone(), AAA_SECRET.to_owned(), records);
            let server = tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });
            (Some(format!("http://{addr}")), Some(server))
        } else {
            (None, None)
        };
        Self {
            base: format!("http://{addr}"),
            token,
            tenant,
            state,
            http: reqwest::Client::new(),
            db,
            aaa,
            server,
            aaa_server,
        }
    }

    /// Calls the API with this instance's staff token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        // An empty token calls without credentials (a public route).
        if !token.is_empty() {
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
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_client_error() || status.is_server_error() {
            assert!(
                problem,
                "an error answer must be problem+json: {status} {value}"
            );
        }
        (status, value)
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// POSTs and expects `expect`.
    pub async fn post(&self, path: &str, body: Value, expect: StatusCode) -> Value {
        let (status, answer) = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(status, expect, "POST {path}: {answer}");
        answer
    }

    pub async fn tax(
        &self,
        name: &str,
        country: &str,
        region: Option<&str>,
        percent: &str,
        compound: bool,
        priority: i32,
    ) {
        self.post("/tax-rates", json!({"name": name, "country": country, "region": region, "rate_percent": percent, "compound": compound, "priority": priority}), StatusCode::CREATED).await;
    }

    pub async fn customer(&self, email: &str, country: &str, region: Option<&str>) -> String {
        let body = json!({"display_name": email, "email": email, "address": {"country": country, "region": region}});
        id(&self.post("/customers", body, StatusCode::CREATED).await)
    }

    pub async fn plan(&self, code: &str, price: i64) -> String {
        let body = json!({"code": code, "name": code, "service_type": "internet", "price": price});
        id(&self.post("/plans", body, StatusCode::CREATED).await)
    }

    /// A subscription activated on `date`; returns its id and the invoice activation issued.
    pub async fn subscribe(&self, customer: &str, plan: &str, date: &str) -> (String, Value) {
        let sub = id(&self
            .post(
                "/subscriptions",
                json!({"customer_id": customer, "plan_id": plan}),
                StatusCode::CREATED,
            )
            .await);
        let outcome = self
            .post(
                &format!("/subscriptions/{sub}/activate"),
                json!({"date": date}),
                StatusCode::OK,
            )
            .await;
        (sub, outcome["invoice"].clone())
    }

    /// Invites `customer` to the subscriber portal, accepts with `password` and signs in for a
    /// bearer session; returns its token.
    pub async fn subscriber(&self, customer: &str, password: &str) -> String {
        let invited = self
            .post(
                &format!("/customers/{customer}/portal-account"),
                json!({}),
                StatusCode::CREATED,
            )
            .await;
        let url = invited["invitation_url"].as_str().unwrap();
        let token = url.split_once("#token=").unwrap().1;
        let accept = json!({"token": token, "new_password": password});
        let (status, body) = self
            .call_as("", Method::POST, "/invitations/accept", Some(accept))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let login = invited["portal_id"].as_str().unwrap();
        let sign_in = json!({"login": login, "password": password, "session": "bearer"});
        let (status, signed) = self
            .call_as("", Method::POST, "/sign-in", Some(sign_in))
            .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        signed["token"].as_str().unwrap().to_owned()
    }

    /// Starts a run and waits until it finishes; returns the run.
    pub async fn run(&self, kind: &str, date: &str) -> Value {
        let run = self
            .post(
                &format!("/{kind}-runs"),
                json!({"date": date}),
                StatusCode::ACCEPTED,
            )
            .await;
        let path = format!("/{kind}-runs/{}", id(&run));
        for _ in 0..600 {
            let run = self.get(&path).await;
            if run["status"] == "succeeded" || run["status"] == "failed" {
                return run;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{kind} run did not finish");
    }

    /// The Prometheus text at `/metrics`, which answers 200.
    pub async fn metrics(&self) -> String {
        let response = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    /// Every row of a table (through the API's own connection), for "nothing written" checks.
    pub async fn count(&self, table: &str) -> i64 {
        let row = sea_orm::ConnectionTrait::query_one_raw(
            &self.state.db,
            sea_orm::Statement::from_string(
                self.state.db.get_database_backend(),
                format!("SELECT COUNT(*) FROM {table}"),
            ),
        )
        .await
        .unwrap()
        .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}

pub fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

/// Defines a test once and runs it on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(mod $name {
            #[allow(unused_imports, reason = "each test uses part of the file's imports")]
            use super::*;
            async fn body($app: common::TestApp) $body
            #[tokio::test]
            async fn sqlite() {
                body(common::TestApp::start(common::Backend::Sqlite, common::Options::default()).await).await;
            }
            #[tokio::test]
            async fn postgres() {
                body(common::TestApp::start(common::Backend::Postgres, common::Options::default()).await).await;
            }
        })*
    };
}
