//! The `users` table (`0005_people.sql` of the platform database) and what its columns hold.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in the migrations"
)]

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// What a user may do.
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
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum UserRole {
    /// The platform's operators: everything; signs in with a second factor.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// One reseller's people: its tenants, users and tokens.
    #[sea_orm(string_value = "reseller")]
    Reseller,
}

/// Where a user is in their life.
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
pub enum UserStatus {
    /// Invited; signs in once the invitation is accepted with a password.
    #[sea_orm(string_value = "invited")]
    Invited,
    /// Signs in.
    #[sea_orm(string_value = "active")]
    Active,
    /// May not sign in; their sessions were ended.
    #[sea_orm(string_value = "disabled")]
    Disabled,
}

/// Rows of `users`.
pub mod user {
    use dotmac_identity::store::Sealed;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub email: String,
        pub display_name: String,
        pub role: super::UserRole,
        pub reseller: Option<String>,
        pub status: super::UserStatus,
        pub password_hash: Option<Sealed>,
        pub password_changed_at: Option<DateTimeUtc>,
        pub totp_secret: Option<Sealed>,
        pub totp_pending: Option<Sealed>,
        pub totp_last_step: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// Who the user speaks for; `None` for a reseller user without its reseller, which the
        /// table's check forbids.
        pub fn principal(&self) -> Option<crate::tokens::Principal> {
            use crate::tokens::Principal;
            match (self.role, &self.reseller) {
                (super::UserRole::Admin, _) => Some(Principal::Admin),
                (super::UserRole::Reseller, Some(reseller)) => {
                    Some(Principal::Reseller(reseller.clone()))
                }
                (super::UserRole::Reseller, None) => None,
            }
        }
    }
}
