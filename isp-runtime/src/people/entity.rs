//! sea-orm entity of accounts, and the shared ones of sessions, recovery codes, sign-in failures
//! and links; their columns are described in `db/migrations/0006_people.sql`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `accounts`.
pub mod account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: super::super::AccountKind,
        pub email: String,
        pub display_name: String,
        pub role: crate::people::Role,
        pub customer_id: Option<Uuid>,
        pub portal_id: Option<String>,
        pub status: super::super::AccountStatus,
        pub password_hash: Option<super::super::Sealed>,
        pub password_changed_at: Option<DateTimeUtc>,
        pub totp_secret: Option<super::super::Sealed>,
        pub totp_pending: Option<super::super::Sealed>,
        pub totp_last_step: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use dotmac_identity::store::entity::{
    account_link, recovery_code, session, sign_in_failure, sign_in_reset,
};

/// A session belongs to its account, so a session check is one query.
impl sea_orm::Related<account::Entity> for session::Entity {
    fn to() -> sea_orm::RelationDef {
        use sea_orm::EntityTrait;
        Self::belongs_to(account::Entity)
            .from(session::Column::AccountId)
            .to(account::Column::Id)
            .into()
    }
}
