//! The internal AAA endpoints FreeRADIUS calls through rlm_rest (`radius/radiusd.conf`), on a
//! listener of their own, apart from the public API, behind HTTP Basic with the AAA secret:
//!
//! - `GET /aaa/v1/nas/{address}`: the NAS as a FreeRADIUS client, or 404 (packets dropped);
//! - `POST /aaa/v1/authorize`: the login's password (or IPoE accept), or the reason it is
//!   refused before any password is checked;
//! - `POST /aaa/v1/post-auth`: on accept, the address and the plan's attributes (recorded); on
//!   reject, the reject and its reason (recorded);
//! - `POST /aaa/v1/accounting`: into sessions.
//!
//! A database failure answers 500: FreeRADIUS then does not answer, and the NAS retries.

use std::{net::IpAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{Path, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::json;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{
    entity::{LoginKind, auth_event, nas, service_login},
    ipam, nas as registry,
    radius::{self, Attributes, Reply, Speeds},
    sessions,
};
use crate::{
    api::AppState,
    billing::subscriptions::entity::subscription,
    catalog::entity::plan,
    db::new_id,
    domain::lifecycle::ServiceStatus,
    error::{Error, Result},
};

/// What suspended subscribers get when they sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SuspendedAccess {
    /// Access-Reject.
    Reject,
    /// An address from a walled-garden pool, without the plan's speeds.
    WalledGarden,
}

/// Network-access settings of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSettings {
    /// The Acct-Interim-Interval sent with every accept, in seconds.
    pub interim_seconds: u32,
    /// What suspended subscribers get.
    pub suspended: SuspendedAccess,
    /// The NAS filter (Filter-Id) a CoA puts a suspended subscriber's session in.
    pub walled_garden_filter: String,
    /// The NAS filter a CoA puts a resumed session back in.
    pub service_filter: String,
}

/// Why a sign-in is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No subscription signs in with this user name or MAC.
    UnknownLogin,
    /// The subscription is suspended (and suspended subscribers are rejected).
    Suspended,
    /// The subscription is pending or cancelled.
    NotActive,
    /// It already holds as many sessions as it may.
    SessionLimit,
    /// An IPoE login arrived on another circuit than its own.
    WrongCircuit,
    /// No pool for this NAS has a free address.
    NoAddress,
    /// The NAS was removed since FreeRADIUS looked it up.
    UnknownNas,
}

impl Refusal {
    /// The reason as recorded and sent to FreeRADIUS.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownLogin => "unknown-login",
            Self::Suspended => "suspended",
            Self::NotActive => "not-active",
            Self::SessionLimit => "session-limit",
            Self::WrongCircuit => "wrong-circuit",
            Self::NoAddress => "no-address",
            Self::UnknownNas => "unknown-nas",
        }
    }

    fn reply(self) -> Reply {
        Reply::default().text("control:DotMac-Reject-Reason", self.as_str())
    }
}

/// A sign-in's login and subscription, once found and allowed.
struct Admitted {
    nas: nas::Model,
    login: service_login::Model,
    subscription: subscription::Model,
    walled_garden: bool,
}

/// The AAA router, behind HTTP Basic with `secret`.
pub fn router(state: AppState, secret: String) -> Router {
    let secret = Arc::new(secret);
    Router::new()
        .route("/aaa/v1/nas/{address}", get(lookup_nas))
        .route("/aaa/v1/authorize", post(authorize))
        .route("/aaa/v1/post-auth", post(post_auth))
        .route("/aaa/v1/accounting", post(accounting))
        .route_layer(middleware::from_fn(
            move |headers: HeaderMap, request: Request, next: Next| {
                let secret = secret.clone();
                async move {
                    if signed_in(&headers, &secret) {
                        next.run(request).await
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            [(header::WWW_AUTHENTICATE, "Basic realm=\"aaa\"")],
                        )
                            .into_response()
                    }
                }
            },
        ))
        .with_state(state)
}

/// Whether the request carries HTTP Basic credentials with the AAA secret as the password.
fn signed_in(headers: &HeaderMap, secret: &str) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = data_encoding::BASE64.decode(encoded.trim().as_bytes()) else {
        return false;
    };
    let password = decoded
        .iter()
        .position(|b| *b == b':')
        .map_or(&decoded[..0], |i| &decoded[i + 1..]);
    bool::from(password.ct_eq(secret.as_bytes()))
}

/// An answer FreeRADIUS reads: 200 with attributes, or 204 with none.
fn answer(reply: Reply) -> Response {
    let json = reply.into_json();
    if json.as_object().is_some_and(serde_json::Map::is_empty) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(json).into_response()
    }
}

