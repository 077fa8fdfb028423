//! Custom resource validation, request metrics, and objects kept across restarts with --data.

use super::*;

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
