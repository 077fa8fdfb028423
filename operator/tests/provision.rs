//! Tenant data plane on the real services: PostgreSQL roles and databases, Redis ACL users.
//! Each test uses its own tenant names and removes what it made.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::{path::PathBuf, process::Command, time::Duration};

use dotmac_operator::provision::{
    password::Password,
    postgres::{DatabaseProvisioner, Postgres},
    redis::{CacheProvisioner, Redis, key_pattern, user},
};
use fred::{
    clients::Client,
    interfaces::{ClientLike, KeysInterface},
    types::config::{Config, ServerConfig},
};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

mod common;

use dotmac_testkit::{openbao::DevBao, unique};

async fn scalar(url: &str, sql: &str) -> Result<Option<String>, sea_orm::DbErr> {
    let db = Database::connect(url).await?;
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index::<String>(0).ok()))
}

#[tokio::test]
async fn a_tenant_database_is_owned_isolated_and_idempotent() {
    let pg = Postgres::connect(&dotmac_testkit::require_postgres())
        .await
        .unwrap();
    let (a, b) = (unique("tenant_pa"), unique("tenant_pb"));
    for name in [&a, &b] {
        let password = Password::generate().unwrap();
        let made = pg.ensure(name, &password, true).await.unwrap();
        assert_eq!(
            made,
            [
                "create the role",
                "create the database",
                "revoke CONNECT from PUBLIC"
            ]
        );
        let again = pg.ensure(name, &password, false).await.unwrap();
        assert!(again.is_empty(), "repeatable, and nothing to do: {again:?}");
    }
    let attrs = scalar(&dotmac_testkit::require_postgres(), &format!("SELECT concat(rolcanlogin, rolcreatedb, rolcreaterole, rolsuper) FROM pg_roles WHERE rolname = '{a}'")).await.unwrap();
    assert_eq!(
        attrs.as_deref(),
        Some("tfff"),
        "login, no createdb, no createrole, no superuser"
    );
    let owner = scalar(
        &dotmac_testkit::require_postgres(),
        &format!("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = '{a}'"),
    )
    .await
    .unwrap();
    assert_eq!(owner.as_deref(), Some(a.as_str()));

    // Its own role works in its own database; another tenant's role is refused there.
    let own = format!("postgres://{a}@{}/{a}", dotmac_testkit::postgres_host());
    let db = Database::connect(&own).await.unwrap();
    db.execute_unprepared("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
        .await
        .unwrap();
    drop(db);
    let other = Database::connect(format!(
        "postgres://{b}@{}/{a}",
        dotmac_testkit::postgres_host()
    ))
    .await;
    let message = other
        .expect_err("tenant B cannot connect to tenant A's database")
        .to_string();
    assert!(
        message.contains("permission denied for database"),
        "{message}"
    );

    // Retain: login disabled, data kept; re-adoption enables it again.
    pg.disable_login(&a).await.unwrap();
    let refused = Database::connect(&own)
        .await
        .expect_err("login disabled")
        .to_string();
    assert!(refused.contains("not permitted to log in"), "{refused}");
    let readopted = pg
        .ensure(&a, &Password::generate().unwrap(), false)
        .await
        .unwrap();
    assert_eq!(readopted, ["re-enable the role's login"]);
    assert_eq!(
        scalar(&own, "SELECT v::text FROM kept")
            .await
            .unwrap()
            .as_deref(),
        Some("42")
    );

    // Delete: gone, and gone again is fine.
    for name in [&a, &b] {
        pg.drop_all(name).await.unwrap();
        pg.drop_all(name).await.unwrap();
    }
    assert_eq!(
        scalar(
            &dotmac_testkit::require_postgres(),
            &format!("SELECT datname::text FROM pg_database WHERE datname = '{a}'")
        )
        .await
        .unwrap(),
        None
    );
    assert_eq!(
        scalar(
            &dotmac_testkit::require_postgres(),
            &format!("SELECT rolname::text FROM pg_roles WHERE rolname = '{a}'")
        )
        .await
        .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_unreachable_postgres_is_reported_as_such() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = Postgres::connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "PostgresUnreachable", "{error}");
}

/// A PostgreSQL cluster of the test's own that checks passwords (scram-sha-256).
struct ScramCluster {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

impl ScramCluster {
    fn as_postgres(program: &PathBuf) -> Command {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn start(admin_password: &str) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .map(|e| e.unwrap().path().join("bin"))
            .max()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .ok();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, admin_password).unwrap();
        Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&pwfile)
            .status()
            .ok();
        let data = dir.path().join("data");
        let status = Self::as_postgres(&bin.join("initdb"))
            .args(["-U", "postgres", "--auth=scram-sha-256", "--pwfile"])
            .arg(&pwfile)
            .arg("-D")
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let status = Self::as_postgres(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {}",
                dir.path().display()
            ))
            .args(["-w", "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed");
        Self { dir, port, bin }
    }
}

