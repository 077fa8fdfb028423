//! sea-orm entities of subscriptions; their columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `subscriptions`.
pub mod subscription {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub customer_id: Uuid,
        pub plan_id: Uuid,
        pub status: crate::domain::lifecycle::ServiceStatus,
        pub price_override: Option<i64>,
        pub discount_ppm: i64,
        pub suspended_reason: Option<String>,
        pub activated_on: Option<Date>,
        pub cancelled_on: Option<Date>,
        pub next_billing_date: Option<Date>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
