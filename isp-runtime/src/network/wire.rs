//! What the network-access API reads and writes: NAS, service logins, pools, sessions and
//! sign-in events.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::{
    LoginKind, Vendor, auth_event, coa_request, ip_pool, nas, radius_session, service_login,
};

/// `POST /nas`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNas {
    /// Unique name.
    pub name: String,
    /// The address its RADIUS packets come from (unique).
    pub address: String,
    /// RADIUS shared secret, 16 to 128 printable characters; generated when left out. Shown
    /// only in this answer.
    pub secret: Option<String>,
    /// Which attributes carry speeds: `mikrotik`, `cisco`, `juniper`, `generic` (default).
    pub vendor: Option<Vendor>,
    /// Its CoA and Disconnect port (3799 by default).
    pub coa_port: Option<i32>,
    /// The site it serves.
    pub site: Option<String>,
}

/// `PATCH /nas/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NasPatch {
    /// Unique name.
    pub name: Option<String>,
    /// Which attributes carry speeds.
    pub vendor: Option<Vendor>,
    /// Its CoA and Disconnect port.
    pub coa_port: Option<i32>,
    /// The site it serves.
    pub site: Option<String>,
}

/// A NAS as the API shows it (never its secret).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NasView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Source address of its packets.
    pub address: String,
    /// Vendor.
    pub vendor: Vendor,
    /// CoA port.
    pub coa_port: i32,
    /// Site.
    pub site: Option<String>,
    /// When it was registered.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<nas::Model> for NasView {
    fn from(m: nas::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            address: m.address,
            vendor: m.vendor,
            coa_port: m.coa_port,
            site: m.site,
            created_at: m.created_at,
        }
    }
}

/// A NAS just registered, with its shared secret (shown this once).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NasCreated {
    /// The NAS.
    #[serde(flatten)]
    pub nas: NasView,
    /// The shared secret to configure on the NAS.
    pub secret: String,
}

/// `PUT /subscriptions/{id}/login`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// `pppoe` or `ipoe`.
    pub kind: LoginKind,
    /// PPPoE user name (unique).
    pub username: Option<String>,
    /// PPPoE password, 8 to 128 characters; generated when left out. Shown only in this
    /// answer.
    pub password: Option<String>,
    /// IPoE: the router's MAC address (unique), in any common form.
    pub mac: Option<String>,
    /// IPoE: the DHCP option-82 circuit id the router must arrive on.
    pub circuit_id: Option<String>,
    /// How many sessions it may hold at once (1 by default).
    pub max_sessions: Option<i32>,
}

/// A subscription's login as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LoginView {
    /// The subscription.
    pub subscription_id: Uuid,
    /// `pppoe` or `ipoe`.
    pub kind: LoginKind,
    /// The PPPoE user name, or the MAC address for IPoE.
    pub username: String,
    /// The PPPoE password: only in the answer that set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// IPoE circuit id.
    pub circuit_id: Option<String>,
    /// Most sessions at once.
    pub max_sessions: i32,
}

impl LoginView {
    /// The view of `m`, with `password` when it was just set.
    pub fn new(m: service_login::Model, password: Option<String>) -> Self {
        Self {
            subscription_id: m.subscription_id,
            kind: m.kind,
            username: m.username,
            password,
            circuit_id: m.circuit_id,
            max_sessions: m.max_sessions,
        }
    }
}

/// `POST /ip-pools`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPool {
    /// Unique name.
    pub name: String,
    /// The prefix (`100.64.0.0/22`, `2001:db8:100::/40`); it may not overlap another pool.
    pub prefix: String,
    /// IPv6 prefix delegation: the length of each delegated prefix (`56`).
    pub delegated_length: Option<i32>,
    /// The gateway, never handed out (IPv4: the first address by default).
    pub gateway: Option<String>,
    /// Other addresses never handed out.
    #[serde(default)]
    pub reserved: Vec<String>,
    /// For this NAS only.
    pub nas_id: Option<Uuid>,
    /// For the NAS of this site only.
    pub site: Option<String>,
    /// Addresses for suspended subscribers (a walled garden).
    pub walled_garden: Option<bool>,
}

