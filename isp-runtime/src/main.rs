//! `dotmac-isp`: the per-tenant ISP application binary.

use anyhow::Context;
use clap::{Parser, Subcommand};
use dotmac_isp::{config::ServeConfig, http};

/// DotMac ISP runtime: one tenant's ISP management application.
#[derive(Parser, Debug)]
#[command(name = "dotmac-isp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the HTTP API and probes.
    Serve(ServeConfig),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = dotmac_telemetry::init("dotmac-isp").context("setting up telemetry")?;
    match cli.command {
        Command::Serve(config) => serve(config).await,
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let db = sea_orm::Database::connect(&config.database_url)
        .await
        .context("connecting to the database")?;
    tracing::info!(backend = ?db.get_database_backend(), "database connected");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "dotmac-isp listening");
    http::serve(listener, http::app(db))
        .await
        .context("serving HTTP")?;
    tracing::info!("dotmac-isp stopped");
    Ok(())
}
