//! Watches behave as kube-runtime and kubectl expect: events after a resourceVersion,
//! bookmarks, 410 Gone for compacted history, initial events for WatchList, resumption after
//! the server drops the stream, and a kube-runtime Controller reconciling against devcluster.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{cluster_with_crds, namespace, tenant};
use dotmac_devcluster::{DevCluster, Options};
use dotmac_platform::crd::Tenant;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
    runtime::{Controller, controller::Action, watcher},
};
use serde_json::json;

async fn next<K: std::fmt::Debug>(
    stream: &mut (impl futures_util::Stream<Item = Result<WatchEvent<K>, kube::Error>> + Unpin),
) -> WatchEvent<K> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a watch event within 10 s")
        .expect("the stream is open")
        .unwrap()
}

#[tokio::test]
async fn watch_from_a_resource_version_sees_only_later_changes_in_order() {
    let (_cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("before"))
        .await
        .unwrap();
    let rv = tenants
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = tenants
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    tenants
        .create(&PostParams::default(), &tenant("after"))
        .await
        .unwrap();
    tenants
        .patch(
            "after",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"plan": "basic"}})),
        )
        .await
        .unwrap();
    tenants.delete("after", &Default::default()).await.unwrap();
    match next(&mut stream).await {
        WatchEvent::Added(t) => assert_eq!(t.name_any(), "after"),
        other => panic!("{other:?}"),
    }
    match next(&mut stream).await {
        WatchEvent::Modified(t) => {
            assert_eq!(t.spec.plan, dotmac_platform::crd::tenant::Plan::Basic)
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(&mut stream).await, WatchEvent::Deleted(t) if t.name_any() == "after"));
}

#[tokio::test]
async fn watches_filter_by_label_and_field_selectors() {
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    namespace(&client, "w").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "w");
    let mut stream = cms
        .watch(
            &WatchParams::default()
                .labels("app=web")
                .fields("metadata.name=b"),
            "0",
        )
        .await
        .unwrap()
        .boxed();
    for (name, app) in [("a", "web"), ("b", "api"), ("b2", "web"), ("b", "web")] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": app}}}))
                .unwrap();
        if cms.get(name).await.is_ok() {
            cms.replace(name, &PostParams::default(), &{
                let mut c = cms.get(name).await.unwrap();
                c.metadata.labels = cm.metadata.labels;
                c
            })
            .await
            .unwrap();
        } else {
            cms.create(&PostParams::default(), &cm).await.unwrap();
        }
    }
    match next(&mut stream).await {
        WatchEvent::Modified(c) => assert_eq!(
            (c.name_any(), c.labels()["app"].clone()),
            ("b".into(), "web".into())
        ),
        other => panic!("only b with app=web matches, got {other:?}"),
    }
}

#[tokio::test]
async fn bookmarks_arrive_when_allowed() {
    let cluster = DevCluster::start_with(Options {
        bookmark_interval: Duration::from_millis(100),
        ..Options::default()
    })
    .await
    .unwrap();
    let client = cluster.client().unwrap();
    let cms: Api<ConfigMap> = Api::all(client.clone());
    let mut stream = cms
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    assert!(matches!(next(&mut stream).await, WatchEvent::Bookmark(_)));
}