fn failed(tenant: &str, step: &str, error: &Error) -> Response {
    tracing::error!(%tenant, step, error = %error, "AAA request failed");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

async fn lookup_nas(State(state): State<AppState>, Path(address): Path<String>) -> Response {
    let Ok(address) = address.parse::<IpAddr>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match registry::by_source(&state.db, address).await {
        Ok(Some(nas)) => answer(
            Reply::default()
                .text("control:FreeRADIUS-Client-IP-Address", address.to_string())
                .text("control:FreeRADIUS-Client-Secret", nas.secret)
                .text("control:FreeRADIUS-Client-Shortname", nas.id.to_string())
                .text("control:FreeRADIUS-Client-NAS-Type", "other")
                .text("control:FreeRADIUS-Client-Require-MA", "yes"),
        ),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed(&state.settings.tenant, "nas", &e),
    }
}

/// The login a request signs in with: its User-Name, or for IPoE the MAC in User-Name or
/// Calling-Station-Id.
async fn login_of(
    db: &impl ConnectionTrait,
    attrs: &Attributes,
) -> Result<Option<service_login::Model>> {
    let username = attrs.text("User-Name").unwrap_or_default();
    let by_name = |name: String| {
        service_login::Entity::find()
            .filter(service_login::Column::Username.eq(name))
            .one(db)
    };
    if let Some(login) = by_name(username.clone()).await? {
        return Ok(Some(login));
    }
    let mac = radius::mac(&username).or_else(|| {
        attrs
            .text("Calling-Station-Id")
            .as_deref()
            .and_then(radius::mac)
    });
    match mac {
        Some(mac) => Ok(by_name(mac).await?.filter(|l| l.kind == LoginKind::Ipoe)),
        None => Ok(None),
    }
}

/// Finds the login and decides whether it may sign in now.
async fn admit(
    state: &AppState,
    attrs: &Attributes,
) -> Result<std::result::Result<Admitted, Refusal>> {
    let db = &state.db;
    let nas_id = attrs
        .text("DotMac-NAS-Id")
        .and_then(|id| Uuid::parse_str(&id).ok());
    let Some(nas) = (match nas_id {
        Some(id) => nas::Entity::find_by_id(id).one(db).await?,
        None => None,
    }) else {
        return Ok(Err(Refusal::UnknownNas));
    };
    let Some(login) = login_of(db, attrs).await? else {
        return Ok(Err(Refusal::UnknownLogin));
    };
    let subscription = subscription::Entity::find_by_id(login.subscription_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            entity: "subscription",
        })?;
    let walled_garden = match subscription.status {
        ServiceStatus::Active => false,
        ServiceStatus::Suspended => match state.settings.network.suspended {
            SuspendedAccess::WalledGarden => true,
            SuspendedAccess::Reject => return Ok(Err(Refusal::Suspended)),
        },
        ServiceStatus::Pending | ServiceStatus::Cancelled => return Ok(Err(Refusal::NotActive)),
    };
    if let Some(circuit) = &login.circuit_id {
        let arrived = attrs
            .text("ADSL-Agent-Circuit-Id")
            .map(|v| radius::octets_text(&v));
        if arrived.as_deref() != Some(circuit.as_str()) {
            return Ok(Err(Refusal::WrongCircuit));
        }
    }
    let live = sessions::live_count(db, subscription.id).await?;
    if live >= u64::try_from(login.max_sessions).unwrap_or(1) {
        return Ok(Err(Refusal::SessionLimit));
    }
    Ok(Ok(Admitted {
        nas,
        login,
        subscription,
        walled_garden,
    }))
}

async fn authorize(State(state): State<AppState>, Json(attrs): Json<Attributes>) -> Response {
    match admit(&state, &attrs).await {
        Ok(Ok(admitted)) => answer(match (admitted.login.kind, admitted.login.password) {
            (LoginKind::Pppoe, Some(password)) => {
                Reply::default().text("control:Cleartext-Password", password)
            }
            (LoginKind::Pppoe, None) => {
                return failed(
                    &state.settings.tenant,
                    "authorize",
                    &Error::Internal("a PPPoE login without a password".to_owned()),
                );
            }
            (LoginKind::Ipoe, _) => Reply::default().text("control:Auth-Type", "Accept"),
        }),
        Ok(Err(refusal)) => answer(refusal.reply()),
        Err(e) => failed(&state.settings.tenant, "authorize", &e),
    }
}

