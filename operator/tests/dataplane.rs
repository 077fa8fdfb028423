//! The Tenant controller with the data plane on: devcluster as the Kubernetes API, the real
//! PostgreSQL and Redis on loopback, and an OpenBao dev server of the test's own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::time::Duration;

use clap::Parser;
use common::DevBao;
use dotmac_devcluster::DevCluster;
use dotmac_operator::{
    config::ControllerConfig,
    provision::{
        openbao::{OpenBao, SecretsProvisioner},
        password::Password,
    },
};
use dotmac_platform::crd::{Tenant, tenant::TenantPhase};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Secret};
use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: ControllerConfig,
}

struct Harness {
    _cluster: DevCluster,
    client: Client,
    dir: tempfile::TempDir,
    bao_addr: String,
    controller: tokio::task::JoinHandle<()>,
}

async fn harness(bao_addr: &str) -> Harness {
    harness_with(bao_addr, &dotmac_testkit::require_postgres()).await
}

async fn harness_with(bao_addr: &str, postgres_admin: &str) -> Harness {
    dotmac_telemetry::install_crypto_provider();
    let (cluster, client) = common::cluster_with_crds().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("bao-token");
    std::fs::write(&token, "test-root\n").unwrap();
    let config = Args::parse_from([
        "test",
        "--leader-election",
        "false",
        "--health-listen",
        "127.0.0.1:0",
        "--postgres-admin-url",
        postgres_admin,
        "--redis-admin-url",
        &dotmac_testkit::require_redis(),
        "--openbao-addr",
        bao_addr,
        "--openbao-token-file",
        token.to_str().unwrap(),
    ])
    .config;
    let run_client = client.clone();
    let controller = tokio::spawn(async move {
        if let Err(error) = common::controller(run_client, config).await {
            panic!("controller stopped: {error}");
        }
    });
    Harness {
        _cluster: cluster,
        client,
        dir,
        bao_addr: bao_addr.to_owned(),
        controller,
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}{}x{}",
        std::process::id() % 100_000,
        nanos % 100_000
    )
}

fn tenant(name: &str, policy: &str) -> Tenant {
    serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"displayName": "Data plane ISP", "contactEmail": "noc@dp.example", "deletionPolicy": policy}})).unwrap()
}

async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes a tenant and waits until its finalizer has run and it is gone.
async fn delete_and_wait(tenants: &Api<Tenant>, name: &str) {
    tenants
        .delete(name, &DeleteParams::default())
        .await
        .unwrap();
    until("the tenant to go", || async {
        tenants.get_opt(name).await.unwrap().is_none().then_some(())
    })
    .await;
}

async fn ready(tenants: &Api<Tenant>, name: &str) -> Tenant {
    until(&format!("{name} Ready"), || async {
        tenants.get_opt(name).await.unwrap().filter(|t| {
            t.status.as_ref().and_then(|s| s.phase) == Some(TenantPhase::Ready)
                && t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation
        })
    })
    .await
}

async fn secret_data(client: &Client, name: &str) -> std::collections::BTreeMap<String, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &format!("dotmac-tenant-{name}"));
    until("the credentials Secret", || async {
        secrets
            .get_opt("dotmac-tenant-credentials")
            .await
            .unwrap()
            .and_then(|s| s.data)
            .map(|d| {
                d.into_iter()
                    .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
                    .collect()
            })
    })
    .await
}

async fn pg_scalar(sql: &str) -> Option<String> {
    let db = Database::connect(&dotmac_testkit::require_postgres())
        .await
        .unwrap();
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .and_then(|r| r.try_get_by_index::<String>(0).ok())
}

/// Whether the Redis ACL user of `tenant` exists.
async fn redis_user_exists(tenant: &str) -> bool {
    use fred::interfaces::{AclInterface, ClientLike};
    let client = fred::clients::Client::new(
        fred::types::config::Config::from_url(&dotmac_testkit::require_redis()).unwrap(),
        None,
        None,
        None,
    );
    client.init().await.unwrap();
    let reply: fred::types::Value = client
        .acl_getuser(format!("tenant:{tenant}"))
        .await
        .unwrap();
    client.quit().await.ok();
    !matches!(reply, fred::types::Value::Null)
}

