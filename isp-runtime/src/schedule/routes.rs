//! `GET /schedule`: the time zone, and for each kind of run its hour, the last run the schedule
//! started and when the next is due.

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{ApiRouter, routing::get_with};
use axum::{Json, extract::State};
use serde::Serialize;

use super::latest_claim;
use crate::{api::AppState, billing::runs::RunKind, error::Result};

/// The schedule.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ScheduleView {
    /// IANA time zone of the business day.
    pub time_zone: String,
    /// Whether this instance starts runs on its own.
    pub enabled: bool,
    /// Billing, then dunning.
    pub runs: Vec<ScheduledRunView>,
}

/// One kind of run on the schedule.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ScheduledRunView {
    /// `billing` (first day of each month) or `dunning` (daily).
    pub kind: RunKind,
    /// Local hour.
    pub hour: i8,
    /// The business day of the last run the schedule started, if any.
    pub last_as_of: Option<chrono::NaiveDate>,
    /// That run (`/api/v1/{kind}-runs/{id}`).
    pub last_run_id: Option<uuid::Uuid>,
    /// When the next is due (RFC 3339, UTC).
    pub next_at: String,
    /// Its business day.
    pub next_as_of: String,
}

async fn schedule(State(state): State<AppState>) -> Result<Json<ScheduleView>> {
    let schedule = &state.schedule;
    let now = jiff::Timestamp::now();
    let mut runs = Vec::new();
    for kind in super::KINDS {
        let last = latest_claim(&state.db, kind).await?;
        let next = schedule.calendar.next(kind, now);
        runs.push(ScheduledRunView {
            kind,
            hour: match kind {
                RunKind::Billing => schedule.calendar.billing_hour,
                RunKind::Dunning => schedule.calendar.dunning_hour,
            },
            last_as_of: last.as_ref().map(|l| l.as_of),
            last_run_id: last.map(|l| l.run_id),
            next_at: next.at.to_string(),
            next_as_of: next.day.to_string(),
        });
    }
    Ok(Json(ScheduleView {
        time_zone: schedule.zone_name.clone(),
        enabled: schedule.enabled,
        runs,
    }))
}

/// Schedule routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/schedule",
        get_with(
            schedule,
            doc(
                "runs",
                P::RunsRead,
                "The business day: last and next billing and dunning runs",
            ),
        ),
    )
}
