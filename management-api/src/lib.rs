//! The management API (`dotmac-operator api`, port 8000): tenant orchestration on top of the
//! Tenant resources, entitlements, and what tenant instances report (usage, health). Bearer
//! tokens with roles; errors are problem+json; the OpenAPI 3.1 document is at
//! `/api/v1/openapi.json`.

pub mod access;
pub mod alerts;
pub mod audit;
pub mod ingest;
pub mod openapi;
pub mod path;
pub mod people;
pub mod plugins;
pub mod resellers;
pub mod tenants;
pub mod token_routes;
pub mod tokens;

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    Json, Router,
    extract::State,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use dotmac_contract::reporting::HealthState;
use dotmac_web::problem::Problem;
use kube::{
    Api, Client,
    runtime::{WatchStreamExt, reflector, reflector::Store, watcher},
};
use sea_orm::{DatabaseConnection, DbErr};
use serde::Deserialize;

use dotmac_platform::{
    cache::Cache,
    crd::{PluginLicense, Tenant},
    plugins::source::PluginCatalog,
};
use tokens::Principal;

/// Settings of `dotmac-operator api`.
#[derive(clap::Args, Debug, Clone)]
pub struct ApiConfig {
    /// Address to serve the management API on.
    #[arg(
        long = "api-listen",
        env = "DOTMAC_API_LISTEN",
        default_value = "0.0.0.0:8000"
    )]
    pub listen: SocketAddr,

    /// Redis for per-token rate limits (`redis://…`); no limits without it.
    #[arg(long = "api-redis-url", env = "DOTMAC_API_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Requests per minute per token (needs Redis).
    #[arg(
        long = "api-rate-limit-per-minute",
        env = "DOTMAC_API_RATE_LIMIT_PER_MINUTE",
        default_value_t = 1200
    )]
    pub rate_limit_per_minute: u64,

    /// Take the client's address from the last `X-Forwarded-For` hop (only behind a proxy that
    /// writes it); else the connection's peer. It goes into the audit log.
    #[arg(long = "api-trust-forwarded-for", env = "DOTMAC_API_TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// The URL people reach the API and its portals at: links in e-mails point there, and
    /// `https://` makes the session cookies `Secure`.
    #[arg(
        long = "api-public-url",
        env = "DOTMAC_API_PUBLIC_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    pub public_url: String,

    /// SMTP server for invitations and password resets (`smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`); without one an invitation answers its token once and no
    /// reset can be asked for.
    #[arg(long = "api-smtp-url", env = "DOTMAC_API_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The sender of the API's e-mail.
    #[arg(
        long = "api-mail-from",
        env = "DOTMAC_API_MAIL_FROM",
        default_value = "DotMac <no-reply@dotmac.invalid>"
    )]
    pub mail_from: String,

    /// The folder holding the built portals (`admin/`, for admins and reseller users alike),
    /// served at `/admin/`; by default `../share/dotmac/portals` beside this binary.
    #[arg(long = "api-portals-dir", env = "DOTMAC_PORTALS_DIR")]
    pub portals_dir: Option<PathBuf>,

    /// A file holding the bootstrap admin token (a mounted Secret); it replaces any earlier
    /// bootstrap token at start.
    #[arg(long, env = "DOTMAC_API_BOOTSTRAP_TOKEN_FILE")]
    pub bootstrap_token_file: Option<PathBuf>,
}

/// Where the platform database is.
#[derive(clap::Args, Debug, Clone)]
pub struct PlatformDatabase {
    /// PostgreSQL URL, or SQLite (created when missing) by default.
    #[arg(
        long = "platform-database-url",
        env = "DOTMAC_PLATFORM_DATABASE_URL",
        default_value = "sqlite://dotmac-platform.db?mode=rwc"
    )]
    pub url: String,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The platform database.
    pub db: DatabaseConnection,
    /// The cluster.
    pub client: Client,
    /// Tenants as the reflector last saw them (through [`AppState::tenants`]).
    pub tenants: Cache<Tenant>,
    /// PluginLicenses as the reflector last saw them (through [`AppState::licenses`]).
    pub licenses: Cache<PluginLicense>,
    /// The plugin catalog in force.
    pub plugins: PluginCatalog,
    /// When each tenant's status last got a health report, and its state: the same state is
    /// written at most every 30 s, a change at once.
    pub health_writes: Arc<Mutex<HashMap<String, (Instant, HealthState)>>>,
    /// Request counts for `/metrics`.
    pub metrics: dotmac_web::metrics::HttpMetrics,
    /// Per-token rate limits, when Redis is configured, and the limit per minute.
    pub limiter: Option<(dotmac_web::ratelimit::RateLimiter, u64)>,
    /// Tokens verified in the last [`TOKEN_CACHE_TTL`], by hash, so a request costs no query.
    pub token_cache: Arc<Mutex<HashMap<String, (tokens::Verified, Instant)>>>,
    /// Whether the last `X-Forwarded-For` hop is the client (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Who may call each route, read from the OpenAPI document.
    pub access: Arc<access::Registry>,
    /// Where people reach the API (links in e-mails; `https://` makes cookies `Secure`).
    pub public_url: String,
    /// The SMTP server for invitations and resets, when one is configured.
    pub mailer: Option<dotmac_identity::mail::Mailer>,
}

