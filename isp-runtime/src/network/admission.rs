//! Whether a sign-in may go ahead: its NAS, login, subscription, plan and live sessions read in
//! one query, then decided by a pure function. What authorize decided is kept for a few
//! seconds by the request's Message-Authenticator, so that post-auth (the same request, a few
//! milliseconds later) does not read it all again.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::{
    aaa::{Refusal, SuspendedAccess},
    entity::{LoginKind, Vendor},
    ipam::{self, Held},
    radius::{self, Attributes, Speeds},
    secrets::StoredPassword,
};
use crate::{
    domain::lifecycle::ServiceStatus,
    error::{Error, Result},
};

/// A sign-in's NAS and, when the login is known, its subscription and plan.
#[derive(Debug, Clone, FromQueryResult)]
pub struct SignIn {
    /// The NAS.
    pub nas_id: Uuid,
    /// Its vendor.
    pub vendor: Vendor,
    /// Its site.
    pub nas_site: Option<String>,
    /// The login's subscription; none for an unknown login.
    pub subscription_id: Option<Uuid>,
    /// PPPoE or IPoE.
    pub kind: Option<LoginKind>,
    /// The PPPoE password, when kept in the clear.
    pub password: Option<String>,
    /// The PPPoE password sealed with OpenBao's transit key.
    pub sealed_password: Option<String>,
    /// The IPoE circuit it must arrive on.
    pub circuit_id: Option<String>,
    /// Most sessions at once.
    pub max_sessions: Option<i32>,
    /// The subscription's status.
    pub status: Option<ServiceStatus>,
    /// Its plan.
    pub plan_id: Option<Uuid>,
    /// The plan's code (a Juniper profile's name).
    pub plan_code: Option<String>,
    /// The plan's download speed.
    pub download_mbps: Option<i32>,
    /// The plan's upload speed.
    pub upload_mbps: Option<i32>,
    /// The plan's fair-use download speed.
    pub fair_use_download_mbps: Option<i32>,
    /// The plan's fair-use upload speed.
    pub fair_use_upload_mbps: Option<i32>,
    /// The subscription's live sessions.
    pub live: Option<i64>,
    /// Whether it is over its allowance and throttled this period.
    pub throttled: bool,
    /// Whether any pool delegates IPv6 prefixes.
    pub delegation: bool,
    /// What the subscription holds (a JSON array of [`Held`], each one an array of its fields
    /// in order; read on PostgreSQL only, elsewhere the lease finds it).
    pub held: Option<serde_json::Value>,
}

/// A sign-in that may go ahead.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The NAS.
    pub nas_id: Uuid,
    /// Its vendor.
    pub vendor: Vendor,
    /// Its site.
    pub nas_site: Option<String>,
    /// The subscription.
    pub subscription_id: Uuid,
    /// PPPoE or IPoE.
    pub kind: LoginKind,
    /// The PPPoE password FreeRADIUS checks PAP or CHAP against, as stored.
    pub password: Option<StoredPassword>,
    /// The plan.
    pub plan_id: Uuid,
    /// The profile a Juniper NAS applies (the plan's code, `-fair-use` when throttled).
    pub profile: String,
    /// Its speeds (fair-use ones when throttled), when it has both.
    pub speeds: Option<Speeds>,
    /// Over its allowance and throttled this period.
    pub throttled: bool,
    /// Whether to look for an IPv6 prefix to delegate.
    pub delegation: bool,
    /// The most sessions the login may hold (and so addresses: see [`super::ipam::Place`]).
    pub most_sessions: u32,
    /// Into the walled garden (suspended) rather than service.
    pub walled_garden: bool,
    /// Its address.
    pub address: Address,
}

/// The address an admitted sign-in gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// The one it holds there ([`ipam::kept`]).
    Keep(String),
    /// A new one ([`ipam::allocate`]): it holds none it may keep.
    New,
    /// Whatever [`ipam::lease_for`] finds: the read did not show what it holds (SQLite).
    Unread,
}

