//! devcluster keeps the Kubernetes API semantics operators rely on. Each test follows the
//! documented behaviour of the real API server (kubernetes.io API concepts, SSA, GC docs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::time::Duration;

use common::{api_error, cluster_with_crds, namespace, tenant};
use dotmac_devcluster::{DevCluster, Options};
use dotmac_platform::crd::Tenant;
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Namespace, Service},
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    core::{DynamicObject, GroupVersionKind},
    discovery::{ApiResource, Discovery},
};
use serde_json::json;

/// How many objects a list with `params` returns.
async fn count<K>(api: &Api<K>, params: &ListParams) -> usize
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(params).await.unwrap().items.len()
}

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .unwrap()
}

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
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped on drop"
    );
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

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let (cluster, client) = cluster_with_crds().await;
    namespace(&client, "p").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "p");
    cms.create(&PostParams::default(), &cm("c", json!({"x": "1"})))
        .await
        .unwrap();
    let merged = cms
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": null, "n": "2"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        merged.data.unwrap().into_iter().collect::<Vec<_>>(),
        vec![("n".to_owned(), "2".to_owned())]
    );
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/n", "value": "2"}, {"op": "add", "path": "/data/j", "value": "3"}])).unwrap();
    let patched = cms
        .patch("c", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["j"], "3");
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/n", "value": "9"}])).unwrap();
    let (code, _, _, _) = api_error(
        cms.patch("c", &PatchParams::default(), &Patch::Json::<()>(failing))
            .await,
    );
    assert_eq!(code, 422, "a failed JSON patch test changes nothing");
    let strategic = cms
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"s": "4"}})),
        )
        .await
        .unwrap();
    assert_eq!(strategic.data.unwrap()["s"], "4");

    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("acme"))
        .await
        .unwrap();
    let (code, reason, _, _) = api_error(
        tenants
            .patch(
                "acme",
                &PatchParams::default(),
                &Patch::Strategic(json!({"spec": {"plan": "basic"}})),
            )
            .await,
    );
    assert_eq!((code, reason.as_str()), (415, "UnsupportedMediaType"));
    assert!(cluster.requests("patch", "tenants") >= 1);
}

#[tokio::test]
async fn server_side_apply_tracks_managers_conflicts_and_removals() {
    let (_cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    let config = |extra: serde_json::Value| {
        let mut v = json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "acme"},
                           "spec": {"displayName": "Acme", "contactEmail": "a@b.example"}});
        json_patch::merge(&mut v, &extra);
        v
    };
    let created = tenants
        .patch(
            "acme",
            &PatchParams::apply("gitops"),
            &Patch::Apply(config(
                json!({"metadata": {"labels": {"team": "core"}}, "spec": {"domain": "x.example"}}),
            )),
        )
        .await
        .unwrap();
    let managers: Vec<String> = created
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .map(|m| m.manager.clone().unwrap())
        .collect();
    assert_eq!(managers, ["gitops"]);

    // Another manager changing a field gitops owns conflicts, naming gitops.
    let (code, reason, message, causes) = api_error(
        tenants
            .patch("acme", &PatchParams::apply("operator"), &Patch::Apply(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "acme"}, "spec": {"domain": "y.example"}})))
            .await,
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert!(message.contains("gitops"), "{message}");
    assert_eq!(causes[0]["field"], ".spec.domain");
    // Applying the same value is shared ownership, not a conflict.
    tenants
        .patch("acme", &PatchParams::apply("operator"), &Patch::Apply(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "acme"}, "spec": {"domain": "x.example"}})))
        .await
        .unwrap();
    // force takes the field.
    let forced = tenants
        .patch("acme", &PatchParams::apply("operator").force(), &Patch::Apply(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "acme"}, "spec": {"domain": "z.example"}})))
        .await
        .unwrap();
    assert_eq!(forced.spec.domain.as_deref(), Some("z.example"));

    // gitops stops applying its label: the label goes; the domain stays (operator owns it).
    let after = tenants
        .patch(
            "acme",
            &PatchParams::apply("gitops").force(),
            &Patch::Apply(config(json!({}))),
        )
        .await
        .unwrap();
    assert!(
        after.labels().get("team").is_none(),
        "a field its manager stopped applying is removed"
    );
    assert_eq!(
        after.spec.domain.as_deref(),
        Some("z.example"),
        "a field another manager owns stays"
    );

    // A repeated identical apply writes nothing.
    let again = tenants
        .patch(
            "acme",
            &PatchParams::apply("gitops").force(),
            &Patch::Apply(config(json!({}))),
        )
        .await
        .unwrap();
    assert_eq!(again.resource_version(), after.resource_version());

    // An Update by a manager takes the fields it changed from appliers.
    tenants
        .patch(
            "acme",
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"spec": {"displayName": "Edited"}})),
        )
        .await
        .unwrap();
    let (code, _, message, _) = api_error(
        tenants
            .patch(
                "acme",
                &PatchParams::apply("gitops"),
                &Patch::Apply(config(json!({}))),
            )
            .await,
    );
    assert_eq!(code, 409);
    assert!(message.contains("kubectl-edit"), "{message}");
}

