//! Checking a sign-in's second factor so that neither a TOTP code nor a recovery code works
//! twice: a code's time step must be newer than the last one accepted, and moving the account's
//! last step forward is a conditional write (the account's own table), so a code raced twice
//! passes once; a recovery code is struck off the same way.

use std::future::Future;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::{Sealed, recovery_codes};
use crate::totp::Secret;

/// What a sign-in's second factor came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// None was given (or the account has none).
    Missing,
    /// Wrong, stale or already used.
    Wrong,
    /// Accepted, by `totp` or `recovery_code`.
    Passed(&'static str),
}

/// An account's second factor as stored.
pub struct Enrolled<'a> {
    /// The account.
    pub account: Uuid,
    /// Its TOTP secret.
    pub secret: Option<&'a Sealed>,
    /// The last time step a code was accepted for.
    pub last_step: Option<i64>,
}

/// Checks `code` (or else `recovery_code`) at `now`. `advance(step)` moves the account's last
/// step to `step` where it is still older, and says whether it did.
pub async fn check<F, Fut>(
    db: &impl ConnectionTrait,
    enrolled: Enrolled<'_>,
    code: Option<&str>,
    recovery_code: Option<&str>,
    now: DateTime<Utc>,
    advance: F,
) -> Result<Checked, DbErr>
where
    F: FnOnce(i64) -> Fut,
    Fut: Future<Output = Result<bool, DbErr>>,
{
    let Some(secret) = enrolled
        .secret
        .and_then(|s| Secret::from_base32(s.reveal()))
    else {
        return Ok(Checked::Missing);
    };
    if let Some(code) = code {
        let Some(step) = secret.verify(code, now, enrolled.last_step) else {
            return Ok(Checked::Wrong);
        };
        return Ok(if advance(step).await? {
            Checked::Passed("totp")
        } else {
            Checked::Wrong
        });
    }
    if let Some(code) = recovery_code {
        return Ok(
            if recovery_codes::strike(db, enrolled.account, code, now).await? {
                Checked::Passed("recovery_code")
            } else {
                Checked::Wrong
            },
        );
    }
    Ok(Checked::Missing)
}
