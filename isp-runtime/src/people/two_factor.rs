//! Two-factor sign-in: enrolling a TOTP secret (confirmed by a first code, which also hands out
//! the recovery codes), checking a code or a recovery code at sign-in so neither can be used
//! twice, and turning it off where the role allows.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, sea_query::Expr,
};
use serde_json::json;

use super::entity::account;
use crate::{api::Actor, audit, error::Error};
use dotmac_identity::{
    store::{
        recovery_codes::{self, ReplaceError},
        second_factor,
    },
    totp::Secret,
};

pub use dotmac_identity::store::second_factor::Checked;

/// Checks the code or recovery code given for `account` at `now`, striking it off when good.
pub async fn check(
    db: &impl ConnectionTrait,
    account: &account::Model,
    code: Option<&str>,
    recovery_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Checked, DbErr> {
    let enrolled = second_factor::Enrolled {
        account: account.id,
        secret: account.totp_secret.as_ref(),
        last_step: account.totp_last_step,
    };
    let id = account.id;
    second_factor::check(db, enrolled, code, recovery_code, now, |step| async move {
        let moved = account::Entity::update_many()
            .col_expr(account::Column::TotpLastStep, Expr::value(step))
            .filter(account::Column::Id.eq(id))
            .filter(
                sea_orm::Condition::any()
                    .add(account::Column::TotpLastStep.is_null())
                    .add(account::Column::TotpLastStep.lt(step)),
            )
            .exec(db)
            .await?;
        Ok(moved.rows_affected == 1)
    })
    .await
}

/// A secret being enrolled, shown once.
pub struct Enrolment {
    /// Base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URI, for a QR code.
    pub uri: String,
}

/// Starts enrolment: a new pending secret replaces any earlier pending one. The current one,
/// if any, stays in force until the new one is confirmed.
pub async fn start(
    db: &impl ConnectionTrait,
    issuer: &str,
    account: account::Model,
) -> Result<Enrolment, Error> {
    let secret = Secret::generate().map_err(|e| Error::Internal(e.to_string()))?;
    let enrolment = Enrolment {
        secret: secret.base32(),
        uri: secret.uri(issuer, &account.email),
    };
    let mut active = account.into_active_model();
    active.totp_pending = Set(Some(super::Sealed(enrolment.secret.clone())));
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(enrolment)
}

/// Confirms the pending secret with a code from it; returns fresh recovery codes (shown once).
pub async fn confirm(
    db: &impl ConnectionTrait,
    actor: &Actor,
    account: account::Model,
    code: &str,
) -> Result<Vec<String>, Error> {
    let now = Utc::now();
    let Some(secret) = account
        .totp_pending
        .as_ref()
        .and_then(|s| Secret::from_base32(s.reveal()))
    else {
        return Err(Error::conflict(
            Some("code"),
            "no enrolment is pending; start one first",
        ));
    };
    let Some(step) = secret.verify(code, now, None) else {
        return Err(Error::invalid(
            "code",
            "the code does not match the new secret",
        ));
    };
    let id = account.id;
    let mut active = account.into_active_model();
    active.totp_secret = Set(Some(super::Sealed(secret.base32())));
    active.totp_pending = Set(None);
    active.totp_last_step = Set(Some(step));
    active.updated_at = Set(now);
    active.update(db).await?;
    let codes = replace_recovery_codes(db, id).await?;
    audit::by(db, actor, "two_factor.enabled", "account", id, json!({})).await?;
    Ok(codes)
}

/// Replaces an account's recovery codes with a fresh set, returned once.
pub async fn replace_recovery_codes(
    db: &impl ConnectionTrait,
    account_id: uuid::Uuid,
) -> Result<Vec<String>, Error> {
    recovery_codes::replace(db, account_id)
        .await
        .map_err(|error| match error {
            ReplaceError::Db(db) => Error::Db(db),
            ReplaceError::Random(random) => Error::Internal(random.to_string()),
        })
}

/// Turns two-factor sign-in off, where the role does not require it.
pub async fn disable(
    db: &impl ConnectionTrait,
    actor: &Actor,
    account: account::Model,
) -> Result<(), Error> {
    if account.role.needs_second_factor() {
        return Err(Error::Forbidden(format!(
            "the {} role must sign in with a second factor",
            account.role.name()
        )));
    }
    let id = account.id;
    let mut active = account.into_active_model();
    active.totp_secret = Set(None);
    active.totp_pending = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    recovery_codes::clear(db, id).await?;
    audit::by(db, actor, "two_factor.disabled", "account", id, json!({})).await?;
    Ok(())
}
