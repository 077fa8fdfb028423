//! Licenses from trial to paid: limits, conflicts, suspension and reseller commissions.

use super::*;

#[tokio::test]
async fn licenses_trial_to_paid_limits_conflicts_and_reseller_commissions() {
    let h = harness_with(true, &["--usage-poll-seconds", "1"]).await;
    let admin = h.admin.clone();
    let licenses: Api<dotmac_platform::crd::PluginLicense> = Api::all(h.client.clone());
    let resellers: Api<dotmac_platform::crd::Reseller> = Api::all(h.client.clone());
    let (status, _) = h
        .call(
            Some(&admin),
            Method::POST,
            "/resellers",
            Some(json!({"name": "west",
            "spec": {"displayName": "West", "contactEmail": "ops@west.example", "tier": "gold",
                     "maxTenants": 1, "allowedPlans": ["basic", "premium"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let west = h
        .token("west-token", Role::Reseller, Some("west"), None)
        .await;
    let mut tenant = new_tenant("l1");
    tenant["spec"]["plan"] = json!("basic");
    tenant["spec"]["resellerRef"] = json!("west");
    let (status, body) = h
        .call(
            Some(&west),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(tenant),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    h.wait_phase(&west, "l1", "Ready").await;

    // A paid license (no trial days) and a trial both grant their features at once.
    for plugin in ["unlimited-api", "advanced-analytics"] {
        let (status, body) = h
            .call(
                Some(&west),
                Method::POST,
                "/plugins/subscriptions",
                Some(json!({"tenant": "l1", "plugin": plugin})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let state = |name: &'static str| {
        let licenses = licenses.clone();
        move || {
            let licenses = licenses.clone();
            async move {
                licenses
                    .get(name)
                    .await
                    .ok()
                    .and_then(|l| l.status)
                    .and_then(|s| s.state)
                    .map(|s| format!("{s:?}"))
            }
        }
    };
    assert_eq!(
        eventually("paid state", state("l1-unlimited-api")).await,
        "Active"
    );
    assert_eq!(
        eventually("trial state", state("l1-advanced-analytics")).await,
        "Trial"
    );
    let entitled = |feature: &'static str, wanted: bool| {
        let h = &h;
        let west = west.clone();
        move || {
            let west = west.clone();
            async move {
                let (_, body) = h
                    .call(Some(&west), Method::GET, "/plugins/entitlements/l1", None)
                    .await;
                let api = body["features"]
                    .as_array()
                    .is_some_and(|f| f.contains(&json!(feature)));
                let file = configmap_features(&h.client, "l1")
                    .await
                    .iter()
                    .any(|f| f == feature);
                (api == wanted && file == wanted).then_some(())
            }
        }
    };
    eventually("unlimited_apis licensed", entitled("unlimited_apis", true)).await;

    // The list: by name, each with its usage against its limits; a reseller sees its tenants',
    // and a tenant another reseller's is not in it.
    let names = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, listed) = h
        .call(Some(&west), Method::GET, "/plugins/subscriptions", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(
        names(&listed),
        ["l1-advanced-analytics", "l1-unlimited-api"]
    );
    assert!(
        listed["items"][1]["status"]["limits"].is_object(),
        "{listed}"
    );
    let (_, page) = h
        .call(
            Some(&admin),
            Method::GET,
            "/plugins/subscriptions?tenant=l1&limit=1",
            None,
        )
        .await;
    assert_eq!(names(&page), ["l1-advanced-analytics"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = h
        .call(
            Some(&admin),
            Method::GET,
            &format!("/plugins/subscriptions?tenant=l1&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(names(&rest), ["l1-unlimited-api"]);
    h.reseller("north").await;
    let north = h
        .token("north-token", Role::Reseller, Some("north"), None)
        .await;
    let (_, theirs) = h
        .call(Some(&north), Method::GET, "/plugins/subscriptions", None)
        .await;
    assert_eq!(
        names(&theirs),
        Vec::<String>::new(),
        "another reseller sees none of west's"
    );
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::GET,
            "/plugins/subscriptions?limit=500",
            None,
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::GET,
            "/plugins/subscriptions?plugin=x",
            None,
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("plugin"))
    );
    eventually(
        "advanced_analytics licensed in trial",
        entitled("advanced_analytics", true),
    )
    .await;

    // Revenue counts the plan and the paid license, not the trial: gold earns 15 %.
    let mrr = |amount: i64| {
        let resellers = resellers.clone();
        move || {
            let resellers = resellers.clone();
            async move {
                let status = resellers.get("west").await.ok()?.status?;
                (status.monthly_recurring_revenue.as_ref()?.amount_minor == amount)
                    .then_some(status)
            }
        }
    };
    let status = eventually("MRR with the paid license", mrr(9_900 + 19_900)).await;
    assert_eq!(status.commission_accrued.unwrap().amount_minor, 4_470);
    assert_eq!(status.tenants.unwrap().names, vec!["l1".to_owned()]);
    let month = k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m")
        .to_string();
    let (status, ledger) = h
        .call(
            Some(&west),
            Method::GET,
            "/resellers/west/commissions",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ledger["items"][0]["period"], json!(month));
    assert_eq!(ledger["items"][0]["commission"]["amountMinor"], 4_470);
    assert_eq!(ledger["items"][0]["lines"][0]["tenant"], "l1");

    // Trial → paid: the trial ends now and the license joins the revenue.
    let (status, body) = h
        .call(
            Some(&west),
            Method::POST,
            "/plugins/subscriptions/l1-advanced-analytics/activate",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["spec"]["trialDays"], 0);
    assert_eq!(
        eventually("paid", || async {
            let s = state("l1-advanced-analytics")().await?;
            (s == "Active").then_some(s)
        })
        .await,
        "Active"
    );
    let status = eventually("MRR with both licenses", mrr(9_900 + 19_900 + 4_900)).await;
    assert_eq!(status.commission_accrued.unwrap().amount_minor, 5_205);
    let (_, ledger) = h
        .call(
            Some(&admin),
            Method::GET,
            "/resellers/west/commissions",
            None,
        )
        .await;
    assert_eq!(
        ledger["items"].as_array().unwrap().len(),
        1,
        "one row per month, updated"
    );
    assert_eq!(ledger["items"][0]["commission"]["amountMinor"], 5_205);

    // A second live license for the same plugin: refused by the API, Conflict when applied.
    let (status, _) = h
        .call(
            Some(&west),
            Method::POST,
            "/plugins/subscriptions",
            Some(json!({"tenant": "l1", "plugin": "unlimited-api", "tier": "standard"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let second: dotmac_platform::crd::PluginLicense = serde_json::from_value(json!({
        "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "PluginLicense",
        "metadata": {"name": "l1-unlimited-again"},
        "spec": {"tenantRef": "l1", "plugin": "unlimited-api", "tier": "standard"}}))
    .unwrap();
    licenses.create(&Default::default(), &second).await.unwrap();
    let conflict = eventually("conflict", || async {
        let s = licenses.get("l1-unlimited-again").await.ok()?.status?;
        s.conditions
            .iter()
            .find(|c| c.type_ == "Conflict" && c.status == "True")
            .cloned()
    })
    .await;
    assert!(
        conflict.message.contains("l1-unlimited-api"),
        "{}",
        conflict.message
    );
    assert!(
        licenses
            .get("l1-unlimited-again")
            .await
            .unwrap()
            .status
            .unwrap()
            .entitlements
            .is_empty()
    );
    // An expired license holds nothing and conflicts with nothing.
    let expired: dotmac_platform::crd::PluginLicense = serde_json::from_value(json!({
        "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "PluginLicense",
        "metadata": {"name": "l1-billing-lapsed"},
        "spec": {"tenantRef": "l1", "plugin": "usage-billing", "validUntil": "2026-01-01T00:00:00Z", "autoRenew": false}})).unwrap();
    licenses
        .create(&Default::default(), &expired)
        .await
        .unwrap();
    assert_eq!(
        eventually("expired", state("l1-billing-lapsed")).await,
        "Expired"
    );

    // Usage over the limit withdraws the metered plugin's feature from the tenant.
    let instance = h.token("l1-instance", Role::Tenant, None, Some("l1")).await;
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let (status, body) = h
        .call(Some(&instance), Method::POST, "/plugins/usage-events", Some(json!({"events": [
            {"idempotency_key": "l1:calls:1", "plugin": "unlimited-api", "metric": "api_calls", "quantity": 3000000, "occurred_at": now},
            {"idempotency_key": "l1:calls:2", "plugin": "unlimited-api", "metric": "api_calls", "quantity": 2000000, "occurred_at": now},
        ]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let usage = eventually("usage in status", || async {
        let s = licenses.get("l1-unlimited-api").await.ok()?.status?;
        (s.usage.get("api_calls") == Some(&5_000_000)).then_some(s)
    })
    .await;
    assert!(
        usage.entitlements.contains(&"unlimited_apis".to_owned()),
        "at the limit is not over it"
    );
    assert_eq!(
        usage.limits["api_calls"], 5_000_000,
        "the tier's limit, in status"
    );
    h.call(Some(&instance), Method::POST, "/plugins/usage-events", Some(json!({"events": [
        {"idempotency_key": "l1:calls:3", "plugin": "unlimited-api", "metric": "api_calls", "quantity": 1, "occurred_at": now},
    ]})))
    .await;
    let over = eventually("LimitExceeded", || async {
        let s = licenses.get("l1-unlimited-api").await.ok()?.status?;
        s.conditions
            .iter()
            .find(|c| c.type_ == "LimitExceeded" && c.status == "True")
            .cloned()
    })
    .await;
    assert!(
        over.message.contains("api_calls 5000001 of 5000000"),
        "{}",
        over.message
    );
    eventually(
        "unlimited_apis withdrawn",
        entitled("unlimited_apis", false),
    )
    .await;
    eventually(
        "advanced_analytics kept",
        entitled("advanced_analytics", true),
    )
    .await;

    // Suspending a license withdraws its features without ending it; lifting it restores them.
    let suspend = |on: bool| {
        let licenses = licenses.clone();
        async move {
            licenses
                .patch(
                    "l1-advanced-analytics",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(json!({"spec": {"suspended": on}})),
                )
                .await
        }
    };
    suspend(true).await.unwrap();
    assert_eq!(
        eventually("suspended", || async {
            let s = state("l1-advanced-analytics")().await?;
            (s == "Suspended").then_some(s)
        })
        .await,
        "Suspended"
    );
    eventually(
        "advanced_analytics withdrawn",
        entitled("advanced_analytics", false),
    )
    .await;
    suspend(false).await.unwrap();
    eventually(
        "advanced_analytics back",
        entitled("advanced_analytics", true),
    )
    .await;
    assert_eq!(
        state("l1-advanced-analytics")().await.as_deref(),
        Some("Active")
    );

    // A tenant applied with kubectl past the reseller's limits shows on the reseller.
    let mut applied: dotmac_platform::crd::Tenant = serde_json::from_value(json!({
        "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "l2"},
        "spec": {"displayName": "L2", "contactEmail": "noc@l2.example", "plan": "enterprise", "resellerRef": "west"}})).unwrap();
    applied.metadata.labels = None;
    Api::<dotmac_platform::crd::Tenant>::all(h.client.clone())
        .create(&Default::default(), &applied)
        .await
        .unwrap();
    let status = eventually("limit conditions", || async {
        let s = resellers.get("west").await.ok()?.status?;
        (s.tenants.as_ref()?.count == 2).then_some(s)
    })
    .await;
    let condition = |t: &str| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            condition("TenantLimitReached").status.as_str(),
            condition("TenantLimitReached").reason.as_str()
        ),
        ("True", "OverLimit")
    );
    assert_eq!(condition("PlanNotAllowed").status, "True");
    assert!(
        condition("PlanNotAllowed")
            .message
            .contains("l2 (enterprise)")
    );

    // Bad input and other callers: clear problems, and the ledger is untouched.
    let ledger_rows = rows(&h, "commission_ledger WHERE reseller = 'west'").await;
    h.reseller("east").await;
    let east = h
        .token("east-token", Role::Reseller, Some("east"), None)
        .await;
    for (token, path, wanted) in [
        (&east, "/resellers/west/commissions", StatusCode::NOT_FOUND),
        (
            &instance,
            "/resellers/west/commissions",
            StatusCode::FORBIDDEN,
        ),
        (
            &admin,
            "/resellers/nobody/commissions",
            StatusCode::NOT_FOUND,
        ),
        (
            &admin,
            "/resellers/west/commissions?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            "/resellers/west/commissions?cursor=2026-13",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            "/resellers/west/commissions?colour=red",
            StatusCode::BAD_REQUEST,
        ),
        (&admin, "/plugins/subscriptions/nope", StatusCode::NOT_FOUND),
        (
            &east,
            "/plugins/subscriptions/l1-unlimited-api",
            StatusCode::NOT_FOUND,
        ),
        (
            &instance,
            "/plugins/subscriptions/l1-unlimited-api",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, problem) = h.call(Some(token), Method::GET, path, None).await;
        assert_eq!(status, wanted, "{path}: {problem}");
    }
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::GET,
            "/resellers/west/commissions?cursor=2026-13",
            None,
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor"))
    );
    for (token, name, wanted) in [
        (&east, "l1-unlimited-api", StatusCode::NOT_FOUND),
        (&admin, "nope", StatusCode::NOT_FOUND),
        (&admin, "l1-billing-lapsed", StatusCode::CONFLICT),
    ] {
        let (status, problem) = h
            .call(
                Some(token),
                Method::POST,
                &format!("/plugins/subscriptions/{name}/activate"),
                None,
            )
            .await;
        assert_eq!(status, wanted, "{name}: {problem}");
    }
    assert_eq!(
        licenses
            .get("l1-billing-lapsed")
            .await
            .unwrap()
            .spec
            .trial_days,
        0
    );
    assert!(
        !licenses
            .get("l1-billing-lapsed")
            .await
            .unwrap()
            .spec
            .auto_renew,
        "a refused activation changed nothing"
    );
    assert_eq!(
        rows(&h, "commission_ledger WHERE reseller = 'west'").await,
        ledger_rows
    );
}
