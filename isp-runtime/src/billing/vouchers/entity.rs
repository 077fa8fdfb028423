//! The sea-orm entity of vouchers; its columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `vouchers`.
pub mod voucher {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vouchers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub number: String,
        pub batch: String,
        pub code_hash: String,
        pub amount: i64,
        pub amount_left: i64,
        pub currency: String,
        pub status: crate::billing::vouchers::VoucherStatus,
        pub expires_on: Option<Date>,
        pub created_at: DateTimeUtc,
        pub changed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
