//! Lost backend state is noticed and repaired on the check interval, and said so: a tenant
//! database dropped by hand, a Redis ACL user deleted by hand, and OpenBao restarted empty.
//! With everything in place the checks only read.

use std::time::Duration;

use dotmac_operator::provision::calls::{self, Access};
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;

use super::*;

/// The check interval the operator runs with here.
const CHECK_SECONDS: u64 = 2;
/// Two check intervals, plus the reconcile itself on a loaded test machine.
const REPAIR_WITHIN: u64 = 2 * CHECK_SECONDS + 3;

/// Waits up to [`REPAIR_WITHIN`] seconds for `tenant`'s `type_` condition to say `Repaired`
/// with a message naming `step`.
async fn repaired(tenants: &Api<Tenant>, tenant: &str, type_: &str, step: &str) -> String {
    dotmac_testkit::eventually(&format!("{type_} repaired"), REPAIR_WITHIN, || async {
        let status = tenants.get(tenant).await.ok()?.status?;
        let c = status.conditions.into_iter().find(|c| c.type_ == type_)?;
        (c.status == "True" && c.reason == "Repaired" && c.message.contains(step))
            .then_some(c.message)
    })
    .await
}

async fn repair_events(client: &Client, tenant: &str) -> Vec<String> {
    Api::<Event>::namespaced(client.clone(), "default")
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Repaired"))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(tenant))
        .filter_map(|e| e.note)
        .collect()
}

async fn admin_sql(sql: &str) {
    let db = Database::connect(&dotmac_testkit::require_postgres())
        .await
        .unwrap();
    db.execute_unprepared(sql).await.unwrap();
}

#[tokio::test]
async fn lost_backend_state_is_repaired_within_two_checks_and_steady_checks_only_read() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bao = DevBao::start_on(port).await;
    let interval = CHECK_SECONDS.to_string();
    let h = harness_args(
        &bao.addr,
        &dotmac_testkit::require_postgres(),
        &dotmac_testkit::require_redis(),
        &["--verify-seconds", &interval],
    )
    .await;
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let name = unique("rp");
    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    ready(&tenants, &name).await;
    let database = format!("tenant_{}", name.replace('-', "_"));

    // Steady: several checks read every backend and write none of them, nor Kubernetes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes = h.cluster.writes();
    let backends = ["PostgreSQL", "Redis", "OpenBao"];
    let before: Vec<(u64, u64)> = backends
        .iter()
        .map(|b| {
            (
                calls::total(b, Access::Read),
                calls::total(b, Access::Write),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3 * CHECK_SECONDS)).await;
    for (backend, (reads, writes)) in backends.iter().zip(&before) {
        assert!(
            calls::total(backend, Access::Read) > *reads,
            "{backend} was not checked"
        );
        assert_eq!(
            calls::total(backend, Access::Write),
            *writes,
            "a steady check wrote to {backend}"
        );
    }
    assert_eq!(
        h.cluster.writes(),
        writes,
        "a steady check wrote to Kubernetes"
    );

    // A database dropped by hand comes back, empty, and the condition says so.
    admin_sql(&format!("DROP DATABASE \"{database}\" WITH (FORCE)")).await;
    let message = repaired(&tenants, &name, "DatabaseReady", "create the database").await;
    assert!(
        message.contains("found incomplete and repaired at "),
        "{message}"
    );
    assert_eq!(databases_like(&name.replace('-', "_")).await, [database]);

    // A Redis user deleted by hand comes back with the password the instance has.
    {
        use fred::interfaces::{AclInterface, ClientLike};
        let admin = redis_admin().await;
        let _: i64 = admin.acl_deluser(format!("tenant:{name}")).await.unwrap();
        admin.quit().await.ok();
    }
    repaired(&tenants, &name, "CacheReady", "create the user").await;
    assert!(redis_user_exists(&name).await);

    // OpenBao restarted empty: namespace, AppRole and credentials are made again, and the
    // instance's Secret carries the new ones, which open its database.
    let old = secret_data(&h.client, &name).await;
    drop(bao);
    let _bao = DevBao::start_on(port).await;
    let message = repaired(&tenants, &name, "SecretsReady", "create the namespace").await;
    assert!(message.contains("store new credentials"), "{message}");
    let new = dotmac_testkit::eventually("the new credentials in the Secret", 30, || async {
        let data = secret_data(&h.client, &name).await;
        (data["BAO_SECRET_ID"] != old["BAO_SECRET_ID"]).then_some(data)
    })
    .await;
    let db = Database::connect(&new["DATABASE_URL"]).await.unwrap();
    db.execute_unprepared("SELECT 1").await.unwrap();
    drop(db);

    let events = repair_events(&h.client, &name).await;
    for part in ["DatabaseReady", "CacheReady", "SecretsReady"] {
        assert!(
            events.iter().any(|e| e.starts_with(part)),
            "no Repaired event for {part}: {events:?}"
        );
    }
    delete_and_wait(&tenants, &name).await;
}
