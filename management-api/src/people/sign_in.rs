//! Signing in: the lockout rule first (per e-mail and per source address, counted whether or
//! not the user exists), then the password (an unknown user spends the same argon2 time as a
//! wrong password and gets the same answer), then the second factor. Each outcome is audited;
//! a failure that starts a lock audits the lock too.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use dotmac_identity::store::{lockouts, passwords};
use dotmac_web::problem::Problem;
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;

use super::{UserStatus, entity::user, two_factor, users};
use crate::{Caller, audit, db_error};

pub use dotmac_identity::attempt::Attempt;

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The user.
    pub user: user::Model,
    /// Whether a second factor was given.
    pub second_factor: bool,
}

/// Why a sign-in failed.
#[derive(Debug)]
pub enum Refused {
    /// A wrong e-mail or password (the same answer for both).
    Wrong,
    /// Too many failures; seconds until the lock ends.
    Locked(i64),
    /// The user signs in with a second factor and gave none.
    SecondFactorMissing,
    /// The code was wrong, stale or already used.
    SecondFactorWrong,
    /// The database failed.
    Db(DbErr),
}

impl From<DbErr> for Refused {
    fn from(error: DbErr) -> Self {
        Self::Db(error)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let unauthorized =
            |kind, title, detail| Problem::new(StatusCode::UNAUTHORIZED, kind, title, detail);
        match self {
            Self::Wrong => unauthorized(
                "wrong-credentials",
                "Unauthorized",
                "the e-mail or password is wrong",
            )
            .into_response(),
            Self::SecondFactorMissing => unauthorized(
                "second-factor-required",
                "Unauthorized",
                "this user signs in with a code from their authenticator app (or a recovery code)",
            )
            .with_field("totp")
            .into_response(),
            Self::SecondFactorWrong => unauthorized(
                "wrong-second-factor",
                "Unauthorized",
                "the code is wrong, expired or already used",
            )
            .with_field("totp")
            .into_response(),
            Self::Locked(seconds) => {
                let mut response = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "sign-in-locked",
                    "Sign-in locked",
                    format!(
                        "too many failed sign-ins; try again in {} minutes or ask an administrator to unlock",
                        (seconds + 59) / 60
                    ),
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.max(1).into());
                response
            }
            Self::Db(error) => db_error(error).into_response(),
        }
    }
}

/// Checks an attempt; on success the caller opens a session in the same transaction. A
/// refusal's failures are written to `db` too, so the caller commits either way.
pub async fn attempt(
    db: &impl ConnectionTrait,
    attempt: &Attempt<'_>,
) -> Result<SignedIn, Refused> {
    let now = Utc::now();
    let email = attempt.login.trim().to_lowercase();
    let subjects = [
        lockouts::account_subject(&email),
        lockouts::address_subject(attempt.source),
    ];
    for subject in &subjects {
        if let Some(until) = lockouts::locked_until(db, subject, now).await? {
            return Err(Refused::Locked((until - now).num_seconds()));
        }
    }
    let found = users::by_email(db, &email).await?;
    let phc = found.as_ref().and_then(|u| u.password_hash.as_ref());
    let password_ok = passwords::matches(attempt.password, phc).await;
    let caller = Caller {
        name: email.clone(),
        source: attempt.source.to_owned(),
    };
    let user = match found {
        Some(user) if password_ok && user.status == UserStatus::Active => user,
        other => {
            let reason = match &other {
                None => "no such user",
                Some(u) if u.status == UserStatus::Disabled => "user disabled",
                Some(u) if u.status == UserStatus::Invited => "invitation not accepted",
                Some(_) => "wrong password",
            };
            fail(db, &subjects, &caller, other.as_ref(), reason, now).await?;
            return Err(Refused::Wrong);
        }
    };
    let second_factor = if user.totp_secret.is_some() {
        match two_factor::check(db, &user, attempt.totp, attempt.recovery_code, now).await? {
            two_factor::Checked::Missing => return Err(Refused::SecondFactorMissing),
            two_factor::Checked::Wrong => {
                fail(
                    db,
                    &subjects,
                    &caller,
                    Some(&user),
                    "wrong second factor",
                    now,
                )
                .await?;
                return Err(Refused::SecondFactorWrong);
            }
            two_factor::Checked::Passed(_) => true,
        }
    } else {
        false
    };
    lockouts::reset(db, &subjects[0], now).await?;
    audit::record(
        db,
        &caller,
        "sign_in.succeeded",
        audit::Concerns {
            tenant: None,
            reseller: user.reseller.as_deref(),
        },
        json!({ "user": user.id, "second_factor": second_factor }),
    )
    .await;
    Ok(SignedIn {
        user,
        second_factor,
    })
}

/// Records a failure against both subjects and audits it, and the lock it starts if it does.
async fn fail(
    db: &impl ConnectionTrait,
    subjects: &[String],
    caller: &Caller,
    user: Option<&user::Model>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let concerns = audit::Concerns {
        tenant: None,
        reseller: user.and_then(|u| u.reseller.as_deref()),
    };
    let id = user.map(|u| u.id);
    audit::record(
        db,
        caller,
        "sign_in.failed",
        concerns,
        json!({ "user": id, "reason": reason }),
    )
    .await;
    for subject in subjects {
        if let Some(until) = lockouts::fail(db, subject, now).await? {
            let detail = json!({ "user": id, "subject": subject, "until": until });
            audit::record(db, caller, "sign_in.locked", concerns, detail).await;
        }
    }
    Ok(())
}
