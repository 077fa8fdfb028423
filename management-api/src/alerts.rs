//! `GET /monitoring/alerts`: the alerts tenant instances reported, newest first; an admin sees
//! every tenant's, a reseller only its own tenants'.

use axum::{
    Extension,
    extract::{OriginalUri, State},
};
use dotmac_metering::entity::alert;
use dotmac_web::{
    extract::Params,
    page::{Page, Paged},
    problem::Problem,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AppState, can_see, db_error, page_limit, tokens::Principal};

/// An alert as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// Id (also the cursor).
    pub id: Uuid,
    /// The tenant whose instance reported it.
    pub tenant: String,
    /// Its stable name (`disk_almost_full`).
    pub name: String,
    /// info, warning or critical.
    pub severity: String,
    /// What the instance said last.
    pub message: String,
    /// First reported.
    pub first_seen: chrono::DateTime<chrono::Utc>,
    /// Last reported.
    pub last_seen: chrono::DateTime<chrono::Utc>,
    /// Reports on this row (repeats within an hour count up).
    pub count: i64,
}

impl From<alert::Model> for AlertView {
    fn from(a: alert::Model) -> Self {
        Self {
            id: a.id,
            tenant: a.tenant,
            name: a.name,
            severity: a.severity,
            message: a.message,
            first_seen: a.first_seen,
            last_seen: a.last_seen,
            count: a.count,
        }
    }
}

/// `GET /monitoring/alerts` filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only this severity (`critical`).
    pub severity: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page: alerts older than it.
    pub cursor: Option<Uuid>,
}

/// The alerts the caller may see, newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<AlertQuery>,
) -> Result<Paged<AlertView>, Problem> {
    let limit = page_limit(query.limit)?;
    if let Some(severity) = &query.severity
        && !matches!(severity.as_str(), "info" | "warning" | "critical")
    {
        return Err(Problem::invalid(
            "severity",
            "must be info, warning or critical",
        ));
    }
    let mut select = alert::Entity::find().order_by_desc(alert::Column::Id);
    if let Principal::Reseller(_) = &principal {
        let own: Vec<String> = state
            .tenants()
            .await?
            .state()
            .iter()
            .filter(|t| can_see(&principal, t))
            .filter_map(|t| t.metadata.name.clone())
            .collect();
        select = select.filter(alert::Column::Tenant.is_in(own));
    }
    if let Some(tenant) = &query.tenant {
        select = select.filter(alert::Column::Tenant.eq(tenant));
    }
    if let Some(severity) = &query.severity {
        select = select.filter(alert::Column::Severity.eq(severity));
    }
    if let Some(cursor) = query.cursor {
        select = select.filter(alert::Column::Id.lt(cursor));
    }
    let rows = select
        .limit(limit + 1)
        .all(&state.db)
        .await
        .map_err(db_error)?;
    let items = rows.into_iter().map(AlertView::from).collect();
    Ok(Page::new(items, limit, |a: &AlertView| a.id).respond(&uri))
}