/// A pool with its utilisation.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PoolView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Prefix.
    pub prefix: String,
    /// 4 or 6.
    pub family: i32,
    /// Length of delegated prefixes, for a delegation pool.
    pub delegated_length: Option<i32>,
    /// For this NAS only.
    pub nas_id: Option<Uuid>,
    /// For this site only.
    pub site: Option<String>,
    /// For suspended subscribers.
    pub walled_garden: bool,
    /// Addresses (or prefixes) it hands out.
    pub size: i32,
    /// How many are held.
    pub used: u64,
    /// Used share in percent, one decimal.
    pub utilisation_percent: f64,
}

impl PoolView {
    /// The view of `m` with `used` of its addresses held.
    pub fn new(m: ip_pool::Model, used: u64) -> Self {
        let size = u64::try_from(m.size).unwrap_or(0).max(1);
        let tenths = (used * 1000 + size / 2) / size;
        Self {
            id: m.id,
            name: m.name,
            prefix: m.prefix,
            family: m.family,
            delegated_length: m.delegated_length,
            nas_id: m.nas_id,
            site: m.site,
            walled_garden: m.walled_garden,
            size: m.size,
            used,
            utilisation_percent: f64::from(u32::try_from(tenths).unwrap_or(u32::MAX)) / 10.0,
        }
    }
}

/// `GET /radius-sessions`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// Only this subscription's.
    pub subscription_id: Option<Uuid>,
    /// Only live (`true`) or ended (`false`) sessions.
    pub live: Option<bool>,
    /// Page size (1–200, 50 by default).
    pub limit: Option<u64>,
    /// Id after which the page starts.
    pub cursor: Option<Uuid>,
}

/// A RADIUS session from accounting.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SessionView {
    /// Id.
    pub id: Uuid,
    /// The NAS.
    pub nas_id: Uuid,
    /// The NAS's Acct-Session-Id.
    pub acct_session_id: String,
    /// The subscription; none for a login this instance does not know.
    pub subscription_id: Option<Uuid>,
    /// User-Name.
    pub username: String,
    /// Address in use.
    pub framed_address: Option<String>,
    /// Calling-Station-Id (the router's MAC).
    pub calling_station: Option<String>,
    /// Start.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Last accounting.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// End, when it ended.
    pub stopped_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Octets from the subscriber.
    pub input_octets: i64,
    /// Octets to the subscriber.
    pub output_octets: i64,
    /// Seconds online.
    pub session_seconds: i64,
    /// Why it ended.
    pub stop_cause: Option<String>,
    /// `unknown-login` or `no-start` when accounting did not match what the instance knows.
    pub flag: Option<String>,
}

impl From<radius_session::Model> for SessionView {
    fn from(m: radius_session::Model) -> Self {
        Self {
            id: m.id,
            nas_id: m.nas_id,
            acct_session_id: m.acct_session_id,
            subscription_id: m.subscription_id,
            username: m.username,
            framed_address: m.framed_address,
            calling_station: m.calling_station,
            started_at: m.started_at,
            updated_at: m.updated_at,
            stopped_at: m.stopped_at,
            input_octets: m.input_octets,
            output_octets: m.output_octets,
            session_seconds: m.session_seconds,
            stop_cause: m.stop_cause,
            flag: m.flag,
        }
    }
}

/// `GET /auth-events`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthEventQuery {
    /// Only this subscription's.
    pub subscription_id: Option<Uuid>,
    /// Only `accept` or `reject`.
    pub outcome: Option<Outcome>,
    /// Page size (1–200, 50 by default).
    pub limit: Option<u64>,
    /// Id after which the page starts.
    pub cursor: Option<Uuid>,
}

/// How a sign-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Access-Accept.
    Accept,
    /// Access-Reject.
    Reject,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Reject => "reject",
        }
    }
}

/// An Access-Accept or Access-Reject.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuthEventView {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The NAS.
    pub nas_id: Option<Uuid>,
    /// User-Name.
    pub username: String,
    /// The subscription, when the login is known.
    pub subscription_id: Option<Uuid>,
    /// `accept` or `reject`.
    pub outcome: String,
    /// Why it was rejected (or `walled-garden` for an accept into one).
    pub reason: Option<String>,
    /// The address handed out.
    pub address: Option<String>,
    /// Calling-Station-Id.
    pub calling_station: Option<String>,
}

