//! Invitation and password-reset links: a random token stored as its SHA-256, usable once and
//! only until it expires. A new link of a purpose ends the account's earlier ones.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, sea_query::Expr,
};
use uuid::Uuid;

use super::entity::{LinkPurpose, account_link};
use dotmac_web::bearer::digest;

impl LinkPurpose {
    /// How long a link lasts.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::Invitation => Duration::days(7),
            Self::PasswordReset => Duration::hours(1),
        }
    }
}

/// A link's token, shown once, and when it stops working.
pub struct Made {
    /// The token.
    pub token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// A link that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    /// No randomness.
    #[error("reading random bytes: {0}")]
    Random(#[from] getrandom::Error),
    /// The database failed.
    #[error("storing the link: {0}")]
    Db(#[from] DbErr),
}

/// Makes a link for account `account_id`, ending its unused links of the same purpose.
pub async fn make(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    purpose: LinkPurpose,
) -> Result<Made, MakeError> {
    let now = Utc::now();
    account_link::Entity::update_many()
        .col_expr(account_link::Column::UsedAt, Expr::value(now))
        .filter(account_link::Column::AccountId.eq(account_id))
        .filter(account_link::Column::Purpose.eq(purpose))
        .filter(account_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    let token = dotmac_web::bearer::generate("dml_")?;
    let expires_at = now + purpose.lifetime();
    account_link::ActiveModel {
        id: Set(super::new_id()),
        account_id: Set(account_id),
        purpose: Set(purpose),
        token_hash: Set(digest(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Made { token, expires_at })
}

/// The link `token` is, while it can still be used for `purpose`.
pub async fn find(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: LinkPurpose,
) -> Result<Option<account_link::Model>, DbErr> {
    let now = Utc::now();
    Ok(account_link::Entity::find()
        .filter(account_link::Column::TokenHash.eq(digest(token)))
        .filter(account_link::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .filter(|link| link.used_at.is_none() && link.expires_at > now))
}

/// Strikes off a link found by [`find`]; `false` when it was used or expired meanwhile (a link
/// raced twice works once).
pub async fn strike(db: &impl ConnectionTrait, link: &account_link::Model) -> Result<bool, DbErr> {
    let now = Utc::now();
    let struck = account_link::Entity::update_many()
        .col_expr(account_link::Column::UsedAt, Expr::value(now))
        .filter(account_link::Column::Id.eq(link.id))
        .filter(account_link::Column::UsedAt.is_null())
        .filter(account_link::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(struck.rows_affected == 1)
}

/// How many links for `purpose` account `account_id` was given since `since` (a limit on
/// reset requests, say).
pub async fn made_since(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    purpose: LinkPurpose,
    since: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    account_link::Entity::find()
        .filter(account_link::Column::AccountId.eq(account_id))
        .filter(account_link::Column::Purpose.eq(purpose))
        .filter(account_link::Column::CreatedAt.gt(since))
        .count(db)
        .await
}
