//! Run-time settings of an instance, from flags or `DOTMAC_`-prefixed environment variables.

use std::net::SocketAddr;

/// Settings of `dotmac-isp serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address to serve HTTP on.
    #[arg(long, env = "DOTMAC_ISP_LISTEN", default_value = "0.0.0.0:8001")]
    pub listen: SocketAddr,

    /// Database to use: a PostgreSQL URL in production, SQLite (created when missing) by
    /// default.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://dotmac-isp.db?mode=rwc"
    )]
    pub database_url: String,
}
