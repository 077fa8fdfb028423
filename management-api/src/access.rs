//! Who may call what. Every operation is registered with the [`Callers`] it admits ([`doc`]),
//! which the OpenAPI document carries as `x-callers`; the [`Registry`] is read back from that
//! document at start, so an operation registered without callers keeps the API from starting
//! (and a route missing from the registry answers 403). [`authenticate`] resolves the caller from an API token, a bearer session or a
//! session cookie (with its CSRF token for writes), then checks the route's callers. Which of
//! its tenants a reseller sees is each route's own check (another reseller's tenant is a 404).

use aide::{openapi::OpenApi, transform::TransformOperation};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use dotmac_identity::store::{cookies::Cookies, entity::SessionKind, sessions};
use dotmac_web::{bearer::challenge, problem::Problem};
use uuid::Uuid;

use crate::{
    AppState, Caller, db_error,
    people::{self, UserStatus},
    tokens::{self, Principal},
};

/// The extension naming an operation's callers.
pub const EXTENSION: &str = "x-callers";

/// The problem type of a caller the route's [`Callers`] do not admit.
pub const REFUSED: &str = "caller-not-admitted";

/// The management API's session and CSRF cookies.
pub const COOKIES: Cookies = Cookies {
    session: "dotmac_platform_session",
    csrf: "dotmac_platform_csrf",
};

/// The prefix of the management API's session tokens (its API tokens start `dmp_`).
pub const SESSION_PREFIX: &str = "dms_platform_";

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callers {
    /// Anyone, unauthenticated (signing in, accepting an invitation).
    Public,
    /// A signed-in person, about their own account; an admin who has not enrolled a second
    /// factor yet may call only these.
    SignedIn,
    /// Platform admins.
    Admins,
    /// Admins and resellers (their own tenants, users and tokens).
    People,
    /// Admins and tenant instances (reports from an instance).
    Instances,
    /// Every authenticated caller.
    Anyone,
}

impl Callers {
    /// Every value, for the route-matrix test.
    pub const ALL: [Self; 6] = [
        Self::Public,
        Self::SignedIn,
        Self::Admins,
        Self::People,
        Self::Instances,
        Self::Anyone,
    ];

    /// Its name in the document.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::SignedIn => "signed_in",
            Self::Admins => "admins",
            Self::People => "people",
            Self::Instances => "instances",
            Self::Anyone => "anyone",
        }
    }

    /// The value named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether `principal` (signed in as a person when `person`) may call.
    pub fn admit(self, principal: &Principal, person: bool) -> bool {
        match (self, principal) {
            (Self::Public | Self::Anyone, _) => true,
            (Self::SignedIn, _) => person,
            (Self::Admins, Principal::Admin) => true,
            (Self::People, Principal::Admin | Principal::Reseller(_)) => true,
            (Self::Instances, Principal::Admin | Principal::Tenant(_)) => true,
            _ => false,
        }
    }

    /// Why `principal` may not call.
    fn refusal(self) -> &'static str {
        match self {
            Self::SignedIn => "only a signed-in person has an account here; API tokens do not",
            Self::Admins => "only a platform admin may do this",
            Self::People => "a tenant token may only report telemetry and usage",
            Self::Instances => "only a tenant's instance (or an admin) reports telemetry and usage",
            Self::Public | Self::Anyone => "refused",
        }
    }
}

/// An operation's tag, summary and callers.
pub fn doc(
    tag: &'static str,
    callers: Callers,
    text: &'static str,
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    dotmac_web::access::doc(tag, EXTENSION, callers.name(), text)
}

/// The callers of each operation, by method and path (`/tokens/{name}`).
pub type Registry = dotmac_web::access::Registry<Callers>;

/// Reads the callers from the document; an operation without them, or with unknown ones, is an
/// error naming it.
pub fn registry_of(api: &OpenApi) -> Result<Registry, String> {
    Registry::from_api(api, EXTENSION, Callers::from_name)
}

/// A signed-in person behind a request.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    /// Their user id.
    pub user: Uuid,
    /// The session.
    pub session: Uuid,
    /// Whether the session's second factor was given.
    pub second_factor: bool,
}

/// Resolves the caller and checks the route's callers, then enforces the rate limit.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().trim_start_matches("/api/v1").to_owned());
    let Some(callers) = route
        .as_deref()
        .and_then(|route| state.access.get(request.method(), route))
    else {
        tracing::error!(route = ?route, "a route without registered callers was called");
        return Problem::forbidden("this route has no callers registered").into_response();
    };
    let source = dotmac_web::client::address(&request, state.trust_forwarded_for);
    if callers == Callers::Public {
        request.extensions_mut().insert(crate::Source(source));
        return next.run(request).await;
    }
    let resolved = match resolve(&state, request.method(), request.headers()).await {
        Ok(resolved) => resolved,
        Err(response) => return response,
    };
    if let Some(person) = resolved.person
        && resolved.principal == Principal::Admin
        && !person.second_factor
        && callers != Callers::SignedIn
    {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "second-factor-enrolment-required",
            "Two-factor sign-in required",
            "a platform admin must enrol an authenticator app (POST /me/two-factor) before anything else",
        )
        .into_response();
    }
    if !callers.admit(&resolved.principal, resolved.person.is_some()) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            REFUSED,
            "Forbidden",
            callers.refusal(),
        )
        .into_response();
    }
    if let Some((limiter, limit)) = &state.limiter
        && let Some(retry_after) = limiter.check(&resolved.credential, *limit).await
    {
        return dotmac_web::ratelimit::refusal(*limit, retry_after);
    }
    request.extensions_mut().insert(Caller {
        name: resolved.name,
        source,
    });
    if let Some(person) = resolved.person {
        request.extensions_mut().insert(person);
    }
    request.extensions_mut().insert(resolved.principal);
    next.run(request).await
}

