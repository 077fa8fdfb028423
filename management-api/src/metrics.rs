//! `/metrics` of the management API in the Prometheus text format: requests and their total
//! duration by method, route template and status.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::AppState;

/// Method, route template and status of a request.
type Key = (String, String, u16);

/// Requests by (method, route, status): count and seconds spent.
#[derive(Debug, Default, Clone)]
pub struct HttpMetrics(Arc<Mutex<BTreeMap<Key, (u64, f64)>>>);

/// Middleware counting every request under its route template (never the raw path).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let key = (method, route, response.status().as_u16());
    let mut metrics = state
        .metrics
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = metrics.entry(key).or_insert((0, 0.0));
    entry.0 += 1;
    entry.1 += started.elapsed().as_secs_f64();
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let metrics = state
        .metrics
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut text = String::from(
        "# HELP dotmac_api_requests_total Requests served by the management API.\n# TYPE dotmac_api_requests_total counter\n",
    );
    for ((method, route, status), (count, _)) in &metrics {
        let _ = writeln!(
            text,
            "dotmac_api_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
        );
    }
    text.push_str("# HELP dotmac_api_request_duration_seconds_sum Seconds spent serving requests.\n# TYPE dotmac_api_request_duration_seconds_sum counter\n");
    for ((method, route, status), (_, seconds)) in &metrics {
        let _ = writeln!(
            text,
            "dotmac_api_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {seconds}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
