//! People who sign in to the management API: platform admins, and reseller users bound to a
//! Reseller. They sign in as in every instance ([`dotmac_identity`]): an argon2id password, the
//! lockout rule, TOTP two-factor (required for admins) with recovery codes, and sessions held
//! by a cookie for the portals or a bearer token. They join by an invitation an admin (or their
//! reseller) makes; the invitation's token is handed over once. Every change is audited.

pub mod entity;
pub mod links;
mod routes;
pub mod sign_in;
pub mod two_factor;
pub mod users;

pub use entity::{UserRole, UserStatus};
pub use routes::routes;
