//! The instance's sessions ([`dotmac_identity::store::sessions`]), checked through the
//! [`SessionCache`] when the instance has Redis. A session also ends when its account is
//! disabled.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    AccountStatus, SessionKind,
    cache::SessionCache,
    entity::{account, session},
};
pub use dotmac_identity::store::sessions::{OpenError, Opened, Origin, list, revoke, revoke_all};
use dotmac_identity::store::{cookies::Cookies, sessions as store};
use dotmac_web::bearer::digest;

/// The instance's session and CSRF cookies.
pub const COOKIES: Cookies = Cookies {
    session: "dotmac_session",
    csrf: "dotmac_csrf",
};

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

/// Opens a session for `account`.
pub async fn open(
    db: &impl ConnectionTrait,
    tenant: &str,
    account: &account::Model,
    kind: SessionKind,
    second_factor: bool,
    origin: &Origin,
) -> Result<Opened, OpenError> {
    store::open(
        db,
        &format!("dms_{tenant}_"),
        account.id,
        kind,
        second_factor,
        origin,
    )
    .await
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
    if !store::is_live(&session, now) || account.status != AccountStatus::Active {
        return Ok(None);
    }
    store::touch(db, &session, now).await?;
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
