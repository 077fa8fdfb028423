//! Signing in: the lockout rule first (per sign-in name and per source address, counted whether
//! or not the account exists), then the password (an unknown account spends the same argon2
//! time as a wrong password and gets the same answer), then the second factor, then a session.
//! Each outcome is audited; a failure that starts a lock audits the lock too.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, sea_query::OnConflict,
};
use serde_json::json;

use super::{
    AccountStatus,
    entity::{account, sign_in_failure, sign_in_reset},
    normalize_login, two_factor,
};
use crate::{audit, db::new_id, error::Error};

/// What a person presents. Its `Debug` shows only the name and address.
pub struct Attempt<'a> {
    /// E-mail, or a subscriber's portal id.
    pub login: &'a str,
    /// The password.
    pub password: &'a str,
    /// A TOTP code, when the account has two-factor sign-in.
    pub totp: Option<&'a str>,
    /// Or one of its recovery codes.
    pub recovery_code: Option<&'a str>,
    /// The client's address.
    pub source: &'a str,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("login", &self.login)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

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
    format!("account:{}", normalize_login(login))
}

/// The lockout subject of a source address.
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
        .filter(sign_in_failure::Column::At.gt(now - dotmac_identity::lockout::lookback()))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.at)
        .collect();
    let since = sign_in_reset::Entity::find_by_id(subject.to_owned())
        .one(db)
        .await?
        .map(|r| r.at);
    Ok(dotmac_identity::lockout::locked_until(
        &failures, since, now,
    ))
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

/// Checks an attempt; on success the caller opens a session in the same transaction.
pub async fn attempt(db: &impl ConnectionTrait, attempt: &Attempt<'_>) -> Result<SignedIn, Error> {
    let now = Utc::now();
    let login = normalize_login(attempt.login);
    let subjects = [account_subject(&login), address_subject(attempt.source)];
    for subject in &subjects {
        if let Some(until) = locked_until(db, subject, now).await? {
            return Err(Error::Locked {
                retry_after: (until - now).num_seconds(),
            });
        }
    }
    let found = find(db, &login).await?;
    let phc = found
        .as_ref()
        .and_then(|a| a.password_hash.as_ref().map(super::Sealed::reveal));
    let password_ok = super::password_matches(attempt.password, phc).await;
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
    reset(db, &subjects[0], now).await?;
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
        sign_in_failure::ActiveModel {
            id: Set(new_id()),
            subject: Set(subject.clone()),
            at: Set(now),
        }
        .insert(db)
        .await?;
        if let Some(until) = locked_until(db, subject, now).await? {
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
