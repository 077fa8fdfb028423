//! Two-factor sign-in: enrolling a TOTP secret (confirmed by a first code, which also hands out
//! the recovery codes), checking a code or a recovery code at sign-in so neither works twice,
//! and turning it off for a reseller user (admins must keep it).

use chrono::{DateTime, Utc};
use dotmac_identity::{
    store::{
        Sealed,
        recovery_codes::{self, ReplaceError},
        second_factor,
    },
    totp::Secret,
};
use dotmac_web::problem::Problem;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, sea_query::Expr,
};
use serde_json::json;

use super::{UserRole, entity::user};
use crate::{Caller, audit, db_error};

pub use dotmac_identity::store::second_factor::Checked;

/// Checks the code or recovery code given for `user` at `now`, striking it off when good.
pub async fn check(
    db: &impl ConnectionTrait,
    user: &user::Model,
    code: Option<&str>,
    recovery_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Checked, DbErr> {
    let enrolled = second_factor::Enrolled {
        account: user.id,
        secret: user.totp_secret.as_ref(),
        last_step: user.totp_last_step,
    };
    let id = user.id;
    second_factor::check(db, enrolled, code, recovery_code, now, |step| async move {
        let moved = user::Entity::update_many()
            .col_expr(user::Column::TotpLastStep, Expr::value(step))
            .filter(user::Column::Id.eq(id))
            .filter(
                sea_orm::Condition::any()
                    .add(user::Column::TotpLastStep.is_null())
                    .add(user::Column::TotpLastStep.lt(step)),
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

/// Starts enrolment: a new pending secret replaces an earlier pending one; the current one, if
/// any, stays in force until the new one is confirmed.
pub async fn start(db: &impl ConnectionTrait, user: user::Model) -> Result<Enrolment, Problem> {
    let secret = Secret::generate().map_err(|error| {
        tracing::error!(%error, "no randomness for a TOTP secret");
        Problem::internal()
    })?;
    let enrolment = Enrolment {
        secret: secret.base32(),
        uri: secret.uri("DotMac platform", &user.email),
    };
    let mut active = user.into_active_model();
    active.totp_pending = Set(Some(Sealed(enrolment.secret.clone())));
    active.updated_at = Set(Utc::now());
    active.update(db).await.map_err(db_error)?;
    Ok(enrolment)
}

/// Confirms the pending secret with a code from it; returns fresh recovery codes (shown once).
pub async fn confirm(
    db: &impl ConnectionTrait,
    caller: &Caller,
    user: user::Model,
    code: &str,
) -> Result<Vec<String>, Problem> {
    let now = Utc::now();
    let Some(secret) = user
        .totp_pending
        .as_ref()
        .and_then(|s| Secret::from_base32(s.reveal()))
    else {
        return Err(
            Problem::conflict("no enrolment is pending; start one first").with_field("code"),
        );
    };
    let Some(step) = secret.verify(code, now, None) else {
        return Err(Problem::invalid(
            "code",
            "the code does not match the new secret",
        ));
    };
    let (id, reseller) = (user.id, user.reseller.clone());
    let mut active = user.into_active_model();
    active.totp_secret = Set(Some(Sealed(secret.base32())));
    active.totp_pending = Set(None);
    active.totp_last_step = Set(Some(step));
    active.updated_at = Set(now);
    active.update(db).await.map_err(db_error)?;
    let codes = recovery_codes::replace(db, id)
        .await
        .map_err(|error| match error {
            ReplaceError::Db(error) => db_error(error),
            ReplaceError::Random(error) => {
                tracing::error!(%error, "no randomness for recovery codes");
                Problem::internal()
            }
        })?;
    let concerns = audit::Concerns {
        tenant: None,
        reseller: reseller.as_deref(),
    };
    audit::record(
        db,
        caller,
        "two_factor.enabled",
        concerns,
        json!({ "user": id }),
    )
    .await;
    Ok(codes)
}

/// Turns two-factor sign-in off, for a reseller user.
pub async fn disable(
    db: &impl ConnectionTrait,
    caller: &Caller,
    user: user::Model,
) -> Result<(), Problem> {
    if user.role == UserRole::Admin {
        return Err(Problem::forbidden(
            "a platform admin must sign in with a second factor",
        ));
    }
    let (id, reseller) = (user.id, user.reseller.clone());
    let mut active = user.into_active_model();
    active.totp_secret = Set(None);
    active.totp_pending = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(db).await.map_err(db_error)?;
    recovery_codes::clear(db, id).await.map_err(db_error)?;
    let concerns = audit::Concerns {
        tenant: None,
        reseller: reseller.as_deref(),
    };
    audit::record(
        db,
        caller,
        "two_factor.disabled",
        concerns,
        json!({ "user": id }),
    )
    .await;
    Ok(())
}
