//! Operator settings, from flags or `DOTMAC_`-prefixed environment variables.

use std::{net::SocketAddr, time::Duration};

/// Settings of the Tenant controller.
#[derive(clap::Args, Debug, Clone)]
pub struct ControllerConfig {
    /// Container image repository of isp-runtime; a tenant's `version` is the tag.
    #[arg(
        long,
        env = "DOTMAC_ISP_IMAGE",
        default_value = "ghcr.io/dotmac/isp-runtime"
    )]
    pub isp_image: String,

    /// isp-runtime tag for tenants that do not set `version`.
    #[arg(long, env = "DOTMAC_ISP_DEFAULT_VERSION", default_value = env!("CARGO_PKG_VERSION"))]
    pub isp_default_version: String,

    /// Container image repository of FreeRADIUS, beside the instance of a tenant with
    /// `spec.radius`; tagged like isp-runtime.
    #[arg(
        long,
        env = "DOTMAC_FREERADIUS_IMAGE",
        default_value = "ghcr.io/dotmac/freeradius"
    )]
    pub freeradius_image: String,

    /// IngressClass of tenant Ingresses.
    #[arg(long, env = "DOTMAC_INGRESS_CLASS", default_value = "nginx")]
    pub ingress_class: String,

    /// Namespace of the ingress controller, the only outside source of traffic to a tenant.
    #[arg(
        long,
        env = "DOTMAC_INGRESS_NAMESPACE",
        default_value = "ingress-nginx"
    )]
    pub ingress_namespace: String,

    /// Namespace of the Prometheus that scrapes tenant instances' `/metrics`; it may reach
    /// their HTTP port. No scraping through the tenant NetworkPolicy when omitted.
    #[arg(long, env = "DOTMAC_MONITORING_NAMESPACE")]
    pub monitoring_namespace: Option<String>,

    /// Namespace of the platform (management API, and PostgreSQL, Redis and OpenBao when they
    /// run in the cluster); tenants may reach it on their ports only.
    #[arg(
        long,
        env = "DOTMAC_PLATFORM_NAMESPACE",
        default_value = "dotmac-system"
    )]
    pub platform_namespace: String,

    /// Extra egress destinations (CIDRs) for PostgreSQL, Redis and OpenBao outside the cluster,
    /// comma-separated.
    #[arg(long, env = "DOTMAC_EGRESS_CIDRS", value_delimiter = ',')]
    pub egress_cidrs: Vec<String>,

    /// Tenants reconciled at the same time.
    #[arg(long, env = "DOTMAC_CONCURRENCY", default_value_t = 16)]
    pub concurrency: u16,

    /// Seconds between resyncs of a Ready tenant (with up to 10 % jitter).
    #[arg(long, env = "DOTMAC_RESYNC_SECONDS", default_value_t = 300)]
    pub resync_seconds: u64,

    /// Seconds between checks of a Ready tenant's database, Redis user and OpenBao namespace
    /// (reads only; whatever is missing is made again). With the data plane on, a Ready tenant
    /// is reconciled at this interval or the resync's, whichever is shorter.
    #[arg(long, env = "DOTMAC_VERIFY_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub verify_seconds: u64,

    /// Seconds between readings of a metered license's usage, which can withdraw its features.
    #[arg(long, env = "DOTMAC_USAGE_POLL_SECONDS", default_value_t = 60)]
    pub usage_poll_seconds: u64,

    /// Address of the health and metrics server.
    #[arg(
        long,
        env = "DOTMAC_OPERATOR_HEALTH_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub health_listen: SocketAddr,

    /// Run leader election on a coordination Lease so several replicas can run.
    #[arg(long, env = "DOTMAC_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,

    /// Namespace of the leader-election Lease.
    #[arg(long, env = "DOTMAC_LEASE_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,

    /// Seconds a leader's Lease is valid without renewal.
    #[arg(long, env = "DOTMAC_LEASE_SECONDS", default_value_t = 15)]
    pub lease_seconds: u64,

    /// Identity of this replica in the Lease (the pod name in a cluster).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// The management API's URL as tenant instances reach it (`http://dotmac-api.dotmac-system.svc:8000`),
    /// for their health and usage reports; instances report nothing without it.
    #[arg(long, env = "DOTMAC_INSTANCE_API_URL")]
    pub instance_api_url: Option<String>,

    /// Where tenants' databases, Redis users and OpenBao namespaces are made.
    #[command(flatten)]
    pub data_plane: DataPlaneConfig,
}

/// The platform's admin access to PostgreSQL, Redis and OpenBao, and the addresses tenant
/// instances use. The data plane is on when all four admin settings are given.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DataPlaneConfig {
    /// PostgreSQL admin URL (a role that may create roles and databases).
    #[arg(long, env = "DOTMAC_POSTGRES_ADMIN_URL")]
    pub postgres_admin_url: Option<String>,

    /// Redis admin URL (a user that may manage ACL users).
    #[arg(long, env = "DOTMAC_REDIS_ADMIN_URL")]
    pub redis_admin_url: Option<String>,

    /// OpenBao address.
    #[arg(long, env = "DOTMAC_OPENBAO_ADDR")]
    pub openbao_addr: Option<String>,

    /// File holding the OpenBao token of the platform (read at start-up).
    #[arg(long, env = "DOTMAC_OPENBAO_TOKEN_FILE")]
    pub openbao_token_file: Option<std::path::PathBuf>,

    /// `host:port` of PostgreSQL as tenant instances reach it; the admin URL's by default.
    #[arg(long, env = "DOTMAC_TENANT_POSTGRES_HOST")]
    pub tenant_postgres_host: Option<String>,

    /// `host:port` of Redis as tenant instances reach it; the admin URL's by default.
    #[arg(long, env = "DOTMAC_TENANT_REDIS_HOST")]
    pub tenant_redis_host: Option<String>,

    /// OpenBao address as tenant instances reach it; `--openbao-addr` by default.
    #[arg(long, env = "DOTMAC_TENANT_OPENBAO_ADDR")]
    pub tenant_openbao_addr: Option<String>,
}

/// The `host:port` part of a URL such as `postgres://user:pw@db:5432/postgres`.
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or_default().to_owned()
}

impl ControllerConfig {
    /// Time between resyncs.
    pub fn resync(&self) -> Duration {
        Duration::from_secs(self.resync_seconds)
    }

    /// Time until a Ready tenant is looked at again: the resync, or the data-plane check when
    /// the data plane is on and that comes sooner.
    pub fn recheck(&self, data_plane: bool) -> Duration {
        let resync = self.resync();
        if data_plane {
            resync.min(Duration::from_secs(self.verify_seconds))
        } else {
            resync
        }
    }
}
