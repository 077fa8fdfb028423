//! sea-orm entities of network access; their columns are described in `db/migrations/`.

#![allow(
    missing_docs,
    reason = "sea-orm's derives generate undocumented items; the schema is documented in db/migrations/"
)]

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// Which RADIUS attributes carry a plan's speeds to a NAS.
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
pub enum Vendor {
    /// `Mikrotik-Rate-Limit` (`up/down`).
    #[sea_orm(string_value = "mikrotik")]
    Mikrotik,
    /// `Cisco-AVPair` parameterised QoS policies (ISG).
    #[sea_orm(string_value = "cisco")]
    Cisco,
    /// `ERX-Qos-Profile-Name`: a profile named after the plan's code, defined on the router.
    #[sea_orm(string_value = "juniper")]
    Juniper,
    /// `WISPr-Bandwidth-Max-Up` and `-Down` in bit/s.
    #[sea_orm(string_value = "generic")]
    Generic,
}

/// How a subscription's router signs in.
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
pub enum LoginKind {
    /// PPPoE with a user name and password (PAP or CHAP).
    #[sea_orm(string_value = "pppoe")]
    Pppoe,
    /// IPoE (DHCP) by MAC address, optionally bound to an option-82 circuit id.
    #[sea_orm(string_value = "ipoe")]
    Ipoe,
}

/// Rows of `nas`.
pub mod nas {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "nas")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub address: String,
        /// The shared secret; none when it is kept in OpenBao.
        pub secret: Option<String>,
        pub vendor: super::Vendor,
        pub coa_port: i32,
        pub site: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `unknown_nas`.
pub mod unknown_nas {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unknown_nas")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub address: String,
        pub lookups: i64,
        pub first_seen_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `service_logins`.
pub mod service_login {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_logins")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub subscription_id: Uuid,
        pub kind: super::LoginKind,
        pub username: String,
        pub password: Option<String>,
        /// The PPPoE password sealed with the tenant's transit key (then `password` is none).
        pub sealed_password: Option<String>,
        pub circuit_id: Option<String>,
        pub max_sessions: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `ip_pools`.
pub mod ip_pool {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ip_pools")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub prefix: String,
        pub family: i32,
        pub delegated_length: Option<i32>,
        pub nas_id: Option<Uuid>,
        pub site: Option<String>,
        pub walled_garden: bool,
        pub size: i32,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `ip_addresses`.
pub mod ip_address {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ip_addresses")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub pool_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub address: String,
        pub subscription_id: Option<Uuid>,
        pub r#static: bool,
        pub session_id: Option<Uuid>,
        pub assigned_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `radius_sessions`.
pub mod radius_session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "radius_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub nas_id: Uuid,
        pub acct_session_id: String,
        pub subscription_id: Option<Uuid>,
        pub username: String,
        pub framed_address: Option<String>,
        pub calling_station: Option<String>,
        pub started_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub stopped_at: Option<DateTimeUtc>,
        pub input_octets: i64,
        pub output_octets: i64,
        pub session_seconds: i64,
        pub stop_cause: Option<String>,
        pub flag: Option<String>,
        pub applied_state: Option<String>,
        pub applied_plan_id: Option<Uuid>,
        pub counted_input: i64,
        pub counted_output: i64,
        pub usage_final: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `auth_events`.
pub mod auth_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub at: DateTimeUtc,
        pub nas_id: Option<Uuid>,
        pub username: String,
        pub subscription_id: Option<Uuid>,
        pub outcome: String,
        pub reason: Option<String>,
        pub address: Option<String>,
        pub calling_station: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `coa_requests`.
pub mod coa_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "coa_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub session_id: Uuid,
        pub nas_id: Uuid,
        pub kind: String,
        pub target: String,
        pub plan_id: Option<Uuid>,
        pub attributes: String,
        pub status: String,
        pub attempts: i32,
        pub error_cause: Option<i32>,
        pub last_error: Option<String>,
        pub claimed_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub answered_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `network_usage`.
pub mod network_usage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "network_usage")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub subscription_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        pub input_octets: i64,
        pub output_octets: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows of `fair_use`.
pub mod fair_use {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fair_use")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub subscription_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub period_start: Date,
        pub period_end: Date,
        pub throttled_at: Option<DateTimeUtc>,
        pub billed_gb: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