/// Who made a request, for the audit log: its token's name or the person's e-mail, and its
/// address.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name, or the signed-in person's e-mail.
    pub name: String,
    /// The client's address.
    pub source: String,
}

/// The client's address, for public routes too.
#[derive(Debug, Clone)]
pub struct Source(pub String);

/// How long a verified token is trusted without asking the database again: also how long a
/// revoked token may still work.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The platform database failed.
    #[error("platform database: {0}")]
    Database(#[from] DbErr),
    /// Redis could not be reached.
    #[error("Redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// The SMTP URL or sender is malformed.
    #[error("--api-smtp-url or --api-mail-from: {0}")]
    Mail(String),
    /// An operation was registered without its callers.
    #[error("route registry: {0}")]
    Registry(String),
    /// The bootstrap token file could not be read.
    #[error("reading the bootstrap token file {path}: {source}")]
    Bootstrap {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Installs the bootstrap token in the platform database `db` (already migrated), starts the
/// Tenant and PluginLicense reflectors and returns the application.
pub async fn assemble(
    config: &ApiConfig,
    db: DatabaseConnection,
    client: Client,
    plugins: PluginCatalog,
) -> Result<(Router, AppState), StartError> {
    if let Some(path) = &config.bootstrap_token_file {
        let token = std::fs::read_to_string(path).map_err(|source| StartError::Bootstrap {
            path: path.clone(),
            source,
        })?;
        tokens::bootstrap(&db, &token).await?;
        tracing::info!(path = %path.display(), "bootstrap admin token installed");
    }
    let limiter = match &config.redis_url {
        Some(url) => {
            let redis = dotmac_web::redis::connect(url).await?;
            tracing::info!("management API: per-token rate limits in Redis");
            Some((
                dotmac_web::ratelimit::RateLimiter::new(redis, "platform:rl:"),
                config.rate_limit_per_minute,
            ))
        }
        None => None,
    };
    let access = access::registry_of(&openapi::build().1).map_err(StartError::Registry)?;
    let mailer = match &config.smtp_url {
        Some(url) => Some(
            dotmac_identity::mail::Mailer::new(url, &config.mail_from)
                .map_err(|e| StartError::Mail(e.to_string()))?,
        ),
        None => {
            tracing::info!(
                "management API: no --api-smtp-url; invitations answer their token, no password resets"
            );
            None
        }
    };
    let state = AppState {
        db,
        access: Arc::new(access),
        public_url: config.public_url.trim_end_matches('/').to_owned(),
        mailer,
        tenants: mirror(Api::<Tenant>::all(client.clone()), "tenant"),
        licenses: mirror(Api::<PluginLicense>::all(client.clone()), "license"),
        client,
        plugins,
        health_writes: Arc::default(),
        token_cache: Arc::default(),
        trust_forwarded_for: config.trust_forwarded_for,
        limiter,
        metrics: dotmac_web::metrics::HttpMetrics::new("dotmac_api", "management API"),
    };
    let portals = dotmac_web::assets::portals_dir(config.portals_dir.clone());
    let app =
        router(state.clone()).merge(dotmac_web::assets::router(portals.as_deref(), &["admin"]));
    Ok((app, state))
}

/// How long a request waits for a cache that is still loading its first list before it is
/// answered 503: an empty cache would answer "no such tenant" or let a reseller past its limit.
pub const CACHE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl AppState {
    /// Drops a revoked token from this replica's cache (others notice within
    /// [`TOKEN_CACHE_TTL`]).
    pub fn forget_token(&self, hash: &str) {
        self.token_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(hash);
    }

    /// The token with digest `hash` as this replica verified it in the last
    /// [`TOKEN_CACHE_TTL`].
    pub fn cached_token(&self, hash: &str) -> Option<tokens::Verified> {
        self.token_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(verified, _)| verified.clone())
    }

    /// Caches a verified token, dropping expired entries when the cache grows large.
    pub fn remember_token(&self, hash: String, verified: tokens::Verified) {
        let mut cache = self
            .token_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() > 10_000 {
            cache.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE_TTL);
        }
        cache.insert(hash, (verified, Instant::now()));
    }

    /// Whether people reach the API over TLS, so cookies are `Secure`.
    pub fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Every tenant, once the cache holds a full list; 503 while it is still loading.
    pub async fn tenants(&self) -> Result<&Store<Tenant>, Problem> {
        tokio::time::timeout(CACHE_WAIT, self.tenants.synced())
            .await
            .map_err(|_| Problem::unavailable("the tenant cache (still loading)"))
    }

    /// Every license, once the cache holds a full list; 503 while it is still loading.
    pub async fn licenses(&self) -> Result<&Store<PluginLicense>, Problem> {
        tokio::time::timeout(CACHE_WAIT, self.licenses.synced())
            .await
            .map_err(|_| Problem::unavailable("the license cache (still loading)"))
    }
}

