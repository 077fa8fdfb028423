//! Keeps what each NAS applies to a live session equal to what its subscription should get,
//! whatever changed it (staff, a dunning run, a payment, a plan change): every tick compares
//! each live session's applied state with its subscription's and queues the CoA-Request or
//! Disconnect-Request that closes the gap, sends it to the NAS with retries, and records the
//! answer. A session that missed three interim updates is closed as stale and its address
//! freed. Level-triggered: a crash loses nothing, the next tick finds the same gap.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    aaa::{NetworkSettings, SuspendedAccess},
    entity::{coa_request, ip_address, nas, radius_session},
    packet::{self, Attribute, Code, attr},
    radius::{self, Setting, Speeds},
    secrets::Secrets,
};
use crate::{
    api::Settings,
    catalog::entity::plan,
    db::new_id,
    domain::lifecycle::ServiceStatus,
    error::{Error, Result},
};

/// What a NAS applies to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The plan's speeds.
    Service,
    /// The plan's fair-use speeds (over its data allowance this period).
    Throttled,
    /// The walled-garden filter.
    Walled,
    /// Told to end it (acknowledged); its Stop is awaited.
    Disconnecting,
}

impl State {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Throttled => "throttled",
            Self::Walled => "walled",
            Self::Disconnecting => "disconnecting",
        }
    }
}

impl State {
    /// The state stored as `name`; anything else is a session being disconnected.
    fn parse(name: &str) -> Self {
        match name {
            "service" => Self::Service,
            "throttled" => Self::Throttled,
            "walled" => Self::Walled,
            _ => Self::Disconnecting,
        }
    }
}

/// The Class attribute of an Access-Accept: what it applied, echoed in accounting.
pub fn class(state: State, plan: Uuid) -> String {
    format!("dotmac:{}:{plan}", state.as_str())
}

/// The state and plan a Class attribute names, if it is ours.
pub fn parse_class(text: &str) -> Option<(String, Option<Uuid>)> {
    let mut parts = text.strip_prefix("dotmac:")?.splitn(2, ':');
    let state = parts.next()?.to_owned();
    let plan = parts.next().and_then(|p| Uuid::parse_str(p).ok());
    Some((state, plan))
}

/// What a session of a subscription in `status` (`throttled` when over its allowance) should
/// have.
pub fn target(status: ServiceStatus, suspended: SuspendedAccess, throttled: bool) -> State {
    match (status, suspended) {
        (ServiceStatus::Active, _) if throttled => State::Throttled,
        (ServiceStatus::Active, _) => State::Service,
        (ServiceStatus::Suspended, SuspendedAccess::WalledGarden) => State::Walled,
        _ => State::Disconnecting,
    }
}

/// Every `interval` until the process ends: one [`tick`]. Errors are logged; the next tick
/// tries again.
pub fn spawn(
    db: DatabaseConnection,
    settings: Arc<Settings>,
    secrets: Secrets,
    interval: Duration,
) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = tick(&db, &settings, &secrets).await {
                tracing::warn!(tenant = %settings.tenant, error = %e, "network enforcement tick failed");
            }
        }
    });
}

/// Closes stale sessions, counts usage and applies fair use, queues what changed, sends what
/// is queued.
pub async fn tick(db: &DatabaseConnection, settings: &Settings, secrets: &Secrets) -> Result<()> {
    let (network, tenant) = (&settings.network, settings.tenant.as_str());
    close_stale(db, network, tenant).await?;
    super::usage::count(db, settings).await?;
    queue(db, network, tenant).await?;
    send_queued(db, network, secrets, tenant).await
}

