//! Tenants through the API: the lifecycle on both databases, roles and reseller isolation.

use super::*;

async fn lifecycle(postgres: bool) {
    let h = harness(postgres).await;
    let admin = h.admin.clone();
    // Create → Ready.
    let response = h
        .http
        .post(format!("{}/tenant-orchestration/deployments", h.base))
        .bearer_auth(&admin)
        .json(&new_tenant("alpha"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        "/api/v1/tenant-orchestration/deployments/alpha"
    );
    h.wait_phase(&admin, "alpha", "Ready").await;
    // Scale, recorded as an Event.
    let (status, scaled) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments/alpha/scale",
            Some(json!({"replicas": 3, "reason": "evening peak"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{scaled}");
    assert_eq!(scaled["spec"]["replicas"], 3);
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(h.client.clone());
    let mut found = false;
    for _ in 0..50 {
        let list = events.list(&ListParams::default()).await.unwrap();
        if list.items.iter().any(|e| {
            e.reason.as_deref() == Some("Scaled")
                && e.note
                    .as_deref()
                    .is_some_and(|n| n.contains("evening peak"))
        }) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the scale reason is in an Event");
    // Patch the plan: the entitlements follow.
    let (status, patched) = h
        .call(
            Some(&admin),
            Method::PATCH,
            "/tenant-orchestration/deployments/alpha",
            Some(json!({"plan": "premium"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["spec"]["plan"], "premium");
    let (_, entitlements) = h
        .call(
            Some(&admin),
            Method::GET,
            "/plugins/entitlements/alpha",
            None,
        )
        .await;
    assert!(
        entitlements["features"]
            .as_array()
            .unwrap()
            .contains(&json!("advanced_analytics"))
    );
    // Bad input names the field and changes nothing.
    for (path, body, field) in [
        (
            "/tenant-orchestration/deployments/alpha",
            json!({"displayName": "x"}),
            "displayName",
        ),
        (
            "/tenant-orchestration/deployments/alpha",
            json!({"replicas": 99}),
            "spec.replicas",
        ),
        (
            "/tenant-orchestration/deployments/alpha/scale",
            json!({"replicas": 0, "reason": "x"}),
            "replicas",
        ),
        (
            "/tenant-orchestration/deployments/alpha/scale",
            json!({"replicas": 2, "reason": ""}),
            "reason",
        ),
    ] {
        let method = if path.ends_with("scale") {
            Method::POST
        } else {
            Method::PATCH
        };
        let (status, problem) = h.call(Some(&admin), method, path, Some(body)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {problem}"
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    for (body, field) in [
        (
            json!({"name": "Bad_Name", "spec": {"displayName": "x", "contactEmail": "a@b.example"}}),
            "name",
        ),
        (
            json!({"name": "beta", "spec": {"displayName": "x"}}),
            "spec",
        ),
        (
            json!({"name": "beta", "spec": {"displayName": "x", "contactEmail": "a@b.example", "plan": "gold"}}),
            "spec.plan",
        ),
        (
            json!({"name": "beta", "spec": {"displayName": "x", "contactEmail": "a@b.example", "features": {"voip": true}}}),
            "spec.features",
        ),
        (
            json!({"name": "beta", "spec": {"displayName": "x", "contactEmail": "a@b.example", "business": {"timeZone": "Mars/Olympus_Mons"}}}),
            "spec.business.timeZone",
        ),
    ] {
        let (status, problem) = h
            .call(
                Some(&admin),
                Method::POST,
                "/tenant-orchestration/deployments",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(
            problem["field"].as_str().unwrap().starts_with(field),
            "{problem}"
        );
    }
    let (status, _) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("alpha")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        Api::<Tenant>::all(h.client.clone())
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1,
        "bad input created nothing"
    );
    let (status, after) = h
        .call(
            Some(&admin),
            Method::GET,
            "/tenant-orchestration/deployments/alpha",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["spec"]["replicas"], 3);
    // Delete.
    let (status, _) = h
        .call(
            Some(&admin),
            Method::DELETE,
            "/tenant-orchestration/deployments/alpha",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for _ in 0..100 {
        if Api::<Tenant>::all(h.client.clone())
            .get_opt("alpha")
            .await
            .unwrap()
            .is_none()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("alpha was not deleted");
}

#[tokio::test]
async fn tenant_lifecycle_sqlite() {
    lifecycle(false).await;
}

#[tokio::test]
async fn tenant_lifecycle_postgres() {
    lifecycle(true).await;
}

#[tokio::test]
async fn roles_and_reseller_isolation() {
    let h = harness(false).await;
    h.reseller("north").await;
    h.reseller("south").await;
    let north = h
        .token("north-token", Role::Reseller, Some("north"), None)
        .await;
    let south = h
        .token("south-token", Role::Reseller, Some("south"), None)
        .await;
    let tenant = h.token("t-token", Role::Tenant, None, Some("n1")).await;
    let (status, created) = h
        .call(
            Some(&north),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("n1")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["spec"]["resellerRef"], "north",
        "a reseller's tenant is its own"
    );
    let mut other = new_tenant("n2");
    other["spec"]["resellerRef"] = json!("south");
    let (status, _) = h
        .call(
            Some(&north),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(other),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    h.wait_phase(&north, "n1", "Ready").await;
    // 401 without a token or with an unknown one; 404 for another reseller's tenant; 403 for a
    // tenant token on orchestration.
    assert_eq!(
        h.call(None, Method::GET, "/tenant-orchestration/deployments", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.call(
            Some("dmp_nope"),
            Method::GET,
            "/tenant-orchestration/deployments",
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.call(
            Some(&south),
            Method::GET,
            "/tenant-orchestration/deployments/n1",
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(
            Some(&south),
            Method::DELETE,
            "/tenant-orchestration/deployments/n1",
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(
            Some(&south),
            Method::POST,
            "/tenant-orchestration/deployments/n1/scale",
            Some(json!({"replicas": 2, "reason": "x"}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, listed) = h
        .call(
            Some(&south),
            Method::GET,
            "/tenant-orchestration/deployments",
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let (_, listed) = h
        .call(
            Some(&north),
            Method::GET,
            "/tenant-orchestration/deployments?reseller=north",
            None,
        )
        .await;
    assert_eq!(listed["items"][0]["name"], "n1");
    assert_eq!(
        h.call(
            Some(&tenant),
            Method::GET,
            "/tenant-orchestration/deployments",
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(Some(&tenant), Method::GET, "/plugins/entitlements/n1", None)
            .await
            .0,
        StatusCode::OK
    );
    // Revoked tokens stop working once the API's token cache lets them go.
    assert!(tokens::revoke(&h.db, "north-token").await.unwrap());
    tokio::time::sleep(dotmac_management_api::TOKEN_CACHE_TTL + Duration::from_millis(100)).await;
    assert_eq!(
        h.call(
            Some(&north),
            Method::GET,
            "/tenant-orchestration/deployments",
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_reseller_chooses_among_its_allowed_plans_and_never_sets_features_or_limits() {
    let h = harness(false).await;
    let api: Api<dotmac_platform::crd::Reseller> = Api::all(h.client.clone());
    let reseller = serde_json::from_value(json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Reseller",
        "metadata": {"name": "west"}, "spec": {"displayName": "West", "contactEmail": "ops@west.example",
        "tier": "gold", "allowedPlans": ["basic", "premium"]}}))
    .unwrap();
    api.create(&Default::default(), &reseller).await.unwrap();
    let west = h
        .token("west-token", Role::Reseller, Some("west"), None)
        .await;
    let create = |spec: Value| {
        let mut body = new_tenant("w1");
        json_patch::merge(&mut body["spec"], &spec);
        body
    };
    for (spec, field) in [
        (
            json!({"plan": "basic", "features": {"unlimited_apis": true}}),
            "spec.features",
        ),
        (
            json!({"plan": "basic", "limits": {"maxCustomers": 100000}}),
            "spec.limits",
        ),
        (json!({"plan": "enterprise"}), "spec.plan"),
    ] {
        let (status, problem) = h
            .call(
                Some(&west),
                Method::POST,
                "/tenant-orchestration/deployments",
                Some(create(spec)),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (status, created) = h
        .call(
            Some(&west),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(create(json!({"plan": "basic"}))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for (change, field) in [
        (json!({"features": {"unlimited_apis": true}}), "features"),
        (
            json!({"limits": {"apiRateLimitPerMinute": 100000}}),
            "limits",
        ),
        (json!({"plan": "enterprise"}), "plan"),
    ] {
        let (status, problem) = h
            .call(
                Some(&west),
                Method::PATCH,
                "/tenant-orchestration/deployments/w1",
                Some(change),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let tenant = Api::<dotmac_platform::crd::Tenant>::all(h.client.clone())
        .get("w1")
        .await
        .unwrap();
    assert!(
        tenant.spec.features.is_empty() && tenant.spec.limits.is_none(),
        "nothing slipped in"
    );
    let (status, changed) = h
        .call(
            Some(&west),
            Method::PATCH,
            "/tenant-orchestration/deployments/w1",
            Some(json!({"plan": "premium"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    // The platform's admins still set what they sell.
    let (status, changed) = h
        .call(
            Some(&h.admin),
            Method::PATCH,
            "/tenant-orchestration/deployments/w1",
            Some(json!({"limits": {"maxCustomers": 500}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
}
