//! Roles and the permissions each grants. Every route of the API names the one permission it
//! needs (`api::access`); a role is the set of permissions below, so what a role may do is
//! read from one table.

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// What an account or API token is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
// Also the `role` columns: a stored value outside the enum is a read error.
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    /// Everything, including people and tokens. Needs two-factor sign-in.
    #[sea_orm(string_value = "tenant_admin")]
    #[value(alias = "staff")]
    TenantAdmin,
    /// Runs the business: everything but people and tokens.
    #[sea_orm(string_value = "manager")]
    Manager,
    /// Helps subscribers: customers and their services, invoices and payments read.
    #[sea_orm(string_value = "support")]
    Support,
    /// Signs up customers and subscriptions; reads the catalogue and revenue.
    #[sea_orm(string_value = "sales")]
    Sales,
    /// Works in the field: reads customers and their services.
    #[sea_orm(string_value = "technician")]
    Technician,
    /// Reads everything but people and tokens.
    #[sea_orm(string_value = "readonly")]
    Readonly,
    /// A customer in the subscriber portal: their own account only (never a token's role).
    #[sea_orm(string_value = "subscriber")]
    #[value(skip)]
    Subscriber,
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumIter)]
pub enum Permission {
    /// Anyone, signed in or not (signing in, resetting a password).
    #[serde(rename = "public")]
    Public,
    /// Any signed-in account, about itself (profile, sessions, password, two-factor).
    #[serde(rename = "self")]
    OwnAccount,
    /// Read customers.
    #[serde(rename = "customers.read")]
    CustomersRead,
    /// Create and change customers.
    #[serde(rename = "customers.write")]
    CustomersWrite,
    /// Suspend, resume and cancel customers.
    #[serde(rename = "customers.status")]
    CustomersStatus,
    /// Read plans and tax rates.
    #[serde(rename = "catalog.read")]
    CatalogRead,
    /// Create and change plans and tax rates.
    #[serde(rename = "catalog.write")]
    CatalogWrite,
    /// Read subscriptions and their usage charges.
    #[serde(rename = "subscriptions.read")]
    SubscriptionsRead,
    /// Create, activate, change, suspend, resume and cancel subscriptions.
    #[serde(rename = "subscriptions.write")]
    SubscriptionsWrite,
    /// Record usage charges.
    #[serde(rename = "usage.write")]
    UsageWrite,
    /// Read invoices.
    #[serde(rename = "invoices.read")]
    InvoicesRead,
    /// Create, issue and void invoices.
    #[serde(rename = "invoices.write")]
    InvoicesWrite,
    /// Read payments and credit notes.
    #[serde(rename = "payments.read")]
    PaymentsRead,
    /// Record payments.
    #[serde(rename = "payments.write")]
    PaymentsWrite,
    /// Refund payments and credit invoices.
    #[serde(rename = "payments.refund")]
    PaymentsRefund,
    /// Read billing and dunning runs and the schedule.
    #[serde(rename = "runs.read")]
    RunsRead,
    /// Start billing and dunning runs.
    #[serde(rename = "runs.start")]
    RunsStart,
    /// Read the dunning policy.
    #[serde(rename = "dunning.read")]
    DunningRead,
    /// Change the dunning policy.
    #[serde(rename = "dunning.write")]
    DunningWrite,
    /// Read revenue analytics.
    #[serde(rename = "analytics.read")]
    AnalyticsRead,
    /// Read the audit log.
    #[serde(rename = "audit.read")]
    AuditRead,
    /// Read staff and subscriber accounts.
    #[serde(rename = "people.read")]
    PeopleRead,
    /// Invite people, change their role or status, unlock them, end their sessions.
    #[serde(rename = "people.manage")]
    PeopleManage,
    /// Create, list and revoke API tokens.
    #[serde(rename = "tokens.manage")]
    TokensManage,
    /// Read NAS, service logins, pools, RADIUS sessions and sign-ins.
    #[serde(rename = "network.read")]
    NetworkRead,
    /// Register NAS, set service logins, create pools.
    #[serde(rename = "network.write")]
    NetworkWrite,
    /// A subscriber's own services, invoices and payments, and paying them (subscribers only).
    #[serde(rename = "selfcare")]
    Selfcare,
}

