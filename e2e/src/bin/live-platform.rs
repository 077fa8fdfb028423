//! `live-platform`: the platform the end-to-end harness runs (devcluster with live instances,
//! the operator and management API, OpenBao, the machine's PostgreSQL and Redis), kept up for
//! another program's tests: the portals' browser tests start it and read one JSON line of where
//! everything is. It stops, everything with it, when its stdin closes or on SIGTERM/Ctrl-C.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use dotmac_e2e::live::{Live, binary, tenant_yaml, unique};
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;

/// Start the platform, print `{"api", "adminToken", "kubeconfig", "instances"}` on one line,
/// and run until stdin closes.
#[derive(Parser, Debug)]
#[command(name = "live-platform", version, about)]
struct Cli {
    /// A Tenant (on the premium plan) to create and wait for, as `NAME-<unique suffix>`, so that
    /// runs never meet each other's databases; its name, instance URL, a staff token and an
    /// invitation link for its first admin are printed under NAME. Every tenant is deleted at
    /// the end.
    /// Repeatable.
    #[arg(long = "tenant")]
    tenants: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    eprintln!("live-platform: starting devcluster, OpenBao and the operator");
    let live = Live::start().await;
    let mut instances = Map::new();
    for key in &cli.tenants {
        let name = &unique(&format!("{key}-"));
        eprintln!("live-platform: creating tenant {name} and waiting for it to be Ready");
        live.kubectl(
            &["apply", "-f", "-"],
            Some(&tenant_yaml(
                name,
                "  plan: premium\n  deletionPolicy: Delete\n",
            )),
        )
        .await;
        live.phase(name, "Ready", 180).await;
        let url = live.instance_url(name).await;
        let token = live.staff_token(name).await;
        let invited = tokio::process::Command::new(binary("dotmac-isp"))
            .args(["admin", "invite", "--email"])
            .arg(format!("owner@{name}.example"))
            .args(["--name", "ISP Owner", "--public-url", &url])
            .env("DATABASE_URL", live.credential(name, "DATABASE_URL").await)
            .env("DOTMAC_TENANT", name)
            .output()
            .await
            .context("dotmac-isp admin invite")?;
        anyhow::ensure!(
            invited.status.success(),
            "dotmac-isp admin invite: {}",
            String::from_utf8_lossy(&invited.stderr)
        );
        let invitation = String::from_utf8(invited.stdout)?.trim().to_owned();
        instances.insert(
            key.clone(),
            json!({"name": name, "url": url, "staffToken": token, "invitation": invitation}),
        );
    }
    let ready = json!({
        "api": live.api,
        "adminToken": live.admin_token,
        "kubeconfig": live.cluster.kubeconfig(),
        "instances": Value::Object(instances),
    });
    println!("{ready}");
    eprintln!("live-platform: ready; close stdin or send SIGTERM to stop");
    let mut stdin = tokio::io::stdin();
    let mut sink = [0_u8; 256];
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            read = stdin.read(&mut sink) => if read.map_or(true, |n| n == 0) { break },
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    // The tests' tenants too; under `deletionPolicy: Delete` (which tests must give theirs)
    // their databases and Redis users go with them.
    eprintln!("live-platform: deleting every tenant, then stopping");
    live.kubectl(&["delete", "tenants", "--all", "--timeout=120s"], None)
        .await;
    drop(live);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
