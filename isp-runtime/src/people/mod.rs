//! People who sign in to the instance: staff with a [`Role`], and subscribers linked to a
//! customer. Sign-in ([`sign_in`]) checks an argon2id password, the lockout rule and the second
//! factor, and opens a [`sessions`] row, held by a cookie for the portals or as a bearer token
//! for API clients. Invitations and password resets are single-use links sent by [`mail`].
//! Every sign-in, failure, lockout and change to an account is audited.

pub mod accounts;
pub mod cache;
pub mod entity;
pub mod links;
pub mod me;
pub mod roles;
mod routes;
pub mod sessions;
pub mod sign_in;
pub mod two_factor;
mod wire;

pub use dotmac_identity::mail;
pub use dotmac_identity::store::{
    Sealed,
    entity::{LinkPurpose, SessionKind},
};
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

/// The sign-in name as stored and compared: trimmed and lower-cased (portal ids upper-cased).
pub fn normalize_login(login: &str) -> String {
    let trimmed = login.trim();
    if dotmac_identity::portal_id::is_portal_id(&trimmed.to_uppercase()) {
        trimmed.to_uppercase()
    } else {
        trimmed.to_lowercase()
    }
}

/// Checks `password` against the policy for an account known by `context`, then hashes it.
/// `field` names it in a refusal.
pub async fn new_password_hash(
    field: &str,
    password: &str,
    context: &[&str],
) -> Result<Sealed, crate::error::Error> {
    use crate::error::Error;
    use dotmac_identity::store::passwords::{SetError, new_hash};
    new_hash(password, context)
        .await
        .map_err(|error| match error {
            SetError::Weak(weakness) => Error::invalid(field, weakness.to_string()),
            other => Error::Internal(other.to_string()),
        })
}
