//! Start-up, discovery, every built-in kind, object metadata, and lists with selectors and paging.

use super::*;

#[tokio::test]
async fn library_start_gives_a_client_and_a_working_kubeconfig() {
    let cluster = DevCluster::start().await.unwrap();
    let text = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.minor, "37");
    let addr = cluster.addr();
    drop(cluster);
    // The listener closes shortly after the drop.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still serving after the drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn discovery_lists_builtins_and_custom_resources_follow_their_crd() {
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let kinds: Vec<String> = discovery
        .groups()
        .flat_map(|g| {
            g.recommended_resources()
                .into_iter()
                .map(|(ar, _)| format!("{}/{}", ar.group, ar.kind))
        })
        .collect();
    for wanted in [
        "/Namespace",
        "/Secret",
        "/ConfigMap",
        "/Service",
        "/ServiceAccount",
        "/Event",
        "events.k8s.io/Event",
        "coordination.k8s.io/Lease",
        "apps/Deployment",
        "networking.k8s.io/Ingress",
        "networking.k8s.io/NetworkPolicy",
        "/ResourceQuota",
        "/LimitRange",
        "autoscaling/HorizontalPodAutoscaler",
        "policy/PodDisruptionBudget",
        "rbac.authorization.k8s.io/Role",
        "rbac.authorization.k8s.io/RoleBinding",
        "rbac.authorization.k8s.io/ClusterRole",
        "rbac.authorization.k8s.io/ClusterRoleBinding",
        "apiextensions.k8s.io/CustomResourceDefinition",
    ] {
        assert!(
            kinds.iter().any(|k| k == wanted),
            "{wanted} missing from {kinds:?}"
        );
    }
    assert!(!kinds.iter().any(|k| k.ends_with("/Tenant")));

    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_platform::crd::all() {
        crds.create(&PostParams::default(), &crd).await.ok();
    }
    let established = crds.get("tenants.platform.dotmac.io").await.unwrap();
    let conditions = established.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let (ar, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk(
            "platform.dotmac.io",
            "v1alpha1",
            "Tenant",
        ))
        .unwrap();
    assert_eq!(ar.plural, "tenants");
    assert_eq!(caps.scope, kube::discovery::Scope::Cluster);

    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("acme"))
        .await
        .unwrap();
    crds.delete("tenants.platform.dotmac.io", &DeleteParams::default())
        .await
        .unwrap();
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "platform.dotmac.io",
                "v1alpha1",
                "Tenant"
            ))
            .is_none()
    );
    let (code, _, _, _) = api_error(tenants.get("acme").await);
    assert_eq!(code, 404, "custom resources disappear with their CRD");
}

#[tokio::test]
async fn every_builtin_kind_round_trips() {
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    namespace(&client, "ns1").await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if ar.kind == "Namespace" || ar.kind == "CustomResourceDefinition" {
                continue;
            }
            let api: Api<DynamicObject> = if caps.scope == kube::discovery::Scope::Namespaced {
                Api::namespaced_with(client.clone(), "ns1", &ar)
            } else {
                Api::all_with(client.clone(), &ar)
            };
            let mut object = DynamicObject::new("sample", &ar);
            object.data = json!({"spec": {}});
            let created = api
                .create(&PostParams::default(), &object)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", ar.kind));
            assert_eq!(created.types.as_ref().unwrap().kind, ar.kind);
            assert_eq!(api.get("sample").await.unwrap().uid(), created.uid());
            assert_eq!(
                api.list(&ListParams::default()).await.unwrap().items.len(),
                1,
                "{}",
                ar.kind
            );
            api.delete("sample", &DeleteParams::default())
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn metadata_semantics_uid_rv_generation_generate_name() {
    let (_cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    let created = tenants
        .create(&PostParams::default(), &tenant("acme"))
        .await
        .unwrap();
    assert!(created.uid().is_some());
    assert!(created.creation_timestamp().is_some());
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        created.spec.plan,
        dotmac_platform::crd::tenant::Plan::Free,
        "defaulted"
    );

    let (code, reason, _, _) = api_error(
        tenants
            .create(&PostParams::default(), &tenant("acme"))
            .await,
    );
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));

    let mut changed = created.clone();
    changed.spec.display_name = "Renamed".into();
    let updated = tenants
        .replace("acme", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(
        updated.metadata.generation,
        Some(2),
        "spec change moves generation"
    );
    assert_ne!(updated.resource_version(), created.resource_version());

    let (code, reason, _, _) = api_error(
        tenants
            .replace("acme", &PostParams::default(), &changed)
            .await,
    );
    assert_eq!(
        (code, reason.as_str()),
        (409, "Conflict"),
        "stale resourceVersion"
    );

    let labelled = tenants
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "core"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        labelled.metadata.generation,
        Some(2),
        "metadata change keeps generation"
    );
    let with_status = tenants
        .patch_status(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        with_status.metadata.generation,
        Some(2),
        "status change keeps generation"
    );
    let unchanged = tenants
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "Renamed"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        unchanged.resource_version(),
        with_status.resource_version(),
        "a no-op write stores nothing"
    );

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default-ns");
    namespace(&client, "default-ns").await;
    let mut generated = cm("", json!({}));
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("cfg-".into());
    let made = cms
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    assert!(
        made.name_any().starts_with("cfg-") && made.name_any().len() == 9,
        "{}",
        made.name_any()
    );
}

#[tokio::test]
async fn lists_filter_by_labels_and_fields_and_page() {
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    namespace(&client, "a").await;
    namespace(&client, "b").await;
    let a: Api<ConfigMap> = Api::namespaced(client.clone(), "a");
    let b: Api<ConfigMap> = Api::namespaced(client.clone(), "b");
    for i in 0..5 {
        a.create(
            &PostParams::default(),
            &cm(
                &format!("cm-{i}"),
                json!({"tier": if i % 2 == 0 { "even" } else { "odd" }}),
            ),
        )
        .await
        .unwrap();
    }
    b.create(
        &PostParams::default(),
        &cm("other", json!({"tier": "even"})),
    )
    .await
    .unwrap();
    let all: Api<ConfigMap> = Api::all(client.clone());
    assert_eq!(count(&all, &ListParams::default()).await, 6);
    assert_eq!(
        count(&a, &ListParams::default().labels("tier=even")).await,
        3
    );
    assert_eq!(
        count(&all, &ListParams::default().labels("tier in (odd)")).await,
        2
    );
    assert_eq!(
        count(&all, &ListParams::default().labels("tier!=even")).await,
        2
    );
    let one = all
        .list(&ListParams::default().fields("metadata.name=other"))
        .await
        .unwrap();
    assert_eq!(one.items[0].namespace().as_deref(), Some("b"));
    assert_eq!(
        count(&all, &ListParams::default().fields("metadata.namespace!=a")).await,
        1
    );

    let mut names = Vec::new();
    let mut params = ListParams::default().limit(2);
    loop {
        let page = a.list(&params).await.unwrap();
        assert!(page.items.len() <= 2);
        names.extend(page.items.iter().map(ResourceExt::name_any));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]);
}
