//! An account's [`recovery`](crate::recovery) codes: replaced as a set, struck off one by one.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use super::entity::recovery_code;
use crate::recovery;

/// A set that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    /// No randomness.
    #[error("reading random bytes: {0}")]
    Random(#[from] getrandom::Error),
    /// The database failed.
    #[error("storing recovery codes: {0}")]
    Db(#[from] DbErr),
}

/// Replaces an account's codes with a fresh set, returned once.
pub async fn replace(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<Vec<String>, ReplaceError> {
    let codes = recovery::generate()?;
    clear(db, account_id).await?;
    recovery_code::Entity::insert_many(codes.iter().map(|code| recovery_code::ActiveModel {
        account_id: Set(account_id),
        code_hash: Set(recovery::digest(code)),
        used_at: Set(None),
    }))
    .exec(db)
    .await?;
    Ok(codes)
}

/// Strikes off `code` of an account at `now`; `false` when it is not one of its unused codes.
/// Striking off is conditional, so a code raced twice works once.
pub async fn strike(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::AccountId.eq(account_id))
        .filter(recovery_code::Column::CodeHash.eq(recovery::digest(code)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// Removes an account's codes.
pub async fn clear(db: &impl ConnectionTrait, account_id: Uuid) -> Result<(), DbErr> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::AccountId.eq(account_id))
        .exec(db)
        .await
        .map(|_| ())
}
