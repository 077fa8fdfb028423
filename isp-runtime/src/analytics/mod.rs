//! Revenue analytics, the `advanced_analytics` feature ([`service`]); calls count against the
//! plugin whose license grants it.

pub mod service;
pub mod wire;

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{ApiRouter, routing::get_with};
use axum::{Json, extract::State};
use serde::Deserialize;

use crate::{
    api::{AppState, extract::Params},
    entitlements::{Metered, feature},
    error::{Error, Result},
};

/// `GET /analytics/revenue?months=N`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevenueQuery {
    /// Months back, the current one included: 1 to 24, 6 by default.
    #[schemars(range(min = 1, max = 24))]
    pub months: Option<u32>,
}

async fn revenue(
    State(state): State<AppState>,
    Params(query): Params<RevenueQuery>,
) -> Result<Metered<Json<wire::Revenue>>> {
    state.gate.require(feature::ADVANCED_ANALYTICS)?;
    let months = query.months.unwrap_or(6);
    if !(1..=24).contains(&months) {
        return Err(Error::invalid("months", "must be 1 to 24"));
    }
    let lines = service::lines(&state.db).await?;
    let today = chrono::Utc::now().date_naive();
    Ok(Metered(
        feature::ADVANCED_ANALYTICS,
        Json(wire::Revenue {
            by_currency: service::revenue(&lines, today, months),
        }),
    ))
}

/// Analytics routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(
        "/analytics/revenue",
        get_with(
            revenue,
            doc(
                "analytics",
                P::AnalyticsRead,
                "Revenue, ARPU and churn by month (advanced_analytics)",
            ),
        ),
    )
}
