//! sea-orm entities of customers; their columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `customers`.
pub mod customer {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub customer_number: String,
        pub display_name: String,
        pub customer_type: String,
        pub status: crate::domain::lifecycle::ServiceStatus,
        pub email: String,
        pub phone: Option<String>,
        pub street: Option<String>,
        pub city: Option<String>,
        pub region: Option<String>,
        pub postal_code: Option<String>,
        pub country: String,
        pub currency: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
