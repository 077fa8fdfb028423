//! Merge, JSON and strategic patches, server-side apply, and the status and scale subresources.

use super::*;

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
async fn a_secrets_string_data_is_stored_encoded_in_data() {
    let (_cluster, client) = cluster_with_crds().await;
    namespace(&client, "s").await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), "s");
    let secret = serde_json::from_value(json!({"metadata": {"name": "smtp"},
        "data": {"kept": "a2VwdA==", "url": "b2xk"}, "stringData": {"url": "smtps://u:p@h:465"}}))
    .unwrap();
    let created = secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    assert!(created.string_data.is_none(), "stringData is write-only");
    let data = created.data.unwrap();
    assert_eq!(
        data["url"].0, b"smtps://u:p@h:465",
        "stringData wins over data"
    );
    assert_eq!(data["kept"].0, b"kept");
    let bad = serde_json::from_value::<Value>(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bad"}, "stringData": {"n": 1}}))
    .unwrap();
    let raw: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "s",
        &ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    );
    let (code, _, _, _) = api_error(
        raw.create(
            &PostParams::default(),
            &serde_json::from_value(bad).unwrap(),
        )
        .await,
    );
    assert_eq!(code, 400);
}
