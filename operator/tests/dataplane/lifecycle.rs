//! Provisioning, rotation and deletion under each deletion policy, and re-adoption after Retain.

use super::*;

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
            "DOTMAC_AAA_SECRET",
            "DOTMAC_MANAGEMENT_API_TOKEN",
            "REDIS_URL"
        ]
    );
    // The instance's management-API token speaks for this tenant only; only its hash is kept.
    let speaks_for = |token: String| {
        let db = h.platform.db.clone();
        async move {
            dotmac_management_api::tokens::verify(&db, &token)
                .await
                .unwrap()
                .map(|verified| verified.principal)
        }
    };
    assert_eq!(
        speaks_for(data["DOTMAC_MANAGEMENT_API_TOKEN"].clone()).await,
        Some(dotmac_management_api::tokens::Principal::Tenant(
            name.clone()
        ))
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
    until("the new instance token in force", || async {
        speaks_for(rotated["DOTMAC_MANAGEMENT_API_TOKEN"].clone())
            .await
            .map(|_| ())
    })
    .await;
    assert_eq!(
        speaks_for(data["DOTMAC_MANAGEMENT_API_TOKEN"].clone()).await,
        None,
        "the replaced instance token is refused"
    );
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
    assert_eq!(
        speaks_for(rotated["DOTMAC_MANAGEMENT_API_TOKEN"].clone()).await,
        None,
        "a deleted tenant's instance token is revoked"
    );
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
