//! The operator follows an API server that restarts under it, as a real one does on every
//! control-plane upgrade: devcluster keeps its objects in a data file and comes back on the same
//! address, and every watch must come back with it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::{net::SocketAddr, path::Path, time::Duration};

use clap::Parser;
use dotmac_devcluster::{DevCluster, Options};
use dotmac_operator::config::ControllerConfig;
use dotmac_platform::crd::{Tenant, tenant::TenantPhase};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: ControllerConfig,
}

const TENANTS: usize = 100;
const RESTARTS: usize = 5;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn devcluster(listen: SocketAddr, dir: &Path) -> DevCluster {
    DevCluster::start_with(Options {
        listen,
        data: Some(dir.join("state.db")),
        kubeconfig: Some(dir.join("kubeconfig")),
        rollout_delay: Duration::from_millis(50),
        ..Options::default()
    })
    .await
    .unwrap()
}

async fn readyz(base: &str) -> Option<(u16, String)> {
    let response = reqwest::get(format!("{base}/readyz")).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

/// Tenants whose status has caught up with their spec and says Ready.
async fn ready_count(tenants: &Api<Tenant>) -> usize {
    let Ok(list) = tenants.list(&ListParams::default()).await else {
        return 0;
    };
    list.items
        .iter()
        .filter(|t| {
            let status = t.status.as_ref();
            status.and_then(|s| s.phase) == Some(TenantPhase::Ready)
                && status.and_then(|s| s.observed_generation) == t.metadata.generation
        })
        .count()
}

#[tokio::test]
async fn every_change_after_each_of_five_restarts_is_seen_and_readyz_says_when_watches_are_down() {
    dotmac_telemetry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let mut cluster = devcluster(listen, dir.path()).await;
    let client = cluster.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in dotmac_platform::crd::all() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let health = free_addr().to_string();
    let config = Args::parse_from([
        "test",
        "--health-listen",
        &health,
        "--leader-election",
        "false",
    ])
    .config;
    let controller_client = client.clone();
    let _controller = tokio::spawn(async move {
        let _ = common::controller(controller_client, config).await;
    });
    let tenants: Api<Tenant> = Api::all(client.clone());
    for i in 0..TENANTS {
        let tenant: Tenant = serde_json::from_value(json!({
            "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": format!("r{i}")},
            "spec": {"displayName": format!("ISP {i}"), "contactEmail": "noc@r.example"}}))
        .unwrap();
        tenants
            .create(&PostParams::default(), &tenant)
            .await
            .unwrap();
    }
    dotmac_testkit::eventually("every tenant Ready", 120, || async {
        (ready_count(&tenants).await == TENANTS).then_some(())
    })
    .await;
    let base = format!("http://{health}");
    dotmac_testkit::eventually("readyz", 30, || async {
        (readyz(&base).await?.0 == 200).then_some(())
    })
    .await;

    for round in 0..RESTARTS {
        cluster.stop().await;
        let (status, body) = dotmac_testkit::eventually("readyz false while down", 10, || async {
            readyz(&base).await.filter(|(status, _)| *status == 503)
        })
        .await;
        assert_eq!(status, 503);
        assert!(body.contains("watches down: "), "{body}");

        cluster = devcluster(listen, dir.path()).await;
        // A spec change right after the restart must be seen within ten seconds.
        let name = format!("r{round}");
        let patched = tenants
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 2}})),
            )
            .await
            .unwrap();
        let generation = patched.metadata.generation;
        dotmac_testkit::eventually(
            &format!("{name}'s change after restart {round}"),
            10,
            || async {
                let tenant = tenants.get(&name).await.ok()?;
                (tenant.status?.observed_generation == generation).then_some(())
            },
        )
        .await;
        dotmac_testkit::eventually("readyz again", 10, || async {
            (readyz(&base).await?.0 == 200).then_some(())
        })
        .await;
    }
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let restarts = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "dotmac_operator_watch_restarts_total{controller=\"tenant\",resource=\"deployments\"} ",
            )
        })
        .unwrap_or_else(|| panic!("no restarts counted for the Deployments watch:\n{metrics}"));
    assert!(
        restarts.parse::<u64>().unwrap() >= RESTARTS as u64,
        "{restarts}"
    );
    cluster.stop().await;
}