/// Ends the live sessions that missed three interim updates, and frees leases no session took
/// up within the same time.
async fn close_stale(
    db: &DatabaseConnection,
    settings: &NetworkSettings,
    tenant: &str,
) -> Result<()> {
    let cutoff =
        chrono::Utc::now() - chrono::Duration::seconds(3 * i64::from(settings.interim_seconds));
    let stale = radius_session::Entity::find()
        .filter(radius_session::Column::StoppedAt.is_null())
        .filter(radius_session::Column::UpdatedAt.lt(cutoff))
        .limit(1000)
        .all(db)
        .await?;
    for session in stale {
        let txn = dotmac_sql::begin_write(db).await?;
        tracing::info!(%tenant, session = %session.id, username = %session.username, "closing a stale RADIUS session");
        super::sessions::end(&txn, session, "stale").await?;
        txn.commit().await?;
    }
    ip_address::Entity::update_many()
        .col_expr(
            ip_address::Column::SubscriptionId,
            Option::<Uuid>::None.into(),
        )
        .col_expr(
            ip_address::Column::AssignedAt,
            Option::<chrono::DateTime<chrono::Utc>>::None.into(),
        )
        // As `ip_addresses_unused_leases` holds them.
        .filter(ip_address::Column::SubscriptionId.is_not_null())
        .filter(ip_address::Column::SessionId.is_null())
        .filter(Expr::col(ip_address::Column::Static).not())
        .filter(ip_address::Column::AssignedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(())
}

/// Queues a request for every live session whose NAS applies something other than its
/// subscription's state and plan, and a Disconnect for every session over its login's limit,
/// unless one is pending or failed in the last ten minutes.
async fn queue(db: &DatabaseConnection, settings: &NetworkSettings, tenant: &str) -> Result<()> {
    let backend = db.get_database_backend();
    let suspended = target(ServiceStatus::Suspended, settings.suspended, false).as_str();
    let today = chrono::Utc::now().date_naive();
    // What a session of subscription `s` should have, `$1` being today.
    let wanted = format!(
        "CASE s.status WHEN 'active' THEN CASE WHEN {THROTTLED} THEN 'throttled' ELSE 'service' END \
         WHEN 'suspended' THEN '{suspended}' ELSE 'disconnecting' END"
    );
    // Sessions the NAS did not say anything of (no Class echoed) have what they would get now.
    let unknown = format!(
        "UPDATE radius_sessions SET applied_state = (SELECT {wanted} \
         FROM subscriptions s WHERE s.id = radius_sessions.subscription_id), \
         applied_plan_id = (SELECT s.plan_id FROM subscriptions s WHERE s.id = radius_sessions.subscription_id) \
         WHERE stopped_at IS NULL AND applied_state IS NULL AND subscription_id IS NOT NULL"
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        unknown,
        [today.into()],
    ))
    .await?;
    let recent = chrono::Utc::now() - chrono::Duration::minutes(10);
    let sql = format!(
        "SELECT rs.id, s.status, s.plan_id, {THROTTLED} FROM radius_sessions rs \
         JOIN subscriptions s ON s.id = rs.subscription_id \
         WHERE rs.stopped_at IS NULL AND rs.applied_state <> 'disconnecting' AND ( \
           rs.applied_state <> {wanted} \
           OR (s.status = 'active' AND (rs.applied_plan_id IS NULL OR rs.applied_plan_id <> s.plan_id))) \
         AND NOT EXISTS (SELECT 1 FROM coa_requests c WHERE c.session_id = rs.id AND \
           (c.status = 'pending' OR (c.status IN ('naked', 'failed') AND c.created_at > $2))) \
         LIMIT 1000"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [today.into(), recent.into()],
        ))
        .await?;
    for row in rows {
        let session: Uuid = row.try_get_by_index(0)?;
        let status: ServiceStatus = row.try_get_by_index(1)?;
        let plan: Uuid = row.try_get_by_index(2)?;
        let throttled: bool = row.try_get_by_index(3)?;
        let state = target(status, settings.suspended, throttled);
        queue_one(db, settings, session, state, plan).await?;
    }
    // Two sign-ins of one login can both pass its session limit before either's Start is
    // counted; the login keeps its oldest sessions and the newer ones over the limit go.
    let over = "SELECT id, plan_id FROM ( \
          SELECT rs.id, s.plan_id, rs.applied_state, l.max_sessions, \
            ROW_NUMBER() OVER (PARTITION BY rs.subscription_id ORDER BY rs.started_at, rs.id) AS n \
          FROM radius_sessions rs \
          JOIN service_logins l ON l.subscription_id = rs.subscription_id \
          JOIN subscriptions s ON s.id = rs.subscription_id \
          WHERE rs.stopped_at IS NULL) ranked \
        WHERE n > max_sessions AND (applied_state IS NULL OR applied_state <> 'disconnecting') \
        AND NOT EXISTS (SELECT 1 FROM coa_requests c WHERE c.session_id = ranked.id AND \
          (c.status = 'pending' OR (c.status IN ('naked', 'failed') AND c.created_at > $1))) \
        LIMIT 1000";
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            over,
            [recent.into()],
        ))
        .await?;
    for row in rows {
        let session: Uuid = row.try_get_by_index(0)?;
        let plan: Uuid = row.try_get_by_index(1)?;
        tracing::info!(%tenant, %session, "disconnecting a session over its login's limit");
        queue_one(db, settings, session, State::Disconnecting, plan).await?;
    }
    Ok(())
}

