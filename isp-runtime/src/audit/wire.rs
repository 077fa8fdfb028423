//! What the audit-log API shows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::audit_entry;

/// An audit entry as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct AuditView {
    /// Entry id.
    pub id: Uuid,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Token name or account e-mail; `billing-run`, `dunning-run` or `scheduler` for the
    /// instance itself.
    pub actor: String,
    /// What was done (`customer.created`).
    pub action: String,
    /// Kind of record.
    pub entity: String,
    /// Its id.
    pub entity_id: String,
    /// The change.
    pub detail: serde_json::Value,
    /// The caller's address, for changes made over the API.
    pub source: Option<String>,
    /// The request's W3C trace id, when it was traced.
    pub trace_id: Option<String>,
}

impl From<audit_entry::Model> for AuditView {
    fn from(r: audit_entry::Model) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            source: r.source,
            trace_id: r.trace_id,
            detail: r.detail,
        }
    }
}

/// Filters of `GET /audit-log`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this kind of record.
    pub entity: Option<String>,
    /// Only this record.
    pub entity_id: Option<String>,
    /// Only this action (`sign_in.locked`).
    pub action: Option<String>,
    /// Page size, 1–200.
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(AuditQuery);
