//! An operator killed again and again, and a fault injected at every provisioning step, end healed.

use super::*;

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
        Changed, ProvisionError, openbao::SecretsProvisioner, password::Password,
        postgres::DatabaseProvisioner, redis::CacheProvisioner,
    };
    use serde_json::{Map, Value};

    use super::Faulty;

    impl<T: DatabaseProvisioner> DatabaseProvisioner for Faulty<T> {
        async fn ensure(
            &self,
            name: &str,
            password: &Password,
            set_password: bool,
        ) -> Result<Changed, ProvisionError> {
            self.faults.check("PostgreSQL")?;
            self.inner.ensure(name, password, set_password).await
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
            password: &Password,
        ) -> Result<Changed, ProvisionError> {
            self.faults.check("Redis")?;
            self.inner.ensure(tenant, password).await
        }
        async fn remove(&self, tenant: &str) -> Result<(), ProvisionError> {
            self.faults.check("Redis")?;
            self.inner.remove(tenant).await
        }
    }

    impl<T: SecretsProvisioner> SecretsProvisioner for Faulty<T> {
        async fn ensure(&self, tenant: &str) -> Result<(String, Changed), ProvisionError> {
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
            plane.cleanup(&t).await.failure().is_some(),
            "step {step}: the fault stops cleanup"
        );
        assert!(
            plane.cleanup(&t).await.failure().is_none(),
            "step {step}: the next attempt finishes it"
        );
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
