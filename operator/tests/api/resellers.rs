//! Resellers, alerts and metric samples.

use super::*;

#[tokio::test]
async fn resellers_alerts_and_metrics() {
    let h = harness(false).await;
    let admin = h.admin.clone();
    let east = json!({"name": "east", "spec": {"displayName": "East Partners", "contactEmail": "ops@east.example", "tier": "gold"}});
    let (status, created) = h
        .call(Some(&admin), Method::POST, "/resellers", Some(east.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        h.call(Some(&admin), Method::POST, "/resellers", Some(east))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, problem) = h.call(Some(&admin), Method::POST, "/resellers", Some(json!({"name": "West!", "spec": {"displayName": "W", "contactEmail": "w@w.example", "tier": "gold"}}))).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    let (status, problem) = h.call(Some(&admin), Method::POST, "/resellers", Some(json!({"name": "west", "spec": {"displayName": "W", "contactEmail": "w@w.example", "tier": "tin"}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["field"].as_str().unwrap().contains("tier"),
        "{problem}"
    );
    let (_, resellers) = h.call(Some(&admin), Method::GET, "/resellers", None).await;
    assert_eq!(
        resellers["items"].as_array().unwrap().len(),
        1,
        "refused resellers were not created"
    );

    let limited = json!({"name": "tiny", "spec": {"displayName": "Tiny", "contactEmail": "ops@tiny.example", "tier": "bronze", "maxTenants": 1, "allowedPlans": ["free", "basic"]}});
    assert_eq!(
        h.call(Some(&admin), Method::POST, "/resellers", Some(limited))
            .await
            .0,
        StatusCode::CREATED
    );
    let mut premium = new_tenant("t1");
    premium["spec"]["resellerRef"] = json!("tiny");
    premium["spec"]["plan"] = json!("premium");
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(premium),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("spec.plan")),
        "{problem}"
    );
    let mut first = new_tenant("t1");
    first["spec"]["resellerRef"] = json!("tiny");
    assert_eq!(
        h.call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(first)
        )
        .await
        .0,
        StatusCode::CREATED
    );
    h.wait_phase(&admin, "t1", "Ready").await;
    let mut second = new_tenant("t2");
    second["spec"]["resellerRef"] = json!("tiny");
    let (status, problem) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(second),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "maxTenants: {problem}");

    let reseller = h
        .token("east-token", Role::Reseller, Some("east"), None)
        .await;
    assert_eq!(h.call(Some(&reseller), Method::POST, "/resellers", Some(json!({"name": "x", "spec": {"displayName": "X", "contactEmail": "x@x.example", "tier": "gold"}}))).await.0, StatusCode::FORBIDDEN);
    let (_, listed) = h
        .call(Some(&reseller), Method::GET, "/resellers", None)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // One by name: an admin any, a reseller itself; anything else is not there.
    let (status, east) = h
        .call(Some(&admin), Method::GET, "/resellers/east", None)
        .await;
    assert_eq!(
        (status, east["name"].as_str()),
        (StatusCode::OK, Some("east")),
        "{east}"
    );
    let (status, own) = h
        .call(Some(&reseller), Method::GET, "/resellers/east", None)
        .await;
    assert_eq!(
        (status, own["spec"]["tier"].as_str()),
        (StatusCode::OK, Some("gold")),
        "{own}"
    );
    for path in [
        "/resellers/west",
        "/resellers/Not_A_Name",
        "/resellers/nobody",
    ] {
        let token = if path.ends_with("west") {
            &reseller
        } else {
            &admin
        };
        assert_eq!(
            h.call(Some(token), Method::GET, path, None).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (_, paged) = h
        .call(Some(&admin), Method::GET, "/resellers?limit=1", None)
        .await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 1, "{paged}");
    let (status, problem) = h
        .call(Some(&admin), Method::GET, "/resellers?limit=500", None)
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    assert_eq!(
        h.call(
            Some(&reseller),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("e1"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let mut seen = false;
    for _ in 0..50 {
        let (_, tenants) = h
            .call(
                Some(&reseller),
                Method::GET,
                "/resellers/east/tenants",
                None,
            )
            .await;
        if tenants["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "e1")
        {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the reseller's tenant is listed");
    assert_eq!(
        h.call(
            Some(&reseller),
            Method::GET,
            "/resellers/west/tenants",
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    let instance = h.token("e1-instance", Role::Tenant, None, Some("e1")).await;
    let alert = json!({"name": "disk_almost_full", "severity": "warning", "message": "90 % used"});
    let (status, first) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/alerts",
            Some(alert.clone()),
        )
        .await;
    assert_eq!(
        (status, first["count"].as_i64()),
        (StatusCode::CREATED, Some(1))
    );
    let (status, again) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/alerts",
            Some(alert),
        )
        .await;
    assert_eq!(
        (status, again["count"].as_i64()),
        (StatusCode::OK, Some(2)),
        "the same alert within an hour counts up"
    );
    let (status, _) = h.call(Some(&instance), Method::POST, "/monitoring/alerts", Some(json!({"name": "backup_failed", "severity": "critical", "message": "nightly backup"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(rows(&h, "alerts").await, 2);

    // Admins read every alert, newest first; a reseller only its own tenants'.
    let (status, body) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("solo")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let solo = h
        .token("solo-instance", Role::Tenant, None, Some("solo"))
        .await;
    let hot = json!({"name": "cpu_hot", "severity": "critical", "message": "95 % CPU"});
    eventually("the alert of a tenant the cache knows", || async {
        let (status, _) = h
            .call(
                Some(&solo),
                Method::POST,
                "/monitoring/alerts",
                Some(hot.clone()),
            )
            .await;
        (status == StatusCode::CREATED).then_some(())
    })
    .await;
    let listed = |body: &Value| -> Vec<(String, String, i64)> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["tenant"].as_str().unwrap().to_owned(),
                    a["name"].as_str().unwrap().to_owned(),
                    a["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let (status, all) = h
        .call(Some(&admin), Method::GET, "/monitoring/alerts", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let expect = |rows: &[(&str, &str, i64)]| -> Vec<(String, String, i64)> {
        rows.iter()
            .map(|(t, n, c)| ((*t).to_owned(), (*n).to_owned(), *c))
            .collect()
    };
    assert_eq!(
        listed(&all),
        expect(&[
            ("solo", "cpu_hot", 1),
            ("e1", "backup_failed", 1),
            ("e1", "disk_almost_full", 2)
        ])
    );
    let (_, own) = h
        .call(Some(&reseller), Method::GET, "/monitoring/alerts", None)
        .await;
    assert_eq!(
        listed(&own),
        expect(&[("e1", "backup_failed", 1), ("e1", "disk_almost_full", 2)])
    );
    let (_, critical) = h
        .call(
            Some(&admin),
            Method::GET,
            "/monitoring/alerts?severity=critical",
            None,
        )
        .await;
    assert_eq!(
        listed(&critical),
        expect(&[("solo", "cpu_hot", 1), ("e1", "backup_failed", 1)])
    );
    let (_, first) = h
        .call(
            Some(&admin),
            Method::GET,
            "/monitoring/alerts?limit=2",
            None,
        )
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = h
        .call(
            Some(&admin),
            Method::GET,
            &format!("/monitoring/alerts?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(listed(&rest), expect(&[("e1", "disk_almost_full", 2)]));
    for (query, status, field) in [
        (
            "severity=apocalyptic",
            StatusCode::UNPROCESSABLE_ENTITY,
            "severity",
        ),
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY, "limit"),
        ("cursor=yesterday", StatusCode::BAD_REQUEST, "cursor"),
        ("colour=red", StatusCode::BAD_REQUEST, "colour"),
    ] {
        let (got, problem) = h
            .call(
                Some(&admin),
                Method::GET,
                &format!("/monitoring/alerts?{query}"),
                None,
            )
            .await;
        assert_eq!(
            (got, problem["field"].as_str()),
            (status, Some(field)),
            "{query}: {problem}"
        );
    }
    assert_eq!(
        h.call(Some(&instance), Method::GET, "/monitoring/alerts", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    for (body, field) in [
        (
            json!({"name": "x", "severity": "apocalyptic", "message": "m"}),
            "severity",
        ),
        (
            json!({"name": "Bad Name", "severity": "info", "message": "m"}),
            "name",
        ),
        (
            json!({"name": "x", "severity": "info", "message": ""}),
            "message",
        ),
    ] {
        let (status, problem) = h
            .call(
                Some(&instance),
                Method::POST,
                "/monitoring/alerts",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field);
    }
    assert_eq!(
        h.call(
            Some(&instance),
            Method::POST,
            "/monitoring/alerts",
            Some(json!({"tenant": "other", "name": "x", "severity": "info", "message": "m"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = h.call(Some(&instance), Method::POST, "/monitoring/metrics", Some(json!({"samples": [{"name": "requests_per_second", "value": 12.5}, {"name": "p99_ms", "value": 41.0, "at": "2026-11-24T10:00:00Z"}]}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, problem) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/metrics",
            Some(json!({"samples": []})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("samples"))
    );
    let (status, problem) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/metrics",
            Some(json!({"samples": [{"name": "ok", "value": "high"}]})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("samples[0].value"))
    );
    assert_eq!(rows(&h, "metrics").await, 2);
    assert_eq!(
        h.call(
            Some(&reseller),
            Method::POST,
            "/monitoring/metrics",
            Some(json!({"tenant": "e1", "samples": [{"name": "x", "value": 1}]}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}