impl Drop for ScramCluster {
    fn drop(&mut self) {
        let _ = Self::as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test]
async fn passwords_are_checked_and_rotation_replaces_them() {
    let cluster = ScramCluster::start("admin-secret-for-test");
    let admin = format!(
        "postgres://postgres:admin-secret-for-test@127.0.0.1:{}/postgres",
        cluster.port
    );
    let pg = Postgres::connect(&admin).await.unwrap();
    let (a, b) = ("tenant_alpha", "tenant_beta");
    let (pa, pb) = (Password::generate().unwrap(), Password::generate().unwrap());
    pg.ensure(a, &pa, true).await.unwrap();
    pg.ensure(b, &pb, true).await.unwrap();
    let url = |user: &str, pw: &Password, db: &str| {
        format!(
            "postgres://{user}:{}@127.0.0.1:{}/{db}",
            pw.expose(),
            cluster.port
        )
    };
    assert!(
        Database::connect(url(a, &pa, a)).await.is_ok(),
        "A's credentials open A's database"
    );
    let wrong = Database::connect(url(a, &pb, a))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(wrong.contains("password authentication failed"), "{wrong}");
    let cross = Database::connect(url(a, &pa, b))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(cross.contains("permission denied for database"), "{cross}");
    assert!(
        !wrong.contains(pa.expose()) && !cross.contains(pa.expose()),
        "no password in errors"
    );

    let rotated = Password::generate().unwrap();
    let changed = pg.ensure(a, &rotated, true).await.unwrap();
    assert!(changed.is_empty(), "a rotation is no repair: {changed:?}");
    assert!(
        Database::connect(url(a, &pa, a)).await.is_err(),
        "the old password stops working"
    );
    assert!(Database::connect(url(a, &rotated, a)).await.is_ok());
    drop(pg);
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn redis_config(username: Option<String>, password: Option<String>) -> Config {
    Config {
        username,
        password,
        server: ServerConfig::new_centralized("127.0.0.1", 6379),
        ..Config::default()
    }
}

async fn redis_as(tenant: &str, password: &Password) -> Result<Client, fred::error::Error> {
    let client = fred::types::Builder::from_config(redis_config(
        Some(user(tenant)),
        Some(password.expose().to_owned()),
    ))
    .with_connection_config(|c| c.connection_timeout = Duration::from_secs(2))
    .build()?;
    client.init().await?;
    Ok(client)
}

#[tokio::test]
async fn a_tenant_redis_user_sees_only_its_keys_and_no_admin_commands() {
    let redis = Redis::connect(&dotmac_testkit::require_redis())
        .await
        .unwrap();
    let (a, b) = (
        unique("ra").replace('_', "-"),
        unique("rb").replace('_', "-"),
    );
    let (pa, pb) = (Password::generate().unwrap(), Password::generate().unwrap());
    assert_eq!(redis.ensure(&a, &pa).await.unwrap(), ["create the user"]);
    let again = redis.ensure(&a, &pa).await.unwrap();
    assert!(again.is_empty(), "repeatable, and nothing to do: {again:?}");
    redis.ensure(&b, &pb).await.unwrap();

    let client = redis_as(&a, &pa).await.unwrap();
    let own = key_pattern(&a).replace('*', "k");
    let theirs = key_pattern(&b).replace('*', "k");
    let _: () = client.set(&own, "v", None, None, false).await.unwrap();
    let got: String = client.get(&own).await.unwrap();
    assert_eq!(got, "v");
    let denied = client.get::<Option<String>, _>(&theirs).await.unwrap_err();
    assert!(
        denied.details().contains("NOPERM") || denied.details().contains("permission"),
        "{denied:?}"
    );
    let flush = client.flushall::<()>(false).await.unwrap_err();
    assert!(
        flush.details().contains("NOPERM") || flush.details().contains("permission"),
        "{flush:?}"
    );
    let _: () = client.del(&own).await.unwrap();
    client.quit().await.ok();

    assert!(
        redis_as(&a, &pb).await.is_err(),
        "B's password does not open A's user"
    );
    let rotated = Password::generate().unwrap();
    assert_eq!(
        redis.ensure(&a, &rotated).await.unwrap(),
        [dotmac_operator::provision::redis::SET_PASSWORD]
    );
    assert!(
        redis_as(&a, &pa).await.is_err(),
        "the old password stops working"
    );
    assert!(redis_as(&a, &rotated).await.is_ok());

    for tenant in [&a, &b] {
        redis.remove(tenant).await.unwrap();
        redis.remove(tenant).await.unwrap();
    }
    assert!(redis_as(&a, &rotated).await.is_err(), "the user is gone");
}

#[tokio::test]
async fn a_tenant_openbao_namespace_holds_kv_transit_policy_and_approle() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    use dotmac_operator::provision::openbao::{OpenBao, SecretsProvisioner, namespace};
    let dev = DevBao::start().await;
    let bao = OpenBao::new(&dev.addr, Password::from_stored("test-root".into())).unwrap();
    let (role_a, made) = bao.ensure("alpha").await.unwrap();
    assert!(made.contains(&"create the namespace"), "{made:?}");
    assert_eq!(
        bao.ensure("alpha").await.unwrap(),
        (role_a.clone(), vec![]),
        "repeatable, same role, nothing to do"
    );
    bao.ensure("beta").await.unwrap();
    let mut fields = serde_json::Map::new();
    fields.insert(
        "DATABASE_URL".into(),
        serde_json::json!("postgres://tenant_alpha:x@db/tenant_alpha"),
    );
    bao.write_credentials("alpha", &fields).await.unwrap();
    assert_eq!(
        bao.read_credentials("alpha").await.unwrap(),
        Some(fields.clone())
    );
    assert_eq!(bao.read_credentials("beta").await.unwrap(), None);

    // The instance's AppRole can read its KV and use its transit key, and nothing of beta's.
    let secret = bao.issue_secret_id("alpha").await.unwrap();
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/v1/auth/approle/login", dev.addr))
        .header("X-Vault-Namespace", namespace("alpha"))
        .json(&serde_json::json!({"role_id": role_a, "secret_id": secret.expose()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["auth"]["client_token"].as_str().unwrap().to_owned();
    let as_alpha = |ns: &str, path: &str| {
        http.post(format!("{}/v1/{path}", dev.addr))
            .header("X-Vault-Token", &token)
            .header("X-Vault-Namespace", ns)
            .json(&serde_json::json!({"plaintext": "aGVsbG8="}))
    };
    assert_eq!(
        as_alpha(&namespace("alpha"), "transit/encrypt/fields")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let read = http
        .get(format!("{}/v1/kv/data/credentials", dev.addr))
        .header("X-Vault-Token", &token)
        .header("X-Vault-Namespace", namespace("alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = http
        .post(format!("{}/v1/kv/data/credentials", dev.addr))
        .header("X-Vault-Token", &token)
        .header("X-Vault-Namespace", namespace("alpha"))
        .json(&serde_json::json!({"data": {"x": "y"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        write.status(),
        403,
        "the instance cannot change its own credentials"
    );
    assert_eq!(
        as_alpha(&namespace("beta"), "transit/encrypt/fields")
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "beta's key is refused"
    );
    let beta_kv = http
        .get(format!("{}/v1/kv/data/credentials", dev.addr))
        .header("X-Vault-Token", &token)
        .header("X-Vault-Namespace", namespace("beta"))
        .send()
        .await
        .unwrap();
    assert_eq!(beta_kv.status(), 403, "beta's namespace is refused");

    bao.remove("alpha").await.unwrap();
    bao.remove("alpha").await.unwrap();
    assert_eq!(bao.read_credentials("alpha").await.ok().flatten(), None);
}

#[tokio::test]
async fn two_writers_provisioning_one_tenant_at_once_converge_without_mount_clashes() {
    // Two reconciles of one tenant can overlap (a leader hand-over, an operator restarted mid
    // reconcile): each finds the mounts missing and creates them. The one that loses a mount
    // race counts what the other created as done; OpenBao's own write conflicts ("transaction
    // commit failed") are transient and the next attempt, as the controller's backoff makes
    // it, gets through.
    dotmac_telemetry::install_crypto_provider();
    use dotmac_operator::provision::openbao::{OpenBao, SecretsProvisioner};
    async fn attempts(bao: &OpenBao, tenant: &str) -> (String, Vec<String>) {
        let mut failures = Vec::new();
        for _ in 0..10 {
            match bao.ensure(tenant).await {
                Ok((role, _)) => return (role, failures),
                Err(e) => failures.push(format!("{e:?}")),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{tenant} never provisioned: {failures:?}");
    }
    let dev = DevBao::start().await;
    let first = OpenBao::new(&dev.addr, Password::from_stored("test-root".into())).unwrap();
    let second = OpenBao::new(&dev.addr, Password::from_stored("test-root".into())).unwrap();
    for tenant in ["gamma", "delta", "epsilon"] {
        let ((a, a_failed), (b, b_failed)) =
            tokio::join!(attempts(&first, tenant), attempts(&second, tenant));
        assert_eq!(a, b, "{tenant}: one role for both");
        for failure in a_failed.iter().chain(&b_failed) {
            assert!(
                !failure.contains("already in use"),
                "a mount made by the other writer failed this one: {failure}"
            );
        }
        assert_eq!(first.ensure(tenant).await.unwrap().0, a);
    }
}

#[tokio::test]
async fn a_sealed_or_absent_openbao_is_reported_as_such() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    use dotmac_operator::provision::openbao::{OpenBao, SecretsProvisioner};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let absent = OpenBao::new(
        &format!("http://127.0.0.1:{port}"),
        Password::from_stored("t".into()),
    )
    .unwrap();
    assert_eq!(
        absent.ensure("x").await.unwrap_err().reason(),
        "OpenBaoUnreachable"
    );
    let dev = DevBao::start().await;
    let http = reqwest::Client::new();
    let sealed = http
        .put(format!("{}/v1/sys/seal", dev.addr))
        .header("X-Vault-Token", "test-root")
        .send()
        .await
        .unwrap();
    assert!(sealed.status().is_success());
    let bao = OpenBao::new(&dev.addr, Password::from_stored("test-root".into())).unwrap();
    assert_eq!(bao.ensure("x").await.unwrap_err().reason(), "OpenBaoSealed");
}
