//! The append-only audit log: who changed what, written in the same transaction as the change
//! (the database refuses updates and deletes of its rows), and readable over the API.

use axum::{Router, extract::OriginalUri, extract::State, response::Response, routing::get};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::page;
use crate::{
    api::{Actor, AppState, extract::Params},
    db::{entity::audit_entry, new_id},
    error::Result,
};

/// Appends an entry.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: Uuid,
    detail: serde_json::Value,
) -> std::result::Result<(), DbErr> {
    audit_entry::ActiveModel {
        id: Set(new_id()),
        at: Set(chrono::Utc::now()),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id.to_string()),
        detail: Set(detail),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Appends an entry made by an API caller.
pub async fn by(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Uuid,
    detail: serde_json::Value,
) -> std::result::Result<(), DbErr> {
    record(db, &actor.name, action, entity, entity_id, detail).await
}

/// An audit entry as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct AuditView {
    /// Entry id.
    pub id: Uuid,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Token name or `billing-run`, `dunning-run`.
    pub actor: String,
    /// What was done (`customer.created`).
    pub action: String,
    /// Kind of record.
    pub entity: String,
    /// Its id.
    pub entity_id: String,
    /// The change.
    pub detail: serde_json::Value,
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
    /// Page size, 1–200.
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<AuditQuery>,
) -> Result<Response> {
    let mut select = audit_entry::Entity::find();
    if let Some(entity) = query.entity {
        select = select.filter(audit_entry::Column::Entity.eq(entity));
    }
    if let Some(entity_id) = query.entity_id {
        select = select.filter(audit_entry::Column::EntityId.eq(entity_id));
    }
    page(
        &state.db,
        select,
        audit_entry::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &AuditView| v.id,
    )
    .await
}

/// `GET /audit-log`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit-log", get(list))
}
