//! What FreeRADIUS drops before the instance sees it: packets signed with a wrong shared
//! secret (or forged), malformed ones such as an Access-Request without Message-Authenticator,
//! and those it had no room for. FreeRADIUS counts them; the instance reads the counters with
//! Status-Server (RFC 5997) on FreeRADIUS's loopback status port, signed with the AAA secret,
//! and serves them beside its own count of lookups from addresses that are no registered NAS.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};
use dotmac_web::metrics::{Exposition, Kind};
use schemars::JsonSchema;
use serde::Serialize;

use super::packet::{self, Attribute, Code, PacketError};

/// FreeRADIUS's IANA enterprise number: its statistics are its vendor attributes.
const FREERADIUS: u32 = 11_344;
/// FreeRADIUS-Statistics-Type; `3` asks for authentication and accounting.
const STATISTICS_TYPE: u8 = 127;
/// FreeRADIUS-Stats-Start-Time: when the counters started.
const START_TIME: u8 = 176;
/// How long an answer is waited for.
const WAIT: Duration = Duration::from_secs(1);

/// What one FreeRADIUS port dropped, since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PortDrops {
    /// Packets whose authenticator or Message-Authenticator did not verify with the NAS's
    /// shared secret (a wrong secret, or a forgery).
    pub wrong_secret: u64,
    /// Malformed packets, Access-Requests without Message-Authenticator among them.
    pub malformed: u64,
    /// Packets dropped because FreeRADIUS was overloaded.
    pub overloaded: u64,
}

/// FreeRADIUS's drop counters as last read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FreeRadiusDrops {
    /// When FreeRADIUS started counting (its start).
    pub since: Option<DateTime<Utc>>,
    /// When the counters were read.
    pub read_at: DateTime<Utc>,
    /// On the Access-Request port.
    pub auth: PortDrops,
    /// On the Accounting-Request port.
    pub acct: PortDrops,
}

/// The last counters read, shared by the reader and whoever serves them.
#[derive(Debug, Clone, Default)]
pub struct Drops(Arc<Mutex<Option<FreeRadiusDrops>>>);

impl Drops {
    /// The counters as last read; none before FreeRADIUS first answered.
    pub fn latest(&self) -> Option<FreeRadiusDrops> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, counts: FreeRadiusDrops) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(counts);
    }

    /// `dotmac_isp_radius_dropped_total{port, reason}`, when FreeRADIUS has answered.
    pub fn metrics(&self) -> String {
        let Some(counts) = self.latest() else {
            return String::new();
        };
        let name = "dotmac_isp_radius_dropped_total";
        let mut text = Exposition::default();
        text.family(
            name,
            Kind::Counter,
            "RADIUS packets FreeRADIUS dropped before the instance saw them, by port and reason.",
        );
        for (port, drops) in [("auth", counts.auth), ("acct", counts.acct)] {
            for (reason, value) in [
                ("wrong-secret", drops.wrong_secret),
                ("malformed", drops.malformed),
                ("overloaded", drops.overloaded),
            ] {
                text.sample(name, &[("port", port), ("reason", reason)], value);
            }
        }
        text.finish()
    }
}

/// Why the counters could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No answer, or no socket.
    #[error("FreeRADIUS's status port did not answer: {0}")]
    NoAnswer(String),
    /// An answer that is not FreeRADIUS's statistics.
    #[error("FreeRADIUS's status answer: {0}")]
    Packet(#[from] PacketError),
}

fn counter(answer: &packet::Answer, kind: u8) -> u64 {
    answer
        .vendor(FREERADIUS, kind)
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map_or(0, |v| u64::from(u32::from_be_bytes(v)))
}

/// The drop counters in a statistics answer (FreeRADIUS-Total-{Auth,Acct}-*).
fn counts(answer: &packet::Answer) -> FreeRadiusDrops {
    FreeRadiusDrops {
        since: answer
            .vendor(FREERADIUS, START_TIME)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .and_then(|v| DateTime::from_timestamp(i64::from(u32::from_be_bytes(v)), 0)),
        read_at: Utc::now(),
        auth: PortDrops {
            malformed: counter(answer, 134),
            wrong_secret: counter(answer, 135),
            overloaded: counter(answer, 136),
        },
        acct: PortDrops {
            malformed: counter(answer, 151),
            wrong_secret: counter(answer, 152),
            overloaded: counter(answer, 153),
        },
    }
}

/// Asks FreeRADIUS at `status` for its counters.
pub async fn read(status: SocketAddr, secret: &str, id: u8) -> Result<FreeRadiusDrops, ReadError> {
    let request = packet::request(
        Code::StatusServer,
        id,
        &[Attribute::Vendor {
            vendor: FREERADIUS,
            kind: STATISTICS_TYPE,
            value: 3_u32.to_be_bytes().to_vec(),
        }],
        secret.as_bytes(),
    )?;
    // From the status port's own loopback address: FreeRADIUS answers only that client.
    let bind = match status.ip() {
        ip if ip.is_loopback() => SocketAddr::new(ip, 0),
        std::net::IpAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        std::net::IpAddr::V6(_) => SocketAddr::from(([0_u16; 8], 0)),
    };
    let socket = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| ReadError::NoAnswer(e.to_string()))?;
    socket
        .send_to(&request.bytes, status)
        .await
        .map_err(|e| ReadError::NoAnswer(e.to_string()))?;
    let mut buffer = [0_u8; 4096];
    let (len, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer))
        .await
        .map_err(|_| ReadError::NoAnswer(format!("nothing within {WAIT:?}")))?
        .map_err(|e| ReadError::NoAnswer(e.to_string()))?;
    let answer = packet::answer(&buffer[..len], &request, secret.as_bytes())?;
    Ok(counts(&answer))
}

/// Reads FreeRADIUS's counters into `drops` every `interval`; a failure is logged when it
/// starts and when it ends, not at every read.
pub fn spawn(status: SocketAddr, secret: String, tenant: String, drops: Drops, interval: Duration) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        let mut id = 0_u8;
        loop {
            every.tick().await;
            id = id.wrapping_add(1);
            match read(status, &secret, id).await {
                Ok(counts) => {
                    if failing {
                        tracing::info!(%tenant, %status, "FreeRADIUS's counters are read again");
                    }
                    failing = false;
                    drops.set(counts);
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%tenant, %status, %error, "FreeRADIUS's drop counters cannot be read");
                    }
                    failing = true;
                }
            }
        }
    });
}
