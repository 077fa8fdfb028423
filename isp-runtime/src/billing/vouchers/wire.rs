//! What the voucher API reads and writes.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::voucher;

/// Where a voucher stands.
// Also the `status` column.
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
pub enum VoucherStatus {
    /// Has value left.
    #[sea_orm(string_value = "active")]
    Active,
    /// All its value is spent.
    #[sea_orm(string_value = "used")]
    Used,
    /// Withdrawn by staff (lost or stolen); it pays nothing.
    #[sea_orm(string_value = "void")]
    Void,
}

/// `POST /vouchers`: a batch of vouchers of one value.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVoucherBatch {
    /// A name for the batch (`shop-lekki-2026-12`): 1–100 letters, digits, `.`, `-` or `_`, used
    /// once, so a retried request is refused rather than minting a second batch.
    pub batch: String,
    /// How many vouchers, 1–1,000.
    pub count: u32,
    /// The value of each, in minor units; more than 0.
    pub amount: i64,
    /// Their currency; the instance's by default.
    pub currency: Option<String>,
    /// The last day they can be used; none by default. Not in the past.
    pub expires_on: Option<NaiveDate>,
}

/// A voucher just made, with its code: the only time the code is shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NewVoucher {
    /// Id.
    pub id: Uuid,
    /// Number (`V-000001`), printed beside the code.
    pub number: String,
    /// The code a subscriber types (`XXXX-XXXX-XXXX-XXXX`, 80 bits).
    pub code: String,
}

/// `POST /vouchers`'s answer: the batch, each code shown once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VoucherBatch {
    /// The batch's name.
    pub batch: String,
    /// The value of each, in minor units.
    pub amount: i64,
    /// Their currency.
    pub currency: String,
    /// Their last day, if any.
    pub expires_on: Option<NaiveDate>,
    /// The vouchers with their codes.
    pub vouchers: Vec<NewVoucher>,
}

/// A voucher as listed: never its code.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VoucherView {
    /// Id.
    pub id: Uuid,
    /// Number (`V-000001`).
    pub number: String,
    /// Batch.
    pub batch: String,
    /// Value when made, in minor units.
    pub amount: i64,
    /// Value left.
    pub amount_left: i64,
    /// Currency.
    pub currency: String,
    /// Status.
    pub status: VoucherStatus,
    /// Last day it can be used.
    pub expires_on: Option<NaiveDate>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last used or voided.
    pub changed_at: Option<DateTime<Utc>>,
}

impl From<voucher::Model> for VoucherView {
    fn from(v: voucher::Model) -> Self {
        Self {
            id: v.id,
            number: v.number,
            batch: v.batch,
            amount: v.amount,
            amount_left: v.amount_left,
            currency: v.currency,
            status: v.status,
            expires_on: v.expires_on,
            created_at: v.created_at,
            changed_at: v.changed_at,
        }
    }
}

/// Filters of `GET /vouchers`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherQuery {
    /// Only this batch's.
    pub batch: Option<String>,
    /// Only this status.
    pub status: Option<VoucherStatus>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(VoucherQuery);

/// `POST /me/invoices/{id}/voucher-payments`: pay one's own invoice with a voucher.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherPayment {
    /// The voucher's code, dashes and case as you like.
    pub code: String,
}
