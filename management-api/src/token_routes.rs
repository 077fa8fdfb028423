//! `/tokens`: the management API's tokens made, listed and revoked over the API (as
//! `dotmac-operator token` does on the command line). Admins manage every token; a reseller
//! manages its own reseller tokens. The operator's tokens (`bootstrap`, `instance:<tenant>`)
//! are not made or revoked here. Every change is audited.

use aide::axum::{ApiRouter, routing::get_with};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
    response::NoContent,
};
use dotmac_metering::entity::api_token;
use dotmac_web::{
    Created,
    extract::{Body, Params},
    page::{Page, Paged},
    problem::Problem,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Callers, doc};
use crate::{
    AppState, Caller, NamePage, audit, db_error, page_limit,
    path::Name,
    tokens::{self, Principal, Role, TokenError},
};

/// `POST /tokens`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A unique name, recorded in the audit log as the actor (1–100 characters).
    pub name: String,
    /// `admin`, `reseller` (needs `reseller`) or `tenant` (needs `tenant`).
    pub role: Role,
    /// The reseller a reseller token speaks for (a reseller's own token: itself).
    pub reseller: Option<String>,
    /// The tenant a tenant token speaks for.
    pub tenant: Option<String>,
}

/// A token as listed; the token itself is shown only when made.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TokenView {
    /// Its name.
    pub name: String,
    /// `admin`, `reseller` or `tenant`.
    pub role: String,
    /// The reseller it is bound to.
    pub reseller: Option<String>,
    /// The tenant it is bound to.
    pub tenant: Option<String>,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was revoked.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<api_token::Model> for TokenView {
    fn from(row: api_token::Model) -> Self {
        Self {
            name: row.name,
            role: row.role,
            reseller: row.reseller,
            tenant: row.tenant,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A token just made, shown this once.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MadeToken {
    /// Its name.
    pub name: String,
    /// The bearer token; it cannot be shown again.
    pub token: String,
}

/// Names the operator keeps for itself.
fn reserved(name: &str) -> bool {
    name == "bootstrap" || name.starts_with("instance:")
}

/// Whether `principal` may see or revoke the token `row`.
fn manages(principal: &Principal, row: &api_token::Model) -> bool {
    match principal {
        Principal::Admin => true,
        Principal::Reseller(own) => row.role == "reseller" && row.reseller.as_deref() == Some(own),
        Principal::Tenant(_) => false,
    }
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<NamePage>,
) -> Result<Paged<TokenView, String>, Problem> {
    let limit = page_limit(query.limit)?;
    let mut select = api_token::Entity::find().order_by_asc(api_token::Column::Name);
    match &principal {
        Principal::Admin => {}
        Principal::Reseller(own) => {
            select = select
                .filter(api_token::Column::Role.eq("reseller"))
                .filter(api_token::Column::Reseller.eq(own.as_str()));
        }
        Principal::Tenant(_) => return Err(Problem::forbidden("a tenant token manages no tokens")),
    }
    if let Some(after) = &query.cursor {
        select = select.filter(api_token::Column::Name.gt(after.as_str()));
    }
    let rows = select
        .limit(limit + 1)
        .all(&state.db)
        .await
        .map_err(db_error)?;
    let items = rows.into_iter().map(TokenView::from).collect();
    Ok(Page::new(items, limit, |t: &TokenView| t.name.clone()).respond(&uri))
}

async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    Body(input): Body<NewToken>,
) -> Result<Created<MadeToken>, Problem> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 || reserved(name) {
        return Err(Problem::invalid(
            "name",
            "must be 1–100 characters, and not bootstrap or instance:… (the operator's)",
        ));
    }
    let mut reseller = input.reseller.clone();
    if let Principal::Reseller(own) = &principal {
        if input.role != Role::Reseller || input.tenant.is_some() {
            return Err(
                Problem::forbidden("a reseller makes reseller tokens for itself only")
                    .with_field("role"),
            );
        }
        match reseller.as_deref() {
            None => reseller = Some(own.clone()),
            Some(other) if other == own => {}
            Some(_) => {
                return Err(
                    Problem::forbidden("a reseller makes tokens for itself only")
                        .with_field("reseller"),
                );
            }
        }
    }
    let token = tokens::create(
        &state.db,
        name,
        input.role,
        reseller.as_deref(),
        input.tenant.as_deref(),
    )
    .await
    .map_err(|e| match e {
        TokenError::Binding(message) => Problem::invalid("role", message),
        TokenError::Db(error)
            if matches!(
                error.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Problem::conflict("a token with this name exists").with_field("name")
        }
        TokenError::Db(error) => db_error(error),
        TokenError::Random(error) => {
            tracing::error!(%error, "no randomness for a token");
            Problem::internal()
        }
    })?;
    let detail =
        json!({ "name": name, "role": input.role, "reseller": reseller, "tenant": input.tenant });
    let concerns = audit::Concerns {
        tenant: input.tenant.as_deref(),
        reseller: reseller.as_deref(),
    };
    audit::record(&state.db, &caller, "token.created", concerns, detail).await;
    Ok(Created::new(
        format!("/api/v1/tokens/{name}"),
        MadeToken {
            name: name.to_owned(),
            token,
        },
    ))
}

async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Name(name): Name,
) -> Result<Json<TokenView>, Problem> {
    find(&state, &principal, &name)
        .await
        .map(|row| Json(row.into()))
}

async fn revoke(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    Name(name): Name,
) -> Result<NoContent, Problem> {
    let row = find(&state, &principal, &name).await?;
    if reserved(&row.name) {
        return Err(Problem::conflict(
            "the operator keeps this token; it is rotated, not revoked",
        ));
    }
    if !tokens::revoke(&state.db, &name).await.map_err(db_error)? {
        return Err(Problem::not_found("no such live token"));
    }
    state.forget_token(&row.token_hash);
    let detail = json!({ "name": name });
    let concerns = audit::Concerns {
        tenant: row.tenant.as_deref(),
        reseller: row.reseller.as_deref(),
    };
    audit::record(&state.db, &caller, "token.revoked", concerns, detail).await;
    Ok(NoContent)
}

/// The token `name`, when `principal` manages it; else 404, so a reseller learns nothing of
/// others' tokens.
async fn find(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<api_token::Model, Problem> {
    api_token::Entity::find()
        .filter(api_token::Column::Name.eq(name))
        .one(&state.db)
        .await
        .map_err(db_error)?
        .filter(|row| manages(principal, row))
        .ok_or_else(|| Problem::not_found("no such token"))
}

/// The token routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "tokens";
    ApiRouter::new()
        .api_route(
            "/tokens",
            get_with(
                list,
                doc(TAG, Callers::People, "List the tokens the caller manages"),
            )
            .post_with(
                create,
                doc(TAG, Callers::People, "Make a token (shown once)"),
            ),
        )
        .api_route(
            "/tokens/{name}",
            get_with(get_one, doc(TAG, Callers::People, "Read a token")).delete_with(
                revoke,
                doc(
                    TAG,
                    Callers::People,
                    "Revoke a token (at once on this replica, within 5 s on others)",
                ),
            ),
        )
}