/// Whether subscription `s` is throttled this period (`$1` today), as SQL.
pub const THROTTLED: &str = "EXISTS (SELECT 1 FROM fair_use f WHERE f.subscription_id = s.id \
     AND f.throttled_at IS NOT NULL AND f.period_end > $1)";

/// The speed attributes `plan` gives a session on `vendor`'s NAS.
fn plan_settings(
    plan: &plan::Model,
    vendor: super::entity::Vendor,
    throttled: bool,
) -> Vec<Setting> {
    let speeds = if throttled {
        Speeds::of(plan.fair_use_download_mbps, plan.fair_use_upload_mbps)
    } else {
        Speeds::of(plan.download_mbps, plan.upload_mbps)
    };
    speeds
        .map(|speeds| {
            radius::speed_settings(vendor, speeds, &radius::profile(&plan.code, throttled))
        })
        .unwrap_or_default()
}

/// What a request bringing a session to `state` carries: the walled-garden filter, or the
/// plan's (fair-use) speeds and, coming out of the walled garden, the service filter. The
/// same at queueing (recorded) and at sending (on the wire).
async fn request_settings(
    db: &DatabaseConnection,
    network: &NetworkSettings,
    vendor: super::entity::Vendor,
    state: State,
    plan_id: Option<Uuid>,
    from_walled_garden: bool,
) -> Result<Vec<Setting>> {
    match (state, plan_id) {
        (State::Disconnecting, _) => Ok(Vec::new()),
        (State::Walled, _) => Ok(vec![Setting::FilterId(
            network.walled_garden_filter.clone(),
        )]),
        (State::Service | State::Throttled, Some(plan_id)) => {
            let plan = plan::Entity::find_by_id(plan_id)
                .one(db)
                .await?
                .ok_or(Error::NotFound { entity: "plan" })?;
            let mut settings = plan_settings(&plan, vendor, state == State::Throttled);
            if from_walled_garden {
                settings.push(Setting::FilterId(network.service_filter.clone()));
            }
            Ok(settings)
        }
        (State::Service | State::Throttled, None) => Err(Error::Internal(
            "a CoA to a plan's speeds without a plan".to_owned(),
        )),
    }
}

