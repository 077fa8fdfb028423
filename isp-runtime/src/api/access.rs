//! Who may call what. Every operation is registered with the permission it needs ([`doc`]),
//! which the OpenAPI document carries as `x-permission`; the [`Registry`] is read back from that
//! document, so a route without a permission cannot be reached (it answers 403) and fails the
//! test that walks the document. [`authenticate`] resolves the caller from an API token, a
//! bearer session or a session cookie (with its CSRF token for writes) and checks the role.

use aide::{openapi::OpenApi, transform::TransformOperation};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use dotmac_web::bearer::challenge;
use uuid::Uuid;

use super::{AppState, problem::Problem};
use crate::{
    entitlements::feature,
    error::Error,
    people::{Permission, Role, SessionKind, sessions},
    tokens,
};

/// The extension naming an operation's permission.
pub const EXTENSION: &str = "x-permission";

/// An operation's tag, summary and the permission it needs.
pub fn doc(
    tag: &'static str,
    permission: Permission,
    text: &'static str,
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    dotmac_web::access::doc(tag, EXTENSION, permission.name(), text)
}

/// The permission of each operation, by method and path (`/customers/{id}`).
pub type Registry = dotmac_web::access::Registry<Permission>;

/// Reads the permissions from the document; an operation without one, or with an unknown one,
/// is an error naming it.
pub fn registry_of(api: &OpenApi) -> Result<Registry, String> {
    Registry::from_api(api, EXTENSION, Permission::from_name)
}

/// The caller of an authenticated request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The API token or session the request came with; rate limits count per credential.
    pub credential: Uuid,
    /// The signed-in account, for a session.
    pub account: Option<Uuid>,
    /// The session, for a session.
    pub session: Option<Uuid>,
    /// Token name or account e-mail, recorded in the audit log.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Whether the session's second factor was given (never for API tokens).
    pub second_factor: bool,
    /// The client's address.
    pub source: String,
}

/// The client's address, for public routes too.
#[derive(Debug, Clone)]
pub struct Source(pub String);

/// Resolves the caller and checks its role against the route's permission, then enforces the
/// rate limit and counts the call.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().trim_start_matches("/api/v1").to_owned());
    let Some(permission) = route
        .as_deref()
        .and_then(|route| state.access.get(request.method(), route))
    else {
        tracing::error!(tenant = %state.settings.tenant, route = ?route, "a route without a permission was called");
        return Problem::forbidden("this route has no permission registered").into_response();
    };
    let source = dotmac_web::client::address(&request, state.settings.trust_forwarded_for);
    request.extensions_mut().insert(Source(source.clone()));
    if permission == Permission::Public {
        return next.run(request).await;
    }
    let (actor, enrolment_only) =
        match resolve(&state, request.method(), request.headers(), source).await {
            Ok(resolved) => resolved,
            Err(response) => return response,
        };
    if enrolment_only && permission != Permission::OwnAccount {
        return Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "second-factor-enrolment-required",
            "Two-factor sign-in required",
            format!(
                "the {} role must enrol an authenticator app (POST /me/two-factor) before anything else",
                actor.role.name()
            ),
        )
        .into_response();
    }
    if !actor.role.allows(permission) {
        return Problem::forbidden(format!(
            "the {} role does not have the {} permission",
            actor.role.name(),
            permission.name()
        ))
        .into_response();
    }
    let unlimited = state.gate.allows(feature::UNLIMITED_APIS);
    if let Some(limiter) = &state.limiter
        && !unlimited
    {
        let limit = state.settings.rate_limit_per_minute;
        if let Some(retry_after) = limiter.check(&actor.credential.to_string(), limit).await {
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

/// The caller of a request from its bearer token (API token or bearer session) or session
/// cookie, and whether it may only enrol a second factor; else the refusal to answer.
async fn resolve(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    source: String,
) -> Result<(Actor, bool), Response> {
    let now = chrono::Utc::now();
    let (token, kind) = match dotmac_web::bearer::token(headers) {
        Some(token) => (token, SessionKind::Bearer),
        None => match sessions::COOKIES.session_token(headers) {
            Some(token) => (token, SessionKind::Cookie),
            None => {
                return Err(challenge(Problem::unauthorized(
                    "sign in, or send an Authorization: Bearer token",
                )));
            }
        },
    };
    if kind == SessionKind::Bearer && !token.starts_with("dms_") {
        return match tokens::verify(&state.db, token).await {
            Ok(Some(row)) => Ok((
                Actor {
                    credential: row.id,
                    account: None,
                    session: None,
                    name: row.name,
                    role: row.role,
                    second_factor: false,
                    source,
                },
                false,
            )),
            Ok(None) => Err(challenge(Problem::unauthorized(
                "the token is unknown or revoked",
            ))),
            Err(error) => Err(Error::Db(error).into_response()),
        };
    }
    let live = match sessions::verify(&state.db, state.sessions.as_ref(), token, now).await {
        Ok(Some(live)) if live.kind == kind => live,
        Ok(_) => {
            return Err(challenge(Problem::unauthorized(
                "the session has ended; sign in again",
            )));
        }
        Err(error) => return Err(Error::Db(error).into_response()),
    };
    if kind == SessionKind::Cookie {
        sessions::COOKIES
            .check_write(method, headers, live.csrf_hash.as_deref())
            .map_err(IntoResponse::into_response)?;
    }
    let enrolment_only = live.role.needs_second_factor() && !live.second_factor;
    Ok((
        Actor {
            credential: live.session,
            account: Some(live.account),
            session: Some(live.session),
            name: live.email,
            role: live.role,
            second_factor: live.second_factor,
            source,
        },
        enrolment_only,
    ))
}
