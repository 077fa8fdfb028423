//! Invitations and password resets of management-API users: links to the admin or reseller
//! portal with the token in the fragment (so it stays out of access logs and `Referer`), sent
//! by e-mail when the API has a mail server. Redeeming one sets the password, activates an
//! invited user and ends their sessions.

use chrono::{Duration, Utc};
use dotmac_identity::{
    mail::{MailOutcome, Mailer},
    store::{
        Sealed,
        entity::{LinkPurpose, account_link},
        links::{self, Made},
        sessions,
    },
};
use dotmac_web::problem::Problem;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use serde_json::json;

use super::{UserStatus, entity::user, users};
use crate::{Caller, audit, db_error};

/// Password resets sent per user per hour at most; more requests are answered the same and
/// send nothing.
pub const RESETS_PER_HOUR: u64 = 3;

/// The portal URL of a link: the one portal at `/admin/` serves admins and reseller users
/// alike, each with their own pages.
pub fn url(public_url: &str, purpose: LinkPurpose, token: &str) -> String {
    let page = match purpose {
        LinkPurpose::Invitation => "accept-invitation",
        LinkPurpose::PasswordReset => "reset-password",
    };
    format!("{public_url}/admin/{page}#token={token}")
}

/// Sends an invitation; a failure is logged (never the link) and reported.
pub async fn send_invitation(mailer: &Mailer, user: &user::Model, url: &str) -> MailOutcome {
    let body = format!(
        "Hello {},\n\nYou have been invited to the DotMac platform. Choose your password here:\n\n{url}\n\nThe link works once, for 7 days.\n",
        user.display_name
    );
    match mailer
        .send(&user.email, "Your DotMac platform invitation", body)
        .await
    {
        Ok(()) => MailOutcome::Sent,
        Err(error) => {
            tracing::warn!(user = %user.id, %error, "invitation e-mail not sent");
            MailOutcome::Failed
        }
    }
}

/// A reset link for the active user signing in as `email` (normalized), unless they had
/// [`RESETS_PER_HOUR`] this hour; `None` otherwise. The caller answers the same either way.
pub async fn reset_link(
    db: &impl ConnectionTrait,
    email: &str,
    source: &str,
) -> Result<Option<(user::Model, Made)>, Problem> {
    let Some(user) = users::by_email(db, email)
        .await
        .map_err(db_error)?
        .filter(|u| u.status == UserStatus::Active)
    else {
        return Ok(None);
    };
    let since = Utc::now() - Duration::hours(1);
    let recent = links::made_since(db, user.id, LinkPurpose::PasswordReset, since)
        .await
        .map_err(db_error)?;
    if recent >= RESETS_PER_HOUR {
        return Ok(None);
    }
    let made = links::make(db, user.id, LinkPurpose::PasswordReset)
        .await
        .map_err(users::link_error)?;
    let caller = Caller {
        name: user.email.clone(),
        source: source.to_owned(),
    };
    let concerns = audit::Concerns {
        tenant: None,
        reseller: user.reseller.as_deref(),
    };
    audit::record(
        db,
        &caller,
        "password.reset_requested",
        concerns,
        json!({ "user": user.id }),
    )
    .await;
    Ok(Some((user, made)))
}

/// Sends a reset e-mail; a failure is logged (never the link).
pub async fn send_reset(mailer: &Mailer, user: &user::Model, url: &str) {
    let body = format!(
        "Hello {},\n\nSomeone asked to reset the password of your DotMac platform account. If it was you, choose a new one here:\n\n{url}\n\nThe link works once, for an hour. If it was not you, ignore this message; your password is unchanged.\n",
        user.display_name
    );
    if let Err(error) = mailer
        .send(&user.email, "Reset your DotMac platform password", body)
        .await
    {
        tracing::warn!(user = %user.id, %error, "password reset e-mail not sent");
    }
}

fn invalid() -> Problem {
    Problem::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "link-invalid",
        "Unauthorized",
        "this link is unknown, used or expired; ask for a new one",
    )
    .with_field("token")
}

/// The link `token` is for `purpose` and its user, while it can still be used: an invitation
/// of an invited user, a reset of an active one.
pub async fn find(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: LinkPurpose,
) -> Result<(account_link::Model, user::Model), Problem> {
    let link = links::find(db, token, purpose)
        .await
        .map_err(db_error)?
        .ok_or_else(invalid)?;
    let wanted = match purpose {
        LinkPurpose::Invitation => UserStatus::Invited,
        LinkPurpose::PasswordReset => UserStatus::Active,
    };
    let user = users::find(db, link.account_id)
        .await
        .map_err(db_error)?
        .filter(|u| u.status == wanted)
        .ok_or_else(invalid)?;
    Ok((link, user))
}

/// Uses a link found by [`find`]: sets `hash` (of a password the caller checked against the
/// policy), activates the user, ends their sessions. Returns the user.
pub async fn redeem(
    db: &impl ConnectionTrait,
    link: account_link::Model,
    user: user::Model,
    hash: Sealed,
    source: &str,
) -> Result<user::Model, Problem> {
    if !links::strike(db, &link).await.map_err(db_error)? {
        return Err(invalid());
    }
    let now = Utc::now();
    let mut active = user.into_active_model();
    active.password_hash = Set(Some(hash));
    active.password_changed_at = Set(Some(now));
    active.status = Set(UserStatus::Active);
    active.updated_at = Set(now);
    let user = active.update(db).await.map_err(db_error)?;
    let ended = sessions::revoke_all(db, user.id, None)
        .await
        .map_err(db_error)?;
    let caller = Caller {
        name: user.email.clone(),
        source: source.to_owned(),
    };
    let action = match link.purpose {
        LinkPurpose::Invitation => "invitation.accepted",
        LinkPurpose::PasswordReset => "password.reset",
    };
    let concerns = audit::Concerns {
        tenant: None,
        reseller: user.reseller.as_deref(),
    };
    let detail = json!({ "user": user.id, "sessions_ended": ended });
    audit::record(db, &caller, action, concerns, detail).await;
    Ok(user)
}