#[tokio::test]
async fn status_and_scale_subresources() {
    let (_cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("acme"))
        .await
        .unwrap();
    // Writes to the main resource ignore status; writes to /status ignore the rest.
    let with_status = tenants
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert!(with_status.status.is_none());
    let status = tenants
        .patch_status(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "no"}, "status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(status.spec.display_name, "ISP acme");
    assert_eq!(
        status.status.unwrap().phase,
        Some(dotmac_platform::crd::tenant::TenantPhase::Ready)
    );
    let (code, _, message, _) = api_error(
        tenants
            .patch_status(
                "acme",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Sleeping"}})),
            )
            .await,
    );
    assert_eq!(code, 422, "status is validated: {message}");

    namespace(&client, "s").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "s");
    let deployment: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"replicas": 2,
        "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})).unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    assert_eq!(
        deployments
            .get_scale("web")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(2)
    );
    deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(deployments.get("web").await.unwrap().spec.replicas, Some(5));
}

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
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deployments
            .get("web")
            .await
            .unwrap()
            .status
            .unwrap()
            .ready_replicas,
        None,
        "scaled to zero"
    );

    let services: Api<Service> = Api::namespaced(client.clone(), "w");
    let svc: Service = serde_json::from_value(
        json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .unwrap();
    let created = services.create(&PostParams::default(), &svc).await.unwrap();
    let ip = created.spec.unwrap().cluster_ip.unwrap();
    assert!(ip.starts_with("10.96."), "{ip}");
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

#[tokio::test]
async fn custom_resources_are_validated_defaulted_and_pruned() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    let (_cluster, client) = cluster_with_crds().await;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("platform.dotmac.io", "v1alpha1", "Tenant"),
        "tenants",
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let object = |spec: serde_json::Value| {
        let mut o = DynamicObject::new("acme", &ar);
        o.data = json!({"spec": spec});
        o
    };
    let (code, reason, message, causes) = api_error(
        api.create(&PostParams::default(), &object(json!({"displayName": "A", "contactEmail": "a@b.example", "plan": "gold", "replicas": -1}))).await,
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"), "{message}");
    let fields: Vec<&str> = causes
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["spec.plan", "spec.replicas"]);
    assert_eq!(causes[0]["reason"], "FieldValueNotSupported");
    assert!(
        message.starts_with("Tenant.platform.dotmac.io \"acme\" is invalid"),
        "{message}"
    );

    let (code, _, message, _) = api_error(
        api.create(&PostParams::default(), &object(json!({"displayName": "A", "contactEmail": "a@b.example", "replicas": 2, "autoscaling": {"maxReplicas": 3}}))).await,
    );
    assert_eq!(code, 422);
    assert!(
        message.contains("mutually exclusive"),
        "CEL rule: {message}"
    );

    // Unknown fields: rejected under Strict, pruned (with a warning) otherwise.
    let with_unknown =
        object(json!({"displayName": "A", "contactEmail": "a@b.example", "colour": "blue"}));
    let strict = reqwest::Client::new()
        .post(format!(
            "{}/apis/platform.dotmac.io/v1alpha1/tenants?fieldValidation=Strict",
            _cluster.url()
        ))
        .json(&with_unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), 400);
    let status: serde_json::Value = strict.json().await.unwrap();
    assert_eq!(
        status["message"],
        "strict decoding error: unknown field \"spec.colour\""
    );
    let warned = reqwest::Client::new()
        .post(format!(
            "{}/apis/platform.dotmac.io/v1alpha1/tenants?fieldValidation=Warn&dryRun=All",
            _cluster.url()
        ))
        .json(&with_unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(warned.status(), 201);
    assert_eq!(
        warned.headers()["warning"],
        "299 - \"unknown field \\\"spec.colour\\\"\""
    );
    let created = api
        .create(&PostParams::default(), &with_unknown)
        .await
        .unwrap();
    assert!(created.data["spec"].get("colour").is_none(), "pruned");
    assert_eq!(created.data["spec"]["plan"], "free", "defaulted");
    assert_eq!(created.data["spec"]["deletionPolicy"], "Retain");

    // Transition rule: deletionPolicy never goes from Retain to Delete.
    let (code, _, message, _) = api_error(
        api.patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"deletionPolicy": "Delete"}})),
        )
        .await,
    );
    assert_eq!(code, 422, "{message}");
    assert!(message.contains("spec.deletionPolicy"), "{message}");
}

