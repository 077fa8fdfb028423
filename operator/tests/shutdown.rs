//! `dotmac-operator controller` and `api` stop cleanly on SIGTERM, the signal Kubernetes sends
//! a pod's containers (and that a program running as PID 1 of its container ignores unless it
//! handles it, so a rollout would wait out the whole grace period for each pod).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::time::Duration;

use dotmac_testkit::eventually;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `dotmac-operator <command>`, waits for `ready` to answer, sends SIGTERM and returns
/// how it ended.
async fn terminate(
    command: &str,
    kubeconfig: &std::path::Path,
    env: &[(&str, String)],
    ready: &str,
) -> std::process::ExitStatus {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dotmac-operator"))
        .arg(command)
        .env("KUBECONFIG", kubeconfig)
        .env(
            "DOTMAC_PLATFORM_DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("platform.db").display()
            ),
        )
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    eventually(&format!("{command} answering {ready}"), 60, || async {
        reqwest::get(ready)
            .await
            .ok()?
            .status()
            .is_success()
            .then_some(())
    })
    .await;
    let pid = child.id().unwrap().to_string();
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(sent.success());
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("it stopped within 20 s of SIGTERM")
        .unwrap()
}

#[tokio::test]
async fn the_controllers_and_the_api_exit_cleanly_on_sigterm() {
    dotmac_telemetry::install_crypto_provider();
    let (cluster, _client) = common::cluster_with_crds().await;
    let health = free_port();
    let status = terminate(
        "controller",
        cluster.kubeconfig(),
        &[
            ("DOTMAC_LEADER_ELECTION", "false".into()),
            (
                "DOTMAC_OPERATOR_HEALTH_LISTEN",
                format!("127.0.0.1:{health}"),
            ),
        ],
        &format!("http://127.0.0.1:{health}/readyz"),
    )
    .await;
    // Killed by the signal it does not handle, it would have no exit code.
    assert_eq!(status.code(), Some(0), "controller: {status:?}");
    let api = free_port();
    let status = terminate(
        "api",
        cluster.kubeconfig(),
        &[("DOTMAC_API_LISTEN", format!("127.0.0.1:{api}"))],
        &format!("http://127.0.0.1:{api}/healthz"),
    )
    .await;
    assert_eq!(status.code(), Some(0), "api: {status:?}");
}
