//! The `dotmac-operator` binary exports its spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set, and logs JSON when its output is not a terminal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::time::Duration;

use dotmac_telemetry::otlp_receiver::OtlpReceiver;

#[tokio::test]
async fn crdgen_exports_its_span_and_logs_json() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_dotmac-operator"))
        .args(["crdgen", "--out-dir"])
        .arg(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env_remove("DOTMAC_LOG_FORMAT")
        .env("RUST_LOG", "info")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let logs = String::from_utf8(output.stderr).unwrap();
    let wrote: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|e: &serde_json::Value| e["fields"]["message"] == "wrote CRD")
        .collect();
    assert_eq!(wrote.len(), 3, "{logs}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);

    let span = receiver
        .wait_for_span("crdgen", Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no crdgen span; got {:?}", receiver.spans()));
    assert_eq!(span.service, "dotmac-operator");
}
