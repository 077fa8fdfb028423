//! Sessions: a random token of which only the SHA-256 is stored, held in an HttpOnly cookie
//! (with a CSRF token for writes) or sent as a bearer token. A session ends when revoked, after
//! [`IDLE_MINUTES`] unused, after [`LIFETIME_HOURS`] in all, and (all but the current one) when
//! its account's password changes; whether the account may still sign in is its API's check.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use super::entity::{SessionKind, session};
use dotmac_web::bearer::digest;

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

/// Opens a session for account `account_id`; its token starts with `prefix`.
pub async fn open(
    db: &impl ConnectionTrait,
    prefix: &str,
    account_id: Uuid,
    kind: SessionKind,
    second_factor: bool,
    origin: &Origin,
) -> Result<Opened, OpenError> {
    let token = dotmac_web::bearer::generate(prefix)?;
    let csrf = match kind {
        SessionKind::Cookie => Some(dotmac_web::bearer::generate("")?),
        SessionKind::Bearer => None,
    };
    let now = Utc::now();
    let session = session::ActiveModel {
        id: Set(super::new_id()),
        account_id: Set(account_id),
        token_hash: Set(digest(&token)),
        kind: Set(kind),
        csrf_hash: Set(csrf.as_deref().map(digest)),
        second_factor: Set(second_factor),
        source: Set(origin.source.clone()),
        user_agent: Set(origin.user_agent.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + Duration::hours(LIFETIME_HOURS)),
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

/// The live session whose token has digest `hash` at `now` (see [`is_live`]), noting that it
/// was used.
pub async fn live(
    db: &impl ConnectionTrait,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<session::Model>, DbErr> {
    let Some(session) = session::Entity::find()
        .filter(session::Column::TokenHash.eq(hash))
        .one(db)
        .await?
        .filter(|session| is_live(session, now))
    else {
        return Ok(None);
    };
    touch(db, &session, now).await?;
    Ok(Some(session))
}

/// Whether `session` is still live at `now`: not revoked, idle too long or expired.
pub fn is_live(session: &session::Model, now: DateTime<Utc>) -> bool {
    session.revoked_at.is_none()
        && session.expires_at > now
        && session.last_seen_at + Duration::minutes(IDLE_MINUTES) > now
}

/// Notes that `session` was used at `now`, writing only when its last use is over a minute old.
pub async fn touch(
    db: &impl ConnectionTrait,
    session: &session::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if now - session.last_seen_at > Duration::seconds(TOUCH_SECONDS) {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Whether `presented` is the CSRF token whose digest is `hash`.
pub fn csrf_matches(hash: Option<&str>, presented: Option<&str>) -> bool {
    match (hash, presented) {
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
