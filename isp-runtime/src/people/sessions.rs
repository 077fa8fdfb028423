//! Sessions: a random token of which only the SHA-256 is stored, held in an HttpOnly cookie
//! (with a CSRF token for writes) or sent as a bearer token, and checked through the
//! [`SessionCache`] when the instance has Redis. A session ends when revoked, after
//! [`IDLE_MINUTES`] unused, after [`LIFETIME_HOURS`] in all, when its account is disabled, and
//! (all but the current one) when the password changes.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    AccountStatus, SessionKind,
    cache::SessionCache,
    entity::{account, session},
};
use crate::db::new_id;
use dotmac_web::bearer::digest;

/// The session cookie (HttpOnly).
pub const COOKIE: &str = "dotmac_session";
/// The cookie carrying the CSRF token, readable by the portal's script.
pub const CSRF_COOKIE: &str = "dotmac_csrf";
/// The header a cookie-authenticated write must echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Minutes a session may go unused.
pub const IDLE_MINUTES: i64 = 30;
/// Hours a session lasts at most.
pub const LIFETIME_HOURS: i64 = 12;
/// How stale `last_seen_at` may get before a request writes it again.
const TOUCH_SECONDS: i64 = 60;

/// A session just opened: the secrets are shown to the client once and never stored.
pub struct Opened {
    /// The session.
    pub session: session::Model,
    /// The session token.
    pub token: String,
    /// The CSRF token (cookie sessions).
    pub csrf: Option<String>,
}

/// A live session, as a request's check needs it (and the cache keeps it).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Verified {
    /// Session id.
    pub session: Uuid,
    /// How it is held.
    pub kind: SessionKind,
    /// Its CSRF token's hash (cookie sessions).
    pub csrf_hash: Option<String>,
    /// Whether its second factor was given.
    pub second_factor: bool,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// Its account.
    pub account: Uuid,
    /// The account's e-mail, its name in the audit log.
    pub email: String,
    /// The account's role.
    pub role: super::Role,
}

/// Where a session was opened from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The client's address.
    pub source: String,
    /// Its `User-Agent`.
    pub user_agent: Option<String>,
}

/// A session that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No randomness.
    #[error("reading random bytes: {0}")]
    Random(#[from] getrandom::Error),
    /// The database failed.
    #[error("storing the session: {0}")]
    Db(#[from] DbErr),
}

/// Opens a session for `account`.
pub async fn open(
    db: &impl ConnectionTrait,
    tenant: &str,
    account: &account::Model,
    kind: SessionKind,
    second_factor: bool,
    origin: &Origin,
) -> Result<Opened, OpenError> {
    let token = dotmac_web::bearer::generate(&format!("dms_{tenant}_"))?;
    let csrf = match kind {
        SessionKind::Cookie => Some(dotmac_web::bearer::generate("")?),
        SessionKind::Bearer => None,
    };
    let now = Utc::now();
    let id = new_id();
    let expires_at = now + Duration::hours(LIFETIME_HOURS);
    let session = session::ActiveModel {
        id: Set(id),
        account_id: Set(account.id),
        token_hash: Set(digest(&token)),
        kind: Set(kind),
        csrf_hash: Set(csrf.as_deref().map(digest)),
        second_factor: Set(second_factor),
        source: Set(origin.source.clone()),
        user_agent: Set(origin.user_agent.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Opened {
        session,
        token,
        csrf,
    })
}

/// The live session `token` opens at `now`, from the cache when it has it; `None` when the
/// token is unknown, revoked, idle too long or expired, or its account may no longer sign in.
pub async fn verify(
    db: &impl ConnectionTrait,
    cache: Option<&SessionCache>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Verified>, DbErr> {
    let hash = digest(token);
    if let Some(cache) = cache
        && let Some(hit) = cache.get(&hash).await
        && hit.expires_at > now
    {
        return Ok(Some(hit));
    }
    let Some((session, Some(account))) = session::Entity::find()
        .filter(session::Column::TokenHash.eq(&hash))
        .find_also_related(account::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let live = session.revoked_at.is_none()
        && session.expires_at > now
        && session.last_seen_at + Duration::minutes(IDLE_MINUTES) > now
        && account.status == AccountStatus::Active;
    if !live {
        return Ok(None);
    }
    if now - session.last_seen_at > Duration::seconds(TOUCH_SECONDS) {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .exec(db)
            .await?;
    }
    let verified = Verified {
        session: session.id,
        kind: session.kind,
        csrf_hash: session.csrf_hash,
        second_factor: session.second_factor,
        expires_at: session.expires_at,
        account: account.id,
        email: account.email,
        role: account.role,
    };
    if let Some(cache) = cache {
        cache.put(&hash, &verified, now).await;
    }
    Ok(Some(verified))
}

/// Whether `presented` is the CSRF token of `session`.
pub fn csrf_matches(session: &Verified, presented: Option<&str>) -> bool {
    match (&session.csrf_hash, presented) {
        (Some(hash), Some(token)) => {
            use subtle::ConstantTimeEq;
            bool::from(hash.as_bytes().ct_eq(digest(token).as_bytes()))
        }
        _ => false,
    }
}

/// The live sessions of an account, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .filter(session::Column::LastSeenAt.gt(now - Duration::minutes(IDLE_MINUTES)))
        .order_by_desc(session::Column::CreatedAt)
        .all(db)
        .await
}

/// Ends one session of an account; `false` when it has no such live session.
pub async fn revoke(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    session_id: Uuid,
) -> Result<bool, DbErr> {
    let done = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// Ends every session of an account but `keep`; returns how many ended.
pub async fn revoke_all(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, DbErr> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(session::Column::Id.ne(keep));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` headers that hand a cookie session to the browser. `Secure` when the
/// request came over TLS.
pub fn set_cookies(opened: &Opened, secure: bool) -> Vec<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let max_age = LIFETIME_HOURS * 3600;
    let mut cookies = vec![format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        opened.token
    )];
    if let Some(csrf) = &opened.csrf {
        cookies.push(format!(
            "{CSRF_COOKIE}={csrf}; Path=/; SameSite=Lax; Max-Age={max_age}{secure}"
        ));
    }
    cookies
        .into_iter()
        .filter_map(|c| HeaderValue::from_str(&c).ok())
        .collect()
}

/// The `Set-Cookie` headers that remove both cookies.
pub fn clear_cookies() -> Vec<HeaderValue> {
    [COOKIE, CSRF_COOKIE]
        .iter()
        .filter_map(|name| {
            HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0; SameSite=Lax")).ok()
        })
        .collect()
}
