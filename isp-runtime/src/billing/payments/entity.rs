//! sea-orm entities of payments, refunds and credit notes; their columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

/// Rows of `payments`.
pub mod payment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub number: String,
        pub invoice_id: Uuid,
        pub customer_id: Uuid,
        pub amount: i64,
        pub amount_refunded: i64,
        pub currency: String,
        pub method: crate::billing::payments::Method,
        pub reference: Option<String>,
        pub idempotency_key: Option<String>,
        pub received_on: Date,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `refunds`.
pub mod refund {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refunds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub payment_id: Uuid,
        pub invoice_id: Uuid,
        pub amount: i64,
        pub reason: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `credit_notes`.
pub mod credit_note {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credit_notes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub number: String,
        pub invoice_id: Uuid,
        pub customer_id: Uuid,
        pub amount: i64,
        pub reason: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
