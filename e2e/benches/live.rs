//! `just bench live [N]` (default 50): N tenants applied at once to the platform running whole
//! (devcluster running each instance as a `dotmac-isp` process, the operator binary with
//! PostgreSQL, Redis and OpenBao). Prints the seconds until every instance answers `/ready` on
//! its Service address, the idle RSS of the instances (median and max) and the operator's RSS,
//! each against its goal (50 live instances within 30 s; an idle instance at most 30 MiB).
//! The tenants are deleted at the end (databases dropped, Redis users removed).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::{Duration, Instant};

use dotmac_e2e::live::{Live, eventually, get, unique};
use dotmac_platform::crd::Tenant;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api,
    api::{DeleteParams, ListParams, PostParams},
};

/// Resident memory of process `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The container's own process: PID 1 of its namespace, the child of the `unshare` whose id
/// the pod's `containerID` carries.
fn container_process(pod: &Pod) -> Option<u32> {
    let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    let outer: u32 = status
        .container_id
        .as_deref()?
        .trim_start_matches("devcluster://")
        .parse()
        .ok()?;
    std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What a tenant that never answered shows: its phase and Ready message, its pods' states and
/// the tail of their logs.
async fn diagnose(live: &Live, name: &str) {
    let tenant = Api::<Tenant>::all(live.client.clone()).get(name).await.ok();
    let status = tenant.and_then(|t| t.status);
    let ready = status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.message.clone());
    eprintln!(
        "{name}: phase {:?}, Ready: {ready:?}",
        status.and_then(|s| s.phase)
    );
    let pods: Api<Pod> = Api::namespaced(live.client.clone(), &format!("dotmac-tenant-{name}"));
    for pod in pods
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let state = pod
            .status
            .and_then(|s| s.container_statuses)
            .map(|c| format!("{:?}", c[0].state));
        eprintln!("  pod {pod_name}: {state:?}");
        let params = kube::api::LogParams {
            tail_lines: Some(5),
            ..Default::default()
        };
        if let Ok(log) = pods.logs(&pod_name, &params).await {
            eprintln!("  log: {log}");
        }
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);
    let live = Live::start().await;
    let tenants: Api<Tenant> = Api::all(live.client.clone());
    let prefix = unique("bl");
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let started = Instant::now();
    for name in &names {
        let tenant: Tenant = serde_json::from_value(serde_json::json!({
            "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": name},
            "spec": {"displayName": format!("Bench {name}"), "contactEmail": format!("noc@{name}.example"), "deletionPolicy": "Delete"}
        }))
        .unwrap();
        tenants
            .create(&PostParams::default(), &tenant)
            .await
            .unwrap();
    }
    let mut urls = Vec::new();
    for name in &names {
        let url = eventually(&format!("{name}'s Service"), 300, || async {
            let services: Api<k8s_openapi::api::core::v1::Service> =
                Api::namespaced(live.client.clone(), &format!("dotmac-tenant-{name}"));
            let spec = services.get("isp-runtime").await.ok()?.spec?;
            Some(format!(
                "http://{}:{}/ready",
                spec.cluster_ip?,
                spec.ports?.first()?.port
            ))
        })
        .await;
        urls.push(url);
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut waiting: Vec<(&String, &String)> = names.iter().zip(&urls).collect();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for &(name, url) in &waiting {
            if get(url, None).await.is_none_or(|(status, _)| status != 200) {
                still.push((name, url));
            }
        }
        if !still.is_empty() && Instant::now() > deadline {
            for (name, _) in &still {
                diagnose(&live, name).await;
            }
            panic!("{} of {n} instances never answered", still.len());
        }
        if (n - still.len()) / 10 != (n - waiting.len()) / 10 {
            eprintln!(
                "  {} of {n} answering after {:.1} s",
                n - still.len(),
                started.elapsed().as_secs_f64()
            );
        }
        waiting = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready_after = started.elapsed();
    println!(
        "live: {n} tenants applied; every instance answered /ready after {:.1} s (goal for 50: 30 s, {:.2} of it)",
        ready_after.as_secs_f64(),
        ready_after.as_secs_f64() / 30.0
    );

    tokio::time::sleep(Duration::from_secs(15)).await;
    let pods = Api::<Pod>::all(live.client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let mut rss: Vec<f64> = pods
        .iter()
        .filter_map(container_process)
        .map(rss_mib)
        .collect();
    rss.sort_by(f64::total_cmp);
    let median = rss.get(rss.len() / 2).copied().unwrap_or_default();
    let max = rss.last().copied().unwrap_or_default();
    println!(
        "live: idle RSS of {} instances after 15 s: median {median:.1} MiB, max {max:.1} MiB (goal 30 MiB: {:.2} of it)",
        rss.len(),
        max / 30.0
    );
    if let Some(pid) = live.operator_pid() {
        println!(
            "live: operator RSS {:.1} MiB (controllers and management API, {n} tenants)",
            rss_mib(pid)
        );
    }

    for name in &names {
        tenants
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    for name in &names {
        eventually(&format!("{name} deleted"), 300, || async {
            tenants.get_opt(name).await.ok()?.is_none().then_some(())
        })
        .await;
    }
}
