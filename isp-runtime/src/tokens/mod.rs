//! Staff API tokens. A token is shown once, when created; the database keeps only its SHA-256
//! (tokens are 256 random bits, so a fast hash is enough), and a request's token is looked up
//! by that hash.

pub mod entity;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, DeriveActiveEnum, EntityTrait,
    EnumIter, QueryFilter,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{api::Actor, db::new_id, tokens::entity::api_token};
use dotmac_web::bearer::digest;

/// What a token may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
// Also the tokens' `role` column: a stored value outside the enum is a read error.
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    /// Everything.
    #[sea_orm(string_value = "staff")]
    Staff,
    /// Only reads.
    #[sea_orm(string_value = "readonly")]
    Readonly,
}

/// A token that failed to be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// No randomness.
    #[error("reading random bytes: {0}")]
    Random(#[from] getrandom::Error),
    /// The database failed.
    #[error("storing the token: {0}")]
    Db(#[from] DbErr),
}

/// Creates a token for `tenant` and returns its id and the token itself, which is not stored.
pub async fn create(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &str,
    name: &str,
    role: Role,
) -> Result<(Uuid, String), CreateError> {
    let token = dotmac_web::bearer::generate(&format!("dmi_{tenant}_"))?;
    let id = new_id();
    api_token::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        role: Set(role),
        token_hash: Set(digest(&token)),
        created_at: Set(chrono::Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((id, token))
}

/// The actor a token stands for, or `None` when it is unknown (another tenant's, say) or
/// revoked.
pub async fn verify(
    db: &impl sea_orm::ConnectionTrait,
    token: &str,
) -> Result<Option<Actor>, DbErr> {
    let Some(row) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(digest(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return Ok(None);
    }
    Ok(Some(Actor {
        token_id: row.id,
        name: row.name,
        role: row.role,
    }))
}
