//! Service logins: how a subscription's router signs in. A PPPoE user name and password (kept,
//! sealed with OpenBao's transit key when the instance has it, so that CHAP can be checked, and
//! shown only when set), or IPoE by MAC address, optionally
//! bound to the option-82 circuit id it must arrive on; and how many sessions it may hold.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::{LoginKind, service_login},
    radius,
    secrets::Secrets,
    wire::LoginInput,
};
use crate::{
    api::Actor,
    audit,
    billing::subscriptions::entity::subscription,
    error::{Error, Result},
};

/// The length of a generated PPPoE password.
const GENERATED_PASSWORD: usize = 16;

/// The login of a subscription.
pub async fn find(db: &impl ConnectionTrait, subscription: Uuid) -> Result<service_login::Model> {
    service_login::Entity::find_by_id(subscription)
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            entity: "service login",
        })
}

/// Sets (or replaces) a subscription's login; answers it with the PPPoE password, which is
/// never shown again (and is kept sealed when the instance has OpenBao).
pub async fn set(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    secrets: &Secrets,
    subscription_id: Uuid,
    input: LoginInput,
) -> Result<(service_login::Model, Option<String>)> {
    subscription::Entity::find_by_id(subscription_id)
        .one(txn)
        .await?
        .ok_or(Error::NotFound {
            entity: "subscription",
        })?;
    let max_sessions = match input.max_sessions {
        None => 1,
        Some(n @ 1..=64) => n,
        Some(_) => return Err(Error::invalid("max_sessions", "must be 1 to 64")),
    };
    let (username, password, circuit) = match input.kind {
        LoginKind::Pppoe => {
            if input.mac.is_some() || input.circuit_id.is_some() {
                let field = if input.mac.is_some() {
                    "mac"
                } else {
                    "circuit_id"
                };
                return Err(Error::invalid(field, "is for IPoE logins"));
            }
            let Some(username) = input.username.as_deref().map(str::trim) else {
                return Err(Error::invalid("username", "is required for PPPoE"));
            };
            if username.is_empty()
                || username.len() > 64
                || !username.chars().all(|c| c.is_ascii_graphic())
            {
                return Err(Error::invalid(
                    "username",
                    "must be 1 to 64 printable characters without spaces",
                ));
            }
            let password = match input.password {
                Some(p) if (8..=128).contains(&p.len()) && !p.chars().any(char::is_control) => p,
                Some(_) => {
                    return Err(Error::invalid("password", "must be 8 to 128 characters"));
                }
                None => dotmac_identity::random_secret(GENERATED_PASSWORD)
                    .map_err(|e| Error::Internal(format!("no randomness for a password: {e}")))?,
            };
            (username.to_owned(), Some(password), None)
        }
        LoginKind::Ipoe => {
            if input.username.is_some() || input.password.is_some() {
                let field = if input.username.is_some() {
                    "username"
                } else {
                    "password"
                };
                return Err(Error::invalid(
                    field,
                    "is for PPPoE logins; IPoE signs in by MAC",
                ));
            }
            let mac = input
                .mac
                .as_deref()
                .ok_or_else(|| Error::invalid("mac", "is required for IPoE"))?;
            let mac =
                radius::mac(mac).ok_or_else(|| Error::invalid("mac", "is not a MAC address"))?;
            let circuit =
                crate::validate::optional_text("circuit_id", input.circuit_id.as_deref(), 253)?;
            (mac, None, circuit)
        }
    };
    let now = chrono::Utc::now();
    let existing = service_login::Entity::find_by_id(subscription_id)
        .one(txn)
        .await?;
    let replaced = existing.is_some();
    let mut model = match existing {
        Some(m) => m.into_active_model(),
        None => service_login::ActiveModel {
            subscription_id: Set(subscription_id),
            created_at: Set(now),
            ..Default::default()
        },
    };
    model.kind = Set(input.kind);
    model.username = Set(username);
    let stored = match &password {
        Some(password) => secrets.seal(password).await?.columns(),
        None => (None, None),
    };
    model.password = Set(stored.0);
    model.sealed_password = Set(stored.1);
    model.circuit_id = Set(circuit);
    model.max_sessions = Set(max_sessions);
    model.updated_at = Set(now);
    let saved = if replaced {
        model.update(txn).await
    } else {
        model.insert(txn).await
    }
    .map_err(|e| {
        let field = if input.kind == LoginKind::Ipoe {
            "mac"
        } else {
            "username"
        };
        Error::unique_as_conflict(e, field, "another subscription signs in with this")
    })?;
    audit::by(
        txn,
        actor,
        if replaced {
            "service_login.changed"
        } else {
            "service_login.created"
        },
        "subscription",
        subscription_id,
        json!({"kind": saved.kind, "username": saved.username, "max_sessions": saved.max_sessions}),
    )
    .await?;
    Ok((saved, password))
}
