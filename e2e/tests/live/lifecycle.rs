//! A Tenant's instance from apply to deletion: it answers on its own database, stops when the
//! Tenant is suspended and comes back when it resumes, is restarted when its process dies
//! (the Tenant going Degraded, then Ready), and its data follows the deletion policy.

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, api::ListParams};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::json;

use super::*;
use dotmac_e2e::live::{eventually, get, post, tenant_yaml, unique};

async fn customers_in_own_database(url: &str) -> i64 {
    let db = Database::connect(url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM customers",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn database_exists(name: &str) -> bool {
    let admin = Database::connect(dotmac_testkit::require_postgres())
        .await
        .unwrap();
    admin
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT 1 AS one FROM pg_database WHERE datname = 'tenant_{}'",
                name.replace('-', "_")
            ),
        ))
        .await
        .unwrap()
        .is_some()
}

async fn pods(live: &Live, tenant: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(live.client.clone(), &format!("dotmac-tenant-{tenant}"))
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn a_tenant_gets_a_live_instance_that_follows_it_from_apply_to_deletion() {
    let live = Live::start().await;
    let (gone, kept) = (unique("e2ed"), unique("e2er"));
    let manifests = format!(
        "{}\n---\n{}",
        tenant_yaml(&gone, "  deletionPolicy: Delete\n"),
        tenant_yaml(&kept, "  deletionPolicy: Retain\n")
    );
    live.kubectl(&["apply", "-f", "-"], Some(&manifests)).await;
    live.phase(&gone, "Ready", 120).await;
    live.phase(&kept, "Ready", 120).await;

    // Each instance answers on its Service's address, on a database of its own.
    let url = live.instance_url(&gone).await;
    let (status, ready) = get(&format!("{url}/ready"), None).await.unwrap();
    assert_eq!(status, 200, "{ready}");
    let token = live.staff_token(&gone).await;
    let (status, created) = post(
        &format!("{url}/api/v1/customers"),
        &token,
        &json!({"display_name": "Ada Lovelace", "email": "ada@example.com", "address": {"country": "GB"}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let own_db = live.credential(&gone, "DATABASE_URL").await;
    assert_eq!(customers_in_own_database(&own_db).await, 1);
    let other_db = live.credential(&kept, "DATABASE_URL").await;
    assert_eq!(
        customers_in_own_database(&other_db).await,
        0,
        "the other tenant's database is apart"
    );
    let kept_url = live.instance_url(&kept).await;
    let kept_token = live.staff_token(&kept).await;
    let (status, _) = post(
        &format!("{kept_url}/api/v1/customers"),
        &kept_token,
        &json!({"display_name": "Grace Hopper", "email": "grace@example.com", "address": {"country": "US"}}),
    )
    .await;
    assert_eq!(status, 201);

    // The instance reports its health; the Tenant shows it.
    eventually("the instance's health on the Tenant", 60, || async {
        (live.tenant_field(&gone, ".status.health.status").await == "Healthy").then_some(())
    })
    .await;

    // Suspended: the pods stop and the instance no longer answers; resumed, it answers again.
    live.kubectl(
        &[
            "patch",
            "tenant",
            &gone,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"suspended":true}}"#,
        ],
        None,
    )
    .await;
    live.phase(&gone, "Suspended", 60).await;
    eventually("no pod left", 60, || async {
        pods(&live, &gone).await.is_empty().then_some(())
    })
    .await;
    assert!(
        get(&format!("{url}/ready"), None).await.is_none(),
        "a suspended instance does not answer"
    );
    live.kubectl(
        &[
            "patch",
            "tenant",
            &gone,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"suspended":false}}"#,
        ],
        None,
    )
    .await;
    live.phase(&gone, "Ready", 120).await;
    let (status, listed) = get(&format!("{url}/api/v1/customers"), Some(&token))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "its data is still there"
    );

    // A killed process is restarted; the Tenant goes Degraded, then Ready.
    let pod = pods(&live, &gone).await.remove(0);
    let container = pod.status.unwrap().container_statuses.unwrap().remove(0);
    let pid: i32 = container
        .container_id
        .unwrap()
        .trim_start_matches("devcluster://")
        .parse()
        .unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    live.phase(&gone, "Degraded", 30).await;
    live.phase(&gone, "Ready", 120).await;
    let restarted = pods(&live, &gone)
        .await
        .remove(0)
        .status
        .unwrap()
        .container_statuses
        .unwrap()
        .remove(0);
    assert_eq!(restarted.restart_count, 1);
    assert_eq!(get(&format!("{url}/ready"), None).await.unwrap().0, 200);

    // Deleted: the instances stop; Delete drops the database, Retain keeps it with its data.
    live.delete_tenants(&[&gone, &kept]).await;
    assert!(get(&format!("{url}/ready"), None).await.is_none());
    assert!(get(&format!("{kept_url}/ready"), None).await.is_none());
    assert!(!database_exists(&gone).await, "Delete drops the database");
    assert!(database_exists(&kept).await, "Retain keeps it");
    let admin_url = dotmac_testkit::postgres_url(&format!("tenant_{}", kept.replace('-', "_")));
    assert_eq!(
        customers_in_own_database(&admin_url).await,
        1,
        "with its data"
    );
    // The test's own cleanup of what Retain kept.
    let admin = Database::connect(dotmac_testkit::require_postgres())
        .await
        .unwrap();
    let db = format!("tenant_{}", kept.replace('-', "_"));
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!("DROP ROLE IF EXISTS {db}"),
    ] {
        admin.execute_unprepared(&sql).await.unwrap();
    }
}
