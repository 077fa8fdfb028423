//! What the catalog API reads and writes: plans and tax rates.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    catalog::entity::{plan, tax_rate},
    domain::{money, period::BillingCycle},
};

/// What a plan sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// Internet access: suspended for non-payment.
    Internet,
    /// Voice.
    Phone,
    /// Television.
    Tv,
    /// Several services.
    Bundle,
    /// Hosting.
    Hosting,
}

impl ServiceType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internet => "internet",
            Self::Phone => "phone",
            Self::Tv => "tv",
            Self::Bundle => "bundle",
            Self::Hosting => "hosting",
        }
    }
}

/// What a plan does once a subscription used its data allowance in a period.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    sea_orm::EnumIter,
    sea_orm::DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum OverAllowance {
    /// Slow the live sessions to the fair-use speeds (by CoA) until the next period.
    #[sea_orm(string_value = "throttle")]
    Throttle,
    /// Charge each GB over at `overage_price_per_gb`, on the next invoice.
    #[sea_orm(string_value = "bill")]
    Bill,
}

/// `POST /plans`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// Unique code (`FIBER-100`).
    pub code: String,
    /// Unique name.
    pub name: String,
    /// What it sells.
    pub service_type: ServiceType,
    /// Price per billing period in minor units (> 0).
    pub price: i64,
    /// Currency; the instance's by default.
    pub currency: Option<String>,
    /// monthly (default), quarterly or annually.
    pub billing_cycle: Option<BillingCycle>,
    /// Download speed in Mbit/s.
    pub download_mbps: Option<i32>,
    /// Upload speed in Mbit/s.
    pub upload_mbps: Option<i32>,
    /// Data allowance in GB; none means unlimited.
    pub data_allowance_gb: Option<i32>,
    /// Past the allowance: `throttle` or `bill`; nothing by default.
    pub over_allowance: Option<OverAllowance>,
    /// Fair-use download speed in Mbit/s (for `throttle`).
    pub fair_use_download_mbps: Option<i32>,
    /// Fair-use upload speed in Mbit/s (for `throttle`).
    pub fair_use_upload_mbps: Option<i32>,
    /// Price of each GB over the allowance in minor units (for `bill`).
    pub overage_price_per_gb: Option<i64>,
}

/// `PATCH /plans/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    /// Unique name.
    pub name: Option<String>,
    /// New price; may not be lower while the plan has active subscriptions.
    pub price: Option<i64>,
    /// Whether new subscriptions may use it.
    pub active: Option<bool>,
    /// Download speed in Mbit/s.
    pub download_mbps: Option<i32>,
    /// Upload speed in Mbit/s.
    pub upload_mbps: Option<i32>,
}

/// A plan as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PlanView {
    /// Id.
    pub id: Uuid,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// What it sells.
    pub service_type: String,
    /// Price per period, minor units.
    pub price: i64,
    /// Currency.
    pub currency: String,
    /// Billing cycle.
    pub billing_cycle: BillingCycle,
    /// Download Mbit/s.
    pub download_mbps: Option<i32>,
    /// Upload Mbit/s.
    pub upload_mbps: Option<i32>,
    /// GB per period; none is unlimited.
    pub data_allowance_gb: Option<i32>,
    /// Open to new subscriptions.
    pub active: bool,
    /// Past the allowance: `throttle` or `bill`.
    pub over_allowance: Option<OverAllowance>,
    /// Fair-use download Mbit/s.
    pub fair_use_download_mbps: Option<i32>,
    /// Fair-use upload Mbit/s.
    pub fair_use_upload_mbps: Option<i32>,
    /// Price of each GB over the allowance.
    pub overage_price_per_gb: Option<i64>,
}

impl From<plan::Model> for PlanView {
    fn from(p: plan::Model) -> Self {
        Self {
            id: p.id,
            code: p.code,
            name: p.name,
            service_type: p.service_type,
            price: p.price,
            currency: p.currency,
            billing_cycle: p.billing_cycle,
            download_mbps: p.download_mbps,
            upload_mbps: p.upload_mbps,
            data_allowance_gb: p.data_allowance_gb,
            active: p.active,
            over_allowance: p.over_allowance,
            fair_use_download_mbps: p.fair_use_download_mbps,
            fair_use_upload_mbps: p.fair_use_upload_mbps,
            overage_price_per_gb: p.overage_price_per_gb,
        }
    }
}

/// Filters of `GET /plans`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Only active (or inactive) plans.
    pub active: Option<bool>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

/// `POST /tax-rates`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaxRate {
    /// Name on invoices (`GST`).
    pub name: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Region code; none for a national tax.
    pub region: Option<String>,
    /// Rate in percent, up to 4 decimals (`8.875`).
    #[schemars(with = "String")]
    pub rate_percent: Decimal,
    /// Charged on the net amount plus the taxes before it.
    #[serde(default)]
    pub compound: bool,
    /// Order of application, lowest first.
    #[serde(default)]
    pub priority: i32,
}

/// A tax rate as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TaxRateView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Country.
    pub country: String,
    /// Region.
    pub region: Option<String>,
    /// Rate in percent.
    #[schemars(with = "String")]
    pub rate_percent: Decimal,
    /// Compound.
    pub compound: bool,
    /// Order of application.
    pub priority: i32,
    /// In force.
    pub active: bool,
}

impl From<tax_rate::Model> for TaxRateView {
    fn from(t: tax_rate::Model) -> Self {
        Self {
            id: t.id,
            name: t.name,
            country: t.country,
            region: t.region,
            rate_percent: money::ppm_to_percent(t.rate_ppm),
            compound: t.compound,
            priority: t.priority,
            active: t.active,
        }
    }
}

/// Paging of `GET /tax-rates`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxQuery {
    /// Only this country.
    pub country: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(PlanQuery, TaxQuery);
