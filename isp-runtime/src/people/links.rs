//! Invitation and password-reset links: a random token in the link's fragment (so it stays out
//! of access logs and `Referer`), stored as its SHA-256, usable once and only until it expires.
//! Using one sets the account's password, activates an invited account and ends its sessions.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::json;

use super::{
    AccountKind, AccountStatus, LinkPurpose,
    entity::{account, account_link},
    sessions,
};
use crate::{audit, error::Error};
use dotmac_identity::store::links as store;

/// The portal page a link opens.
fn page(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Invitation => "accept-invitation",
        LinkPurpose::PasswordReset => "reset-password",
    }
}

/// A link just made; the URL is for the e-mail only.
pub struct Made {
    /// The full URL, with the token in its fragment.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Makes a link for `account`; earlier unused links of the same purpose stop working.
pub async fn make(
    db: &impl ConnectionTrait,
    public_url: &str,
    account: &account::Model,
    purpose: LinkPurpose,
) -> Result<Made, Error> {
    let made = store::make(db, account.id, purpose)
        .await
        .map_err(|error| match error {
            store::MakeError::Db(db) => Error::Db(db),
            store::MakeError::Random(random) => Error::Internal(random.to_string()),
        })?;
    let portal = match account.kind {
        AccountKind::Staff => "staff",
        AccountKind::Subscriber => "portal",
    };
    Ok(Made {
        url: format!(
            "{}/{portal}/{}#token={}",
            public_url.trim_end_matches('/'),
            page(purpose),
            made.token
        ),
        expires_at: made.expires_at,
    })
}

const INVALID: Error = Error::Unauthorized {
    kind: "link-invalid",
    field: Some("token"),
    message: "this link is unknown, used or expired; ask for a new one",
};

/// The link `token` is and its account, while it can still be used.
pub async fn find(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: LinkPurpose,
) -> Result<(account_link::Model, account::Model), Error> {
    let Some(link) = store::find(db, token, purpose).await? else {
        return Err(INVALID);
    };
    let account = account::Entity::find_by_id(link.account_id)
        .one(db)
        .await?
        .filter(|account| account.status != AccountStatus::Disabled)
        .ok_or(INVALID)?;
    Ok((link, account))
}

/// Uses a link found by [`find`]: sets `password_hash` (of a password the caller checked
/// against the policy), activates an invited account, ends its sessions. Returns the account.
pub async fn redeem(
    db: &impl ConnectionTrait,
    link: account_link::Model,
    account: account::Model,
    password_hash: super::Sealed,
    source: &str,
) -> Result<account::Model, Error> {
    if !store::strike(db, &link).await? {
        return Err(INVALID);
    }
    let now = Utc::now();
    let mut active = account.into_active_model();
    active.password_hash = Set(Some(password_hash));
    active.password_changed_at = Set(Some(now));
    active.status = Set(AccountStatus::Active);
    active.updated_at = Set(now);
    let account = active.update(db).await?;
    let ended = sessions::revoke_all(db, account.id, None).await?;
    let action = match link.purpose {
        LinkPurpose::Invitation => "invitation.accepted",
        LinkPurpose::PasswordReset => "password.reset",
    };
    audit::append(
        db,
        &account.email,
        Some(source),
        action,
        "account",
        &account.id.to_string(),
        json!({ "sessions_ended": ended }),
    )
    .await?;
    Ok(account)
}
