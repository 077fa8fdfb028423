//! A deletion while a backend is down waits, and says for what: `CleanupBlocked` names the
//! backend, the part conditions show what is already gone, a Warning event tells the same, and
//! the deletion completes once the backend is back.

use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;

use super::*;

/// The Tenant's condition `type_` as (status, reason, message).
async fn condition(
    tenants: &Api<Tenant>,
    name: &str,
    type_: &str,
) -> Option<(String, String, String)> {
    let status = tenants.get_opt(name).await.ok()??.status?;
    let c = status.conditions.into_iter().find(|c| c.type_ == type_)?;
    Some((c.status, c.reason, c.message))
}

#[tokio::test]
async fn a_deletion_waiting_for_each_backend_names_it_and_completes_when_it_is_back() {
    let bao_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut bao = Some(DevBao::start_on(bao_port).await);
    let postgres = Proxy::start(dotmac_testkit::postgres_host()).await;
    let redis = Proxy::start(dotmac_testkit::redis_host()).await;
    postgres.set_up(true);
    redis.set_up(true);
    let h = harness_args(
        &format!("http://127.0.0.1:{bao_port}"),
        &format!("postgres://postgres@127.0.0.1:{}/postgres", postgres.port),
        &format!("redis://127.0.0.1:{}", redis.port),
        &[],
    )
    .await;
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let events: Api<Event> = Api::namespaced(h.client.clone(), "default");

    // (backend, the reason it is named by, a part already gone while it is down)
    for (backend, reason, gone) in [
        ("OpenBao", "OpenBaoUnreachable", "CacheReady"),
        ("PostgreSQL", "PostgresUnreachable", "SecretsReady"),
        ("Redis", "RedisUnreachable", "DatabaseReady"),
    ] {
        let name = unique("dl");
        tenants
            .create(&PostParams::default(), &tenant(&name, "Delete"))
            .await
            .unwrap();
        ready(&tenants, &name).await;
        match backend {
            "OpenBao" => drop(bao.take()),
            "PostgreSQL" => postgres.set_up(false),
            _ => redis.set_up(false),
        }
        tenants
            .delete(&name, &DeleteParams::default())
            .await
            .unwrap();
        let (_, _, message) = until(&format!("CleanupBlocked by {backend}"), || async {
            condition(&tenants, &name, "CleanupBlocked")
                .await
                .filter(|(status, r, _)| status == "True" && r == reason)
        })
        .await;
        assert!(message.contains("cannot be removed yet"), "{message}");
        let phase = tenants.get(&name).await.unwrap().status.unwrap().phase;
        assert_eq!(phase, Some(TenantPhase::Deleting));
        let (ready_status, ready_reason, _) = condition(&tenants, &name, "Ready").await.unwrap();
        assert_eq!(
            (ready_status.as_str(), ready_reason.as_str()),
            ("False", "Deleting")
        );
        let (status, removed, _) = condition(&tenants, &name, gone).await.unwrap();
        assert_eq!(
            (status.as_str(), removed.as_str()),
            ("False", "Removed"),
            "{gone} is already gone while {backend} is down"
        );
        let warned = events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .any(|e| {
                e.reason.as_deref() == Some("CleanupBlocked")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str())
                    && e.note.as_deref().is_some_and(|n| n.contains(backend))
            });
        assert!(warned, "a Warning event names {backend}");

        match backend {
            "OpenBao" => bao = Some(DevBao::start_on(bao_port).await),
            "PostgreSQL" => postgres.set_up(true),
            _ => redis.set_up(true),
        }
        until(&format!("{name} gone once {backend} is back"), || async {
            tenants
                .get_opt(&name)
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        assert!(databases_like(&name.replace('-', "_")).await.is_empty());
        assert!(!redis_user_exists(&name).await);
    }
}