impl Admitted {
    /// Where it takes its address from.
    pub fn place(&self) -> ipam::Place {
        ipam::Place {
            nas: self.nas_id,
            site: self.nas_site.clone(),
            walled_garden: self.walled_garden,
            most_sessions: self.most_sessions,
        }
    }
}

/// Reads the sign-in of `username` through `nas`; `None` when there is no such NAS. With
/// `ipoe_only`, only an IPoE login matches.
pub async fn look_up(
    db: &impl ConnectionTrait,
    nas: Uuid,
    username: &str,
    ipoe_only: bool,
) -> Result<Option<SignIn>> {
    let kind = if ipoe_only {
        " AND l.kind = 'ipoe'"
    } else {
        ""
    };
    let held = if db.get_database_backend() == DbBackend::Postgres {
        // Each address as an array in `Held`'s field order (serde reads a struct from one):
        // with an object of named keys per address, this query, which every sign-in makes,
        // costs PostgreSQL a fifth more.
        "(SELECT COALESCE(json_agg(json_build_array(a.address, a.static, \
         a.session_id IS NOT NULL, a.assigned_at, d.nas_id, d.site, d.walled_garden, \
         d.delegated_length IS NOT NULL)), '[]') \
         FROM ip_addresses a JOIN ip_pools d ON d.id = a.pool_id \
         WHERE a.subscription_id = l.subscription_id)"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT n.id AS nas_id, n.vendor, n.site AS nas_site, l.subscription_id, l.kind, \
         l.password, l.sealed_password, l.circuit_id, l.max_sessions, s.status, s.plan_id, p.code AS plan_code, \
         p.download_mbps, p.upload_mbps, p.fair_use_download_mbps, p.fair_use_upload_mbps, \
         (SELECT COUNT(*) FROM radius_sessions r WHERE r.subscription_id = l.subscription_id \
          AND r.stopped_at IS NULL) AS live, \
         EXISTS (SELECT 1 FROM fair_use f WHERE f.subscription_id = l.subscription_id \
          AND f.throttled_at IS NOT NULL AND f.period_end > $3) AS throttled, \
         EXISTS (SELECT 1 FROM ip_pools d WHERE d.delegated_length IS NOT NULL) AS delegation, \
         {held} AS held \
         FROM nas n \
         LEFT JOIN service_logins l ON l.username = $2{kind} \
         LEFT JOIN subscriptions s ON s.id = l.subscription_id \
         LEFT JOIN plans p ON p.id = s.plan_id \
         WHERE n.id = $1"
    );
    Ok(SignIn::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [
            nas.into(),
            username.into(),
            chrono::Utc::now().date_naive().into(),
        ],
    ))
    .one(db)
    .await?)
}

