//! Signing in: the lockout rule first (per sign-in name and per source address, counted whether
//! or not the account exists), then the password (an unknown account spends the same argon2
//! time as a wrong password and gets the same answer), then the second factor, then a session.
//! Each outcome is audited; a failure that starts a lock audits the lock too.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::json;

use super::{AccountStatus, entity::account, normalize_login, two_factor};
use crate::{audit, error::Error};
use dotmac_identity::store::{lockouts, passwords};

pub use dotmac_identity::attempt::Attempt;

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The account.
    pub account: account::Model,
    /// Whether a second factor was given.
    pub second_factor: bool,
}

const WRONG: Error = Error::Unauthorized {
    kind: "wrong-credentials",
    field: None,
    message: "the sign-in name or password is wrong",
};

/// The lockout subject of a sign-in name.
pub fn account_subject(login: &str) -> String {
    lockouts::account_subject(&normalize_login(login))
}

/// Checks an attempt; on success the caller opens a session in the same transaction.
pub async fn attempt(db: &impl ConnectionTrait, attempt: &Attempt<'_>) -> Result<SignedIn, Error> {
    let now = Utc::now();
    let login = normalize_login(attempt.login);
    let subjects = [
        lockouts::account_subject(&login),
        lockouts::address_subject(attempt.source),
    ];
    for subject in &subjects {
        if let Some(until) = lockouts::locked_until(db, subject, now).await? {
            return Err(Error::Locked {
                retry_after: (until - now).num_seconds(),
            });
        }
    }
    let found = find(db, &login).await?;
    let phc = found.as_ref().and_then(|a| a.password_hash.as_ref());
    let password_ok = passwords::matches(attempt.password, phc).await;
    let account = match found {
        Some(account) if password_ok && account.status == AccountStatus::Active => account,
        other => {
            let reason = match &other {
                None => "no such account",
                Some(a) if a.status == AccountStatus::Disabled => "account disabled",
                Some(a) if a.status == AccountStatus::Invited => "invitation not accepted",
                Some(_) => "wrong password",
            };
            fail(
                db,
                &subjects,
                &login,
                other.as_ref(),
                reason,
                attempt.source,
                now,
            )
            .await?;
            return Err(WRONG);
        }
    };
    let second_factor = if account.totp_secret.is_some() {
        match two_factor::check(db, &account, attempt.totp, attempt.recovery_code, now).await? {
            two_factor::Checked::Missing => {
                return Err(Error::Unauthorized {
                    kind: "second-factor-required",
                    field: Some("totp"),
                    message: "this account signs in with a code from its authenticator app (or a recovery code)",
                });
            }
            two_factor::Checked::Wrong => {
                fail(
                    db,
                    &subjects,
                    &login,
                    Some(&account),
                    "wrong second factor",
                    attempt.source,
                    now,
                )
                .await?;
                return Err(Error::Unauthorized {
                    kind: "wrong-second-factor",
                    field: Some("totp"),
                    message: "the code is wrong, expired or already used",
                });
            }
            two_factor::Checked::Passed(method) => {
                audit::append(
                    db,
                    &account.email,
                    Some(attempt.source),
                    "sign_in.second_factor",
                    "account",
                    &account.id.to_string(),
                    json!({ "method": method }),
                )
                .await?;
                true
            }
        }
    } else {
        false
    };
    lockouts::reset(db, &subjects[0], now).await?;
    audit::append(
        db,
        &account.email,
        Some(attempt.source),
        "sign_in.succeeded",
        "account",
        &account.id.to_string(),
        json!({ "second_factor": second_factor }),
    )
    .await?;
    Ok(SignedIn {
        account,
        second_factor,
    })
}

/// The account a normalized sign-in name names: an e-mail, or a subscriber's portal id.
pub async fn find(db: &impl ConnectionTrait, login: &str) -> Result<Option<account::Model>, DbErr> {
    let column = if login.contains('@') {
        account::Column::Email
    } else {
        account::Column::PortalId
    };
    account::Entity::find()
        .filter(column.eq(login))
        .one(db)
        .await
}

/// Records a failure against both subjects and audits it, and the lock it starts if it does.
async fn fail(
    db: &impl ConnectionTrait,
    subjects: &[String],
    login: &str,
    account: Option<&account::Model>,
    reason: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let entity_id = account.map_or_else(|| login.to_owned(), |a| a.id.to_string());
    audit::append(
        db,
        login,
        Some(source),
        "sign_in.failed",
        "account",
        &entity_id,
        json!({ "reason": reason }),
    )
    .await?;
    for subject in subjects {
        if let Some(until) = lockouts::fail(db, subject, now).await? {
            audit::append(
                db,
                login,
                Some(source),
                "sign_in.locked",
                "account",
                &entity_id,
                json!({ "subject": subject, "until": until }),
            )
            .await?;
        }
    }
    Ok(())
}
