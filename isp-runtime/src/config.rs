//! Run-time settings of an instance, from flags or `DOTMAC_`-prefixed environment variables.

use std::{net::SocketAddr, path::PathBuf};

use dotmac_contract::instance;

/// Where the database is; shared by every subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseConfig {
    /// Database to use: a PostgreSQL URL in production, SQLite (created when missing) by
    /// default.
    #[arg(
        long,
        env = instance::DATABASE_URL,
        default_value = "sqlite://dotmac-isp.db?mode=rwc"
    )]
    pub database_url: String,

    /// The tenant this instance belongs to (written by the operator).
    #[arg(long, env = instance::TENANT, default_value = "local")]
    pub tenant: String,

    /// Most database connections this instance holds (a tenant instance shares its PostgreSQL
    /// with many others; idle ones close after 30 s).
    #[arg(long, env = instance::DATABASE_MAX_CONNECTIONS, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_connections: u32,
}

/// Settings of `dotmac-isp serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address to serve HTTP on.
    #[arg(long, env = instance::LISTEN, default_value = "0.0.0.0:8001")]
    pub listen: SocketAddr,

    /// Database and tenant.
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Redis for the job queue and rate limits (`redis://…`); without it jobs queue in process
    /// and requests are not rate-limited.
    #[arg(long, env = instance::REDIS_URL)]
    pub redis_url: Option<String>,

    /// The entitlements file the operator mounts; without it every feature is enabled.
    #[arg(long, env = instance::ENTITLEMENTS_FILE)]
    pub entitlements_file: Option<PathBuf>,

    /// The folder holding the built portals (`staff/`, `portal/`), served at `/staff/` and
    /// `/portal/`; by default `../share/dotmac/portals` beside this binary.
    #[arg(long, env = "DOTMAC_PORTALS_DIR")]
    pub portals_dir: Option<PathBuf>,

    /// The instance's currency (ISO 4217); others need the `advanced_billing` feature.
    #[arg(long, env = instance::CURRENCY, default_value = "USD")]
    pub currency: String,

    /// Days from an invoice's issue to its due date.
    #[arg(long, env = instance::PAYMENT_TERMS_DAYS, default_value_t = 30, value_parser = clap::value_parser!(i64).range(0..=365))]
    pub payment_terms_days: i64,

    /// IANA time zone of the ISP's business day (`Africa/Lagos`).
    #[arg(long, env = instance::TIME_ZONE, default_value = "UTC")]
    pub time_zone: String,

    /// Local hour (0–23) of the billing run on the first day of each month.
    #[arg(long, env = instance::BILLING_HOUR, default_value_t = 2, value_parser = clap::value_parser!(i8).range(0..=23))]
    pub billing_hour: i8,

    /// Local hour (0–23) of the daily dunning run.
    #[arg(long, env = instance::DUNNING_HOUR, default_value_t = 6, value_parser = clap::value_parser!(i8).range(0..=23))]
    pub dunning_hour: i8,

    /// Start billing and dunning runs on the schedule (`false` leaves them to the API).
    #[arg(long, env = "DOTMAC_SCHEDULED_RUNS", default_value_t = true, action = clap::ArgAction::Set)]
    pub scheduled_runs: bool,

    /// The most customers this tenant may have (the Tenant's `limits.maxCustomers`); no limit
    /// when unset.
    #[arg(long, env = instance::MAX_CUSTOMERS)]
    pub max_customers: Option<u64>,

    /// API requests per minute per token (needs Redis).
    #[arg(long, env = instance::API_RATE_LIMIT_PER_MINUTE, default_value_t = 600)]
    pub rate_limit_per_minute: u64,

    /// Subscriptions billed per transaction in a billing run.
    #[arg(long, env = "DOTMAC_BILLING_BATCH_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=2000))]
    pub billing_batch_size: u64,

    /// The management API to report usage and health to (`http://…:8000`); no reports without
    /// it (usage events wait in the outbox).
    #[arg(long, env = instance::MANAGEMENT_API_URL)]
    pub management_api_url: Option<String>,

    /// This tenant's token at the management API.
    #[arg(long, env = instance::MANAGEMENT_API_TOKEN, hide_env_values = true)]
    pub management_api_token: Option<String>,

    /// Seconds between usage flushes to the management API.
    #[arg(long, env = "DOTMAC_USAGE_REPORT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub usage_report_seconds: u64,

    /// Seconds between health reports to the management API.
    #[arg(long, env = "DOTMAC_HEALTH_REPORT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub health_report_seconds: u64,

    /// Where people reach this instance (`https://acme.isp.example`): the base of links in
    /// invitation and reset e-mail, and `https` makes session cookies `Secure`.
    #[arg(
        long,
        env = "DOTMAC_PUBLIC_URL",
        default_value = "http://localhost:8001"
    )]
    pub public_url: String,

    /// Take the client's address from the last `X-Forwarded-For` hop (set only behind a proxy
    /// that writes it, such as the tenant's Ingress); else the connection's peer address.
    #[arg(long, env = instance::TRUST_FORWARDED_FOR, default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// The tenant's SMTP server for invitation and reset e-mail: `smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`, or `smtp://127.0.0.1:25` for a local relay. No e-mail
    /// without it.
    #[arg(long, env = instance::SMTP_URL, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of that e-mail (`Acme ISP <noreply@acme.example>`).
    #[arg(
        long,
        env = "DOTMAC_MAIL_FROM",
        default_value = "DotMac <noreply@localhost>"
    )]
    pub mail_from: String,

    /// Where FreeRADIUS reaches the internal AAA endpoints (`127.0.0.1:8002`), apart from the
    /// public API; none without it. Needs `DOTMAC_AAA_SECRET`.
    #[arg(long, env = instance::AAA_LISTEN, requires = "aaa_secret")]
    pub aaa_listen: Option<SocketAddr>,

    /// The password FreeRADIUS signs in to the AAA endpoints with (HTTP Basic).
    #[arg(long, env = instance::AAA_SECRET, hide_env_values = true)]
    pub aaa_secret: Option<String>,

    /// FreeRADIUS's loopback status port (`127.0.0.1:18121`), where the instance reads the
    /// counters of packets FreeRADIUS dropped (Status-Server, signed with the AAA secret).
    #[arg(long, env = instance::RADIUS_STATUS, requires = "aaa_secret")]
    pub radius_status: Option<SocketAddr>,

    /// The tenant's OpenBao, which keeps NAS secrets (KV) and seals PPPoE passwords (transit);
    /// without it they stay in the database. Needs the namespace, role id and secret id.
    #[arg(long, env = instance::OPENBAO_ADDR, requires_all = ["openbao_namespace", "openbao_role_id", "openbao_secret_id"])]
    pub openbao_addr: Option<String>,

    /// The tenant's OpenBao namespace (`tenants/<name>`).
    #[arg(long, env = instance::OPENBAO_NAMESPACE)]
    pub openbao_namespace: Option<String>,

    /// The instance's AppRole role id.
    #[arg(long, env = instance::OPENBAO_ROLE_ID)]
    pub openbao_role_id: Option<String>,

    /// The instance's AppRole secret id.
    #[arg(long, env = instance::OPENBAO_SECRET_ID, hide_env_values = true)]
    pub openbao_secret_id: Option<String>,

    /// Acct-Interim-Interval sent to the NAS with every accept, in seconds.
    #[arg(long, env = "DOTMAC_ACCT_INTERIM_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(60..=86_400))]
    pub acct_interim_seconds: u32,

    /// What suspended subscribers get when their router signs in.
    #[arg(long, env = "DOTMAC_SUSPENDED_ACCESS", value_enum, default_value_t = crate::network::aaa::SuspendedAccess::Reject)]
    pub suspended_access: crate::network::aaa::SuspendedAccess,

    /// The NAS filter (Filter-Id) a CoA puts a suspended subscriber's live session in, with
    /// `DOTMAC_SUSPENDED_ACCESS=walled-garden`.
    #[arg(
        long,
        env = "DOTMAC_WALLED_GARDEN_FILTER",
        default_value = "walled-garden"
    )]
    pub walled_garden_filter: String,

    /// The NAS filter a CoA puts a walled-garden session back in when service resumes.
    #[arg(long, env = "DOTMAC_SERVICE_FILTER", default_value = "internet")]
    pub service_filter: String,

    /// What suspended subscribers get in the LibreQoS export: left out, or shaped at 1 Mbit/s.
    #[arg(long, env = "DOTMAC_LIBREQOS_SUSPENDED", value_enum, default_value_t = crate::network::libreqos::SuspendedShaping::Exclude)]
    pub libreqos_suspended: crate::network::libreqos::SuspendedShaping,

    /// Milliseconds between network-enforcement passes (CoA and Disconnect, stale sessions).
    #[arg(long, env = "DOTMAC_NETWORK_TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub network_tick_ms: u64,

    /// Seconds a worker holds a run without renewing it; another takes it over after that.
    #[arg(long, env = "DOTMAC_RUN_LEASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(i64).range(1..=3600))]
    pub run_lease_seconds: i64,
}

impl ServeConfig {
    /// The tenant's OpenBao, when it is set (clap makes its address need the rest).
    pub fn openbao(&self) -> Option<crate::openbao::BaoConfig> {
        Some(crate::openbao::BaoConfig {
            addr: self.openbao_addr.clone()?,
            namespace: self.openbao_namespace.clone()?,
            role_id: self.openbao_role_id.clone()?,
            secret_id: self.openbao_secret_id.clone()?,
        })
    }
}
