//! API tokens for programs: each has a staff role, is shown once when created, and can be
//! listed and revoked over the API (or created with `dotmac-isp admin create-token`). The
//! database keeps only its SHA-256 (tokens are 256 random bits, so a fast hash is enough), and
//! a request's token is looked up by that hash.

pub mod entity;
mod routes;

pub use routes::routes;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, sea_query::Expr,
};
use uuid::Uuid;

use crate::{db::new_id, people::Role, tokens::entity::api_token};
use dotmac_web::bearer::digest;

/// A token that failed to be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// No randomness.
    #[error("reading random bytes: {0}")]
    Random(#[from] getrandom::Error),
    /// Tokens take staff roles only.
    #[error("a token cannot have the subscriber role")]
    NotStaff,
    /// The database failed.
    #[error("storing the token: {0}")]
    Db(#[from] DbErr),
}

/// Creates a token for `tenant` and returns its row and the token itself, which is not stored.
pub async fn create(
    db: &impl ConnectionTrait,
    tenant: &str,
    name: &str,
    role: Role,
) -> Result<(api_token::Model, String), CreateError> {
    if !role.is_staff() {
        return Err(CreateError::NotStaff);
    }
    let token = dotmac_web::bearer::generate(&format!("dmi_{tenant}_"))?;
    let row = api_token::ActiveModel {
        id: Set(new_id()),
        name: Set(name.to_owned()),
        role: Set(role),
        token_hash: Set(digest(&token)),
        created_at: Set(chrono::Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((row, token))
}

/// The live token `token` is, or `None` when it is unknown (another tenant's, say) or revoked.
pub async fn verify(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<api_token::Model>, DbErr> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(digest(token)))
        .one(db)
        .await?
        .filter(|row| row.revoked_at.is_none()))
}

/// Revokes a token; `false` when there is no such live token.
pub async fn revoke(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let done = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}
