//! What an account does for itself: change its password (ending its other sessions), prove it
//! is itself before a sensitive change, and ask for a password reset by e-mail.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use serde_json::json;

use super::{
    AccountStatus, LinkPurpose, entity::account, links, mail::Mailer, normalize_login, sessions,
    sign_in,
};
use crate::{api::Actor, audit, error::Error};

/// Password resets sent per account per hour at most; more requests are answered the same
/// and send nothing.
pub const RESETS_PER_HOUR: u64 = 3;

/// The signed-in account of `actor`.
pub async fn account(db: &impl ConnectionTrait, actor: &Actor) -> Result<account::Model, Error> {
    let id = actor
        .account
        .ok_or_else(|| Error::Forbidden("this is for people signed in, not API tokens".into()))?;
    super::accounts::find(db, id).await
}

/// Checks the account's current password (for a change that needs it); `field` names it.
pub async fn reauthenticate(
    account: &account::Model,
    password: &str,
    field: &str,
) -> Result<(), Error> {
    if dotmac_identity::store::passwords::matches(password, account.password_hash.as_ref()).await {
        Ok(())
    } else {
        Err(Error::invalid(field, "is not the account's password"))
    }
}

/// Sets a new password after checking the current one; ends every other session.
pub async fn change_password(
    db: &impl ConnectionTrait,
    actor: &Actor,
    current: &str,
    new: &str,
) -> Result<u64, Error> {
    let account = account(db, actor).await?;
    reauthenticate(&account, current, "current_password").await?;
    if current == new {
        return Err(Error::invalid(
            "new_password",
            "must differ from the current one",
        ));
    }
    let hash = super::new_password_hash(
        "new_password",
        new,
        &[&account.email, &account.display_name],
    )
    .await?;
    let id = account.id;
    let mut active = account.into_active_model();
    active.password_hash = Set(Some(hash));
    active.password_changed_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    let ended = sessions::revoke_all(db, id, actor.session).await?;
    let detail = json!({ "other_sessions_ended": ended });
    audit::by(db, actor, "password.changed", "account", id, detail).await?;
    Ok(ended)
}

/// A reset link for `login`, when it names an active account that has not had
/// [`RESETS_PER_HOUR`] this hour; `None` otherwise. The caller answers the same either way and
/// sends the e-mail after answering, so neither the answer nor its timing says which.
pub async fn reset_link(
    db: &impl ConnectionTrait,
    public_url: &str,
    login: &str,
    source: &str,
) -> Result<Option<(account::Model, links::Made)>, Error> {
    let login = normalize_login(login);
    let Some(account) = sign_in::find(db, &login).await? else {
        return Ok(None);
    };
    if account.status != AccountStatus::Active {
        return Ok(None);
    }
    let since = Utc::now() - Duration::hours(1);
    let recent = dotmac_identity::store::links::made_since(
        db,
        account.id,
        LinkPurpose::PasswordReset,
        since,
    )
    .await?;
    if recent >= RESETS_PER_HOUR {
        return Ok(None);
    }
    let link = links::make(db, public_url, &account, LinkPurpose::PasswordReset).await?;
    audit::append(
        db,
        &account.email,
        Some(source),
        "password.reset_requested",
        "account",
        &account.id.to_string(),
        json!({}),
    )
    .await?;
    Ok(Some((account, link)))
}

/// Sends a reset e-mail; failures are logged (never the link).
pub async fn send_reset(
    mailer: &Mailer,
    tenant: &str,
    account: &account::Model,
    link: &links::Made,
) {
    let body = format!(
        "Hello {},\n\nSomeone asked to reset the password of your {tenant} account. If it was you, choose a new one here:\n\n{}\n\nThe link works once, for an hour. If it was not you, ignore this message; your password is unchanged.\n",
        account.display_name, link.url
    );
    if let Err(error) = mailer
        .send(
            &account.email,
            &format!("Reset your {tenant} password"),
            body,
        )
        .await
    {
        tracing::warn!(%tenant, account = %account.id, %error, "password reset e-mail not sent");
    }
}
