//! sea-orm entities of the catalog; their columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `plans`.
pub mod plan {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plans")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub code: String,
        pub name: String,
        pub service_type: String,
        pub price: i64,
        pub currency: String,
        pub billing_cycle: crate::domain::period::BillingCycle,
        pub download_mbps: Option<i32>,
        pub upload_mbps: Option<i32>,
        pub data_allowance_gb: Option<i32>,
        pub active: bool,
        pub over_allowance: Option<crate::catalog::wire::OverAllowance>,
        pub fair_use_download_mbps: Option<i32>,
        pub fair_use_upload_mbps: Option<i32>,
        pub overage_price_per_gb: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `tax_rates`.
pub mod tax_rate {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tax_rates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub country: String,
        pub region: Option<String>,
        pub rate_ppm: i64,
        pub compound: bool,
        pub priority: i32,
        pub active: bool,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
