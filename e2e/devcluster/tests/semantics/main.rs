//! devcluster keeps the Kubernetes API semantics operators rely on. Each test follows the
//! documented behaviour of the real API server (kubernetes.io API concepts, SSA, GC docs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

#[path = "../common/mod.rs"]
mod common;
mod lifecycles;
mod objects;
mod server;
mod writes;

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
use serde_json::{Value, json};

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
