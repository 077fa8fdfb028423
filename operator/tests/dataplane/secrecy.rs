//! No credential reaches a log line, an event or a status.

use super::*;

/// Prints the end of the operator's log when the test fails, so a failure in CI explains itself.
struct LogOnFailure(std::path::PathBuf);

impl Drop for LogOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.0).unwrap_or_default();
            // Connection-pool chatter left out: it would push the reconciles out of view.
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| {
                    !l.contains(r#""target":"hyper_util"#) && !l.contains(r#""target":"tower::"#)
                })
                .collect();
            eprintln!("--- the operator's last log lines ---");
            for line in &lines[lines.len().saturating_sub(150)..] {
                eprintln!("{line}");
            }
        }
    }
}

#[tokio::test]
async fn no_credential_reaches_a_log_line_event_or_status() {
    dotmac_telemetry::install_crypto_provider();
    let bao = DevBao::start().await;
    let (cluster, client) = common::cluster_with_crds().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("bao-token");
    std::fs::write(&token, "test-root").unwrap();
    let log = dir.path().join("operator.log");
    let _dump = LogOnFailure(log.clone());
    let health = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut operator = tokio::process::Command::new(env!("CARGO_BIN_EXE_dotmac-operator"))
        .arg("controller")
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("RUST_LOG", "debug")
        .env("DOTMAC_LEADER_ELECTION", "false")
        .env("DOTMAC_OPERATOR_HEALTH_LISTEN", health.to_string())
        .env(
            "DOTMAC_POSTGRES_ADMIN_URL",
            dotmac_testkit::require_postgres(),
        )
        .env("DOTMAC_REDIS_ADMIN_URL", dotmac_testkit::require_redis())
        .env("DOTMAC_OPENBAO_ADDR", &bao.addr)
        .env("DOTMAC_OPENBAO_TOKEN_FILE", &token)
        .env(
            "DOTMAC_PLATFORM_DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("platform.db").display()
            ),
        )
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let tenants: Api<Tenant> = Api::all(client.clone());
    let name = unique("dps");
    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    ready(&tenants, &name).await;
    let admin = OpenBao::new(&bao.addr, Password::from_stored("test-root".into())).unwrap();
    let mut secrets: Vec<String> = Vec::new();
    let mut collect = |kv: serde_json::Map<String, serde_json::Value>| {
        for key in ["db_password", "redis_password", "secret_id", "api_token"] {
            secrets.push(kv[key].as_str().unwrap().to_owned());
        }
    };
    collect(admin.read_credentials(&name).await.unwrap().unwrap());
    tenants.patch(&name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"annotations": {"platform.dotmac.io/rotate-credentials": "1"}}}))).await.unwrap();
    let rotated = until("rotation", || async {
        admin
            .read_credentials(&name)
            .await
            .unwrap()
            .filter(|kv| kv["rotation"] == "1" && kv["applied"] == true)
    })
    .await;
    collect(rotated);
    ready(&tenants, &name).await;
    delete_and_wait(&tenants, &name).await;
    operator.kill().await.unwrap();

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("phase changed"),
        "the operator logged its work"
    );
    let events: Api<kube::api::DynamicObject> = Api::all_with(
        client.clone(),
        &kube::discovery::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk("events.k8s.io", "v1", "Event"),
            "events",
        ),
    );
    let events =
        serde_json::to_string(&events.list(&Default::default()).await.unwrap().items).unwrap();
    assert!(events.contains(&name), "events were published");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a credential reached the operator's log"
        );
        assert!(
            !events.contains(secret.as_str()),
            "a credential reached an event"
        );
    }
}