fn redis_password(url: &str) -> String {
    url.rsplit_once('@')
        .unwrap()
        .0
        .rsplit_once(':')
        .unwrap()
        .1
        .to_owned()
}

#[tokio::test]
async fn provisioned_rotated_and_deleted_with_the_delete_policy() {
    let bao = DevBao::start().await;
    let h = harness(&bao.addr).await;
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let name = unique("dpd");
    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    let t = ready(&tenants, &name).await;
    let status = t.status.clone().unwrap();
    for part in ["DatabaseReady", "CacheReady", "SecretsReady"] {
        let c = status.conditions.iter().find(|c| c.type_ == part).unwrap();
        assert_eq!(c.status, "True", "{part}: {}", c.message);
    }
    let data = secret_data(&h.client, &name).await;
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "BAO_ADDR",
            "BAO_NAMESPACE",
            "BAO_ROLE_ID",
            "BAO_SECRET_ID",
            "DATABASE_URL",
            "REDIS_URL"
        ]
    );
    assert_eq!(data["BAO_NAMESPACE"], format!("tenants/{name}"));
    let db = dotmac_operator::controller::tenant::names::database(&name);
    assert!(data["DATABASE_URL"].ends_with(&format!("@{}/{db}", dotmac_testkit::postgres_host())));
    Database::connect(data["DATABASE_URL"].as_str())
        .await
        .unwrap()
        .execute_unprepared("CREATE TABLE t (v int)")
        .await
        .unwrap();
    // The master copy is in OpenBao KV.
    let admin = OpenBao::new(&h.bao_addr, Password::from_stored("test-root".into())).unwrap();
    let kv = admin.read_credentials(&name).await.unwrap().unwrap();
    assert_eq!(
        kv["redis_password"].as_str().unwrap(),
        redis_password(&data["REDIS_URL"])
    );
    // No credential in the Tenant (status included).
    let shown = serde_json::to_string(&tenants.get(&name).await.unwrap()).unwrap();
    for secret in [
        kv["db_password"].as_str().unwrap(),
        kv["redis_password"].as_str().unwrap(),
        kv["secret_id"].as_str().unwrap(),
    ] {
        assert!(
            !shown.contains(secret),
            "a credential leaked into the Tenant"
        );
    }

    // Rotation: new passwords everywhere, pods roll.
    let deployments: Api<Deployment> =
        Api::namespaced(h.client.clone(), &format!("dotmac-tenant-{name}"));
    let hash = |d: &Deployment| {
        d.spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()["platform.dotmac.io/config-hash"]
            .clone()
    };
    let before = hash(&deployments.get("isp-runtime").await.unwrap());
    tenants.patch(&name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"annotations": {"platform.dotmac.io/rotate-credentials": "2026-11-23"}}}))).await.unwrap();
    let rotated = until("rotated credentials", || async {
        let now = secret_data(&h.client, &name).await;
        (now["REDIS_URL"] != data["REDIS_URL"]).then_some(now)
    })
    .await;
    assert_ne!(rotated["DATABASE_URL"], data["DATABASE_URL"]);
    assert_ne!(rotated["BAO_SECRET_ID"], data["BAO_SECRET_ID"]);
    let login = |secret_id: String| {
        let (addr, role_id, ns) = (
            h.bao_addr.clone(),
            data["BAO_ROLE_ID"].clone(),
            data["BAO_NAMESPACE"].clone(),
        );
        async move {
            reqwest::Client::new()
                .post(format!("{addr}/v1/auth/approle/login"))
                .header("X-Vault-Namespace", ns)
                .json(&json!({"role_id": role_id, "secret_id": secret_id}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    until("the rotation to be applied", || async {
        (admin.read_credentials(&name).await.unwrap().unwrap()["applied"] == true).then_some(())
    })
    .await;
    assert_eq!(
        login(rotated["BAO_SECRET_ID"].clone()).await,
        200,
        "the new secret id logs in"
    );
    assert_ne!(
        login(data["BAO_SECRET_ID"].clone()).await,
        200,
        "the replaced secret id is revoked"
    );
    until("the pods to roll", || async {
        (hash(&deployments.get("isp-runtime").await.unwrap()) != before).then_some(())
    })
    .await;

    // Delete policy: database, role, Redis user and OpenBao namespace are gone.
    delete_and_wait(&tenants, &name).await;
    assert_eq!(
        pg_scalar(&format!(
            "SELECT datname::text FROM pg_database WHERE datname = '{db}'"
        ))
        .await,
        None
    );
    assert_eq!(
        pg_scalar(&format!(
            "SELECT rolname::text FROM pg_roles WHERE rolname = '{db}'"
        ))
        .await,
        None
    );
    assert_eq!(admin.read_credentials(&name).await.ok().flatten(), None);
    assert!(!redis_user_exists(&name).await, "the Redis user is gone");
}

#[tokio::test]
async fn retain_keeps_data_and_recreating_re_adopts_it() {
    let bao = DevBao::start().await;
    let h = harness(&bao.addr).await;
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let name = unique("dpr");
    let db = dotmac_operator::controller::tenant::names::database(&name);
    tenants
        .create(&PostParams::default(), &tenant(&name, "Retain"))
        .await
        .unwrap();
    ready(&tenants, &name).await;
    let first = secret_data(&h.client, &name).await;
    Database::connect(first["DATABASE_URL"].as_str())
        .await
        .unwrap()
        .execute_unprepared("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
        .await
        .unwrap();

    delete_and_wait(&tenants, &name).await;
    assert_eq!(
        pg_scalar(&format!(
            "SELECT rolcanlogin::text FROM pg_roles WHERE rolname = '{db}'"
        ))
        .await
        .as_deref(),
        Some("false")
    );
    assert!(
        pg_scalar(&format!(
            "SELECT datname::text FROM pg_database WHERE datname = '{db}'"
        ))
        .await
        .is_some(),
        "data kept"
    );
    assert!(
        !redis_user_exists(&name).await,
        "Retain removes the Redis user"
    );
    let admin = OpenBao::new(&h.bao_addr, Password::from_stored("test-root".into())).unwrap();
    assert!(
        admin.read_credentials(&name).await.unwrap().is_some(),
        "Retain keeps the OpenBao namespace and its KV"
    );

    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    ready(&tenants, &name).await;
    assert_eq!(
        pg_scalar(&format!(
            "SELECT rolcanlogin::text FROM pg_roles WHERE rolname = '{db}'"
        ))
        .await
        .as_deref(),
        Some("true")
    );
    let again = secret_data(&h.client, &name).await;
    assert_eq!(
        again["DATABASE_URL"], first["DATABASE_URL"],
        "the retained credentials are re-adopted"
    );
    let db_conn = Database::connect(again["DATABASE_URL"].as_str())
        .await
        .unwrap();
    let row = db_conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT v::text FROM kept",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "7");
    drop(db_conn);
    delete_and_wait(&tenants, &name).await;
}

/// Names of existing `tenant_<prefix>…` databases.
async fn databases_like(prefix: &str) -> Vec<String> {
    let db = Database::connect(&dotmac_testkit::require_postgres())
        .await
        .unwrap();
    db.query_all_raw(Statement::from_string(
        DbBackend::Postgres,
        format!(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'tenant_{prefix}%' ORDER BY 1"
        ),
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.try_get_by_index::<String>(0).unwrap())
    .collect()
}

/// Creates `n` tenants named `<prefix>-<i>`, waits until `blocked` holds for all, brings the
/// backend back with `recover`, and checks that all become Ready with exactly one database
/// each; then deletes them.
async fn outage_then_recovery<R, Fut>(h: &Harness, prefix: &str, n: usize, reason: &str, recover: R)
where
    R: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    for name in &names {
        tenants
            .create(&PostParams::default(), &tenant(name, "Delete"))
            .await
            .unwrap();
    }
    for name in &names {
        let blocked = until(&format!("{name} blocked by the outage"), || async {
            tenants.get_opt(name).await.unwrap().and_then(|t| {
                t.status?
                    .conditions
                    .into_iter()
                    .find(|c| c.reason == reason && c.status == "False")
            })
        })
        .await;
        assert!(!blocked.message.is_empty());
    }
    recover().await;
    for name in &names {
        ready(&tenants, name).await;
    }
    let made = databases_like(&prefix.replace('-', "_")).await;
    assert_eq!(
        made.len(),
        n,
        "one database per tenant, no duplicates: {made:?}"
    );
    for name in &names {
        tenants
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    for name in &names {
        until("the tenant to go", || async {
            tenants.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }
    assert!(databases_like(&prefix.replace('-', "_")).await.is_empty());
}

#[tokio::test]
async fn openbao_down_during_provisioning_of_20_tenants_then_all_ready() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = harness(&format!("http://127.0.0.1:{port}")).await;
    let mut bao = None;
    outage_then_recovery(&h, &unique("ob"), 20, "OpenBaoUnreachable", || async {
        bao = Some(DevBao::start_on(port).await);
    })
    .await;
}

/// A loopback TCP proxy to PostgreSQL that the test can cut: while down it closes every
/// connection at once, and cutting also ends the connections already open.
struct Proxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    _accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, pipes) = (up.clone(), open.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                pipes.lock().unwrap().push(pipe);
            }
        });
        Self {
            port,
            up,
            open,
            _accept: accept,
        }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        if !up {
            for pipe in self.open.lock().unwrap().drain(..) {
                pipe.abort();
            }
        }
    }
}

#[tokio::test]
async fn postgres_connections_cut_during_provisioning_of_20_tenants_then_all_ready() {
    let bao = DevBao::start().await;
    let proxy = Proxy::start(dotmac_testkit::postgres_host()).await;
    let h = harness_with(
        &bao.addr,
        &format!("postgres://postgres@127.0.0.1:{}/postgres", proxy.port),
    )
    .await;
    outage_then_recovery(&h, &unique("pg"), 20, "PostgresUnreachable", || async {
        proxy.set_up(true);
    })
    .await;
    // Cut again with everything Ready: the tenants report it, then recover.
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let name = unique("pgc");
    proxy.set_up(false);
    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    until("DatabaseReady=False", || async {
        tenants.get_opt(&name).await.unwrap().and_then(|t| {
            t.status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "DatabaseReady" && c.reason == "PostgresUnreachable")
        })
    })
    .await;
    proxy.set_up(true);
    ready(&tenants, &name).await;
    delete_and_wait(&tenants, &name).await;
}

