//! RADIUS accounting into sessions: Start, Interim-Update and Stop keyed by the NAS and its
//! Acct-Session-Id, so a retransmitted record changes nothing; counters with their gigawords;
//! Accounting-On/Off end every session of the NAS. Accounting for a login this instance does
//! not know, or without a Start, is kept and flagged.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, Select, sea_query::OnConflict,
};
use uuid::Uuid;

use super::{
    entity::{radius_session, service_login},
    ipam,
    radius::Attributes,
    wire::SessionQuery,
};
use crate::{
    db::new_id,
    error::{Error, Result},
};

/// What an Accounting-Request reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A session began.
    Start,
    /// A session is still up (its counters so far).
    Interim,
    /// A session ended.
    Stop,
    /// The NAS (re)started or is stopping: none of its sessions are up any more.
    NasRestart,
}

impl Status {
    /// The status `Acct-Status-Type` names (by name or RFC 2866 number).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Start" | "1" => Some(Self::Start),
            "Stop" | "2" => Some(Self::Stop),
            "Interim-Update" | "Alive" | "3" => Some(Self::Interim),
            "Accounting-On" | "Accounting-Off" | "7" | "8" => Some(Self::NasRestart),
            _ => None,
        }
    }
}

/// The sessions `query` selects.
pub fn select(query: &SessionQuery) -> Select<radius_session::Entity> {
    let mut select = radius_session::Entity::find();
    if let Some(subscription) = query.subscription_id {
        select = select.filter(radius_session::Column::SubscriptionId.eq(subscription));
    }
    match query.live {
        Some(true) => select = select.filter(radius_session::Column::StoppedAt.is_null()),
        Some(false) => select = select.filter(radius_session::Column::StoppedAt.is_not_null()),
        None => {}
    }
    select
}

/// Ends `session` now for `cause` (no Stop came for it) and frees what it held.
pub async fn end(
    txn: &impl ConnectionTrait,
    session: radius_session::Model,
    cause: &str,
) -> Result<()> {
    let id = session.id;
    let mut active = session.into_active_model();
    active.stopped_at = Set(Some(chrono::Utc::now()));
    active.stop_cause = Set(Some(cause.to_owned()));
    active.update(txn).await?;
    ipam::release(txn, id).await
}

/// Records one Accounting-Request from `nas`.
pub async fn account(txn: &impl ConnectionTrait, nas: Uuid, attrs: &Attributes) -> Result<()> {
    let status = attrs
        .text("Acct-Status-Type")
        .as_deref()
        .and_then(Status::parse)
        .ok_or_else(|| Error::invalid("Acct-Status-Type", "is missing or not one handled"))?;
    let now = chrono::Utc::now();
    if status == Status::NasRestart {
        let live = radius_session::Entity::find()
            .filter(radius_session::Column::NasId.eq(nas))
            .filter(radius_session::Column::StoppedAt.is_null())
            .all(txn)
            .await?;
        for session in live {
            end(txn, session, "nas-reboot").await?;
        }
        return Ok(());
    }
    let acct_session = attrs
        .text("Acct-Session-Id")
        .ok_or_else(|| Error::invalid("Acct-Session-Id", "is missing"))?;
    let username = attrs.text("User-Name").unwrap_or_default();
    let login = service_login::Entity::find()
        .filter(service_login::Column::Username.eq(&username))
        .one(txn)
        .await?;
    let framed = attrs.text("Framed-IP-Address");
    let input = attrs.octets("Acct-Input-Octets", "Acct-Input-Gigawords");
    let output = attrs.octets("Acct-Output-Octets", "Acct-Output-Gigawords");
    let seconds = i64::try_from(attrs.number("Acct-Session-Time").unwrap_or(0)).unwrap_or(0);
    let flag = match (&login, status) {
        (None, _) => Some("unknown-login".to_owned()),
        (Some(_), Status::Start) => None,
        (Some(_), _) => Some("no-start".to_owned()),
    };
    // What the Access-Accept gave the session, as the NAS echoes it.
    let applied = attrs
        .text("Class")
        .and_then(|c| super::enforce::parse_class(&super::radius::octets_text(&c)));
    // The first record of a session makes its row; the same record again does nothing.
    let id = new_id();
    let inserted = radius_session::Entity::insert(radius_session::ActiveModel {
        id: Set(id),
        nas_id: Set(nas),
        acct_session_id: Set(acct_session.clone()),
        subscription_id: Set(login.as_ref().map(|l| l.subscription_id)),
        username: Set(username),
        framed_address: Set(framed.clone()),
        calling_station: Set(attrs.text("Calling-Station-Id")),
        started_at: Set(now - chrono::Duration::seconds(seconds)),
        updated_at: Set(now),
        stopped_at: Set(None),
        input_octets: Set(input),
        output_octets: Set(output),
        session_seconds: Set(seconds),
        stop_cause: Set(None),
        flag: Set(flag),
        applied_state: Set(applied.as_ref().map(|(state, _)| state.clone())),
        applied_plan_id: Set(applied.and_then(|(_, plan)| plan)),
        counted_input: Set(0),
        counted_output: Set(0),
        usage_final: Set(false),
    })
    .on_conflict(
        OnConflict::columns([
            radius_session::Column::NasId,
            radius_session::Column::AcctSessionId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let session = radius_session::Entity::find()
        .filter(radius_session::Column::NasId.eq(nas))
        .filter(radius_session::Column::AcctSessionId.eq(&acct_session))
        .one(txn)
        .await?
        .ok_or_else(|| Error::Internal("an accounting session vanished".to_owned()))?;
    if inserted == 1 {
        // The address (and delegated prefix) the session uses is bound to it, whichever
        // record came first.
        let delegated = attrs.text("Delegated-IPv6-Prefix");
        if let Some(login) = &login {
            for address in [&framed, &delegated].into_iter().flatten() {
                ipam::bind(txn, login.subscription_id, address, session.id).await?;
            }
        }
    }
    if session.stopped_at.is_some() {
        // Accounting after the Stop (a late retransmission) changes nothing.
        return Ok(());
    }
    if status == Status::Start {
        return Ok(());
    }
    let id = session.id;
    let mut active = session.clone().into_active_model();
    // Counters only grow: an older record arriving late does not take them back.
    active.input_octets = Set(session.input_octets.max(input));
    active.output_octets = Set(session.output_octets.max(output));
    active.session_seconds = Set(session.session_seconds.max(seconds));
    active.updated_at = Set(now);
    if session.framed_address.is_none() {
        active.framed_address = Set(framed.clone());
    }
    if status == Status::Stop {
        active.stopped_at = Set(Some(now));
        active.stop_cause = Set(Some(
            attrs
                .text("Acct-Terminate-Cause")
                .unwrap_or_else(|| "unknown".to_owned()),
        ));
    }
    active.update(txn).await?;
    if status == Status::Stop {
        ipam::release(txn, id).await?;
    }
    Ok(())
}