/// A cache of every `K`, kept current by a watch in the background.
fn mirror<K>(api: Api<K>, what: &'static str) -> Cache<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let (cache, mark) = Cache::new(store);
    use futures_util::StreamExt;
    let stream = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .inspect(move |event: &Result<watcher::Event<K>, watcher::Error>| {
            mark.observe(event);
        })
        .touched_objects();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if let Err(error) = event {
                tracing::warn!(%error, "{what} watch failed; retrying");
            }
        }
    });
    cache
}

/// Serves the management API on `config.listen` until SIGTERM or Ctrl-C.
pub async fn serve(
    config: &ApiConfig,
    db: DatabaseConnection,
    client: Client,
    plugins: PluginCatalog,
) -> Result<(), ServeError> {
    let (app, _) = assemble(config, db, client, plugins).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(ServeError::Io)?;
    let addr = listener.local_addr().map_err(ServeError::Io)?;
    tracing::info!(%addr, "management API listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(dotmac_web::shutdown::requested())
    .await
    .map_err(ServeError::Io)
}

/// Why the API stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// It could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Binding or serving failed.
    #[error("serving the management API: {0}")]
    Io(std::io::Error),
}

/// The routes of `/api/v1`, with their documentation.
pub fn routes() -> aide::axum::ApiRouter<AppState> {
    aide::axum::ApiRouter::new()
        .merge(tenants::routes())
        .merge(ingest::routes())
        .merge(resellers::routes())
        .merge(plugins::routes())
        .merge(token_routes::routes())
        .merge(audit::routes())
        .merge(people::routes())
}

/// The management API's router.
pub fn router(state: AppState) -> Router {
    let (routes, api) = openapi::build();
    let authenticated = routes.route_layer(middleware::from_fn_with_state(
        state.clone(),
        access::authenticate,
    ));
    Router::new()
        .nest(
            "/api/v1",
            authenticated.route("/openapi.json", dotmac_web::openapi::serve(api)),
        )
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(ready))
        .route("/metrics", {
            let metrics = state.metrics.clone();
            get(move || async move { metrics.response() })
        })
        .fallback(|| async { Problem::not_found("no such route") })
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            dotmac_web::metrics::record,
        ))
        .with_state(state)
}

async fn ready(State(state): State<AppState>) -> Response {
    let database = state.db.ping().await.is_ok();
    let tenants = state.tenants.is_synced();
    let licenses = state.licenses.is_synced();
    let ok = database && tenants && licenses;
    let body = Json(serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "checks": {"database": database, "tenantCache": tenants, "licenseCache": licenses},
    }));
    if ok {
        body.into_response()
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

/// A database failure as the caller sees it: logged here, no internals in the answer.
pub fn db_error(error: DbErr) -> Problem {
    tracing::error!(%error, "platform database error");
    Problem::internal()
}

/// A Kubernetes API failure as the caller sees it: 404, 409 and 422 pass through with the
/// field the API server named; anything else is logged and a 503.
pub fn kube_error(error: kube::Error) -> Problem {
    match error {
        kube::Error::Api(status) if status.code == 404 => Problem::not_found("no such tenant"),
        kube::Error::Api(status) if status.code == 409 => Problem::conflict(status.message),
        kube::Error::Api(status) if status.code == 422 => {
            let field = status
                .details
                .as_ref()
                .and_then(|d| d.causes.first())
                .map(|c| c.field.clone())
                .unwrap_or_default();
            Problem::invalid(field, status.message)
        }
        error => {
            tracing::error!(%error, "Kubernetes API error");
            Problem::unavailable("the Kubernetes API")
        }
    }
}

/// Paging of a list kept in order of a name (users by e-mail, tokens and resellers by name).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamePage {
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// The name after which the page starts (`next_cursor` of the page before).
    pub cursor: Option<String>,
}

/// A requested page size (1–200, 50 by default), or a 422 naming `limit`.
pub fn page_limit(limit: Option<u64>) -> Result<u64, Problem> {
    dotmac_web::page::limit(limit).ok_or_else(|| {
        Problem::invalid(
            "limit",
            format!("must be 1 to {}", dotmac_web::page::MAX_LIMIT),
        )
    })
}

/// Whether `name` is a lowercase DNS label of at most `max` characters: a letter, then letters,
/// digits or `-`, not ending in `-`. Names the API passes to Kubernetes are checked with it
/// first, so an impossible name is the caller's error, never a failed request to the cluster.
pub fn dns_label(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !name.ends_with('-')
}

/// Whether `principal` may see `tenant`: admins all, resellers their own, a tenant itself.
pub fn can_see(principal: &Principal, tenant: &Tenant) -> bool {
    match principal {
        Principal::Admin => true,
        Principal::Reseller(reseller) => {
            tenant.spec.reseller_ref.as_deref() == Some(reseller.as_str())
        }
        Principal::Tenant(name) => tenant.metadata.name.as_deref() == Some(name.as_str()),
    }
}