/// Decides a sign-in: the subscription's status, the circuit, the session limit; and, of what
/// it `held` (when read), the address it keeps.
pub fn decide(
    sign_in: SignIn,
    held: Option<&[Held]>,
    attrs: &Attributes,
    suspended: SuspendedAccess,
) -> std::result::Result<Admitted, Refusal> {
    let (
        Some(subscription_id),
        Some(kind),
        Some(status),
        Some(plan_id),
        Some(plan_code),
        Some(max_sessions),
    ) = (
        sign_in.subscription_id,
        sign_in.kind,
        sign_in.status,
        sign_in.plan_id,
        sign_in.plan_code,
        sign_in.max_sessions,
    )
    else {
        return Err(Refusal::UnknownLogin);
    };
    let walled_garden = match (status, suspended) {
        (ServiceStatus::Active, _) => false,
        (ServiceStatus::Suspended, SuspendedAccess::WalledGarden) => true,
        (ServiceStatus::Suspended, SuspendedAccess::Reject) => return Err(Refusal::Suspended),
        (ServiceStatus::Pending | ServiceStatus::Cancelled, _) => {
            return Err(Refusal::NotActive);
        }
    };
    if let Some(circuit) = &sign_in.circuit_id {
        let arrived = attrs
            .text("ADSL-Agent-Circuit-Id")
            .map(|v| radius::octets_text(&v));
        if arrived.as_deref() != Some(circuit.as_str()) {
            return Err(Refusal::WrongCircuit);
        }
    }
    if sign_in.live.unwrap_or(0) >= i64::from(max_sessions) {
        return Err(Refusal::SessionLimit);
    }
    let throttled = sign_in.throttled;
    let speeds = if throttled {
        Speeds::of(sign_in.fair_use_download_mbps, sign_in.fair_use_upload_mbps)
    } else {
        Speeds::of(sign_in.download_mbps, sign_in.upload_mbps)
    };
    let profile = radius::profile(&plan_code, throttled);
    let mut admitted = Admitted {
        nas_id: sign_in.nas_id,
        vendor: sign_in.vendor,
        nas_site: sign_in.nas_site,
        subscription_id,
        kind,
        password: match (sign_in.password, sign_in.sealed_password) {
            (_, Some(sealed)) => Some(StoredPassword::Sealed(sealed)),
            (Some(clear), None) => Some(StoredPassword::Clear(clear)),
            (None, None) => None,
        },
        plan_id,
        profile,
        speeds,
        throttled,
        delegation: sign_in.delegation,
        // The API takes 1 to 64.
        most_sessions: max_sessions.unsigned_abs(),
        walled_garden,
        address: Address::Unread,
    };
    if let Some(held) = held {
        let place = admitted.place();
        let there: Vec<&Held> = held.iter().filter(|h| h.serves(&place)).collect();
        admitted.address = match ipam::kept(&there, place.most_sessions) {
            Some(own) => Address::Keep(own.address.clone()),
            None => Address::New,
        };
    }
    Ok(admitted)
}

/// Finds and decides the sign-in a request makes: by its User-Name, or for IPoE by the MAC in
/// User-Name or Calling-Station-Id. `None` when the NAS is not (or no longer) registered.
pub async fn admit(
    db: &impl ConnectionTrait,
    attrs: &Attributes,
    suspended: SuspendedAccess,
) -> Result<std::result::Result<Admitted, Refusal>> {
    let Some(nas) = attrs.nas_id() else {
        return Ok(Err(Refusal::UnknownNas));
    };
    let username = attrs.text("User-Name").unwrap_or_default();
    let Some(mut sign_in) = look_up(db, nas, &username, false).await? else {
        return Ok(Err(Refusal::UnknownNas));
    };
    if sign_in.subscription_id.is_none() {
        let mac = attrs.login_mac();
        if let Some(mac) = mac
            && let Some(by_mac) = look_up(db, nas, &mac, true).await?
        {
            sign_in = by_mac;
        }
    }
    let held: Option<Vec<Held>> = sign_in
        .held
        .take()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Error::Internal(format!("reading a sign-in's addresses: {e}")))?;
    Ok(decide(sign_in, held.as_deref(), attrs, suspended))
}

/// How long authorize's decision waits for its post-auth.
const KEEP: Duration = Duration::from_secs(10);
/// The most decisions kept; older ones go first when it is full.
const MOST: usize = 100_000;

/// Authorize's decisions by request (its Message-Authenticator), for post-auth.
#[derive(Debug, Default)]
pub struct Decisions(Mutex<HashMap<String, (Instant, Admitted)>>);

impl Decisions {
    /// Keeps `admitted` for the request `key`.
    pub fn keep(&self, key: String, admitted: Admitted) {
        let Ok(mut map) = self.0.lock() else { return };
        if map.len() >= MOST {
            let now = Instant::now();
            map.retain(|_, (at, _)| now.duration_since(*at) < KEEP);
            if map.len() >= MOST {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), admitted));
    }

    /// Takes the decision for request `key`, if it is recent.
    pub fn take(&self, key: &str) -> Option<Admitted> {
        let mut map = self.0.lock().ok()?;
        let (at, admitted) = map.remove(key)?;
        (at.elapsed() < KEEP).then_some(admitted)
    }
}
