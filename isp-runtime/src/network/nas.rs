//! The NAS registry: the routers that may ask RADIUS, each with its shared secret (shown only
//! when it is made), vendor, CoA port and site. FreeRADIUS looks a NAS up here by the packet's
//! source address; a lookup for an address not registered is counted.

use std::net::IpAddr;

use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Statement,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::{Vendor, nas, unknown_nas},
    secrets::Secrets,
    wire::{NasPatch, NewNas},
};
use crate::{
    api::Actor,
    audit,
    db::new_id,
    error::{Error, Result},
    validate,
};

/// The shortest shared secret accepted: RFC 2865 §3 asks for at least 16 octets.
const MIN_SECRET: usize = 16;
/// The length of a generated shared secret.
const GENERATED_SECRET: usize = 32;

/// A NAS by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<nas::Model> {
    nas::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "NAS" })
}

/// An address in its canonical form (`::ffff:10.0.0.1` is `10.0.0.1`).
pub fn canonical_address(field: &str, text: &str) -> Result<IpAddr> {
    let address: IpAddr = text
        .trim()
        .parse()
        .map_err(|_| Error::invalid(field, "is not an IPv4 or IPv6 address"))?;
    Ok(address.to_canonical())
}

/// Registers a NAS; answers it with its secret, which is never shown again. The secret is kept
/// in OpenBao when the instance has it.
pub async fn create(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    secrets: &Secrets,
    input: NewNas,
) -> Result<(nas::Model, String)> {
    let name = validate::text("name", &input.name, 100)?;
    let address = canonical_address("address", &input.address)?;
    if address.is_unspecified() || address.is_multicast() {
        return Err(Error::invalid(
            "address",
            "must be a NAS's own unicast address",
        ));
    }
    let secret = match input.secret {
        Some(secret) => {
            if secret.len() < MIN_SECRET || secret.len() > 128 {
                return Err(Error::invalid(
                    "secret",
                    format!("must be {MIN_SECRET} to 128 characters"),
                ));
            }
            if !secret.chars().all(|c| c.is_ascii_graphic()) {
                return Err(Error::invalid(
                    "secret",
                    "must be printable ASCII without spaces",
                ));
            }
            secret
        }
        None => dotmac_identity::random_secret(GENERATED_SECRET)
            .map_err(|e| Error::Internal(format!("no randomness for a NAS secret: {e}")))?,
    };
    let coa_port = match input.coa_port {
        None => 3799,
        Some(port @ 1..=65535) => port,
        Some(_) => return Err(Error::invalid("coa_port", "must be 1 to 65535")),
    };
    let site = validate::optional_text("site", input.site.as_deref(), 100)?;
    let now = chrono::Utc::now();
    let id = new_id();
    let kept = secrets.keep_nas(id, &secret).await?;
    let model = nas::ActiveModel {
        id: Set(id),
        name: Set(name),
        address: Set(address.to_string()),
        secret: Set(kept),
        vendor: Set(input.vendor.unwrap_or(Vendor::Generic)),
        coa_port: Set(coa_port),
        site: Set(site),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(|e| {
        let field = if e.to_string().contains("address") {
            "address"
        } else {
            "name"
        };
        Error::unique_as_conflict(e, field, &format!("another NAS has this {field}"))
    })?;
    audit::by(
        txn,
        actor,
        "nas.created",
        "nas",
        model.id,
        json!({"name": model.name, "address": model.address, "vendor": model.vendor}),
    )
    .await?;
    Ok((model, secret))
}

/// The registered NAS whose packets come from `address`; a miss is counted against the
/// address.
pub async fn by_source(db: &impl ConnectionTrait, address: IpAddr) -> Result<Option<nas::Model>> {
    let address = address.to_canonical().to_string();
    let found = nas::Entity::find()
        .filter(nas::Column::Address.eq(&address))
        .one(db)
        .await?;
    if found.is_none() {
        let now = chrono::Utc::now();
        unknown_nas::Entity::insert(unknown_nas::ActiveModel {
            address: Set(address.clone()),
            lookups: Set(1),
            first_seen_at: Set(now),
            last_seen_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(unknown_nas::Column::Address)
                .value(
                    unknown_nas::Column::Lookups,
                    Expr::col((unknown_nas::Entity, unknown_nas::Column::Lookups)).add(1),
                )
                .value(unknown_nas::Column::LastSeenAt, now)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        tracing::warn!(%address, "RADIUS from an address that is no registered NAS: dropped");
    }
    Ok(found)
}

/// How many lookups came from addresses that are no registered NAS.
pub async fn unknown_lookups(db: &impl ConnectionTrait) -> Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COALESCE(SUM(lookups), 0) AS BIGINT) FROM unknown_nas",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

/// Changes what `input` names (the address and secret stay: a new router is a new NAS).
pub async fn update(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    input: NasPatch,
) -> Result<nas::Model> {
    let current = find(txn, id).await?;
    let mut model = current.into_active_model();
    if let Some(name) = &input.name {
        model.name = Set(validate::text("name", name, 100)?);
    }
    if let Some(vendor) = input.vendor {
        model.vendor = Set(vendor);
    }
    if let Some(port) = input.coa_port {
        if !(1..=65535).contains(&port) {
            return Err(Error::invalid("coa_port", "must be 1 to 65535"));
        }
        model.coa_port = Set(port);
    }
    if let Some(site) = &input.site {
        model.site = Set(Some(validate::text("site", site, 100)?));
    }
    model.updated_at = Set(chrono::Utc::now());
    let updated = model
        .update(txn)
        .await
        .map_err(|e| Error::unique_as_conflict(e, "name", "another NAS has this name"))?;
    audit::by(
        txn,
        actor,
        "nas.changed",
        "nas",
        id,
        json!({"name": updated.name, "vendor": updated.vendor, "coa_port": updated.coa_port, "site": updated.site}),
    )
    .await?;
    Ok(updated)
}
