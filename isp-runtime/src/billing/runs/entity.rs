//! sea-orm entities of billing and dunning runs; their columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `runs`.
pub mod run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: crate::billing::runs::RunKind,
        pub as_of: Date,
        pub status: crate::billing::runs::RunStatus,
        pub attempts: i32,
        pub processed: i64,
        pub created: i64,
        pub error: Option<String>,
        pub lease_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub started_at: Option<DateTimeUtc>,
        pub finished_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
