//! What the operator's benchmarks share: devcluster with the platform's CRDs, a free loopback
//! address, and waiting until tenants are Ready.

#![allow(dead_code, reason = "each benchmark uses a different subset")]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use dotmac_devcluster::{DevCluster, Options};
use dotmac_platform::crd::{Tenant, tenant::TenantPhase};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Client,
    api::{Api, ListParams, PostParams},
};

/// devcluster with `options` and the platform's CRDs, and a client of it.
pub async fn cluster(options: Options) -> (DevCluster, Client) {
    let cluster = DevCluster::start_with(options).await.unwrap();
    let client = cluster.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_platform::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    (cluster, client)
}

/// A loopback address nothing listens on.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Polls every `poll` until `n` tenants are Ready; fails after `limit`.
pub async fn wait_ready(tenants: &Api<Tenant>, n: usize, limit: Duration, poll: Duration) {
    let started = Instant::now();
    loop {
        let ready = tenants
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|t| t.status.as_ref().and_then(|s| s.phase) == Some(TenantPhase::Ready))
            .count();
        if ready == n {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{ready}/{n} Ready after {} s",
            limit.as_secs()
        );
        tokio::time::sleep(poll).await;
    }
}
