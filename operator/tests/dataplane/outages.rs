//! Backends down or cut while tenants provision: everything becomes Ready once they are back.

use super::*;

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
