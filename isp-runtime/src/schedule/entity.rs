//! sea-orm entity of `scheduled_runs`; its columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `scheduled_runs`.
pub mod scheduled_run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "scheduled_runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: crate::billing::runs::RunKind,
        #[sea_orm(primary_key, auto_increment = false)]
        pub as_of: Date,
        pub run_id: Uuid,
        pub claimed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
