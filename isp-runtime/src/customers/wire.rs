//! What the customer API reads and writes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::customers::entity::customer;

/// Kind of customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    /// A household.
    Residential,
    /// A business.
    Business,
    /// A large account.
    Enterprise,
}

impl CustomerType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Residential => "residential",
            Self::Business => "business",
            Self::Enterprise => "enterprise",
        }
    }
}

/// A postal address; `country` and `region` choose the taxes.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region code (`CA`, `QC`).
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// `POST /customers`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Unique number; generated (`C-000001`) when absent.
    pub customer_number: Option<String>,
    /// Name shown on invoices.
    pub display_name: String,
    /// Kind of customer; residential by default.
    pub customer_type: Option<CustomerType>,
    /// Unique e-mail address.
    pub email: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Address.
    pub address: Address,
    /// Billing currency; the instance's currency by default. Another currency needs the
    /// `advanced_billing` feature.
    pub currency: Option<String>,
}

/// `PATCH /customers/{id}`: the fields to change.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// Name shown on invoices.
    pub display_name: Option<String>,
    /// Unique e-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Address.
    pub address: Option<Address>,
}

/// A customer as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CustomerView {
    /// Id.
    pub id: Uuid,
    /// Unique number.
    pub customer_number: String,
    /// Name.
    pub display_name: String,
    /// Kind.
    pub customer_type: String,
    /// pending, active, suspended or cancelled.
    pub status: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// Address.
    pub address: Address,
    /// Billing currency.
    pub currency: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<customer::Model> for CustomerView {
    fn from(c: customer::Model) -> Self {
        Self {
            id: c.id,
            customer_number: c.customer_number,
            display_name: c.display_name,
            customer_type: c.customer_type,
            status: c.status.to_string(),
            email: c.email,
            phone: c.phone,
            address: Address {
                street: c.street,
                city: c.city,
                region: c.region,
                postal_code: c.postal_code,
                country: c.country,
            },
            currency: c.currency,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Filters of `GET /customers`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this e-mail.
    pub email: Option<String>,
    /// Only those whose name, e-mail or number contains this text (any case; 1–100
    /// characters).
    pub q: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(CustomerQuery);
