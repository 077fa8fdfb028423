//! The OpenAPI document: every route listed, and schemathesis finding nothing against it.

use super::*;

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let h = harness(false).await;
    let (status, document) = h.call(None, Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    for path in [
        "/tenant-orchestration/deployments",
        "/tenant-orchestration/deployments/{tenant_id}",
        "/tenant-orchestration/deployments/{tenant_id}/scale",
        "/plugins/entitlements/{tenant_id}",
        "/plugins/usage-events",
        "/monitoring/health-checks",
        "/monitoring/alerts",
        "/monitoring/metrics",
        "/resellers",
        "/resellers/{name}/tenants",
        "/plugins/catalog",
        "/plugins/subscriptions",
    ] {
        assert!(document["paths"][path].is_object(), "{path}");
    }
    // Requests are counted under their route template, never the raw path.
    h.call(
        Some(&h.admin),
        Method::GET,
        "/tenant-orchestration/deployments/nobody",
        None,
    )
    .await;
    let text = h
        .http
        .get(h.base.replace("/api/v1", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("dotmac_api_requests_total{method=\"GET\",route=\"/api/v1/tenant-orchestration/deployments/{tenant_id}\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/openapi.json\",status=\"200\""),
        "{text}"
    );
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_response_breaking_the_document() {
    let h = harness(false).await;
    h.reseller("north").await;
    let (status, _) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("known")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let schemathesis = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/venv/bin/schemathesis"
    );
    assert!(
        std::path::Path::new(schemathesis).exists(),
        "schemathesis not found at {schemathesis}: run scripts/tools"
    );
    let url = format!("{}/openapi.json", h.base);
    let auth = format!("Authorization: Bearer {}", h.admin);
    let output = tokio::process::Command::new(schemathesis)
        .args(["run", &url, "-H", &auth, "--max-examples", "40", "--seed", "7", "--no-color"])
        .args(["--generation-database", "none"])
        .args(["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
