//! `helm install` of the chart into devcluster runs the platform: operator and API pods Ready
//! under their ServiceAccounts' RBAC, a Tenant applied with kubectl gets a live instance;
//! `helm upgrade` with a changed value rolls the pods, `helm rollback` rolls them back, and
//! `helm uninstall` keeps the CRDs and the Tenants, which a second install picks up again.

use std::time::Instant;

use dotmac_e2e::live::{eventually, get, tenant_yaml};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use super::cluster::{Cluster, NAMESPACE};

const TENANT: &str = "chart-acme";

/// The value of `name` in the operator Deployment's container environment.
async fn operator_env(cluster: &Cluster, name: &str) -> Option<String> {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let deployment = deployments.get("dotmac-operator").await.unwrap();
    let spec = deployment.spec.template.spec?;
    spec.containers[0]
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
}

async fn instance_answers(cluster: &Cluster) {
    let url = format!("{}/ready", cluster.instance_url(TENANT).await);
    eventually("the tenant's instance answering", 60, || async {
        let (status, _) = get(&url, None).await?;
        (status == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn helm_installs_upgrades_rolls_back_and_uninstalls_the_platform() {
    let cluster = Cluster::start().await;
    let bao = format!("dataPlane.openbaoAddress={}", cluster.bao.addr);
    let started = Instant::now();
    let notes = cluster.helm("install", &[], &[&bao]).await;
    assert!(notes.contains("STATUS: deployed"), "{notes}");
    let operators = cluster.rolled_out("dotmac-operator", 2).await;
    cluster.rolled_out("dotmac-api", 2).await;
    let tenant = tenant_yaml(TENANT, "  deletionPolicy: Delete\n");
    cluster.kubectl(&["apply", "-f", "-"], Some(&tenant)).await;
    eventually("the tenant Ready", 120, || async {
        (cluster.tenant_field(TENANT, ".status.phase").await == "Ready").then_some(())
    })
    .await;
    instance_answers(&cluster).await;
    eprintln!(
        "helm install to the first live tenant instance: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The data plane was provisioned by the operator pods, under their own ServiceAccount.
    let secret = cluster
        .kubectl(
            &[
                "-n",
                &format!("dotmac-tenant-{TENANT}"),
                "get",
                "secret",
                "dotmac-tenant-credentials",
                "-o",
                "name",
            ],
            None,
        )
        .await;
    assert_eq!(secret.trim(), "secret/dotmac-tenant-credentials");
    let leader = cluster.logs("operator").await;
    assert!(leader.contains("became the leader"), "{leader}");
    assert!(!leader.contains("is forbidden"), "{leader}");

    // A changed value rolls the operator pods; the instances get the API's address.
    let api = format!("tenants.instanceApiUrl={}", cluster.api_url().await);
    cluster.helm("upgrade", &["--reuse-values"], &[&api]).await;
    let upgraded = cluster.rolled_out("dotmac-operator", 2).await;
    assert!(
        upgraded.iter().all(|p| !operators.contains(p)),
        "{operators:?} → {upgraded:?}"
    );
    assert_eq!(
        operator_env(&cluster, "DOTMAC_INSTANCE_API_URL")
            .await
            .unwrap(),
        cluster.api_url().await
    );
    // The instance now reports its health to the API, which records it on the Tenant.
    eventually("the instance's health report on the Tenant", 90, || async {
        let health = cluster.tenant_field(TENANT, ".status.health.status").await;
        (!health.is_empty()).then_some(())
    })
    .await;

    // Rollback: the first release's values and new pods.
    cluster.helm("rollback", &["1", "--wait"], &[]).await;
    let rolled_back = cluster.rolled_out("dotmac-operator", 2).await;
    assert!(rolled_back.iter().all(|p| !upgraded.contains(p)));
    assert_eq!(
        operator_env(&cluster, "DOTMAC_INSTANCE_API_URL")
            .await
            .unwrap(),
        "http://dotmac-api.dotmac-system.svc:8000"
    );
    let history = cluster.helm("history", &[], &[]).await;
    assert!(history.contains("Rollback to 1"), "{history}");

    // Uninstall keeps the CRDs and the Tenant (and its instance).
    cluster.helm("uninstall", &["--wait"], &[]).await;
    eventually("the release's pods gone", 60, || async {
        let pods = cluster
            .kubectl(&["-n", NAMESPACE, "get", "pods", "-o", "name"], None)
            .await;
        pods.trim().is_empty().then_some(())
    })
    .await;
    let crds = cluster.kubectl(&["get", "crds", "-o", "name"], None).await;
    assert_eq!(crds.lines().count(), 3, "{crds}");
    assert_eq!(cluster.tenant_field(TENANT, ".status.phase").await, "Ready");
    instance_answers(&cluster).await;

    // A new install takes the Tenant over again, and removes it with its data plane.
    cluster.helm("install", &[], &[&bao]).await;
    cluster.rolled_out("dotmac-operator", 2).await;
    cluster
        .kubectl(&["delete", "tenant", TENANT, "--timeout=120s"], None)
        .await;
    cluster.helm("uninstall", &["--wait"], &[]).await;
}