impl Permission {
    /// The permission's name, as the OpenAPI document's `x-permission` gives it.
    pub fn name(self) -> &'static str {
        use Permission as P;
        match self {
            P::Public => "public",
            P::OwnAccount => "self",
            P::CustomersRead => "customers.read",
            P::CustomersWrite => "customers.write",
            P::CustomersStatus => "customers.status",
            P::CatalogRead => "catalog.read",
            P::CatalogWrite => "catalog.write",
            P::SubscriptionsRead => "subscriptions.read",
            P::SubscriptionsWrite => "subscriptions.write",
            P::UsageWrite => "usage.write",
            P::InvoicesRead => "invoices.read",
            P::InvoicesWrite => "invoices.write",
            P::PaymentsRead => "payments.read",
            P::PaymentsWrite => "payments.write",
            P::PaymentsRefund => "payments.refund",
            P::RunsRead => "runs.read",
            P::RunsStart => "runs.start",
            P::DunningRead => "dunning.read",
            P::DunningWrite => "dunning.write",
            P::AnalyticsRead => "analytics.read",
            P::AuditRead => "audit.read",
            P::PeopleRead => "people.read",
            P::PeopleManage => "people.manage",
            P::TokensManage => "tokens.manage",
            P::NetworkRead => "network.read",
            P::NetworkWrite => "network.write",
            P::Selfcare => "selfcare",
        }
    }

    /// The permission named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        use sea_orm::Iterable;
        Self::iter().find(|p| p.name() == name)
    }

    /// Whether it only reads.
    fn is_read(self) -> bool {
        self.name().ends_with(".read")
    }
}

impl Role {
    /// The role's name, as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::TenantAdmin => "tenant_admin",
            Self::Manager => "manager",
            Self::Support => "support",
            Self::Sales => "sales",
            Self::Technician => "technician",
            Self::Readonly => "readonly",
            Self::Subscriber => "subscriber",
        }
    }

    /// Whether this role is granted `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match permission {
            P::Public | P::OwnAccount => return true,
            P::PeopleRead | P::PeopleManage | P::TokensManage => {
                return self == Self::TenantAdmin
                    || (self == Self::Manager && permission == P::PeopleRead);
            }
            P::Selfcare => return self == Self::Subscriber,
            _ => {}
        }
        match self {
            Self::TenantAdmin | Self::Manager => true,
            Self::Readonly => permission.is_read(),
            Self::Support => matches!(
                permission,
                P::CustomersRead
                    | P::CustomersWrite
                    | P::CustomersStatus
                    | P::CatalogRead
                    | P::SubscriptionsRead
                    | P::SubscriptionsWrite
                    | P::InvoicesRead
                    | P::PaymentsRead
                    | P::RunsRead
                    | P::DunningRead
                    | P::AuditRead
                    | P::NetworkRead
            ),
            Self::Sales => matches!(
                permission,
                P::CustomersRead
                    | P::CustomersWrite
                    | P::CatalogRead
                    | P::SubscriptionsRead
                    | P::SubscriptionsWrite
                    | P::InvoicesRead
                    | P::AnalyticsRead
            ),
            Self::Technician => matches!(
                permission,
                P::CustomersRead | P::SubscriptionsRead | P::CatalogRead | P::NetworkRead
            ),
            Self::Subscriber => false,
        }
    }

    /// Whether accounts with this role must sign in with a second factor.
    pub fn needs_second_factor(self) -> bool {
        self == Self::TenantAdmin
    }

    /// Whether this is a staff role (which API tokens and staff accounts take).
    pub fn is_staff(self) -> bool {
        self != Self::Subscriber
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    #[test]
    fn names_round_trip_and_only_admins_manage_people_and_tokens() {
        for permission in Permission::iter() {
            assert_eq!(Permission::from_name(permission.name()), Some(permission));
            let json = serde_json::to_value(permission).unwrap();
            assert_eq!(json, permission.name());
        }
        for role in Role::iter() {
            assert_eq!(serde_json::to_value(role).unwrap(), role.name());
            assert!(role.allows(Permission::OwnAccount));
            assert_eq!(
                role.allows(Permission::PeopleManage),
                role == Role::TenantAdmin
            );
            assert_eq!(
                role.allows(Permission::TokensManage),
                role == Role::TenantAdmin
            );
        }
        assert!(!Role::Readonly.allows(Permission::CustomersWrite));
        assert!(Role::Readonly.allows(Permission::AuditRead));
        assert!(!Role::Subscriber.allows(Permission::CustomersRead));
        for role in Role::iter() {
            assert_eq!(
                role.allows(Permission::Selfcare),
                role == Role::Subscriber,
                "{role:?}: only subscribers have services and invoices of their own"
            );
        }
    }
}
