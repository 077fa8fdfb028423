//! sea-orm entities of invoices; their columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `invoices`.
pub mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "invoices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub number: Option<String>,
        pub customer_id: Uuid,
        pub subscription_id: Option<Uuid>,
        pub kind: crate::billing::invoices::Kind,
        pub period_start: Option<Date>,
        pub period_end: Option<Date>,
        pub currency: String,
        pub status: crate::domain::lifecycle::InvoiceStatus,
        pub issue_date: Option<Date>,
        pub due_date: Option<Date>,
        pub subtotal: i64,
        pub discount: i64,
        pub tax: i64,
        pub total: i64,
        pub amount_paid: i64,
        pub amount_credited: i64,
        pub amount_refunded: i64,
        pub amount_due: i64,
        pub billing_run_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `invoice_lines`.
pub mod invoice_line {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "invoice_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub description: String,
        pub quantity: i64,
        pub unit_price: i64,
        pub gross: i64,
        pub discount: i64,
        pub net: i64,
        pub tax: i64,
        pub total: i64,
        #[sea_orm(column_type = "JsonBinary")]
        pub taxes: Json,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
