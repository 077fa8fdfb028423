//! What is sold reaches the instance that honours it: a licensed feature works, its calls count
//! against its plugin in the license's `status.usage`, over the limit the running instance
//! refuses it, and raising the limit brings it back, all without restarting a pod.

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, api::ListParams};
use serde_json::Value;

use super::*;
use dotmac_e2e::live::{eventually, get, tenant_yaml, unique};

async fn only_pod(live: &Live, tenant: &str) -> (String, i32) {
    let pods = Api::<Pod>::namespaced(live.client.clone(), &format!("dotmac-tenant-{tenant}"))
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(pods.len(), 1);
    let restarts = pods[0].status.clone().unwrap().container_statuses.unwrap()[0].restart_count;
    (pods[0].metadata.name.clone().unwrap(), restarts)
}

#[tokio::test]
async fn a_licensed_feature_is_metered_refused_over_its_limit_and_back_when_raised() {
    let live = Live::start().await;
    let name = unique("e2el");
    let license = format!("{name}-analytics");
    let manifests = format!(
        "{}\n---\napiVersion: platform.dotmac.io/v1alpha1\nkind: PluginLicense\nmetadata:\n  name: {license}\nspec:\n  tenantRef: {name}\n  plugin: advanced-analytics\n  tier: starter\n  trialDays: 14\n  limits:\n    api_calls: 3\n",
        tenant_yaml(&name, "  deletionPolicy: Delete\n")
    );
    live.kubectl(&["apply", "-f", "-"], Some(&manifests)).await;
    live.phase(&name, "Ready", 120).await;
    let url = live.instance_url(&name).await;
    let token = live.staff_token(&name).await;
    let analytics = format!("{url}/api/v1/analytics/revenue?months=3");
    let entitled = || async {
        let (status, body) = get(
            &format!("{}/api/v1/plugins/entitlements/{name}", live.api),
            Some(&live.admin_token),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        body["features"]
            .as_array()
            .unwrap()
            .contains(&Value::from("advanced_analytics"))
    };
    // The free plan lacks the feature; the license (in trial) grants it, in the running
    // instance too.
    eventually("the license's feature in the instance", 60, || async {
        (get(&analytics, Some(&token)).await?.0 == 200).then_some(())
    })
    .await;
    assert!(entitled().await);
    let before = only_pod(&live, &name).await;
    for _ in 0..3 {
        assert_eq!(get(&analytics, Some(&token)).await.unwrap().0, 200);
    }

    // Four or more calls against a limit of three: the license says so, the feature leaves,
    // and the instance refuses it naming the feature.
    let usage = eventually("the calls in the license's usage", 90, || async {
        let used: i64 = live
            .kubectl(
                &[
                    "get",
                    "pluginlicense",
                    &license,
                    "-o",
                    "jsonpath={.status.usage.api_calls}",
                ],
                None,
            )
            .await
            .parse()
            .ok()?;
        (used >= 4).then_some(used)
    })
    .await;
    assert!(usage >= 4, "{usage}");
    let refusal = eventually("the instance refusing the feature", 60, || async {
        let (status, body) = get(&analytics, Some(&token)).await?;
        (status == 403).then_some(body)
    })
    .await;
    assert_eq!(refusal["feature"], "advanced_analytics", "{refusal}");
    assert!(!entitled().await);
    assert_eq!(
        live.kubectl(
            &[
                "get",
                "pluginlicense",
                &license,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"LimitExceeded\")].status}"
            ],
            None
        )
        .await,
        "True"
    );

    // Raised: the feature is back, in the same pod.
    live.kubectl(
        &[
            "patch",
            "pluginlicense",
            &license,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"limits":{"api_calls":1000}}}"#,
        ],
        None,
    )
    .await;
    eventually("the feature back in the instance", 60, || async {
        (get(&analytics, Some(&token)).await?.0 == 200).then_some(())
    })
    .await;
    assert_eq!(
        only_pod(&live, &name).await,
        before,
        "no pod restarted or replaced"
    );
    live.delete_tenants(&[&name]).await;
}
