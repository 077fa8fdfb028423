//! What the run API reads and writes.

use chrono::NaiveDate;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::run;

/// What a run does.
// Also the runs' `kind` column.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RunKind {
    /// Invoices every subscription whose billing date has come.
    #[sea_orm(string_value = "billing")]
    Billing,
    /// Marks invoices overdue and takes the policy's actions.
    #[sea_orm(string_value = "dunning")]
    Dunning,
}

impl RunKind {
    /// The stored name, as in `/api/v1/{kind}-runs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Billing => "billing",
            Self::Dunning => "dunning",
        }
    }
}

/// Where a run is.
// Also the runs' `status` column.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RunStatus {
    /// Waiting for a worker (again, after a failed attempt).
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Claimed by a worker whose lease runs.
    #[sea_orm(string_value = "running")]
    Running,
    /// Done.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Given up after its last attempt.
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// `POST /billing-runs` and `POST /dunning-runs`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    /// Billing (or dunning) date; today by default.
    pub date: Option<NaiveDate>,
}

/// A run as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunView {
    /// Id.
    pub id: Uuid,
    /// What it does.
    pub kind: RunKind,
    /// The date it runs for.
    pub as_of: NaiveDate,
    /// Where it is.
    pub status: RunStatus,
    /// Tries so far.
    pub attempts: i32,
    /// Subscriptions (or invoices) processed.
    pub processed: i64,
    /// Invoices (or actions) created.
    pub created: i64,
    /// A billing run not finished yet: subscriptions still due on its date (each is at least one
    /// more invoice), for a progress bar; none for dunning and finished runs.
    pub remaining: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Queued at.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// First started at.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Finished at.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<run::Model> for RunView {
    fn from(r: run::Model) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            as_of: r.as_of,
            status: r.status,
            attempts: r.attempts,
            processed: r.processed,
            created: r.created,
            remaining: None,
            error: r.error,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// Paging of the run lists.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(RunQuery);
