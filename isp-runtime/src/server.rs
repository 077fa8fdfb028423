//! Assembles a serving instance from its settings: database (migrated), entitlements, Redis
//! (job queue and rate limits) or the in-process queue, the job worker, and the router.

use std::{sync::Arc, time::Duration};

use axum::Router;

use crate::{
    api::{AppState, Settings},
    billing::runs::{self, RunSettings},
    config::{DatabaseConfig, ServeConfig},
    db,
    entitlements::Gate,
    http,
    jobs::{self, JobQueue},
    network::secrets::Secrets,
    openbao::OpenBao,
    reporting::{self, ApiCalls, ReportingConfig},
    schedule::{Schedule, calendar::Calendar},
};

/// Why an instance could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Redis could not be reached.
    #[error("Redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// Unfinished runs could not be queued again.
    #[error("queueing unfinished runs: {0}")]
    Requeue(#[from] crate::error::Error),
}

/// Connects to the database and migrates it.
pub async fn database(config: &DatabaseConfig) -> Result<sea_orm::DatabaseConnection, StartError> {
    let db = dotmac_sql::connect_with(&config.database_url, config.max_connections).await?;
    tracing::info!(tenant = %config.tenant, backend = ?db.get_database_backend(), "database connected");
    db::migrate(&db).await?;
    Ok(db)
}

/// Builds the application and starts its job worker.
pub async fn assemble(
    config: &ServeConfig,
    gate: Option<Gate>,
) -> Result<(Router, AppState), StartError> {
    let tenant = config.database.tenant.clone();
    if crate::domain::money::exponent(&config.currency).is_none() {
        return Err(StartError::Config(format!(
            "DOTMAC_CURRENCY {} is not an ISO 4217 currency this application knows",
            config.currency
        )));
    }
    let db = database(&config.database).await?;
    let gate = match (gate, &config.entitlements_file) {
        (Some(gate), _) => gate,
        (None, Some(path)) => Gate::watch(path.clone(), Duration::from_secs(5)),
        (None, None) => {
            tracing::info!(%tenant, "no entitlements file: every feature is enabled");
            Gate::unrestricted()
        }
    };
    let (queue, source, limiter, sessions) =
        queue_and_limiter(config.redis_url.as_deref(), &tenant).await?;
    runs::requeue_unfinished(&db, &queue).await?;
    let worker = spawn_worker(config, &db, &queue, source);
    let api_calls = ApiCalls::default();
    if let Some(url) = &config.management_api_url {
        let reporting = ReportingConfig {
            url: url.trim_end_matches('/').to_owned(),
            token: config.management_api_token.clone(),
            usage_interval: Duration::from_secs(config.usage_report_seconds),
            health_interval: Duration::from_secs(config.health_report_seconds),
        };
        let checks = reporting::health::Checks::new(db.clone(), queue.clone(), worker);
        reporting::spawn(
            db.clone(),
            tenant.clone(),
            reporting,
            api_calls.clone(),
            checks,
        );
        tracing::info!(%tenant, %url, "reporting usage and health to the management API");
    }
    let zone = jiff::tz::TimeZone::get(&config.time_zone).map_err(|e| {
        StartError::Config(format!(
            "DOTMAC_TIME_ZONE {:?} is not an IANA time zone: {e}",
            config.time_zone
        ))
    })?;
    let schedule = Schedule::new(
        Calendar {
            zone,
            billing_hour: config.billing_hour,
            dunning_hour: config.dunning_hour,
        },
        config.time_zone.clone(),
        config.scheduled_runs,
    );
    crate::schedule::spawn(db.clone(), queue.clone(), schedule.clone(), tenant.clone());
    let mailer = match &config.smtp_url {
        Some(url) => Some(
            crate::people::mail::Mailer::new(url, &config.mail_from).map_err(|e| {
                StartError::Config(format!("DOTMAC_SMTP_URL or DOTMAC_MAIL_FROM: {e}"))
            })?,
        ),
        None => {
            tracing::info!(%tenant, "no DOTMAC_SMTP_URL: invitations answer their link, resets send nothing");
            None
        }
    };
    let network = crate::network::aaa::NetworkSettings {
        interim_seconds: config.acct_interim_seconds,
        suspended: config.suspended_access,
        walled_garden_filter: config.walled_garden_filter.clone(),
        service_filter: config.service_filter.clone(),
        libreqos_suspended: config.libreqos_suspended,
    };
    let access = crate::api::openapi::registry().map_err(StartError::Config)?;
    let network_secrets = network_secrets(config, &db, &tenant)?;
    let state = AppState {
        db,
        gate,
        settings: Arc::new(Settings {
            tenant: config.database.tenant.clone(),
            currency: config.currency.clone(),
            payment_terms_days: config.payment_terms_days,
            rate_limit_per_minute: config.rate_limit_per_minute,
            max_customers: config.max_customers,
            public_url: config.public_url.trim_end_matches('/').to_owned(),
            trust_forwarded_for: config.trust_forwarded_for,
            network: network.clone(),
        }),
        limiter,
        jobs: queue,
        api_calls,
        schedule,
        access: Arc::new(access),
        mailer,
        sessions,
        network_secrets,
        radius_drops: crate::network::drops::Drops::default(),
    };
    // Only an instance with FreeRADIUS in front has sessions to enforce.
    if config.aaa_secret.is_some() {
        crate::network::enforce::spawn(
            state.db.clone(),
            state.settings.clone(),
            state.network_secrets.clone(),
            Duration::from_millis(config.network_tick_ms),
        );
    }
    if let (Some(status), Some(secret)) = (config.radius_status, &config.aaa_secret) {
        crate::network::drops::spawn(
            status,
            secret.clone(),
            tenant.clone(),
            state.radius_drops.clone(),
            Duration::from_millis(config.network_tick_ms),
        );
    }
    let portals = dotmac_web::assets::portals_dir(config.portals_dir.clone());
    let app = http::app(state.clone()).merge(dotmac_web::assets::router(
        portals.as_deref(),
        &["staff", "portal"],
    ));
    Ok((app, state))
}

