//! Writing and reading the audit log. Entries are written in the caller's transaction, so an
//! entry exists exactly when its change does.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, Select,
};
use uuid::Uuid;

use super::{entity::audit_entry, wire::AuditQuery};
use crate::{api::Actor, db::new_id};

/// Appends an entry made by the instance itself (`billing-run`, `scheduler`).
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: Uuid,
    detail: serde_json::Value,
) -> std::result::Result<(), DbErr> {
    append(
        db,
        actor,
        None,
        action,
        entity,
        &entity_id.to_string(),
        detail,
    )
    .await
}

/// Appends an entry about a request from `source` (the caller's address), with the current
/// trace id. `entity_id` is a record's id, or a sign-in name for attempts on no account.
pub async fn append(
    db: &impl ConnectionTrait,
    actor: &str,
    source: Option<&str>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
) -> std::result::Result<(), DbErr> {
    audit_entry::ActiveModel {
        id: Set(new_id()),
        at: Set(chrono::Utc::now()),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id.to_owned()),
        detail: Set(detail),
        source: Set(source.map(str::to_owned)),
        trace_id: Set(dotmac_telemetry::trace_id()),
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
    append(
        db,
        &actor.name,
        Some(&actor.source),
        action,
        entity,
        &entity_id.to_string(),
        detail,
    )
    .await
}

/// The entries `query` selects (before paging).
pub fn select(query: &AuditQuery) -> Select<audit_entry::Entity> {
    let mut select = audit_entry::Entity::find();
    if let Some(entity) = &query.entity {
        select = select.filter(audit_entry::Column::Entity.eq(entity));
    }
    if let Some(action) = &query.action {
        select = select.filter(audit_entry::Column::Action.eq(action));
    }
    if let Some(entity_id) = &query.entity_id {
        select = select.filter(audit_entry::Column::EntityId.eq(entity_id));
    }
    select
}
