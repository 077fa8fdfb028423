//! API tokens of the management API: admin, reseller (bound to one Reseller) and tenant (bound
//! to one Tenant, for its instance). Shown once when made; only their SHA-256 is stored.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, sea_query::Expr,
};

use dotmac_metering::entity::api_token;
use dotmac_web::bearer::digest;

/// Who a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The platform's operators: everything.
    Admin,
    /// A reseller: its own tenants only.
    Reseller(String),
    /// A tenant's instance: its own telemetry, usage and entitlements only.
    Tenant(String),
}

/// The role of a token to create.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// One reseller's tenants.
    Reseller,
    /// One tenant's instance.
    Tenant,
}

/// A token that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No randomness.
    #[error("reading random bytes: {0}")]
    Random(#[from] getrandom::Error),
    /// The role needs its binding, or has one it must not.
    #[error("{0}")]
    Binding(&'static str),
    /// The database failed (a name already taken, say).
    #[error("storing the token: {0}")]
    Db(#[from] DbErr),
}

/// Creates a token and returns it; it is not stored, only its hash.
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    role: Role,
    reseller: Option<&str>,
    tenant: Option<&str>,
) -> Result<String, TokenError> {
    let (role, reseller, tenant) = match (role, reseller, tenant) {
        (Role::Admin, None, None) => ("admin", None, None),
        (Role::Reseller, Some(r), None) => ("reseller", Some(r), None),
        (Role::Tenant, None, Some(t)) => ("tenant", None, Some(t)),
        (Role::Admin, _, _) => {
            return Err(TokenError::Binding(
                "an admin token is bound to no reseller or tenant",
            ));
        }
        (Role::Reseller, _, _) => {
            return Err(TokenError::Binding(
                "a reseller token needs --reseller (and no --tenant)",
            ));
        }
        (Role::Tenant, _, _) => {
            return Err(TokenError::Binding(
                "a tenant token needs --tenant (and no --reseller)",
            ));
        }
    };
    let token = dotmac_web::bearer::generate("dmp_")?;
    store(db, name, role, reseller, tenant, &digest(&token)).await?;
    Ok(token)
}

async fn store(
    db: &impl ConnectionTrait,
    name: &str,
    role: &str,
    reseller: Option<&str>,
    tenant: Option<&str>,
    hash: &str,
) -> Result<(), DbErr> {
    api_token::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        name: Set(name.to_owned()),
        role: Set(role.to_owned()),
        reseller: Set(reseller.map(str::to_owned)),
        tenant: Set(tenant.map(str::to_owned)),
        token_hash: Set(hash.to_owned()),
        created_at: Set(chrono::Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Makes `token` (read from the bootstrap file) the admin token named `bootstrap`, replacing an
/// earlier bootstrap token.
pub async fn bootstrap(db: &impl ConnectionTrait, token: &str) -> Result<(), DbErr> {
    let hash = digest(token.trim());
    let existing = api_token::Entity::find()
        .filter(api_token::Column::Name.eq("bootstrap"))
        .one(db)
        .await?;
    match existing {
        Some(row) if row.token_hash == hash && row.revoked_at.is_none() => Ok(()),
        Some(_) => api_token::Entity::update_many()
            .col_expr(api_token::Column::TokenHash, Expr::value(hash))
            .col_expr(
                api_token::Column::RevokedAt,
                Expr::value(Option::<sea_orm::prelude::DateTimeUtc>::None),
            )
            .filter(api_token::Column::Name.eq("bootstrap"))
            .exec(db)
            .await
            .map(|_| ()),
        None => store(db, "bootstrap", "admin", None, None, &hash).await,
    }
}

/// The name of the token the operator keeps for `tenant`'s instance.
pub fn instance_token_name(tenant: &str) -> String {
    format!("instance:{tenant}")
}

/// Makes `token` the live token of `tenant`'s instance: the operator keeps the token in the
/// tenant's credentials and this row in step with it. Writes only when the row is missing,
/// revoked or holds another token (a rotation), so a steady reconcile only reads.
pub async fn ensure_instance(
    db: &impl ConnectionTrait,
    tenant: &str,
    token: &str,
) -> Result<(), DbErr> {
    let name = instance_token_name(tenant);
    let hash = digest(token);
    let existing = api_token::Entity::find()
        .filter(api_token::Column::Name.eq(&name))
        .one(db)
        .await?;
    match existing {
        Some(row)
            if row.token_hash == hash
                && row.revoked_at.is_none()
                && row.tenant.as_deref() == Some(tenant) =>
        {
            Ok(())
        }
        Some(_) => api_token::Entity::update_many()
            .col_expr(api_token::Column::TokenHash, Expr::value(hash))
            .col_expr(api_token::Column::Role, Expr::value("tenant"))
            .col_expr(api_token::Column::Tenant, Expr::value(tenant))
            .col_expr(
                api_token::Column::RevokedAt,
                Expr::value(Option::<sea_orm::prelude::DateTimeUtc>::None),
            )
            .filter(api_token::Column::Name.eq(&name))
            .exec(db)
            .await
            .map(|_| ()),
        None => store(db, &name, "tenant", None, Some(tenant), &hash).await,
    }
}

/// Revokes the token named `name`; `false` when there is none.
pub async fn revoke(db: &impl ConnectionTrait, name: &str) -> Result<bool, DbErr> {
    let result = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(api_token::Column::Name.eq(name))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// A live token: who it speaks for, and its name (the audit log's actor).
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who it speaks for.
    pub principal: Principal,
    /// Its name.
    pub name: String,
}

/// The live token `token` is.
pub async fn verify(db: &impl ConnectionTrait, token: &str) -> Result<Option<Verified>, DbErr> {
    let Some(row) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(digest(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(principal_of(&row).map(|principal| Verified {
        principal,
        name: row.name,
    }))
}

/// Who a stored token speaks for; `None` for a row whose role lacks its binding.
fn principal_of(row: &api_token::Model) -> Option<Principal> {
    match (row.role.as_str(), &row.reseller, &row.tenant) {
        ("admin", _, _) => Some(Principal::Admin),
        ("reseller", Some(reseller), _) => Some(Principal::Reseller(reseller.clone())),
        ("tenant", _, Some(tenant)) => Some(Principal::Tenant(tenant.clone())),
        _ => None,
    }
}