/// The job queue, the per-token rate limiter and the session cache: in Redis when there is one,
/// else a queue in process, no limits and no cache.
/// Where network secrets are kept. With OpenBao, what was kept in the database before it is
/// moved there in the background, tried again every half minute until it is done.
fn network_secrets(
    config: &ServeConfig,
    db: &sea_orm::DatabaseConnection,
    tenant: &str,
) -> Result<Secrets, StartError> {
    let Some(bao) = config.openbao() else {
        tracing::info!(%tenant, "no BAO_ADDR: NAS secrets and PPPoE passwords stay in the database");
        return Ok(Secrets::new(tenant, None));
    };
    tracing::info!(%tenant, addr = %bao.addr, namespace = %bao.namespace, "network secrets kept in OpenBao");
    let bao = OpenBao::new(bao).map_err(|e| StartError::Config(format!("BAO_ADDR: {e}")))?;
    let secrets = Secrets::new(tenant, Some(bao));
    let (mover, db) = (secrets.clone(), db.clone());
    tokio::spawn(async move {
        while let Err(error) = mover.seal_existing(&db).await {
            tracing::warn!(%error, "moving network secrets to OpenBao failed; trying again");
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
    Ok(secrets)
}

async fn queue_and_limiter(
    redis_url: Option<&str>,
    tenant: &str,
) -> Result<
    (
        JobQueue,
        jobs::JobSource,
        Option<dotmac_web::ratelimit::RateLimiter>,
        Option<crate::people::cache::SessionCache>,
    ),
    StartError,
> {
    let Some(url) = redis_url else {
        let (queue, source) = JobQueue::local();
        tracing::info!(%tenant, "no REDIS_URL: jobs queue in process, no rate limits, sessions checked in the database");
        return Ok((queue, source, None, None));
    };
    let redis = dotmac_web::redis::connect(url).await?;
    let (queue, source) = JobQueue::redis(&redis, tenant).await?;
    tracing::info!(%tenant, "jobs queue in Redis; API requests are rate-limited per token; sessions cached");
    let cache = crate::people::cache::SessionCache::new(redis.clone(), tenant);
    let limiter = dotmac_web::ratelimit::RateLimiter::new(redis, format!("t:{tenant}:rl:"));
    Ok((queue, source, Some(limiter), Some(cache)))
}

/// Starts the worker that executes queued billing and dunning runs; the flag is true while it
/// runs.
fn spawn_worker(
    config: &ServeConfig,
    db: &sea_orm::DatabaseConnection,
    queue: &JobQueue,
    source: jobs::JobSource,
) -> Arc<std::sync::atomic::AtomicBool> {
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = running.clone();
    let run_settings = RunSettings {
        batch_size: config.billing_batch_size,
        terms_days: config.payment_terms_days,
        lease_seconds: config.run_lease_seconds,
    };
    let tenant = config.database.tenant.clone();
    let worker_db = db.clone();
    let worker_queue = queue.clone();
    tokio::spawn(async move {
        let give_up_db = worker_db.clone();
        jobs::work(
            source,
            worker_queue,
            |run| {
                let db = worker_db.clone();
                async move { runs::execute(&db, run_settings, run).await }
            },
            |run, error| {
                let db = give_up_db.clone();
                async move { runs::give_up(&db, run, error).await }
            },
        )
        .await;
        flag.store(false, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(tenant = %tenant, "job worker stopped");
    });
    running
}
