//! The Tenant controller with the data plane on: devcluster as the Kubernetes API, the real
//! PostgreSQL and Redis on loopback, and an OpenBao dev server of the test's own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

#[path = "../common/mod.rs"]
mod common;
mod crashes;
mod deletions;
mod lifecycle;
mod outages;
mod repairs;
mod secrecy;

use std::time::Duration;

use clap::Parser;
use dotmac_devcluster::DevCluster;
use dotmac_operator::{
    config::ControllerConfig,
    provision::{
        openbao::{OpenBao, SecretsProvisioner},
        password::Password,
    },
};
use dotmac_platform::crd::{Tenant, tenant::TenantPhase};
use dotmac_testkit::{openbao::DevBao, unique};
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
    cluster: DevCluster,
    client: Client,
    dir: tempfile::TempDir,
    bao_addr: String,
    controller: tokio::task::JoinHandle<()>,
    /// The platform database the controllers record instance tokens in.
    platform: std::sync::Arc<common::PlatformDb>,
}

async fn harness(bao_addr: &str) -> Harness {
    harness_with(bao_addr, &dotmac_testkit::require_postgres()).await
}

async fn harness_with(bao_addr: &str, postgres_admin: &str) -> Harness {
    harness_args(
        bao_addr,
        postgres_admin,
        &dotmac_testkit::require_redis(),
        &[],
    )
    .await
}

/// The harness on these backends, with `extra` operator arguments.
async fn harness_args(
    bao_addr: &str,
    postgres_admin: &str,
    redis: &str,
    extra: &[&str],
) -> Harness {
    dotmac_telemetry::install_crypto_provider();
    let (cluster, client) = common::cluster_with_crds().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("bao-token");
    std::fs::write(&token, "test-root\n").unwrap();
    let mut args = vec![
        "test",
        "--leader-election",
        "false",
        "--health-listen",
        "127.0.0.1:0",
        "--postgres-admin-url",
        postgres_admin,
        "--redis-admin-url",
        redis,
        "--openbao-addr",
        bao_addr,
        "--openbao-token-file",
        token.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let config = Args::parse_from(args).config;
    let run_client = client.clone();
    let platform = std::sync::Arc::new(common::PlatformDb::new().await);
    let run_platform = platform.clone();
    let controller = tokio::spawn(async move {
        if let Err(error) = common::controller_on(run_client, config, &run_platform).await {
            panic!("controller stopped: {error}");
        }
    });
    Harness {
        cluster,
        client,
        dir,
        bao_addr: bao_addr.to_owned(),
        controller,
        platform,
    }
}

fn tenant(name: &str, policy: &str) -> Tenant {
    serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"displayName": "Data plane ISP", "contactEmail": "noc@dp.example", "deletionPolicy": policy}})).unwrap()
}

/// Waits up to 60 s for `check`.
async fn until<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    dotmac_testkit::eventually(what, 60, check).await
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

/// A connected client of the test Redis with its admin credentials.
async fn redis_admin() -> fred::clients::Client {
    use fred::interfaces::ClientLike;
    let client = fred::clients::Client::new(
        fred::types::config::Config::from_url(&dotmac_testkit::require_redis()).unwrap(),
        None,
        None,
        None,
    );
    client.init().await.unwrap();
    client
}

/// Whether the Redis ACL user of `tenant` exists.
async fn redis_user_exists(tenant: &str) -> bool {
    use fred::interfaces::{AclInterface, ClientLike};
    let client = redis_admin().await;
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

/// A loopback TCP proxy to PostgreSQL or Redis that the test can cut: while down it closes every
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
