//! Invitation and password-reset links: a random token in the link's fragment (so it stays out
//! of access logs and `Referer`), stored as its SHA-256, usable once and only until it expires.
//! Using one sets the account's password, activates an invited account and ends its sessions.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, sea_query::Expr,
};
use serde_json::json;

use super::{
    AccountKind, AccountStatus, LinkPurpose,
    entity::{account, account_link},
    sessions,
};
use crate::{audit, db::new_id, error::Error};
use dotmac_web::bearer::digest;

impl LinkPurpose {
    /// How long a link lasts.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::Invitation => Duration::days(7),
            Self::PasswordReset => Duration::hours(1),
        }
    }

    fn page(self) -> &'static str {
        match self {
            Self::Invitation => "accept-invitation",
            Self::PasswordReset => "reset-password",
        }
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
    let now = Utc::now();
    account_link::Entity::update_many()
        .col_expr(account_link::Column::UsedAt, Expr::value(now))
        .filter(account_link::Column::AccountId.eq(account.id))
        .filter(account_link::Column::Purpose.eq(purpose))
        .filter(account_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    let token = dotmac_web::bearer::generate("dml_").map_err(|e| Error::Internal(e.to_string()))?;
    let expires_at = now + purpose.lifetime();
    account_link::ActiveModel {
        id: Set(new_id()),
        account_id: Set(account.id),
        purpose: Set(purpose),
        token_hash: Set(digest(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    let portal = match account.kind {
        AccountKind::Staff => "staff",
        AccountKind::Subscriber => "portal",
    };
    Ok(Made {
        url: format!(
            "{}/{portal}/{}#token={token}",
            public_url.trim_end_matches('/'),
            purpose.page()
        ),
        expires_at,
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
    let now = Utc::now();
    let Some(link) = account_link::Entity::find()
        .filter(account_link::Column::TokenHash.eq(digest(token)))
        .filter(account_link::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .filter(|link| link.used_at.is_none() && link.expires_at > now)
    else {
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
    let now = Utc::now();
    // Striking the link off conditionally makes a link raced twice work once.
    let struck = account_link::Entity::update_many()
        .col_expr(account_link::Column::UsedAt, Expr::value(now))
        .filter(account_link::Column::Id.eq(link.id))
        .filter(account_link::Column::UsedAt.is_null())
        .filter(account_link::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if struck.rows_affected != 1 {
        return Err(INVALID);
    }
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
