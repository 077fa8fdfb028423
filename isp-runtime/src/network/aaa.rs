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
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{
    admission::{self, Address, Admitted, Decisions},
    auth_log::AuthLog,
    entity::{LoginKind, auth_event, service_login},
    interims::Interims,
    ipam, nas as registry,
    radius::{self, Attributes, Reply},
    sessions,
};
use crate::{
    api::AppState,
    db::new_id,
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
    /// What suspended subscribers get in the LibreQoS export.
    pub libreqos_suspended: super::libreqos::SuspendedShaping,
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
    /// The PAP password is not the login's.
    WrongPassword,
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
            Self::WrongPassword => "wrong-password",
        }
    }

    fn reply(self) -> Reply {
        Reply::default().text("control:DotMac-Reject-Reason", self.as_str())
    }
}

/// What the AAA handlers share: the instance, authorize's decisions for post-auth, the
/// writers of Interim-Updates and sign-in records, and where each pool last handed out.
#[derive(Clone)]
struct Aaa {
    app: AppState,
    decisions: Arc<Decisions>,
    interims: Interims,
    log: AuthLog,
    next_fit: ipam::NextFit,
}

/// The AAA router, behind HTTP Basic with `secret`; starts the writers of coalesced
/// Interim-Updates and of sign-in records, the latter on `records` (see
/// [`super::auth_log::connection`]).
pub fn router(state: AppState, secret: String, records: DatabaseConnection) -> Router {
    let secret = Arc::new(secret);
    let interims = Interims::default();
    interims.spawn_writer(state.db.clone(), state.settings.tenant.clone());
    let log = AuthLog::spawn(records, state.settings.tenant.clone());
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
        .with_state(Aaa {
            app: state,
            decisions: Arc::new(Decisions::default()),
            interims,
            log,
            next_fit: ipam::NextFit::default(),
        })
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

async fn lookup_nas(
    State(Aaa { app: state, .. }): State<Aaa>,
    Path(address): Path<String>,
) -> Response {
    let Ok(address) = address.parse::<IpAddr>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let found = async {
        let Some(nas) = registry::by_source(&state.db, address).await? else {
            return Ok(None);
        };
        let secret = state.network_secrets.nas_secret(&nas).await?;
        Ok::<_, Error>(Some((nas, secret)))
    }
    .await;
    match found {
        Ok(Some((nas, secret))) => answer(
            Reply::default()
                .text("control:FreeRADIUS-Client-IP-Address", address.to_string())
                .text("control:FreeRADIUS-Client-Secret", secret)
                .text("control:FreeRADIUS-Client-Shortname", nas.id.to_string())
                .text("control:FreeRADIUS-Client-NAS-Type", "other")
                .text("control:FreeRADIUS-Client-Require-MA", "yes"),
        ),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed(&state.settings.tenant, "nas", &e),
    }
}

/// The key authorize and post-auth of one request share: its Message-Authenticator.
fn request_key(attrs: &Attributes) -> Option<String> {
    attrs.text("Message-Authenticator")
}

/// Decides the request. PAP and IPoE are decided here, accept included (one round trip);
/// CHAP gets the cleartext password for FreeRADIUS to check, and post-auth accepts.
async fn authorize(State(aaa): State<Aaa>, Json(attrs): Json<Attributes>) -> Response {
    let state = &aaa.app;
    let decided = async {
        let admitted =
            match admission::admit(&state.db, &attrs, state.settings.network.suspended).await? {
                Ok(admitted) => admitted,
                Err(refusal) => return Ok(refusal.reply()),
            };
        let given = attrs.text("User-Password");
        let password = match admitted.password.clone() {
            Some(stored) => Some(state.network_secrets.password(stored).await?),
            None => None,
        };
        match (admitted.kind, password, given) {
            (LoginKind::Pppoe, Some(password), Some(given)) => {
                if bool::from(password.as_bytes().ct_eq(given.as_bytes())) {
                    accepted_here(accept(&aaa, &attrs, Some(admitted)).await?)
                } else {
                    Ok(Refusal::WrongPassword.reply())
                }
            }
            (LoginKind::Pppoe, Some(password), None) => {
                if let Some(key) = request_key(&attrs) {
                    aaa.decisions.keep(key, admitted);
                }
                Ok(Reply::default().text("control:Cleartext-Password", password))
            }
            (LoginKind::Pppoe, None, _) => Err(Error::Internal(
                "a PPPoE login without a password".to_owned(),
            )),
            (LoginKind::Ipoe, _, _) => accepted_here(accept(&aaa, &attrs, Some(admitted)).await?),
        }
    }
    .await;
    match decided {
        Ok(reply) => answer(reply),
        Err(e) => failed(&state.settings.tenant, "authorize", &e),
    }
}

/// An accept made at authorize: FreeRADIUS accepts without a check of its own and skips
/// post-auth's call, unless the accept was refused (no address).
fn accepted_here(reply: Reply) -> Result<Reply> {
    if reply.has("control:DotMac-Reject-Reason") {
        return Ok(reply);
    }
    Ok(reply
        .text("control:Auth-Type", "Accept")
        .text("control:DotMac-Accepted", "yes"))
}

async fn post_auth(State(aaa): State<Aaa>, Json(attrs): Json<Attributes>) -> Response {
    let state = &aaa.app;
    let outcome = if attrs.text("DotMac-Outcome").as_deref() == Some("reject") {
        if let Some(key) = request_key(&attrs) {
            aaa.decisions.take(&key);
        }
        record_reject(&aaa, &attrs).await.map(|()| Reply::default())
    } else {
        let decided = request_key(&attrs).and_then(|key| aaa.decisions.take(&key));
        accept(&aaa, &attrs, decided).await
    };
    match outcome {
        Ok(reply) => answer(reply),
        Err(e) => failed(&state.settings.tenant, "post-auth", &e),
    }
}

/// The accept of an admitted sign-in (as authorize decided it, or decided again): its address
/// and attributes, recorded; or a refusal (no free address).
async fn accept(aaa: &Aaa, attrs: &Attributes, decided: Option<Admitted>) -> Result<Reply> {
    let state = &aaa.app;
    let admitted = match decided {
        Some(admitted) => admitted,
        None => match admission::admit(&state.db, attrs, state.settings.network.suspended).await? {
            Ok(admitted) => admitted,
            Err(refusal) => return Ok(refusal.reply()),
        },
    };
    let place = admitted.place();
    let (db, next, subscription) = (&state.db, &aaa.next_fit, admitted.subscription_id);
    let address = match &admitted.address {
        Address::Keep(kept) => Some(kept.clone()),
        Address::New => ipam::allocate(db, next, subscription, &place).await?,
        Address::Unread => ipam::lease_for(db, next, subscription, &place).await?,
    };
    let Some(address) = address else {
        return Ok(Refusal::NoAddress.reply());
    };
    let username = attrs.text("User-Name").unwrap_or_default();
    aaa.log
        .record(auth_event::ActiveModel {
            id: Set(new_id()),
            at: Set(chrono::Utc::now()),
            nas_id: Set(Some(admitted.nas_id)),
            username: Set(username.clone()),
            subscription_id: Set(Some(admitted.subscription_id)),
            outcome: Set("accept".to_owned()),
            reason: Set(admitted.walled_garden.then(|| "walled-garden".to_owned())),
            address: Set(Some(address.clone())),
            calling_station: Set(attrs.text("Calling-Station-Id")),
        })
        .await?;
    let prefix = if admitted.delegation {
        ipam::lease_prefix(&state.db, &aaa.next_fit, admitted.subscription_id, &place).await?
    } else {
        None
    };
    let attribute = if address.contains(':') {
        "reply:Framed-IPv6-Address"
    } else {
        "reply:Framed-IP-Address"
    };
    let applied = match (admitted.walled_garden, admitted.throttled) {
        (true, _) => super::enforce::State::Walled,
        (false, true) => super::enforce::State::Throttled,
        (false, false) => super::enforce::State::Service,
    };
    let mut reply = Reply::default()
        .text(attribute, address.clone())
        .set(
            "reply:Acct-Interim-Interval",
            [json!(state.settings.network.interim_seconds)],
        )
        .text(
            "reply:Class",
            super::enforce::class(applied, admitted.plan_id),
        );
    if let (false, Some(speeds)) = (admitted.walled_garden, admitted.speeds) {
        reply = reply.with(&radius::speed_settings(
            admitted.vendor,
            speeds,
            &admitted.profile,
        ));
    }
    if let Some(prefix) = prefix {
        reply = reply.text("reply:Delegated-IPv6-Prefix", prefix);
    }
    tracing::debug!(tenant = %state.settings.tenant, %username, %address, "RADIUS accept");
    Ok(reply)
}

/// The login a rejected request named, for its record: by User-Name, or an IPoE login by MAC.
async fn login_of(
    db: &impl ConnectionTrait,
    attrs: &Attributes,
) -> Result<Option<service_login::Model>> {
    let by_name = |name: String| {
        service_login::Entity::find()
            .filter(service_login::Column::Username.eq(name))
            .one(db)
    };
    if let Some(login) = by_name(attrs.text("User-Name").unwrap_or_default()).await? {
        return Ok(Some(login));
    }
    match attrs.login_mac() {
        Some(mac) => Ok(by_name(mac).await?.filter(|l| l.kind == LoginKind::Ipoe)),
        None => Ok(None),
    }
}

async fn record_reject(aaa: &Aaa, attrs: &Attributes) -> Result<()> {
    let state = &aaa.app;
    let reason = attrs
        .text("DotMac-Reject-Reason")
        .unwrap_or_else(|| "wrong-password".to_owned());
    // auth_events is a log without foreign keys: the NAS FreeRADIUS named is recorded as is.
    let nas = attrs.nas_id();
    let subscription = login_of(&state.db, attrs).await?.map(|l| l.subscription_id);
    let username = attrs.text("User-Name").unwrap_or_default();
    tracing::debug!(tenant = %state.settings.tenant, %username, %reason, "RADIUS reject");
    aaa.log
        .record(auth_event::ActiveModel {
            id: Set(new_id()),
            at: Set(chrono::Utc::now()),
            nas_id: Set(nas),
            username: Set(username),
            subscription_id: Set(subscription),
            outcome: Set("reject".to_owned()),
            reason: Set(Some(reason)),
            address: Set(None),
            calling_station: Set(attrs.text("Calling-Station-Id")),
        })
        .await
}

async fn accounting(
    State(Aaa {
        app: state,
        interims,
        ..
    }): State<Aaa>,
    Json(attrs): Json<Attributes>,
) -> Response {
    let Some(nas) = attrs.nas_id() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let interim = attrs
        .text("Acct-Status-Type")
        .as_deref()
        .and_then(sessions::Status::parse)
        == Some(sessions::Status::Interim);
    if let (true, Some(session)) = (interim, attrs.text("Acct-Session-Id")) {
        interims.keep(nas, session, attrs);
        return StatusCode::NO_CONTENT.into_response();
    }
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