/// Queues the request that brings `session` to `state` with `plan`.
async fn queue_one(
    db: &DatabaseConnection,
    settings: &NetworkSettings,
    session: Uuid,
    state: State,
    plan_id: Uuid,
) -> Result<()> {
    let Some(session) = radius_session::Entity::find_by_id(session).one(db).await? else {
        return Ok(());
    };
    let nas = super::nas::find(db, session.nas_id).await?;
    let plan = matches!(state, State::Service | State::Throttled).then_some(plan_id);
    let from_walled = session.applied_state.as_deref() == Some(State::Walled.as_str());
    let settings_sent =
        request_settings(db, settings, nas.vendor, state, plan, from_walled).await?;
    let kind = if state == State::Disconnecting {
        "disconnect"
    } else {
        "coa"
    };
    let lines: Vec<String> = settings_sent
        .iter()
        .map(|s| format!("{} = {}", s.name(), describe(s)))
        .collect();
    coa_request::ActiveModel {
        id: Set(new_id()),
        session_id: Set(session.id),
        nas_id: Set(nas.id),
        kind: Set(kind.to_owned()),
        target: Set(state.as_str().to_owned()),
        plan_id: Set(plan),
        attributes: Set(lines.join("\n")),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        error_cause: Set(None),
        last_error: Set(None),
        claimed_until: Set(None),
        created_at: Set(chrono::Utc::now()),
        answered_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

fn describe(setting: &Setting) -> String {
    match setting {
        Setting::MikrotikRateLimit(t)
        | Setting::CiscoAvPair(t)
        | Setting::ErxQosProfileName(t)
        | Setting::FilterId(t) => format!("\"{t}\""),
        Setting::WisprBandwidthMaxUp(n) | Setting::WisprBandwidthMaxDown(n) => n.to_string(),
    }
}

/// How long a sender holds a request it is sending.
const CLAIM: chrono::Duration = chrono::Duration::seconds(30);
/// Transmissions of one request, and the wait for an answer after each (RFC 5176 §2.3
/// retransmits the same packet).
const TRANSMISSIONS: u32 = 3;
const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// Sends the queued requests, each to its NAS, at once.
async fn send_queued(
    db: &DatabaseConnection,
    settings: &NetworkSettings,
    secrets: &Secrets,
    tenant: &str,
) -> Result<()> {
    let now = chrono::Utc::now();
    let queued = coa_request::Entity::find()
        .filter(coa_request::Column::Status.eq("pending"))
        .order_by_asc(coa_request::Column::CreatedAt)
        .limit(64)
        .all(db)
        .await?;
    let mut sending = Vec::new();
    for request in queued {
        if request.claimed_until.is_some_and(|until| until > now) {
            continue;
        }
        // Claimed when its claim is still the one read: two replicas never both send it.
        let claimed = coa_request::Entity::update_many()
            .col_expr(coa_request::Column::ClaimedUntil, Some(now + CLAIM).into())
            .filter(coa_request::Column::Id.eq(request.id))
            .filter(match request.claimed_until {
                Some(until) => coa_request::Column::ClaimedUntil.eq(until),
                None => coa_request::Column::ClaimedUntil.is_null(),
            })
            .exec(db)
            .await?;
        if claimed.rows_affected == 1 {
            let (db, settings, tenant) = (db.clone(), settings.clone(), tenant.to_owned());
            let secrets = secrets.clone();
            sending.push(tokio::spawn(async move {
                if let Err(e) = send_one(&db, &settings, &secrets, &tenant, request).await {
                    tracing::warn!(%tenant, error = %e, "sending a CoA or Disconnect failed");
                }
            }));
        }
    }
    for task in sending {
        let _ = task.await;
    }
    Ok(())
}

/// What came of one request.
enum Outcome {
    Ack,
    Nak(Option<u32>),
    NoAnswer(String),
}

async fn send_one(
    db: &DatabaseConnection,
    settings: &NetworkSettings,
    secrets: &Secrets,
    tenant: &str,
    request: coa_request::Model,
) -> Result<()> {
    let session = radius_session::Entity::find_by_id(request.session_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            entity: "RADIUS session",
        })?;
    let nas = super::nas::find(db, request.nas_id).await?;
    let secret = secrets.nas_secret(&nas).await?;
    let mut attributes = vec![
        Attribute::text(attr::USER_NAME, &session.username),
        Attribute::text(attr::ACCT_SESSION_ID, &session.acct_session_id),
    ];
    if let Ok(std::net::IpAddr::V4(v4)) = nas.address.parse() {
        attributes.push(Attribute::Standard(
            attr::NAS_IP_ADDRESS,
            v4.octets().to_vec(),
        ));
    }
    if let Some(std::net::IpAddr::V4(v4)) = session
        .framed_address
        .as_deref()
        .and_then(|a| a.parse().ok())
    {
        attributes.push(Attribute::Standard(
            attr::FRAMED_IP_ADDRESS,
            v4.octets().to_vec(),
        ));
    }
    let now = u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(u32::MAX);
    attributes.push(Attribute::integer(attr::EVENT_TIMESTAMP, now));
    let state = State::parse(&request.target);
    let code = if request.kind == "disconnect" {
        Code::DisconnectRequest
    } else {
        Code::CoaRequest
    };
    // Until this request is acknowledged the session's applied state is what it was when
    // the request was queued.
    let from_walled = session.applied_state.as_deref() == Some(State::Walled.as_str());
    let sent = request_settings(
        db,
        settings,
        nas.vendor,
        state,
        request.plan_id,
        from_walled,
    )
    .await?;
    attributes.extend(sent.iter().map(Setting::wire));
    let identifier = request.id.as_bytes()[15];
    let outcome = match packet::request(code, identifier, &attributes, secret.as_bytes()) {
        Ok(packet) => transmit(&nas, &secret, &packet).await,
        Err(e) => Outcome::NoAnswer(e.to_string()),
    };
    let username = session.username.clone();
    let txn = dotmac_sql::begin_write(db).await?;
    let mut record = request.clone().into_active_model();
    record.attempts = Set(request.attempts + 1);
    record.claimed_until = Set(None);
    let answered = chrono::Utc::now();
    match &outcome {
        Outcome::Ack => {
            record.status = Set("acked".to_owned());
            record.answered_at = Set(Some(answered));
            let mut applied = session.into_active_model();
            applied.applied_state = Set(Some(state.as_str().to_owned()));
            if let Some(plan) = request.plan_id {
                applied.applied_plan_id = Set(Some(plan));
            }
            applied.update(&txn).await?;
        }
        Outcome::Nak(cause) => {
            record.status = Set("naked".to_owned());
            record.answered_at = Set(Some(answered));
            record.error_cause = Set(cause.and_then(|c| i32::try_from(c).ok()));
        }
        Outcome::NoAnswer(why) => {
            // Three rounds of three transmissions, then it is given up (and queued again after
            // ten minutes if the gap is still there).
            let gave_up = request.attempts + 1 >= 3;
            record.status = Set(if gave_up { "failed" } else { "pending" }.to_owned());
            record.last_error = Set(Some(why.clone()));
        }
    }
    record.update(&txn).await?;
    txn.commit().await?;
    let result = match &outcome {
        Outcome::Ack => "ack",
        Outcome::Nak(_) => "nak",
        Outcome::NoAnswer(_) => "no answer",
    };
    tracing::info!(%tenant, nas = %nas.name, %username, kind = %request.kind, target = %request.target, result, "CoA/Disconnect sent");
    Ok(())
}

/// Sends `packet` to the NAS's CoA port, retransmitting, until an answer signed with its secret
/// comes back.
async fn transmit(nas: &nas::Model, secret: &str, packet: &packet::Request) -> Outcome {
    let Ok(address) = nas.address.parse::<std::net::IpAddr>() else {
        return Outcome::NoAnswer("the NAS address does not parse".to_owned());
    };
    let target = SocketAddr::new(address, u16::try_from(nas.coa_port).unwrap_or(3799));
    let bind: SocketAddr = if address.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .unwrap_or_else(|_| unreachable!("a literal socket address"));
    let socket = match tokio::net::UdpSocket::bind(bind).await {
        Ok(socket) => socket,
        Err(e) => return Outcome::NoAnswer(format!("no UDP socket: {e}")),
    };
    let mut buffer = [0_u8; 4096];
    for _ in 0..TRANSMISSIONS {
        if let Err(e) = socket.send_to(&packet.bytes, target).await {
            return Outcome::NoAnswer(format!("sending to {target}: {e}"));
        }
        let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
        while let Ok(Ok((len, from))) =
            tokio::time::timeout_at(deadline, socket.recv_from(&mut buffer)).await
        {
            if from != target {
                continue;
            }
            match packet::answer(&buffer[..len], packet, secret.as_bytes()) {
                Ok(answer) => {
                    return match answer.code {
                        Code::CoaAck | Code::DisconnectAck => Outcome::Ack,
                        _ => Outcome::Nak(
                            answer
                                .get(attr::ERROR_CAUSE)
                                .and_then(|v| <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes)),
                        ),
                    };
                }
                // Not our answer, or not signed with the secret: ignored, as a NAS would.
                Err(_) => continue,
            }
        }
    }
    Outcome::NoAnswer(format!(
        "no answer from {target} after {TRANSMISSIONS} transmissions"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_round_trips_and_foreign_ones_are_ignored() {
        let plan = Uuid::now_v7();
        let text = class(State::Walled, plan);
        assert_eq!(parse_class(&text), Some(("walled".to_owned(), Some(plan))));
        assert_eq!(parse_class("isp-x:1"), None);
    }

    #[test]
    fn each_status_has_its_target() {
        use SuspendedAccess as S;
        let of = |status, suspended, throttled| target(status, suspended, throttled);
        assert_eq!(of(ServiceStatus::Active, S::Reject, false), State::Service);
        assert_eq!(of(ServiceStatus::Active, S::Reject, true), State::Throttled);
        assert_eq!(
            of(ServiceStatus::Suspended, S::Reject, true),
            State::Disconnecting
        );
        assert_eq!(
            of(ServiceStatus::Suspended, S::WalledGarden, false),
            State::Walled
        );
        assert_eq!(
            of(ServiceStatus::Cancelled, S::WalledGarden, false),
            State::Disconnecting
        );
    }
}