impl From<auth_event::Model> for AuthEventView {
    fn from(m: auth_event::Model) -> Self {
        Self {
            id: m.id,
            at: m.at,
            nas_id: m.nas_id,
            username: m.username,
            subscription_id: m.subscription_id,
            outcome: m.outcome,
            reason: m.reason,
            address: m.address,
            calling_station: m.calling_station,
        }
    }
}

/// `GET /coa-requests`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoaQuery {
    /// Only those for this RADIUS session.
    pub session_id: Option<Uuid>,
    /// Page size (1–200, 50 by default).
    pub limit: Option<u64>,
    /// Id after which the page starts.
    pub cursor: Option<Uuid>,
}

/// A CoA-Request or Disconnect-Request sent to a NAS, and its answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CoaView {
    /// Id.
    pub id: Uuid,
    /// The session it is for.
    pub session_id: Uuid,
    /// The NAS it went to.
    pub nas_id: Uuid,
    /// `coa` or `disconnect`.
    pub kind: String,
    /// What it brings the session to: `service`, `walled` or `disconnecting`.
    pub target: String,
    /// The attributes it carries, one `Name = value` per line.
    pub attributes: String,
    /// `pending`, `acked`, `naked` or `failed`.
    pub status: String,
    /// Rounds of transmissions so far.
    pub attempts: i32,
    /// The NAK's Error-Cause.
    pub error_cause: Option<i32>,
    /// Why sending failed.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Answered.
    pub answered_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<coa_request::Model> for CoaView {
    fn from(m: coa_request::Model) -> Self {
        Self {
            id: m.id,
            session_id: m.session_id,
            nas_id: m.nas_id,
            kind: m.kind,
            target: m.target,
            attributes: m.attributes,
            status: m.status,
            attempts: m.attempts,
            error_cause: m.error_cause,
            last_error: m.last_error,
            created_at: m.created_at,
            answered_at: m.answered_at,
        }
    }
}

/// `GET /nas` and `GET /ip-pools`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size (1–200, 50 by default).
    pub limit: Option<u64>,
    /// Id after which the page starts.
    pub cursor: Option<Uuid>,
}

crate::api::paging!(SessionQuery, AuthEventQuery, ListQuery, CoaQuery);

/// `PUT /subscriptions/{id}/static-address`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticAddress {
    /// An address of a pool, free or already this subscription's.
    pub address: String,
}

/// A subscription's static address.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StaticAddressView {
    /// The subscription.
    pub subscription_id: Uuid,
    /// Its address.
    pub address: String,
    /// The pool it is in.
    pub pool_id: Uuid,
}

/// One day's usage.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageDay {
    /// The day (UTC).
    pub day: chrono::NaiveDate,
    /// Octets from the subscriber.
    pub input_octets: i64,
    /// Octets to the subscriber.
    pub output_octets: i64,
}

/// A subscription's data use in its current billing period, against its allowance.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageView {
    /// The subscription.
    pub subscription_id: Uuid,
    /// First day of the period.
    pub period_start: chrono::NaiveDate,
    /// The day after its last.
    pub period_end: chrono::NaiveDate,
    /// Octets used in it, both ways.
    pub used_octets: i64,
    /// The plan's allowance in GB (10⁹ octets); none is unlimited.
    pub allowance_gb: Option<i32>,
    /// Past the allowance: `throttle` or `bill`.
    pub over_allowance: Option<crate::catalog::OverAllowance>,
    /// Slowed to the fair-use speeds this period.
    pub throttled: bool,
    /// GB over the allowance charged this period.
    pub billed_gb: i64,
    /// Each day's use.
    pub days: Vec<UsageDay>,
}

/// RADIUS packets dropped before a sign-in or accounting record reached the instance.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RadiusDrops {
    /// Lookups FreeRADIUS made for source addresses that are no registered NAS (their packets
    /// were dropped), counted by the instance.
    pub unknown_nas: i64,
    /// FreeRADIUS's own counters (wrong shared secret, malformed, overloaded), as last read
    /// from its status port; none before it first answered, or without it configured.
    pub freeradius: Option<super::drops::FreeRadiusDrops>,
}
