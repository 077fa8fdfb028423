//! The REST API under `/api/v1`: shared state, bearer-token authentication, per-token rate
//! limits, cursor pagination, and the router that mounts every domain's routes. Each route is
//! registered with its tag and summary (`dotmac_web::openapi::summary`), and the OpenAPI document
//! is built from the handlers' types as the routes are ([`openapi`]).

pub mod extract;
pub mod openapi;
pub mod problem;

pub use dotmac_web::page::{Page, Paged};

use std::sync::Arc;

use aide::axum::ApiRouter;
use axum::{
    Router,
    extract::{Request, State},
    http::Method,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    entitlements::{Gate, feature},
    error::Error,
    jobs::JobQueue,
    reporting::ApiCalls,
    tokens,
};
use dotmac_web::bearer::challenge;
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
}

/// The caller, from its bearer token.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Token id.
    pub token_id: Uuid,
    /// Token name, recorded in the audit log.
    pub name: String,
    /// What the token may do.
    pub role: tokens::Role,
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
        .merge(crate::billing::runs::routes())
        .merge(crate::billing::dunning::routes())
        .merge(crate::audit::routes())
        .merge(crate::analytics::routes())
        .merge(crate::schedule::routes())
}

/// The `/api/v1` router.
pub fn router(state: AppState) -> Router {
    let (routes, api) = openapi::build();
    let authenticated =
        routes.route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .nest(
            "/api/v1",
            authenticated.route("/openapi.json", dotmac_web::openapi::serve(api)),
        )
        .fallback(|| async { Problem::not_found("no such route") })
        .with_state(state)
}

/// Resolves the bearer token to an [`Actor`], enforces read-only roles and the rate limit.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(token) = dotmac_web::bearer::token(request.headers()) else {
        return challenge(Problem::unauthorized(
            "an Authorization: Bearer token is required",
        ));
    };
    let actor = match tokens::verify(&state.db, token).await {
        Ok(Some(actor)) => actor,
        Ok(None) => {
            return challenge(Problem::unauthorized("the token is unknown or revoked"));
        }
        Err(error) => return Error::Db(error).into_response(),
    };
    if actor.role == tokens::Role::Readonly && request.method() != Method::GET {
        return Problem::forbidden("this token is read-only").into_response();
    }
    let unlimited = state.gate.allows(feature::UNLIMITED_APIS);
    if let Some(limiter) = &state.limiter
        && !unlimited
    {
        let limit = state.settings.rate_limit_per_minute;
        if let Some(retry_after) = limiter.check(&actor.token_id.to_string(), limit).await {
            return dotmac_web::ratelimit::refusal(limit, retry_after);
        }
    }
    request.extensions_mut().insert(actor);
    let response = next.run(request).await;
    // A call counts against the plugin whose feature it used; else, when a plugin lifts the
    // rate limit, against that plugin; else against the platform's own.
    let plugin = match response.extensions().get::<crate::entitlements::Used>() {
        Some(used) => state.gate.plugin_of(used.0),
        None if unlimited => state.gate.plugin_of(feature::UNLIMITED_APIS),
        None => None,
    };
    state.api_calls.count(plugin);
    response
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