/// Prints the end of the operator's log when the test fails, so a failure in CI explains itself.
struct LogOnFailure(std::path::PathBuf);

impl Drop for LogOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.0).unwrap_or_default();
            // Connection-pool chatter left out: it would push the reconciles out of view.
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| {
                    !l.contains(r#""target":"hyper_util"#) && !l.contains(r#""target":"tower::"#)
                })
                .collect();
            eprintln!("--- the operator's last log lines ---");
            for line in &lines[lines.len().saturating_sub(150)..] {
                eprintln!("{line}");
            }
        }
    }
}

#[tokio::test]
async fn no_credential_reaches_a_log_line_event_or_status() {
    dotmac_telemetry::install_crypto_provider();
    let bao = DevBao::start().await;
    let (cluster, client) = common::cluster_with_crds().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("bao-token");
    std::fs::write(&token, "test-root").unwrap();
    let log = dir.path().join("operator.log");
    let _dump = LogOnFailure(log.clone());
    let health = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut operator = tokio::process::Command::new(env!("CARGO_BIN_EXE_dotmac-operator"))
        .arg("controller")
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("RUST_LOG", "debug")
        .env("DOTMAC_LEADER_ELECTION", "false")
        .env("DOTMAC_OPERATOR_HEALTH_LISTEN", health.to_string())
        .env(
            "DOTMAC_POSTGRES_ADMIN_URL",
            dotmac_testkit::require_postgres(),
        )
        .env("DOTMAC_REDIS_ADMIN_URL", dotmac_testkit::require_redis())
        .env("DOTMAC_OPENBAO_ADDR", &bao.addr)
        .env("DOTMAC_OPENBAO_TOKEN_FILE", &token)
        .env(
            "DOTMAC_PLATFORM_DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("platform.db").display()
            ),
        )
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let tenants: Api<Tenant> = Api::all(client.clone());
    let name = unique("dps");
    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    ready(&tenants, &name).await;
    let admin = OpenBao::new(&bao.addr, Password::from_stored("test-root".into())).unwrap();
    let mut secrets: Vec<String> = Vec::new();
    let mut collect = |kv: serde_json::Map<String, serde_json::Value>| {
        for key in ["db_password", "redis_password", "secret_id"] {
            secrets.push(kv[key].as_str().unwrap().to_owned());
        }
    };
    collect(admin.read_credentials(&name).await.unwrap().unwrap());
    tenants.patch(&name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"annotations": {"platform.dotmac.io/rotate-credentials": "1"}}}))).await.unwrap();
    let rotated = until("rotation", || async {
        admin
            .read_credentials(&name)
            .await
            .unwrap()
            .filter(|kv| kv["rotation"] == "1" && kv["applied"] == true)
    })
    .await;
    collect(rotated);
    ready(&tenants, &name).await;
    delete_and_wait(&tenants, &name).await;
    operator.kill().await.unwrap();

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("phase changed"),
        "the operator logged its work"
    );
    let events: Api<kube::api::DynamicObject> = Api::all_with(
        client.clone(),
        &kube::discovery::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk("events.k8s.io", "v1", "Event"),
            "events",
        ),
    );
    let events =
        serde_json::to_string(&events.list(&Default::default()).await.unwrap().items).unwrap();
    assert!(events.contains(&name), "events were published");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a credential reached the operator's log"
        );
        assert!(
            !events.contains(secret.as_str()),
            "a credential reached an event"
        );
    }
}

