//! A replica whose caches are still loading is not ready and answers 503.

use super::*;

#[tokio::test]
async fn while_its_caches_load_the_api_is_not_ready_and_answers_503() {
    dotmac_telemetry::install_crypto_provider();
    // A cluster that never answers: the tenant and license caches never fill.
    let client =
        Client::try_from(kube::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
    let platform = common::PlatformDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("bootstrap-token");
    std::fs::write(&token_file, "bootstrap-admin-token-for-tests\n").unwrap();
    let args = Args::parse_from([
        "test",
        "--bootstrap-token-file",
        token_file.to_str().unwrap(),
    ]);
    let plugins = PluginCatalog::fixed(Catalog::embedded().unwrap());
    let (app, _) = dotmac_management_api::assemble(&args.api, platform.db.clone(), client, plugins)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();

    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], true);
    assert_eq!(body["checks"]["tenantCache"], false);

    // An empty cache must not answer "no tenants"; the list waits, then says why it cannot.
    let list = http
        .get(format!("{base}/api/v1/tenant-orchestration/deployments"))
        .bearer_auth("bootstrap-admin-token-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(list.headers()["content-type"], "application/problem+json");
    let problem: Value = list.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("tenant cache")),
        "{problem}"
    );
}
