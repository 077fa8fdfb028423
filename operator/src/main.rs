//! `dotmac-operator`: the platform's operator binary.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dotmac_operator::config::ControllerConfig;

/// DotMac platform operator.
#[derive(Parser, Debug)]
#[command(name = "dotmac-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reconcile Tenants against the cluster KUBECONFIG (or the in-cluster config) names.
    Controller(ControllerConfig),
    /// Everything the operator serves: the controllers (and the management API once it exists).
    Run(ControllerConfig),
    /// Write one YAML file per CustomResourceDefinition into a folder (or print them all).
    Crdgen {
        /// Folder to write `<plural>.<group>.yaml` files into; prints a multi-document stream
        /// to standard output when omitted.
        #[arg(long, short = 'o', env = "DOTMAC_CRD_DIR")]
        out_dir: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = dotmac_telemetry::init("dotmac-operator").context("setting up telemetry")?;
    match cli.command {
        Command::Crdgen { out_dir } => crdgen(out_dir),
        Command::Controller(config) | Command::Run(config) => controller(config),
    }
}

fn controller(config: ControllerConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("connecting to Kubernetes (KUBECONFIG or in-cluster)")?;
        dotmac_operator::controller::run(client, config).await?;
        Ok(())
    })
}

#[tracing::instrument]
fn crdgen(out_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let files = dotmac_operator::crd::render::files().context("rendering the CRDs")?;
    match out_dir {
        None => {
            let stream: Vec<&str> = files.iter().map(|f| f.yaml.as_str()).collect();
            print!("{}", stream.join("---\n"));
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for file in &files {
                let path = dir.join(&file.name);
                std::fs::write(&path, &file.yaml)
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(path = %path.display(), "wrote CRD");
            }
        }
    }
    Ok(())
}