#[tokio::test]
async fn an_operator_killed_again_and_again_converges_without_duplicates() {
    let bao = DevBao::start().await;
    let h = harness(&bao.addr).await;
    // The harness's controller runs too; a second one is started and killed repeatedly
    // mid-provisioning, so steps are interrupted at many different points.
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let prefix = unique("kl");
    let names: Vec<String> = (0..10).map(|i| format!("{prefix}-{i}")).collect();
    h.controller.abort();
    let token = h.dir.path().join("bao-token");
    let config = || {
        Args::parse_from([
            "test",
            "--leader-election",
            "false",
            "--health-listen",
            "127.0.0.1:0",
            "--postgres-admin-url",
            &dotmac_testkit::require_postgres(),
            "--redis-admin-url",
            &dotmac_testkit::require_redis(),
            "--openbao-addr",
            &bao.addr,
            "--openbao-token-file",
            token.to_str().unwrap(),
        ])
        .config
    };
    for name in &names {
        tenants
            .create(&PostParams::default(), &tenant(name, "Delete"))
            .await
            .unwrap();
    }
    for round in 0..6u64 {
        let client = h.client.clone();
        let cfg = config();
        let task = tokio::spawn(common::controller(client, cfg));
        tokio::time::sleep(Duration::from_millis(60 + 45 * round)).await;
        task.abort();
        let _ = task.await;
    }
    let client = h.client.clone();
    let cfg = config();
    let _last = tokio::spawn(common::controller(client, cfg));
    for name in &names {
        ready(&tenants, name).await;
    }
    let made = databases_like(&prefix.replace('-', "_")).await;
    assert_eq!(made.len(), names.len(), "one database per tenant: {made:?}");
    for name in &names {
        tenants
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    for name in &names {
        until("the tenant to go", || async {
            tenants.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }
    assert!(databases_like(&prefix.replace('-', "_")).await.is_empty());
}

/// Counts every provisioning call across the three backends and fails the one numbered
/// `fail_at` (once), as a crash or outage at exactly that step would.
#[derive(Clone)]
struct Faults {
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    fail_at: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Faults {
    fn new() -> Self {
        Self {
            calls: Default::default(),
            fail_at: std::sync::Arc::new(usize::MAX.into()),
        }
    }

    fn arm(&self, step: usize) {
        self.calls.store(0, std::sync::atomic::Ordering::SeqCst);
        self.fail_at
            .store(step, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(
        &self,
        backend: &'static str,
    ) -> Result<(), dotmac_operator::provision::ProvisionError> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == self.fail_at.load(std::sync::atomic::Ordering::SeqCst) {
            self.fail_at
                .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
            return Err(dotmac_operator::provision::ProvisionError::Unreachable {
                backend,
                message: format!("injected fault at step {n}"),
            });
        }
        Ok(())
    }
}

struct Faulty<T> {
    inner: T,
    faults: Faults,
}

mod faulty_impls {
    use dotmac_operator::provision::{
        ProvisionError, openbao::SecretsProvisioner, password::Password,
        postgres::DatabaseProvisioner, redis::CacheProvisioner,
    };
    use serde_json::{Map, Value};

    use super::Faulty;

    impl<T: DatabaseProvisioner> DatabaseProvisioner for Faulty<T> {
        async fn ensure(
            &self,
            name: &str,
            password: Option<&Password>,
        ) -> Result<(), ProvisionError> {
            self.faults.check("PostgreSQL")?;
            self.inner.ensure(name, password).await
        }
        async fn disable_login(&self, name: &str) -> Result<(), ProvisionError> {
            self.faults.check("PostgreSQL")?;
            self.inner.disable_login(name).await
        }
        async fn drop_all(&self, name: &str) -> Result<(), ProvisionError> {
            self.faults.check("PostgreSQL")?;
            self.inner.drop_all(name).await
        }
    }

    impl<T: CacheProvisioner> CacheProvisioner for Faulty<T> {
        async fn ensure(
            &self,
            tenant: &str,
            password: Option<&Password>,
        ) -> Result<(), ProvisionError> {
            self.faults.check("Redis")?;
            self.inner.ensure(tenant, password).await
        }
        async fn remove(&self, tenant: &str) -> Result<(), ProvisionError> {
            self.faults.check("Redis")?;
            self.inner.remove(tenant).await
        }
    }

    impl<T: SecretsProvisioner> SecretsProvisioner for Faulty<T> {
        async fn ensure(&self, tenant: &str) -> Result<String, ProvisionError> {
            self.faults.check("OpenBao")?;
            self.inner.ensure(tenant).await
        }
        async fn issue_secret_id(&self, tenant: &str) -> Result<Password, ProvisionError> {
            self.faults.check("OpenBao")?;
            self.inner.issue_secret_id(tenant).await
        }
        async fn destroy_secret_id(
            &self,
            tenant: &str,
            secret_id: &Password,
        ) -> Result<(), ProvisionError> {
            self.faults.check("OpenBao")?;
            self.inner.destroy_secret_id(tenant, secret_id).await
        }
        async fn read_credentials(
            &self,
            tenant: &str,
        ) -> Result<Option<Map<String, Value>>, ProvisionError> {
            self.faults.check("OpenBao")?;
            self.inner.read_credentials(tenant).await
        }
        async fn write_credentials(
            &self,
            tenant: &str,
            fields: &Map<String, Value>,
        ) -> Result<(), ProvisionError> {
            self.faults.check("OpenBao")?;
            self.inner.write_credentials(tenant, fields).await
        }
        async fn remove(&self, tenant: &str) -> Result<(), ProvisionError> {
            self.faults.check("OpenBao")?;
            self.inner.remove(tenant).await
        }
    }
}

#[tokio::test]
async fn a_fault_at_any_step_is_healed_by_the_next_reconcile() {
    use dotmac_operator::{
        controller::tenant::dataplane::{DataPlane, TenantEndpoints},
        provision::{postgres::Postgres, redis::Redis},
    };
    let bao = DevBao::start().await;
    let faults = Faults::new();
    let plane = DataPlane::with(
        Faulty {
            inner: Postgres::connect(&dotmac_testkit::require_postgres())
                .await
                .unwrap(),
            faults: faults.clone(),
        },
        Faulty {
            inner: Redis::connect(&dotmac_testkit::require_redis())
                .await
                .unwrap(),
            faults: faults.clone(),
        },
        Faulty {
            inner: OpenBao::new(&bao.addr, Password::from_stored("test-root".into())).unwrap(),
            faults: faults.clone(),
        },
        TenantEndpoints {
            postgres_host: dotmac_testkit::postgres_host(),
            redis_host: dotmac_testkit::redis_host(),
            openbao_addr: bao.addr.clone(),
        },
    );
    let admin = OpenBao::new(&bao.addr, Password::from_stored("test-root".into())).unwrap();
    let prefix = unique("fi");
    // Provisioning a new tenant makes 7 calls: OpenBao ensure, read, issue secret id, write;
    // PostgreSQL ensure; Redis ensure; OpenBao write (applied).
    for step in 0..7 {
        let t = tenant(&format!("{prefix}-{step}"), "Delete");
        let name = t.metadata.name.clone().unwrap();
        faults.arm(step);
        let first = plane.provision(&t).await;
        assert!(
            first.secret_data.is_err(),
            "step {step}: the fault stops provisioning"
        );
        let second = plane.provision(&t).await;
        let data = second.secret_data.unwrap_or_else(|blocked| {
            panic!(
                "step {step}: the next attempt finishes: {}: {}",
                blocked.part, blocked.error
            )
        });
        let kv = admin.read_credentials(&name).await.unwrap().unwrap();
        assert_eq!(kv["applied"], true, "step {step}");
        assert_eq!(
            redis_password(&data["REDIS_URL"]),
            kv["redis_password"].as_str().unwrap(),
            "step {step}: Secret and KV agree"
        );
        let redis_user = fred::clients::Client::new(
            fred::types::config::Config {
                username: Some(format!("tenant:{name}")),
                password: Some(kv["redis_password"].as_str().unwrap().to_owned()),
                ..fred::types::config::Config::default()
            },
            None,
            None,
            None,
        );
        fred::interfaces::ClientLike::init(&redis_user)
            .await
            .unwrap_or_else(|e| panic!("step {step}: Redis has the KV password: {e}"));
        assert_eq!(
            databases_like(&name.replace('-', "_")).await.len(),
            1,
            "step {step}: one database"
        );

        // Cleanup makes 3 calls (Redis remove, OpenBao remove, PostgreSQL drop); a fault at
        // each is healed by the next attempt too.
        faults.arm(step % 3);
        assert!(
            plane.cleanup(&t).await.is_err(),
            "step {step}: the fault stops cleanup"
        );
        plane.cleanup(&t).await.unwrap();
        assert!(
            databases_like(&name.replace('-', "_")).await.is_empty(),
            "step {step}: database dropped"
        );
        assert!(
            !redis_user_exists(&name).await,
            "step {step}: Redis user removed"
        );
        assert_eq!(
            admin.read_credentials(&name).await.ok().flatten(),
            None,
            "step {step}: OpenBao namespace removed"
        );
    }
}
