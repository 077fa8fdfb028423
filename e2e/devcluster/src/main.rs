//! `devcluster`: run the Kubernetes API server for tests and local development.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use dotmac_devcluster::{DevCluster, Options, runtime::images::ImageMap};

/// A single-process Kubernetes API server on loopback for DotMac tests and local runs.
#[derive(Parser, Debug)]
#[command(name = "devcluster", version, about)]
struct Cli {
    /// Address to serve the Kubernetes API on (plain HTTP).
    #[arg(long, env = "DEVCLUSTER_LISTEN", default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write a kubeconfig pointing at the server.
    #[arg(
        long,
        env = "DEVCLUSTER_KUBECONFIG",
        default_value = ".local/devcluster.kubeconfig"
    )]
    kubeconfig: PathBuf,
    /// SQLite file that keeps objects across restarts; memory only when omitted.
    #[arg(long, env = "DEVCLUSTER_DATA")]
    data: Option<PathBuf>,
    /// Milliseconds a Deployment of images that do not run takes to report its replicas
    /// available.
    #[arg(long, default_value_t = 200)]
    rollout_delay_ms: u64,
    /// Run pods of IMAGE (any tag) as local processes of PATH, as a kubelet would; repeatable.
    /// Example: ghcr.io/dotmac/isp-runtime=target/debug/dotmac-isp
    #[arg(long = "run-image", value_name = "IMAGE=PATH")]
    run_images: Vec<String>,
    /// Where running pods keep their volumes and logs; a temporary directory when omitted.
    #[arg(long, env = "DEVCLUSTER_PODS_DIR")]
    pods_dir: Option<PathBuf>,
    /// Seconds before a crashed container's first restart; doubles up to five minutes.
    #[arg(long, default_value_t = 10)]
    restart_backoff_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = dotmac_telemetry::init("devcluster").context("setting up telemetry")?;
    let run_images = ImageMap::parse(cli.run_images.iter().map(String::as_str))
        .context("reading --run-image")?;
    let cluster = DevCluster::start_with(Options {
        listen: cli.listen,
        kubeconfig: Some(cli.kubeconfig.clone()),
        data: cli.data.clone(),
        rollout_delay: Duration::from_millis(cli.rollout_delay_ms),
        run_images,
        pods_dir: cli.pods_dir.clone(),
        restart_backoff: Duration::from_secs(cli.restart_backoff_seconds),
        ..Options::default()
    })
    .await
    .context("starting devcluster")?;
    tracing::info!(
        url = %cluster.url(),
        kubeconfig = %cli.kubeconfig.display(),
        data = ?cli.data,
        "devcluster serving; export KUBECONFIG={}",
        cli.kubeconfig.display()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::select! {
        stopped = tokio::signal::ctrl_c() => stopped.context("waiting for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    tracing::info!("devcluster stopping");
    cluster.stop().await;
    Ok(())
}
