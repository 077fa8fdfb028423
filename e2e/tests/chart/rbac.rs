//! The operator's ClusterRole and leader Role hold no spare rule: with any one rule removed,
//! the operator (running in its pod under its ServiceAccount's token) is refused with the
//! kube-apiserver's 403, naming a resource of that rule. With all of them it is refused
//! nothing.

use dotmac_e2e::live::{eventually, tenant_yaml};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use kube::{Api, api::PostParams};

use super::cluster::{Cluster, NAMESPACE};

const TENANT: &str = "chart-rbac";
const REFUSED: &str = "User \"system:serviceaccount:dotmac-system:dotmac-operator\" cannot ";

/// Applies the Tenant suspended or not: a phase change, so the operator writes its status and
/// publishes an Event.
async fn toggle(cluster: &Cluster, suspended: bool) {
    let extra = format!("  suspended: {suspended}\n");
    cluster
        .kubectl(&["apply", "-f", "-"], Some(&tenant_yaml(TENANT, &extra)))
        .await;
}

/// Restarts the operator and waits until its log shows a 403 for one of `rule`'s resources.
async fn refused_without(cluster: &Cluster, rule: &PolicyRule, suspended: bool) {
    let pod = cluster.restart("operator").await.remove(0);
    toggle(cluster, suspended).await;
    let resources = rule.resources.clone().unwrap_or_default();
    let wanted: Vec<String> = resources
        .iter()
        .map(|r| format!(" resource \"{r}\" in API group \""))
        .collect();
    eventually(&format!("a 403 on {resources:?}"), 60, || async {
        let log = cluster.pod_log(&pod).await;
        log.lines()
            .any(|l| l.contains(REFUSED) && wanted.iter().any(|w| l.contains(w)))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn removing_any_rule_of_the_operators_roles_gets_it_refused() {
    let cluster = Cluster::start().await;
    cluster
        .helm(
            "install",
            &[],
            &[
                "dataPlane.enabled=false",
                "operator.replicas=1",
                "api.replicas=1",
            ],
        )
        .await;
    // With every rule, a tenant gets Ready and nothing is refused.
    let pod = cluster.rolled_out("dotmac-operator", 1).await.remove(0);
    toggle(&cluster, false).await;
    eventually("the tenant Ready", 120, || async {
        (cluster.tenant_field(TENANT, ".status.phase").await == "Ready").then_some(())
    })
    .await;
    let log = cluster.pod_log(&pod).await;
    assert!(!log.contains("is forbidden"), "{log}");

    let roles: Api<ClusterRole> = Api::all(cluster.client.clone());
    let full = roles.get("dotmac-operator").await.unwrap();
    let rules = full.rules.clone().unwrap();
    assert!(rules.len() >= 10, "{rules:?}");
    for (i, rule) in rules.iter().enumerate() {
        let mut cut = roles.get("dotmac-operator").await.unwrap();
        let mut fewer = rules.clone();
        fewer.remove(i);
        cut.rules = Some(fewer);
        roles
            .replace("dotmac-operator", &PostParams::default(), &cut)
            .await
            .unwrap();
        refused_without(&cluster, rule, i % 2 == 0).await;
        let mut whole = roles.get("dotmac-operator").await.unwrap();
        whole.rules = Some(rules.clone());
        roles
            .replace("dotmac-operator", &PostParams::default(), &whole)
            .await
            .unwrap();
    }

    let leader: Api<Role> = Api::namespaced(cluster.client.clone(), NAMESPACE);
    let role = leader.get("dotmac-operator-leader").await.unwrap();
    let rule = role.rules.clone().unwrap().remove(0);
    let mut cut = role.clone();
    cut.rules = Some(Vec::new());
    leader
        .replace("dotmac-operator-leader", &PostParams::default(), &cut)
        .await
        .unwrap();
    refused_without(&cluster, &rule, false).await;
    let mut whole = leader.get("dotmac-operator-leader").await.unwrap();
    whole.rules = role.rules.clone();
    leader
        .replace("dotmac-operator-leader", &PostParams::default(), &whole)
        .await
        .unwrap();

    // Whole again: the operator leads and the tenant is reconciled back to Ready.
    cluster.restart("operator").await;
    cluster.rolled_out("dotmac-operator", 1).await;
    toggle(&cluster, false).await;
    eventually("the tenant Ready again", 120, || async {
        (cluster.tenant_field(TENANT, ".status.phase").await == "Ready").then_some(())
    })
    .await;
    cluster
        .kubectl(&["delete", "tenant", TENANT, "--timeout=120s"], None)
        .await;
}
