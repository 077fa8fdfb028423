//! The REST API under `/api/v1`: shared state, authentication and permissions ([`access`]),
//! per-credential rate limits, cursor pagination, and the router that mounts every domain's
//! routes. Each route is registered with its tag, summary and permission ([`access::doc`]), and
//! the OpenAPI document is built from the handlers' types as the routes are ([`openapi`]).

pub mod access;
pub mod extract;
pub mod openapi;
pub mod problem;

pub use access::{Actor, Source};

pub use dotmac_web::page::{Page, Paged};

use std::sync::Arc;

use aide::axum::ApiRouter;
use axum::{Router, middleware};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    entitlements::Gate, error::Error, jobs::JobQueue, people::mail::Mailer, reporting::ApiCalls,
};
use problem::Problem;

/// Settings the API needs beyond its connections.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This instance's tenant.
    pub tenant: String,
    /// The currency customers and plans use unless multi-currency is entitled.
    pub currency: String,
    /// Days from issue to due date.
    pub payment_terms_days: i64,
    /// Requests per minute per token.
    pub rate_limit_per_minute: u64,
    /// The most customers the tenant may have, when limited.
    pub max_customers: Option<u64>,
    /// Where people reach the instance (`https://isp.example.com`), for links in e-mail and
    /// for `Secure` cookies when it is `https`.
    pub public_url: String,
    /// Whether the last `X-Forwarded-For` hop is the client (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Network access (RADIUS).
    pub network: crate::network::aaa::NetworkSettings,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The instance's database.
    pub db: DatabaseConnection,
    /// Feature gate from the entitlements file.
    pub gate: Gate,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Per-token rate limiter (Redis), when configured.
    pub limiter: Option<dotmac_web::ratelimit::RateLimiter>,
    /// Where billing and dunning runs are queued.
    pub jobs: JobQueue,
    /// Authenticated API calls, reported as usage.
    pub api_calls: ApiCalls,
    /// The business-day schedule of billing and dunning runs.
    pub schedule: crate::schedule::Schedule,
    /// The permission each route needs.
    pub access: Arc<access::Registry>,
    /// Invitation and reset e-mail, when SMTP is configured.
    pub mailer: Option<Mailer>,
    /// Verified sessions, when the instance has Redis.
    pub sessions: Option<crate::people::cache::SessionCache>,
    /// NAS secrets and PPPoE passwords, in OpenBao when the instance has it.
    pub network_secrets: crate::network::secrets::Secrets,
    /// FreeRADIUS's drop counters as last read.
    pub radius_drops: crate::network::drops::Drops,
}

impl AppState {
    /// Forgets an account's cached sessions after a change to them or to it has committed.
    pub async fn forget_sessions(&self, account: Uuid) -> Result<(), Error> {
        if let Some(cache) = &self.sessions {
            cache.forget_account(&self.db, account).await?;
        }
        Ok(())
    }
}

/// Every domain's routes, relative to `/api/v1`, with their documentation.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .merge(crate::customers::routes())
        .merge(crate::catalog::routes())
        .merge(crate::billing::subscriptions::routes())
        .merge(crate::billing::usage_charges::routes())
        .merge(crate::billing::invoices::routes())
        .merge(crate::billing::payments::routes())
        .merge(crate::billing::vouchers::routes())
        .merge(crate::billing::runs::routes())
        .merge(crate::billing::dunning::routes())
        .merge(crate::audit::routes())
        .merge(crate::analytics::routes())
        .merge(crate::schedule::routes())
        .merge(crate::people::routes())
        .merge(crate::tokens::routes())
        .merge(crate::network::routes())
        .merge(crate::selfcare::routes())
}

/// The `/api/v1` router.
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
        .fallback(|| async { Problem::not_found("no such route") })
        .with_state(state)
}

/// Checks a requested page size (1–200, 50 by default).
pub fn page_limit(limit: Option<u64>) -> Result<u64, Error> {
    dotmac_web::page::limit(limit).ok_or_else(|| {
        Error::invalid(
            "limit",
            format!("must be 1 to {}", dotmac_web::page::MAX_LIMIT),
        )
    })
}

/// The paging fields of a list query: `limit` and `cursor`.
pub trait Paging {
    /// Page size asked for.
    fn limit(&self) -> Option<u64>;
    /// Id after which the page starts.
    fn cursor(&self) -> Option<Uuid>;
}

/// Implements [`Paging`] for list queries with `limit` and `cursor` fields.
macro_rules! paging {
    ($($query:ty),+) => {$(
        impl $crate::api::Paging for $query {
            fn limit(&self) -> Option<u64> {
                self.limit
            }

            fn cursor(&self) -> Option<uuid::Uuid> {
                self.cursor
            }
        }
    )+};
}
pub(crate) use paging;

/// One page of `select` (already filtered) in `id` order, after the query's cursor, as views:
/// the one way every list endpoint reads and answers.
pub async fn page<E, V>(
    db: &DatabaseConnection,
    select: sea_orm::Select<E>,
    id: E::Column,
    query: &impl Paging,
    uri: &axum::http::Uri,
) -> Result<Paged<V>, Error>
where
    E: sea_orm::EntityTrait,
    V: From<E::Model> + serde::Serialize,
{
    use sea_orm::{ColumnTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect};
    let limit = page_limit(query.limit())?;
    let mut select = select.order_by_asc(id);
    if let Some(cursor) = query.cursor() {
        select = select.filter(id.gt(cursor));
    }
    let mut models = select.limit(limit + 1).all(db).await?;
    let next = if models.len() as u64 > limit {
        models.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        match models.last().map(|m| m.get(id)) {
            Some(sea_orm::Value::Uuid(Some(cursor))) => Some(cursor),
            Some(other) => {
                return Err(Error::Db(sea_orm::DbErr::Type(format!(
                    "a page key must be a UUID, not {other:?}"
                ))));
            }
            None => None,
        }
    } else {
        None
    };
    let items = models.into_iter().map(V::from).collect();
    Ok(Page::with_next(items, next).respond(uri))
}