#[tokio::test]
async fn metrics_count_requests_by_verb_and_resource() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    let (cluster, client) = cluster_with_crds().await;
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("acme"))
        .await
        .unwrap();
    tenants.get("acme").await.unwrap();
    tenants.list(&ListParams::default()).await.unwrap();
    tenants
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"plan": "basic"}})),
        )
        .await
        .unwrap();
    let text = reqwest::get(format!("{}/metrics", cluster.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"devcluster_requests_total{verb="create",resource="tenants",subresource=""} 1"#,
        r#"devcluster_requests_total{verb="get",resource="tenants",subresource=""} 1"#,
        r#"devcluster_requests_total{verb="list",resource="tenants",subresource=""} 1"#,
        r#"devcluster_requests_total{verb="patch",resource="tenants",subresource=""} 1"#,
        r#"devcluster_requests_total{verb="create",resource="customresourcedefinitions",subresource=""} 3"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
    assert_eq!(cluster.writes(), 5);
}

#[tokio::test]
async fn data_file_keeps_objects_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("devcluster.db");
    let options = Options {
        data: Some(data.clone()),
        ..Options::default()
    };
    let cluster = DevCluster::start_with(options.clone()).await.unwrap();
    let client = cluster.client().unwrap();
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_platform::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let tenants: Api<Tenant> = Api::all(client.clone());
    tenants
        .create(&PostParams::default(), &tenant("kept"))
        .await
        .unwrap();
    tenants
        .create(&PostParams::default(), &tenant("dropped"))
        .await
        .unwrap();
    tenants
        .delete("dropped", &DeleteParams::default())
        .await
        .unwrap();
    let before = tenants.get("kept").await.unwrap();
    cluster.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let cluster = DevCluster::start_with(options).await.unwrap();
    let tenants: Api<Tenant> = Api::all(cluster.client().unwrap());
    let after = tenants.get("kept").await.unwrap();
    assert_eq!(after.uid(), before.uid());
    assert_eq!(after.resource_version(), before.resource_version());
    assert_eq!(api_error(tenants.get("dropped").await).0, 404);
    let next = tenants
        .create(&PostParams::default(), &tenant("new"))
        .await
        .unwrap();
    assert!(
        next.resource_version().unwrap().parse::<u64>().unwrap()
            > before.resource_version().unwrap().parse::<u64>().unwrap()
    );
}
