//! `/tokens`: API tokens made, listed and revoked by a tenant admin, each change audited.

use aide::axum::{ApiRouter, routing::get_with};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
    response::NoContent,
};
use dotmac_web::Created;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::entity::api_token;
use crate::{
    api::{
        Actor, AppState, Paged,
        access::doc,
        extract::{Body, Id, Params},
        page,
    },
    audit,
    error::{Error, Result},
    people::{Permission as P, Role},
};

/// `POST /tokens`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, recorded in the audit log (1–100 characters).
    pub name: String,
    /// What it may do: a staff role.
    pub role: Role,
}

/// A token as listed; the token itself is shown only in [`MadeToken`].
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TokenView {
    /// Token id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was revoked.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<api_token::Model> for TokenView {
    fn from(row: api_token::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            role: row.role,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A token just made, shown this once.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MadeToken {
    /// The token.
    #[serde(flatten)]
    pub view: TokenView,
    /// The bearer token; it cannot be shown again.
    pub token: String,
}

/// `GET /tokens` filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    /// Page size, 1–200.
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(TokenQuery);

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewToken>,
) -> Result<Created<MadeToken>> {
    let name = crate::validate::text("name", &input.name, 100)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let (row, token) = super::create(&txn, &state.settings.tenant, &name, input.role)
        .await
        .map_err(|e| match e {
            super::CreateError::NotStaff => Error::invalid("role", e.to_string()),
            super::CreateError::Db(db) => Error::Db(db),
            super::CreateError::Random(r) => Error::Internal(r.to_string()),
        })?;
    let detail = json!({ "name": row.name, "role": row.role });
    audit::by(&txn, &actor, "token.created", "api_token", row.id, detail).await?;
    txn.commit().await?;
    let location = format!("/api/v1/tokens/{}", row.id);
    Ok(Created::new(
        location,
        MadeToken {
            view: row.into(),
            token,
        },
    ))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<TokenQuery>,
) -> Result<Paged<TokenView>> {
    use sea_orm::EntityTrait;
    page(
        &state.db,
        api_token::Entity::find(),
        api_token::Column::Id,
        &query,
        &uri,
    )
    .await
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<TokenView>> {
    use sea_orm::EntityTrait;
    api_token::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .map(|row| Json(row.into()))
        .ok_or(Error::NotFound { entity: "token" })
}

async fn revoke(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<NoContent> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    if !super::revoke(&txn, id).await? {
        return Err(Error::NotFound {
            entity: "live token",
        });
    }
    audit::by(&txn, &actor, "token.revoked", "api_token", id, json!({})).await?;
    txn.commit().await?;
    Ok(NoContent)
}

/// `/tokens` routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "tokens";
    ApiRouter::new()
        .api_route(
            "/tokens",
            get_with(list, doc(TAG, P::TokensManage, "List API tokens")).post_with(
                create,
                doc(TAG, P::TokensManage, "Make an API token (shown once)"),
            ),
        )
        .api_route(
            "/tokens/{id}",
            get_with(get_one, doc(TAG, P::TokensManage, "Read an API token"))
                .delete_with(revoke, doc(TAG, P::TokensManage, "Revoke an API token")),
        )
}
