//! Storage over the sign-in tables that the platform database and every instance database hold
//! in the same shape (`sessions`, `recovery_codes`, `sign_in_failures`, `sign_in_resets`,
//! `account_links`; each database's migrations describe the columns). Accounts differ between
//! the two and stay with each API; these functions take an account by its id.

pub mod cookies;
pub mod entity;
pub mod links;
pub mod lockouts;
pub mod passwords;
pub mod recovery_codes;
pub mod second_factor;
pub mod sessions;

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

/// A new row id: UUIDv7, so ids sort by creation.
fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