async fn post_auth(State(state): State<AppState>, Json(attrs): Json<Attributes>) -> Response {
    let outcome = if attrs.text("DotMac-Outcome").as_deref() == Some("reject") {
        record_reject(&state, &attrs)
            .await
            .map(|()| Reply::default())
    } else {
        accept(&state, &attrs).await
    };
    match outcome {
        Ok(reply) => answer(reply),
        Err(e) => failed(&state.settings.tenant, "post-auth", &e),
    }
}

/// The accept of an admitted sign-in: its address and attributes, recorded; or a refusal
/// (no free address, or a state that changed since authorize).
async fn accept(state: &AppState, attrs: &Attributes) -> Result<Reply> {
    let admitted = match admit(state, attrs).await? {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(refusal.reply()),
    };
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let pools = ipam::pools_for(&txn, &admitted.nas, admitted.walled_garden).await?;
    let address = ipam::lease(&txn, admitted.subscription.id, &pools).await?;
    let Some(address) = address else {
        txn.rollback().await?;
        return Ok(Refusal::NoAddress.reply());
    };
    let attribute = if address.contains(':') {
        "reply:Framed-IPv6-Address"
    } else {
        "reply:Framed-IP-Address"
    };
    let applied = if admitted.walled_garden {
        super::enforce::State::Walled
    } else {
        super::enforce::State::Service
    };
    let mut reply = Reply::default()
        .text(attribute, address.clone())
        .set(
            "reply:Acct-Interim-Interval",
            [json!(state.settings.network.interim_seconds)],
        )
        .text(
            "reply:Class",
            super::enforce::class(applied, admitted.subscription.plan_id),
        );
    if !admitted.walled_garden {
        let plan = plan::Entity::find_by_id(admitted.subscription.plan_id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound { entity: "plan" })?;
        if let (Some(down), Some(up)) = (plan.download_mbps, plan.upload_mbps) {
            let speeds = Speeds {
                down_mbps: i64::from(down),
                up_mbps: i64::from(up),
            };
            reply = reply.with(&radius::speed_settings(
                admitted.nas.vendor,
                speeds,
                &plan.code,
            ));
        }
    }
    record(
        &txn,
        &state.settings.tenant,
        attrs,
        Some(admitted.nas.id),
        Some(admitted.subscription.id),
        "accept",
        admitted.walled_garden.then_some("walled-garden"),
        Some(address),
    )
    .await?;
    txn.commit().await?;
    Ok(reply)
}

async fn record_reject(state: &AppState, attrs: &Attributes) -> Result<()> {
    let reason = attrs
        .text("DotMac-Reject-Reason")
        .unwrap_or_else(|| "wrong-password".to_owned());
    let nas = attrs
        .text("DotMac-NAS-Id")
        .and_then(|id| Uuid::parse_str(&id).ok());
    let nas = match nas {
        Some(id) => nas::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .map(|n| n.id),
        None => None,
    };
    let subscription = login_of(&state.db, attrs).await?.map(|l| l.subscription_id);
    let tenant = &state.settings.tenant;
    record(
        &state.db,
        tenant,
        attrs,
        nas,
        subscription,
        "reject",
        Some(&reason),
        None,
    )
    .await
}

#[allow(clippy::too_many_arguments, reason = "one row's columns")]
async fn record(
    db: &impl ConnectionTrait,
    tenant: &str,
    attrs: &Attributes,
    nas: Option<Uuid>,
    subscription: Option<Uuid>,
    outcome: &str,
    reason: Option<&str>,
    address: Option<String>,
) -> Result<()> {
    let username = attrs.text("User-Name").unwrap_or_default();
    tracing::info!(%tenant, %username, outcome, reason, address, "RADIUS sign-in");
    auth_event::ActiveModel {
        id: Set(new_id()),
        at: Set(chrono::Utc::now()),
        nas_id: Set(nas),
        username: Set(username),
        subscription_id: Set(subscription),
        outcome: Set(outcome.to_owned()),
        reason: Set(reason.map(str::to_owned)),
        address: Set(address),
        calling_station: Set(attrs.text("Calling-Station-Id")),
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn accounting(State(state): State<AppState>, Json(attrs): Json<Attributes>) -> Response {
    let Some(nas) = attrs
        .text("DotMac-NAS-Id")
        .and_then(|id| Uuid::parse_str(&id).ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let result = async {
        let txn = dotmac_sql::begin_write(&state.db).await?;
        sessions::account(&txn, nas, &attrs).await?;
        txn.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        // A record FreeRADIUS cannot make right by sending again is answered and logged.
        Err(Error::Invalid { field, message }) => {
            tracing::warn!(tenant = %state.settings.tenant, %field, %message, "accounting record refused");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => failed(&state.settings.tenant, "accounting", &e),
    }
}
