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
use dotmac_devcluster::{DevCluster, Options};
use dotmac_operator::{
    config::ControllerConfig,
    crd::{Tenant, tenant::TenantPhase},
    provision::{
        openbao::{OpenBao, SecretsProvisioner},
        password::Password,
    },
};
use k8s_openapi::{
    api::{apps::v1::Deployment, core::v1::Secret},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
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
    _dir: tempfile::TempDir,
    bao_addr: String,
    _controller: tokio::task::JoinHandle<()>,
}

async fn harness(bao_addr: &str) -> Harness {
    dotmac_telemetry::install_crypto_provider();
    let cluster = DevCluster::start_with(Options {
        rollout_delay: Duration::from_millis(50),
        ..Options::default()
    })
    .await
    .unwrap();
    let client = cluster.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_operator::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
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
        "postgres://postgres@127.0.0.1:5432/postgres",
        "--redis-admin-url",
        "redis://127.0.0.1:6379",
        "--openbao-addr",
        bao_addr,
        "--openbao-token-file",
        token.to_str().unwrap(),
    ])
    .config;
    let run_client = client.clone();
    let controller = tokio::spawn(async move {
        if let Err(error) = dotmac_operator::controller::run(run_client, config).await {
            panic!("controller stopped: {error}");
        }
    });
    Harness {
        _cluster: cluster,
        client,
        _dir: dir,
        bao_addr: bao_addr.to_owned(),
        _controller: controller,
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
    let db = Database::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap();
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .and_then(|r| r.try_get_by_index::<String>(0).ok())
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
    let db = names_db(&name);
    assert!(data["DATABASE_URL"].ends_with(&format!("@127.0.0.1:5432/{db}")));
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
    until("the pods to roll", || async {
        (hash(&deployments.get("isp-runtime").await.unwrap()) != before).then_some(())
    })
    .await;

    // Delete policy: database, role, Redis user and OpenBao namespace are gone.
    tenants
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    until("the tenant to go", || async {
        tenants
            .get_opt(&name)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
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
}

fn names_db(name: &str) -> String {
    format!("tenant_{}", name.replace('-', "_"))
}

#[tokio::test]
async fn retain_keeps_data_and_recreating_re_adopts_it() {
    let bao = DevBao::start().await;
    let h = harness(&bao.addr).await;
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let name = unique("dpr");
    let db = names_db(&name);
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

    tenants
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    until("the tenant to go", || async {
        tenants
            .get_opt(&name)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
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
    tenants
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    until("the tenant to go", || async {
        tenants
            .get_opt(&name)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn openbao_down_is_a_condition_and_the_tenant_recovers_when_it_returns() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("http://127.0.0.1:{port}");
    let h = harness(&addr).await;
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let name = unique("dpo");
    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    let blocked = until("SecretsReady=False", || async {
        tenants.get_opt(&name).await.unwrap().and_then(|t| {
            t.status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "SecretsReady" && c.status == "False")
        })
    })
    .await;
    assert_eq!(blocked.reason, "OpenBaoUnreachable");
    let _bao = DevBao::start_on(port).await;
    ready(&tenants, &name).await;
    tenants
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    until("the tenant to go", || async {
        tenants
            .get_opt(&name)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}
