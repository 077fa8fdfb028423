//! The plugin catalog, trial subscriptions, the catalog ConfigMap and per-token rate limits.

use super::*;

#[tokio::test]
async fn plugin_catalog_and_trial_subscriptions() {
    let h = harness(false).await;
    let admin = h.admin.clone();
    h.reseller("north").await;
    let north = h
        .token("north-token", Role::Reseller, Some("north"), None)
        .await;
    let mut tenant = new_tenant("p1");
    tenant["spec"]["resellerRef"] = json!("north");
    assert_eq!(
        h.call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(tenant)
        )
        .await
        .0,
        StatusCode::CREATED
    );
    h.wait_phase(&admin, "p1", "Ready").await;
    let (status, catalog) = h
        .call(Some(&north), Method::GET, "/plugins/catalog", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let analytics = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "advanced-analytics")
        .unwrap()
        .clone();
    assert_eq!(analytics["trialDays"], 14);
    assert_eq!(analytics["tiers"][0]["limits"]["api_calls"], 100_000);

    let (status, license) = h
        .call(
            Some(&north),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "advanced-analytics"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{license}");
    assert_eq!(license["name"], "p1-advanced-analytics");
    assert_eq!(
        license["spec"]["trialDays"], 14,
        "a plugin with trial days starts as a trial"
    );
    assert_eq!(license["spec"]["tier"], "starter");
    assert!(
        license["spec"].get("limits").is_none(),
        "tier limits come from the catalog, spec.limits only overrides: {license}"
    );
    let stored: Api<dotmac_platform::crd::PluginLicense> = Api::all(h.client.clone());
    assert_eq!(
        stored
            .get("p1-advanced-analytics")
            .await
            .unwrap()
            .spec
            .tenant_ref,
        "p1"
    );
    let (status, paid) = h
        .call(
            Some(&admin),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "unlimited-api", "tier": "standard"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        paid["spec"]["trialDays"], 0,
        "a plugin without trial days is paid from the start"
    );

    assert_eq!(
        h.call(
            Some(&north),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "advanced-analytics"}))
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    for (body, field) in [
        (json!({"tenant": "p1", "plugin": "teleportation"}), "plugin"),
        (
            json!({"tenant": "p1", "plugin": "usage-billing", "tier": "gold"}),
            "tier",
        ),
        (json!({"tenant": "p1"}), "plugin"),
    ] {
        let (status, problem) = h
            .call(
                Some(&admin),
                Method::POST,
                "/plugins/subscriptions",
                Some(body),
            )
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{problem}"
        );
    }
    h.reseller("south").await;
    let south = h
        .token("south-token", Role::Reseller, Some("south"), None)
        .await;
    assert_eq!(
        h.call(
            Some(&south),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "usage-billing"}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let instance = h.token("p1-instance", Role::Tenant, None, Some("p1")).await;
    assert_eq!(
        h.call(
            Some(&instance),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "p1", "plugin": "usage-billing"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        stored
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        2,
        "refused subscriptions made nothing"
    );
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit_in_redis() {
    let h = harness_with(
        false,
        &[
            "--api-redis-url",
            &dotmac_testkit::require_redis(),
            "--api-rate-limit-per-minute",
            "5",
        ],
    )
    .await;
    let first = h
        .token(
            &format!("limited-{}", uuid::Uuid::new_v4().simple()),
            Role::Admin,
            None,
            None,
        )
        .await;
    let second = h
        .token(
            &format!("other-{}", uuid::Uuid::new_v4().simple()),
            Role::Admin,
            None,
            None,
        )
        .await;
    let mut limited = 0;
    for _ in 0..12 {
        let (status, problem) = h
            .call(Some(&first), Method::GET, "/plugins/catalog", None)
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(problem["type"], "https://dotmac.io/problems/rate-limited");
            limited += 1;
        }
    }
    // Twelve calls may straddle a minute boundary: at least one window overflowed.
    assert!(limited >= 1, "no 429 after 12 calls at 5 a minute");
    assert_eq!(
        h.call(Some(&second), Method::GET, "/plugins/catalog", None)
            .await
            .0,
        StatusCode::OK,
        "another token has its own budget"
    );
}

/// Polls `check` every 100 ms for up to 60 s.
#[tokio::test]
async fn the_plugin_catalog_follows_its_configmap() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let h = harness(false).await;
    let admin = h.admin.clone();
    let licenses: Api<dotmac_platform::crd::PluginLicense> = Api::all(h.client.clone());
    let maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    let catalog_has = |plugin: &'static str, present: bool| {
        let h = &h;
        let admin = admin.clone();
        move || {
            let admin = admin.clone();
            async move {
                let (_, body) = h
                    .call(Some(&admin), Method::GET, "/plugins/catalog", None)
                    .await;
                let items = body["items"].as_array()?.clone();
                (items.iter().any(|p| p["id"] == plugin) == present).then_some(items)
            }
        }
    };
    assert_eq!(
        h.call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("c1"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    h.wait_phase(&admin, "c1", "Ready").await;
    let (status, _) = h
        .call(
            Some(&admin),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "c1", "plugin": "advanced-analytics"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let limit = |value: i64| {
        let licenses = licenses.clone();
        move || {
            let licenses = licenses.clone();
            async move {
                let s = licenses.get("c1-advanced-analytics").await.ok()?.status?;
                (s.limits.get("api_calls") == Some(&value)).then_some(())
            }
        }
    };
    eventually("the embedded tier limit", limit(100_000)).await;

    // A ConfigMap replaces the catalog: a new plugin, a lower limit on an existing tier.
    let text = Catalog::embedded_text().replacen(
        "limits: {api_calls: 100000}",
        "limits: {api_calls: 500}",
        1,
    ) + "  - id: integrator-pack\n    name: Integrator pack\n    features: [unlimited_apis]\n    tiers:\n      - {name: standard, monthlyPrice: 500, currency: USD}\n";
    let configmap = |text: &str| -> ConfigMap {
        serde_json::from_value(
            json!({"metadata": {"name": "plugin-catalog"}, "data": {"plugins.yaml": text}}),
        )
        .unwrap()
    };
    maps.create(&Default::default(), &configmap(&text))
        .await
        .unwrap();
    let items = eventually(
        "integrator-pack in the catalog",
        catalog_has("integrator-pack", true),
    )
    .await;
    assert_eq!(items.len(), 4);
    eventually("the license following the new limit", limit(500)).await;
    let (status, body) = h
        .call(
            Some(&admin),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "c1", "plugin": "integrator-pack"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    eventually("unlimited_apis entitled", || async {
        configmap_features(&h.client, "c1")
            .await
            .contains(&"unlimited_apis".to_owned())
            .then_some(())
    })
    .await;

    // A broken edit is refused with an event; the catalog in force stays.
    maps.replace(
        "plugin-catalog",
        &Default::default(),
        &configmap(&text.replace("currency: USD}", "currency: EUR}")),
    )
    .await
    .unwrap();
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(h.client.clone(), "default");
    let refused = eventually("the InvalidCatalog event", || async {
        events
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("InvalidCatalog"))
    })
    .await;
    let note = refused.note.unwrap_or_default();
    assert!(
        note.contains("plugins[3].tiers[0].currency"),
        "the event names the field: {note}"
    );
    eventually("integrator-pack kept", catalog_has("integrator-pack", true)).await;

    // Without the ConfigMap the embedded catalog is back, and the license for the plugin it
    // lacks grants nothing.
    maps.delete("plugin-catalog", &Default::default())
        .await
        .unwrap();
    eventually(
        "integrator-pack gone",
        catalog_has("integrator-pack", false),
    )
    .await;
    eventually("UnknownPlugin", || async {
        let s = licenses.get("c1-integrator-pack").await.ok()?.status?;
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.reason == "UnknownPlugin")
            .then_some(())
    })
    .await;
    eventually("unlimited_apis withdrawn", || async {
        (!configmap_features(&h.client, "c1")
            .await
            .contains(&"unlimited_apis".to_owned()))
        .then_some(())
    })
    .await;
    eventually("the embedded limit again", limit(100_000)).await;
}
