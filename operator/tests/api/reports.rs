//! What instances report: usage events counted once, health reaching the Tenant status.

use super::*;

async fn usage_and_health(postgres: bool) {
    let h = harness(postgres).await;
    let (status, _) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("gamma")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    h.wait_phase(&h.admin, "gamma", "Ready").await;
    let instance = h
        .token("gamma-instance", Role::Tenant, None, Some("gamma"))
        .await;
    let events: Vec<Value> = (0..5)
        .map(|i| json!({"idempotency_key": format!("gamma:api_calls:{i}"), "metric": "api_calls", "quantity": 10, "occurred_at": "2026-11-24T10:00:00Z"}))
        .collect();
    let (status, first) = h
        .call(
            Some(&instance),
            Method::POST,
            "/plugins/usage-events",
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first, json!({"accepted": 5, "duplicates": 0}));
    let mut resent = events.clone();
    resent.push(json!({"idempotency_key": "gamma:api_calls:5", "metric": "api_calls", "quantity": 1, "occurred_at": "2026-11-24T10:01:00Z"}));
    let (_, second) = h
        .call(
            Some(&instance),
            Method::POST,
            "/plugins/usage-events",
            Some(json!({"events": resent})),
        )
        .await;
    assert_eq!(second, json!({"accepted": 1, "duplicates": 5}));
    let row = sea_orm::ConnectionTrait::query_one_raw(&h.db, sea_orm::Statement::from_string(h.db.get_database_backend(),
        "SELECT quantity, events FROM usage_rollups WHERE tenant = 'gamma' AND metric = 'api_calls' AND period = '2026-11'")).await.unwrap().unwrap();
    assert_eq!(
        row.try_get_by_index::<f64>(0).unwrap(),
        51.0,
        "duplicates are counted once"
    );
    assert_eq!(row.try_get_by_index::<i64>(1).unwrap(), 6);
    // A tenant token reports only for itself; bad events name the field; nothing is written.
    let (status, _) = h.call(Some(&instance), Method::POST, "/plugins/usage-events", Some(json!({"events": [{"idempotency_key": "x", "tenant": "other", "metric": "api_calls", "quantity": 1, "occurred_at": "2026-11-24T10:00:00Z"}]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"idempotency_key": format!("k{i}"), "metric": "m", "quantity": 1, "occurred_at": "2026-11-24T10:00:00Z"})).collect();
    for (body, field) in [
        (json!({"events": []}), "events"),
        (json!({"events": too_many}), "events"),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "Bad Metric", "quantity": 1, "occurred_at": "2026-11-24T10:00:00Z"}]}),
            "events[0].metric",
        ),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "m", "quantity": -1, "occurred_at": "2026-11-24T10:00:00Z"}]}),
            "events[0].quantity",
        ),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "m", "quantity": "1", "occurred_at": "2026-11-24T10:00:00Z"}]}),
            "events[0].quantity",
        ),
        (
            json!({"events": [{"idempotency_key": "a", "metric": "m", "quantity": 1, "occurred_at": "yesterday"}]}),
            "events[0].occurred_at",
        ),
    ] {
        let (status, problem) = h
            .call(
                Some(&instance),
                Method::POST,
                "/plugins/usage-events",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field);
    }
    let count = sea_orm::ConnectionTrait::query_one_raw(
        &h.db,
        sea_orm::Statement::from_string(
            h.db.get_database_backend(),
            "SELECT COUNT(*) FROM usage_events",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(count.try_get_by_index::<i64>(0).unwrap(), 6);
    // Health reaches the Tenant's status.
    let (status, _) = h.call(Some(&instance), Method::POST, "/monitoring/health-checks", Some(json!({"status": "Degraded", "checks": {"database": "ok", "redis": "unavailable"}, "message": "Redis down"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, problem) = h
        .call(
            Some(&instance),
            Method::POST,
            "/monitoring/health-checks",
            Some(json!({"status": "Sleepy"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "status");
    assert_eq!(
        rows(&h, "health_checks").await,
        1,
        "the refused report was not stored"
    );
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    for _ in 0..50 {
        let tenant = tenants.get("gamma").await.unwrap();
        if let Some(health) = tenant.status.and_then(|s| s.health) {
            assert_eq!(json!(health.status), json!("Degraded"));
            assert_eq!(health.message.as_deref(), Some("Redis down"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the health report never reached the Tenant's status");
}

#[tokio::test]
async fn usage_and_health_sqlite() {
    usage_and_health(false).await;
}

#[tokio::test]
async fn usage_and_health_postgres() {
    usage_and_health(true).await;
}
