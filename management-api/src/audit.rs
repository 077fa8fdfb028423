//! Who did what to which tenant through the management API: an append-only log in the platform
//! database, one entry per change made (tenant created, changed, scaled or deleted; licences;
//! tokens), with the caller's token name, address and trace id. `GET /audit-log` reads it:
//! admins everything, a reseller the entries about its own tenants and tokens (also once a
//! tenant is gone).

use aide::axum::{ApiRouter, routing::get_with};
use axum::{
    Extension,
    extract::{OriginalUri, State},
};
use dotmac_metering::entity::audit_entry;
use dotmac_web::{extract::Params, page::Page, problem::Problem};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::{Callers, doc};
use crate::{AppState, Caller, db_error, page_limit, tokens::Principal};
use dotmac_platform::crd::Tenant;

/// What a change concerns: a tenant, and the reseller it belongs to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Concerns<'a> {
    /// The tenant.
    pub tenant: Option<&'a str>,
    /// Its reseller (or the reseller a token is bound to).
    pub reseller: Option<&'a str>,
}

impl<'a> Concerns<'a> {
    /// A change to `tenant`.
    pub fn tenant(tenant: &'a Tenant) -> Self {
        Self {
            tenant: tenant.metadata.name.as_deref(),
            reseller: tenant.spec.reseller_ref.as_deref(),
        }
    }
}

/// Records a change `caller` made; a failure is logged with what it would have recorded, since
/// the change itself is already made.
pub async fn record(
    db: &impl ConnectionTrait,
    caller: &Caller,
    action: &str,
    concerns: Concerns<'_>,
    detail: serde_json::Value,
) {
    let Concerns { tenant, reseller } = concerns;
    let entry = audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(chrono::Utc::now()),
        actor: Set(caller.name.clone()),
        source: Set(Some(caller.source.clone())),
        trace_id: Set(dotmac_telemetry::trace_id()),
        action: Set(action.to_owned()),
        tenant: Set(tenant.map(str::to_owned)),
        reseller: Set(reseller.map(str::to_owned)),
        detail: Set(detail.clone()),
    };
    if let Err(error) = entry.insert(db).await {
        tracing::error!(%error, actor = %caller.name, action, tenant, %detail, "the audit entry of a change could not be written");
    }
}

/// An entry as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuditView {
    /// Entry id.
    pub id: Uuid,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The token name of the caller.
    pub actor: String,
    /// The caller's address.
    pub source: Option<String>,
    /// The request's W3C trace id, when it was traced.
    pub trace_id: Option<String>,
    /// What was done (`tenant.created`).
    pub action: String,
    /// The tenant it concerns.
    pub tenant: Option<String>,
    /// What changed.
    pub detail: serde_json::Value,
}

impl From<audit_entry::Model> for AuditView {
    fn from(e: audit_entry::Model) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor: e.actor,
            source: e.source,
            trace_id: e.trace_id,
            action: e.action,
            tenant: e.tenant,
            detail: e.detail,
        }
    }
}

/// `GET /audit-log` filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this tenant's entries.
    pub tenant: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Page size, 1–200.
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<AuditQuery>,
) -> Result<dotmac_web::page::Paged<AuditView>, Problem> {
    let limit = page_limit(query.limit)?;
    let mut select = audit_entry::Entity::find().order_by_asc(audit_entry::Column::Id);
    if let Principal::Reseller(reseller) = &principal {
        select = select.filter(audit_entry::Column::Reseller.eq(reseller));
    }
    if let Some(tenant) = &query.tenant {
        select = select.filter(audit_entry::Column::Tenant.eq(tenant));
    }
    if let Some(action) = &query.action {
        select = select.filter(audit_entry::Column::Action.eq(action));
    }
    if let Some(cursor) = query.cursor {
        select = select.filter(audit_entry::Column::Id.gt(cursor));
    }
    let rows = select
        .limit(limit + 1)
        .all(&state.db)
        .await
        .map_err(db_error)?;
    let items = rows.into_iter().map(AuditView::from).collect();
    Ok(Page::new(items, limit, |entry| entry.id).respond(&uri))
}

/// `GET /audit-log`.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/audit-log",
        get_with(
            list,
            doc(
                "audit",
                Callers::People,
                "Who did what to which tenant (a reseller: its own tenants)",
            ),
        ),
    )
}
