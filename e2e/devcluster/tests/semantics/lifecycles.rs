//! Simulated controllers, finalizers, owner-reference garbage collection and namespace deletion.

use super::*;

#[tokio::test]
async fn simulated_controllers_make_deployments_available_and_services_get_an_ip() {
    let cluster = DevCluster::start_with(Options {
        rollout_delay: Duration::from_millis(50),
        ..Options::default()
    })
    .await
    .unwrap();
    let client = cluster.client().unwrap();
    namespace(&client, "w").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "w");
    let deployment: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"replicas": 3,
        "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})).unwrap();
    let created = deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    assert!(created.status.is_none());
    let mut ready = None;
    for _ in 0..100 {
        let d = deployments.get("web").await.unwrap();
        if d.status.as_ref().and_then(|s| s.ready_replicas) == Some(3) {
            ready = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = ready.expect("the deployment became available");
    assert_eq!(
        ready.status.unwrap().observed_generation,
        ready.metadata.generation
    );
    deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await
        .unwrap();
    let mut ready_replicas = Some(3);
    for _ in 0..100 {
        let status = deployments.get("web").await.unwrap().status.unwrap();
        ready_replicas = status.ready_replicas;
        if ready_replicas.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ready_replicas, None, "scaled to zero");

    let services: Api<Service> = Api::namespaced(client.clone(), "w");
    let svc: Service = serde_json::from_value(
        json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .unwrap();
    let created = services.create(&PostParams::default(), &svc).await.unwrap();
    let ip = created.spec.unwrap().cluster_ip.unwrap();
    assert!(
        ip.starts_with("127.96."),
        "a loopback address the runtime can serve: {ip}"
    );
}

#[tokio::test]
async fn finalizers_hold_deletion_until_released() {
    let (_cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    let mut t = tenant("acme");
    t.metadata.finalizers = Some(vec!["platform.dotmac.io/cleanup".into()]);
    tenants.create(&PostParams::default(), &t).await.unwrap();
    tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = tenants.get("acme").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    let (code, _, message, _) = api_error(
        tenants
            .patch(
                "acme",
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"finalizers": ["platform.dotmac.io/cleanup", "new"]}}),
                ),
            )
            .await,
    );
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("no new finalizers"), "{message}");
    assert_eq!(
        tenants.get("acme").await.unwrap().finalizers(),
        ["platform.dotmac.io/cleanup"],
        "no new finalizers once deleting"
    );
    tenants
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    let (code, _, _, _) = api_error(tenants.get("acme").await);
    assert_eq!(code, 404);
}

#[tokio::test]
async fn owner_references_garbage_collect_in_background_foreground_and_orphan() {
    let (_cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for (name, policy) in [
        ("bg", DeleteParams::background()),
        ("fg", DeleteParams::foreground()),
        ("or", DeleteParams::orphan()),
    ] {
        let owner = tenants
            .create(&PostParams::default(), &tenant(name))
            .await
            .unwrap();
        let owner_ref = json!([{"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant", "name": name,
                                "uid": owner.uid().unwrap(), "controller": true, "blockOwnerDeletion": true}]);
        namespaces.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": format!("ns-{name}"), "ownerReferences": owner_ref}})).unwrap()).await.unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &format!("ns-{name}"));
        let mut c = cm("child", json!({}));
        c.metadata.owner_references = Some(serde_json::from_value(owner_ref.clone()).unwrap());
        c.metadata.finalizers = Some(vec!["hold".into()]);
        cms.create(&PostParams::default(), &c).await.unwrap();

        tenants.delete(name, &policy).await.unwrap();
        match name {
            "bg" => {
                assert!(
                    api_error(tenants.get(name).await).0 == 404,
                    "owner gone at once"
                );
                assert!(
                    namespaces
                        .get("ns-bg")
                        .await
                        .unwrap()
                        .metadata
                        .deletion_timestamp
                        .is_some(),
                    "namespace terminating"
                );
                assert!(
                    cms.get("child")
                        .await
                        .unwrap()
                        .metadata
                        .deletion_timestamp
                        .is_some(),
                    "dependent deleting"
                );
                cms.patch(
                    "child",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                )
                .await
                .unwrap();
                assert_eq!(
                    api_error(namespaces.get("ns-bg").await).0,
                    404,
                    "empty terminating namespace goes away"
                );
            }
            "fg" => {
                let owner = tenants.get(name).await.unwrap();
                assert!(
                    owner
                        .finalizers()
                        .contains(&"foregroundDeletion".to_owned()),
                    "owner waits for dependents"
                );
                cms.patch(
                    "child",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                )
                .await
                .unwrap();
                assert_eq!(
                    api_error(tenants.get(name).await).0,
                    404,
                    "owner deleted after its dependents"
                );
            }
            _ => {
                assert_eq!(api_error(tenants.get(name).await).0, 404);
                let orphan = namespaces.get("ns-or").await.unwrap();
                assert!(
                    orphan.metadata.deletion_timestamp.is_none()
                        && orphan.owner_references().is_empty()
                );
                assert!(
                    cms.get("child")
                        .await
                        .unwrap()
                        .owner_references()
                        .is_empty()
                );
            }
        }
    }
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_contents_and_refuses_new_ones() {
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    namespace(&client, "gone").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "gone");
    cms.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    let mut held = cm("held", json!({}));
    held.metadata.finalizers = Some(vec!["x/y".into()]);
    cms.create(&PostParams::default(), &held).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("gone", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(
        namespaces
            .get("gone")
            .await
            .unwrap()
            .status
            .unwrap()
            .phase
            .as_deref(),
        Some("Terminating")
    );
    assert_eq!(api_error(cms.get("a").await).0, 404);
    let (code, reason, message, _) = api_error(
        cms.create(&PostParams::default(), &cm("new", json!({})))
            .await,
    );
    assert_eq!((code, reason.as_str()), (403, "Forbidden"), "{message}");
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(api_error(namespaces.get("gone").await).0, 404);
    let (code, _, message, _) = api_error(
        Api::<ConfigMap>::namespaced(client.clone(), "never")
            .create(&PostParams::default(), &cm("x", json!({})))
            .await,
    );
    assert_eq!(code, 404, "{message}");
}