/// Who a request's credential speaks for.
struct Resolved {
    principal: Principal,
    /// Token name or the person's e-mail.
    name: String,
    /// What rate limits count by.
    credential: String,
    person: Option<Person>,
}

/// The caller of a request from its bearer token (API token or bearer session) or session
/// cookie; else the refusal to answer.
async fn resolve(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Resolved, Response> {
    let (token, kind) = match dotmac_web::bearer::token(headers) {
        Some(token) => (token, SessionKind::Bearer),
        None => match COOKIES.session_token(headers) {
            Some(token) => (token, SessionKind::Cookie),
            None => {
                return Err(challenge(Problem::unauthorized(
                    "sign in, or send an Authorization: Bearer token",
                )));
            }
        },
    };
    let hash = dotmac_web::bearer::digest(token);
    if kind == SessionKind::Bearer && !token.starts_with(SESSION_PREFIX) {
        let verified = match state.cached_token(&hash) {
            Some(verified) => verified,
            None => match tokens::verify(&state.db, token).await {
                Ok(Some(verified)) => {
                    state.remember_token(hash.clone(), verified.clone());
                    verified
                }
                Ok(None) => {
                    return Err(challenge(Problem::unauthorized(
                        "the token is unknown or revoked",
                    )));
                }
                Err(error) => return Err(db_error(error).into_response()),
            },
        };
        return Ok(Resolved {
            principal: verified.principal,
            name: verified.name,
            credential: hash[..16].to_owned(),
            person: None,
        });
    }
    let now = chrono::Utc::now();
    let ended = || {
        challenge(Problem::unauthorized(
            "the session has ended; sign in again",
        ))
    };
    let session = match sessions::live(&state.db, &hash, now).await {
        Ok(Some(session)) if session.kind == kind => session,
        Ok(_) => return Err(ended()),
        Err(error) => return Err(db_error(error).into_response()),
    };
    let user = match people::users::find(&state.db, session.account_id).await {
        Ok(Some(user)) if user.status == UserStatus::Active => user,
        Ok(_) => return Err(ended()),
        Err(error) => return Err(db_error(error).into_response()),
    };
    if kind == SessionKind::Cookie {
        COOKIES
            .check_write(method, headers, session.csrf_hash.as_deref())
            .map_err(IntoResponse::into_response)?;
    }
    let Some(principal) = user.principal() else {
        tracing::error!(user = %user.id, "a reseller user without its reseller");
        return Err(ended());
    };
    Ok(Resolved {
        principal,
        name: user.email,
        credential: session.id.to_string(),
        person: Some(Person {
            user: session.account_id,
            session: session.id,
            second_factor: session.second_factor,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_without_callers_is_named_and_refused() {
        let mut api = crate::openapi::build().1;
        let registry = registry_of(&api).unwrap();
        assert_eq!(
            registry.get(&Method::POST, "/resellers"),
            Some(Callers::Admins)
        );
        assert_eq!(registry.get(&Method::GET, "/nowhere"), None);
        let paths = api.paths.as_mut().unwrap();
        let Some(aide::openapi::ReferenceOr::Item(item)) = paths.paths.get_mut("/tokens") else {
            panic!("no /tokens");
        };
        item.get
            .as_mut()
            .unwrap()
            .extensions
            .shift_remove(EXTENSION);
        assert_eq!(
            registry_of(&api).unwrap_err(),
            "GET /tokens names no known x-callers"
        );
    }

    #[test]
    fn callers_admit_by_principal_and_by_whether_a_person_signed_in() {
        let reseller = Principal::Reseller("east".into());
        let tenant = Principal::Tenant("acme".into());
        assert!(Callers::People.admit(&reseller, false));
        assert!(!Callers::People.admit(&tenant, false));
        assert!(!Callers::Admins.admit(&reseller, true));
        assert!(Callers::Instances.admit(&tenant, false));
        assert!(!Callers::Instances.admit(&reseller, false));
        assert!(!Callers::SignedIn.admit(&Principal::Admin, false));
        assert!(Callers::SignedIn.admit(&reseller, true));
        for callers in Callers::ALL {
            assert_eq!(Callers::from_name(callers.name()), Some(callers));
        }
    }
}
