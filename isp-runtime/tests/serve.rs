//! The `dotmac-isp` binary as a user runs it: `serve` on embedded SQLite answers its probes,
//! logs JSON when its output is not a terminal, exports request spans over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, stops cleanly on SIGTERM, and lets in the first admin
//! invited from the command line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::{process::Stdio, time::Duration};

use dotmac_telemetry::otlp_receiver::OtlpReceiver;
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// Starts `dotmac-isp serve` and returns it with its base URL and the rest of its log stream.
async fn start(
    dir: &tempfile::TempDir,
    otlp: Option<&str>,
) -> (
    Child,
    String,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dotmac-isp"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("isp.db").display()),
        )
        .env_remove("DOTMAC_LOG_FORMAT")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(endpoint) = otlp {
        command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let entry: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
            assert!(
                entry["timestamp"].is_string() && entry["level"].is_string(),
                "{line}"
            );
            if entry["fields"]["message"] == "dotmac-isp listening" {
                return entry["fields"]["addr"].as_str().unwrap().to_owned();
            }
        }
        panic!("dotmac-isp exited before listening");
    })
    .await
    .expect("dotmac-isp did not start within 30 s");
    (child, format!("http://{addr}"), lines)
}

async fn terminate(child: &mut Child) {
    let pid = child.id().unwrap().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("dotmac-isp did not stop on SIGTERM")
        .unwrap();
    assert!(exit.success(), "dotmac-isp exited with {exit}");
}

#[tokio::test]
async fn serves_probes_on_sqlite_and_stops_on_sigterm() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, _logs) = start(&dir, None).await;

    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );

    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok", "checks": [{"name": "database", "status": "ok"}]})
    );
    assert_eq!(
        reqwest::get(format!("{base}/nope")).await.unwrap().status(),
        404
    );

    terminate(&mut child).await;
    assert!(
        dir.path().join("isp.db").exists(),
        "the SQLite database was created"
    );
}

#[tokio::test]
async fn exports_request_spans_and_metrics_over_otlp() {
    // reqwest uses the process-wide rustls provider the binaries install.
    dotmac_telemetry::install_crypto_provider();
    let receiver = OtlpReceiver::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, _logs) = start(&dir, Some(&receiver.endpoint())).await;

    assert_eq!(
        reqwest::get(format!("{base}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
    // Shutting down flushes the batch exporters.
    terminate(&mut child).await;

    let span = receiver
        .wait_for_span("GET /health", Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no GET /health span; got {:?}", receiver.spans()));
    assert_eq!(span.service, "dotmac-isp");
    assert!(
        receiver
            .metric_names()
            .iter()
            .any(|m| m == "http.server.requests"),
        "metrics received: {:?}",
        receiver.metric_names()
    );
}

/// The first tenant admin, as an operator of a fresh instance makes one: `admin invite` prints
/// a link, the link sets a password, the admin signs in and must enrol a second factor before
/// anything else; the link does not work twice.
#[tokio::test]
async fn the_first_admin_is_invited_from_the_command_line_and_signs_in() {
    dotmac_telemetry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("isp.db").display());
    let invite = Command::new(env!("CARGO_BIN_EXE_dotmac-isp"))
        .args([
            "admin",
            "invite",
            "--email",
            "Noc@Acme.example",
            "--name",
            "NOC",
        ])
        .args(["--public-url", "https://acme.example"])
        .env("DATABASE_URL", &database)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        invite.status.success(),
        "{}",
        String::from_utf8_lossy(&invite.stderr)
    );
    let link = String::from_utf8(invite.stdout).unwrap();
    let token = link
        .trim()
        .strip_prefix("https://acme.example/staff/accept-invitation#token=")
        .unwrap_or_else(|| panic!("an invitation link: {link}"));
    assert!(
        !String::from_utf8_lossy(&invite.stderr).contains(token),
        "the link is printed once, on stdout"
    );

    let (mut child, base, _logs) = start(&dir, None).await;
    let http = reqwest::Client::new();
    let accept = serde_json::json!({"token": token, "new_password": "the night shift password"});
    for expected in [204, 401] {
        let status = http
            .post(format!("{base}/api/v1/invitations/accept"))
            .json(&accept)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), expected);
    }
    let signed: Value = http
        .post(format!("{base}/api/v1/sign-in"))
        .json(&serde_json::json!({"login": "noc@acme.example", "password": "the night shift password", "session": "bearer"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signed["account"]["role"], "tenant_admin");
    assert_eq!(signed["account"]["must_enrol_second_factor"], true);
    let session = signed["token"].as_str().unwrap();
    let customers = http
        .get(format!("{base}/api/v1/customers"))
        .bearer_auth(session)
        .send()
        .await
        .unwrap();
    assert_eq!(customers.status().as_u16(), 403, "enrolment comes first");
    terminate(&mut child).await;
}
