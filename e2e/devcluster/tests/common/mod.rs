//! Helpers shared by the devcluster test files.

#![allow(dead_code, reason = "each test file uses a different subset")]

use dotmac_devcluster::DevCluster;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    api::{PostParams, ResourceExt},
};
use serde_json::{Value, json};

/// A devcluster with the platform's CRDs registered, and a client.
pub async fn cluster_with_crds() -> (DevCluster, Client) {
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_platform::crd::all() {
        let created = crds.create(&PostParams::default(), &crd).await.unwrap();
        assert!(created.uid().is_some());
    }
    (cluster, client)
}

/// A namespace object.
pub async fn namespace(client: &Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .unwrap();
}

/// A minimal valid Tenant.
pub fn tenant(name: &str) -> dotmac_platform::crd::Tenant {
    serde_json::from_value(json!({
        "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"displayName": format!("ISP {name}"), "contactEmail": format!("noc@{name}.example")}
    }))
    .unwrap()
}

/// The API error of a failed call: (code, reason, message, causes).
pub fn api_error<T: std::fmt::Debug>(
    result: Result<T, kube::Error>,
) -> (u16, String, String, Vec<Value>) {
    match result {
        Err(kube::Error::Api(status)) => {
            let causes = status
                .details
                .as_ref()
                .map(|d| serde_json::to_value(&d.causes).unwrap())
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            (
                status.code,
                status.reason.clone(),
                status.message.clone(),
                causes,
            )
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}
