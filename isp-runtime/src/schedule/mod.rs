//! The instance's own business day: the billing run at a local hour on the first day of each
//! month and the dunning run at a local hour every day, in the ISP's time zone
//! ([`calendar`]). Every replica checks every 30 s (and at start, which catches up a run
//! missed while the instance was down); the run of a kind and day is claimed in the
//! transaction that records it (`scheduled_runs`), so with several replicas exactly one starts
//! it. The last and next runs show at `GET /api/v1/schedule` and in `/metrics`.

pub mod calendar;
pub mod entity;
mod routes;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use dotmac_web::metrics::{Exposition, Kind};
use jiff::Timestamp;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

pub use routes::routes;

use self::{calendar::Calendar, entity::scheduled_run};
use crate::{
    api::Actor,
    billing::runs::{RunKind, service as runs},
    error::Result,
    jobs::{Job, JobQueue},
};

/// How often replicas look for a due run.
const CHECK_EVERY: Duration = Duration::from_secs(30);
/// The kinds of scheduled runs.
const KINDS: [RunKind; 2] = [RunKind::Billing, RunKind::Dunning];

/// The schedule in force and what it last did, shared by the loop, the API and `/metrics`.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// When runs are due.
    pub calendar: Arc<Calendar>,
    /// The IANA name of its time zone.
    pub zone_name: String,
    /// Whether this instance starts runs on its own.
    pub enabled: bool,
    seen: Arc<Mutex<BTreeMap<&'static str, Seen>>>,
}

/// What the loop last saw of one kind.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    last_claimed: Option<Timestamp>,
    next: Timestamp,
}

impl Schedule {
    /// A schedule over `calendar`, named `zone_name`.
    pub fn new(calendar: Calendar, zone_name: String, enabled: bool) -> Self {
        Self {
            calendar: Arc::new(calendar),
            zone_name,
            enabled,
            seen: Arc::default(),
        }
    }

    /// The schedule's gauges for `/metrics`.
    pub fn metrics(&self) -> String {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut text = Exposition::default();
        let last = "dotmac_isp_scheduled_run_last_timestamp_seconds";
        text.family(
            last,
            Kind::Gauge,
            "When the last scheduled run of each kind was started.",
        );
        for (kind, s) in &seen {
            if let Some(at) = s.last_claimed {
                text.sample(last, &[("kind", kind)], at.as_second());
            }
        }
        let next = "dotmac_isp_scheduled_run_next_timestamp_seconds";
        text.family(
            next,
            Kind::Gauge,
            "When the next scheduled run of each kind is due.",
        );
        for (kind, s) in &seen {
            text.sample(next, &[("kind", kind)], s.next.as_second());
        }
        text.finish()
    }
}

/// The actor scheduled runs are recorded under in the audit log.
fn scheduler() -> Actor {
    Actor {
        credential: uuid::Uuid::nil(),
        account: None,
        session: None,
        name: "scheduler".into(),
        role: crate::people::Role::TenantAdmin,
        second_factor: false,
        source: "instance".into(),
    }
}

/// Starts the loop, when the schedule is enabled.
pub fn spawn(db: DatabaseConnection, queue: JobQueue, schedule: Schedule, tenant: String) {
    if !schedule.enabled {
        tracing::info!(%tenant, "scheduled runs are off");
        return;
    }
    tracing::info!(%tenant, zone = %schedule.zone_name, billing_hour = schedule.calendar.billing_hour, dunning_hour = schedule.calendar.dunning_hour, "scheduled runs on");
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            if let Err(error) = check(&db, &queue, &schedule, &tenant, Timestamp::now()).await {
                tracing::warn!(%tenant, %error, "scheduled runs: the check failed; trying again");
            }
        }
    });
}

/// Starts each kind's latest due run unless some replica already has, and notes the last and
/// next runs.
pub async fn check(
    db: &DatabaseConnection,
    queue: &JobQueue,
    schedule: &Schedule,
    tenant: &str,
    now: Timestamp,
) -> Result<()> {
    for kind in KINDS {
        let due = schedule.calendar.latest(kind, now);
        let as_of = chrono_date(due.day)?;
        if claim(db, queue, kind, as_of).await? {
            tracing::info!(%tenant, kind = kind.as_str(), %as_of, "scheduled run started");
        }
        let last = latest_claim(db, kind).await?;
        let seen = Seen {
            last_claimed: last.and_then(|l| Timestamp::from_second(l.claimed_at.timestamp()).ok()),
            next: schedule.calendar.next(kind, now).at,
        };
        schedule
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kind.as_str(), seen);
    }
    Ok(())
}

/// Records and queues the run of `kind` for `as_of` unless it is claimed; `true` when this
/// replica started it.
async fn claim(
    db: &DatabaseConnection,
    queue: &JobQueue,
    kind: RunKind,
    as_of: chrono::NaiveDate,
) -> Result<bool> {
    let claimed = scheduled_run::Entity::find_by_id((kind, as_of))
        .one(db)
        .await?;
    if claimed.is_some() {
        return Ok(false);
    }
    let txn = dotmac_sql::begin_write(db).await?;
    let run = runs::start(&txn, &scheduler(), kind, as_of).await?;
    let row = scheduled_run::ActiveModel {
        kind: Set(kind),
        as_of: Set(as_of),
        run_id: Set(run.id),
        claimed_at: Set(chrono::Utc::now()),
    };
    let inserted = scheduled_run::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(&txn)
        .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        // Another replica claimed it first: its run stands, this one is not recorded.
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    // Queued after the commit; should the push fail, the worker finds the run at its next start.
    queue
        .push(Job {
            run: run.id,
            attempt: 0,
        })
        .await?;
    Ok(true)
}

/// The latest claimed run of `kind`.
pub async fn latest_claim(
    db: &impl ConnectionTrait,
    kind: RunKind,
) -> Result<Option<scheduled_run::Model>> {
    Ok(scheduled_run::Entity::find()
        .filter(scheduled_run::Column::Kind.eq(kind))
        .order_by_desc(scheduled_run::Column::AsOf)
        .one(db)
        .await?)
}

/// A jiff calendar day as the database's chrono one.
pub fn chrono_date(day: jiff::civil::Date) -> Result<chrono::NaiveDate> {
    day.to_string()
        .parse()
        .map_err(|e| crate::error::Error::invalid("as_of", format!("{day}: {e}")))
}
