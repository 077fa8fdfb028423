//! The [`lockout`](crate::lockout) rule over stored failures. Failures are counted by subject
//! (`account:<sign-in name>` or `address:<ip>`) whether or not the account exists, so a lock
//! says nothing about which do.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, sea_query::OnConflict,
};

use super::entity::{sign_in_failure, sign_in_reset};

/// The subject of a (normalized) sign-in name.
pub fn account_subject(login: &str) -> String {
    format!("account:{login}")
}

/// The subject of a source address.
pub fn address_subject(source: &str) -> String {
    format!("address:{source}")
}

/// Until when `subject` is locked at `now`, if it is.
pub async fn locked_until(
    db: &impl ConnectionTrait,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let failures: Vec<DateTime<Utc>> = sign_in_failure::Entity::find()
        .filter(sign_in_failure::Column::Subject.eq(subject))
        .filter(sign_in_failure::Column::At.gt(now - crate::lockout::lookback()))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.at)
        .collect();
    let since = sign_in_reset::Entity::find_by_id(subject.to_owned())
        .one(db)
        .await?
        .map(|r| r.at);
    Ok(crate::lockout::locked_until(&failures, since, now))
}

/// Records a failure of `subject` at `now`; returns the lock it is under afterwards, if any.
pub async fn fail(
    db: &impl ConnectionTrait,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    sign_in_failure::ActiveModel {
        id: Set(super::new_id()),
        subject: Set(subject.to_owned()),
        at: Set(now),
    }
    .insert(db)
    .await?;
    locked_until(db, subject, now).await
}

/// Starts `subject`'s count afresh (a success, or an admin lifting its lock).
pub async fn reset(
    db: &impl ConnectionTrait,
    subject: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    sign_in_reset::Entity::insert(sign_in_reset::ActiveModel {
        subject: Set(subject.to_owned()),
        at: Set(at),
    })
    .on_conflict(
        OnConflict::column(sign_in_reset::Column::Subject)
            .update_column(sign_in_reset::Column::At)
            .to_owned(),
    )
    .exec(db)
    .await
    .map(|_| ())
}

/// Lifts `subject`'s lock at `now`; returns whether it was locked.
pub async fn lift(
    db: &impl ConnectionTrait,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let was_locked = locked_until(db, subject, now).await?.is_some();
    reset(db, subject, now).await?;
    Ok(was_locked)
}