#[tokio::test]
async fn too_old_a_resource_version_is_410_gone() {
    let cluster = DevCluster::start_with(Options {
        history: 3,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = cluster.client().unwrap();
    namespace(&client, "h").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "h");
    let first = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c0"}})).unwrap(),
        )
        .await
        .unwrap();
    for i in 1..10 {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let mut stream = cms
        .watch(&WatchParams::default(), &first.resource_version().unwrap())
        .await
        .unwrap()
        .boxed();
    match next(&mut stream).await {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn watch_list_sends_initial_events_then_the_end_bookmark() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    let (cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("acme"))
        .await
        .unwrap();
    let url = format!(
        "{}/apis/platform.dotmac.io/v1alpha1/tenants?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dacme&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=1&watch=true",
        cluster.url()
    );
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    let events: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "acme");
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(events[1]["object"]["kind"], "Tenant");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn a_watcher_resumes_after_the_server_drops_the_stream() {
    let (cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    let mut events = watcher(tenants.clone(), watcher::Config::default()).boxed();
    // Initial list.
    loop {
        if let watcher::Event::InitDone =
            tokio::time::timeout(Duration::from_secs(10), events.try_next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
        {
            break;
        }
    }
    tenants
        .create(&PostParams::default(), &tenant("one"))
        .await
        .unwrap();
    let watches_before = cluster.requests("watch", "tenants");
    cluster.close_watches();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tenants
        .create(&PostParams::default(), &tenant("two"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !seen.contains(&"two".to_owned()) {
        match tokio::time::timeout(Duration::from_secs(10), events.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::Apply(t) | watcher::Event::InitApply(t) => seen.push(t.name_any()),
            _ => {}
        }
    }
    assert!(
        seen.contains(&"one".to_owned()),
        "nothing missed across the drop: {seen:?}"
    );
    assert!(
        cluster.requests("watch", "tenants") > watches_before,
        "the watcher reconnected"
    );
}

#[tokio::test]
async fn a_kube_runtime_controller_reconciles_against_devcluster() {
    let (_cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    for name in ["a", "b", "c"] {
        tenants
            .create(&PostParams::default(), &tenant(name))
            .await
            .unwrap();
    }
    let reconciled = Arc::new(AtomicUsize::new(0));
    let counter = reconciled.clone();
    let api = tenants.clone();
    let controller = Controller::new(tenants.clone(), watcher::Config::default())
        .run(
            move |tenant: Arc<Tenant>, _ctx: Arc<()>| {
                let api = api.clone();
                let counter = counter.clone();
                async move {
                    let patch = json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
                                       "status": {"phase": "Ready", "observedGeneration": tenant.metadata.generation}});
                    api.patch_status(&tenant.name_any(), &PatchParams::apply("test-controller").force(), &Patch::Apply(patch)).await?;
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, kube::Error>(Action::await_change())
                }
            },
            |_, _: &kube::Error, _| Action::requeue(Duration::from_millis(100)),
            Arc::new(()),
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    let mut ready = 0;
    for _ in 0..200 {
        ready = tenants
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|t| {
                t.status.as_ref().and_then(|s| s.phase)
                    == Some(dotmac_platform::crd::tenant::TenantPhase::Ready)
            })
            .count();
        if ready == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(ready, 3, "every tenant reconciled");
    // A spec change triggers another reconcile.
    let before = reconciled.load(Ordering::SeqCst);
    tenants
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"plan": "basic"}})),
        )
        .await
        .unwrap();
    for _ in 0..200 {
        if reconciled.load(Ordering::SeqCst) > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(reconciled.load(Ordering::SeqCst) > before);
    handle.abort();
}

#[tokio::test]
async fn a_restarted_cluster_never_goes_back_to_a_version_a_watcher_has_seen() {
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        data: Some(dir.path().join("state.db")),
        ..Options::default()
    };
    let cluster = DevCluster::start_with(options()).await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(cluster.client().unwrap(), "default");
    let map = |name: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
    };
    maps.create(&PostParams::default(), &map("kept"))
        .await
        .unwrap();
    maps.create(&PostParams::default(), &map("gone"))
        .await
        .unwrap();
    maps.delete("gone", &Default::default()).await.unwrap();
    // The delete is the latest version, and no stored object carries it.
    let seen = maps
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    cluster.stop().await;

    let cluster = DevCluster::start_with(options()).await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(cluster.client().unwrap(), "default");
    let mut stream = maps
        .watch(&WatchParams::default(), &seen)
        .await
        .unwrap()
        .boxed();
    maps.create(&PostParams::default(), &map("after"))
        .await
        .unwrap();
    match next(&mut stream).await {
        WatchEvent::Added(added) => assert_eq!(added.name_any(), "after"),
        other => panic!("expected the new object, got {other:?}"),
    }
    // A version this cluster never reached (a client that saw a lost store) is refused, so the
    // client lists again instead of waiting for events it would never be sent.
    let ahead = (seen.parse::<u64>().unwrap() + 1_000).to_string();
    let mut stream = maps
        .watch(&WatchParams::default(), &ahead)
        .await
        .unwrap()
        .boxed();
    match next(&mut stream).await {
        WatchEvent::Error(e) => assert_eq!(e.code, 410, "{e:?}"),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    cluster.stop().await;
}
