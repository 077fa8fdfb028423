//! People who sign in to the instance: staff with a [`Role`], and subscribers linked to a
//! customer. Sign-in ([`sign_in`]) checks an argon2id password, the lockout rule and the second
//! factor, and opens a [`sessions`] row, held by a cookie for the portals or as a bearer token
//! for API clients. Invitations and password resets are single-use links sent by [`mail`].
//! Every sign-in, failure, lockout and change to an account is audited.

pub mod accounts;
pub mod cache;
pub mod entity;
pub mod links;
pub mod mail;
pub mod me;
pub mod roles;
mod routes;
pub mod sessions;
pub mod sign_in;
pub mod two_factor;
mod wire;

pub use roles::{Permission, Role};
pub use routes::routes;

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// Staff or subscriber.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AccountKind {
    /// The ISP's own people.
    #[sea_orm(string_value = "staff")]
    Staff,
    /// A customer in the subscriber portal.
    #[sea_orm(string_value = "subscriber")]
    Subscriber,
}

/// Where an account is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AccountStatus {
    /// Invited; signs in once the invitation is accepted with a password.
    #[sea_orm(string_value = "invited")]
    Invited,
    /// Signs in.
    #[sea_orm(string_value = "active")]
    Active,
    /// May not sign in; its sessions were ended.
    #[sea_orm(string_value = "disabled")]
    Disabled,
}

/// How a session is held.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum SessionKind {
    /// A browser's HttpOnly cookie, with a CSRF token for writes.
    #[sea_orm(string_value = "cookie")]
    Cookie,
    /// An `Authorization: Bearer` token for an API client.
    #[sea_orm(string_value = "bearer")]
    Bearer,
}

/// What a link is for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum LinkPurpose {
    /// Sets the first password of an invited account.
    #[sea_orm(string_value = "invitation")]
    Invitation,
    /// Sets a new password.
    #[sea_orm(string_value = "password_reset")]
    PasswordReset,
}

/// The sign-in name as stored and compared: trimmed and lower-cased (portal ids upper-cased).
pub fn normalize_login(login: &str) -> String {
    let trimmed = login.trim();
    if dotmac_identity::portal_id::is_portal_id(&trimmed.to_uppercase()) {
        trimmed.to_uppercase()
    } else {
        trimmed.to_lowercase()
    }
}

/// Checks `password` against the policy for an account known by `context`, then hashes it off
/// the async threads (argon2 takes tens of milliseconds). `field` names it in a refusal.
pub async fn new_password_hash(
    field: &str,
    password: &str,
    context: &[&str],
) -> Result<Sealed, crate::error::Error> {
    use crate::error::Error;
    dotmac_identity::policy::check(password, context)
        .map_err(|weakness| Error::invalid(field, weakness.to_string()))?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || dotmac_identity::password::hash(&password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map(Sealed)
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Whether `password` matches `phc`, checked off the async threads; with no hash, the same
/// work is spent on nothing and the answer is `false`.
pub async fn password_matches(password: &str, phc: Option<&str>) -> bool {
    let password = password.to_owned();
    let phc = phc.map(str::to_owned);
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => dotmac_identity::password::verify(&password, &phc),
        None => {
            dotmac_identity::password::verify_nothing(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A stored secret (a password hash, a TOTP secret): its `Debug` shows nothing of it, so an
/// account logged by mistake leaks nothing.
#[derive(Clone, PartialEq, Eq, sea_orm::DeriveValueType)]
pub struct Sealed(pub String);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealed(…)")
    }
}

impl Sealed {
    /// The secret.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}
