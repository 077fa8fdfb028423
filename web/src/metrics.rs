//! HTTP request metrics in the Prometheus text format, served as `/metrics` by both APIs:
//! requests and the seconds spent on them, by method, route template (never the raw path, so
//! the series stay few) and status.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Method, route template and status of a request.
type Key = (String, String, u16);

/// Requests by (method, route, status): count and seconds spent, under the metric names
/// `<prefix>_requests_total` and `<prefix>_request_duration_seconds_sum`.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    prefix: &'static str,
    server: &'static str,
    requests: Arc<Mutex<BTreeMap<Key, (u64, f64)>>>,
}

impl HttpMetrics {
    /// Metrics named `<prefix>_…`, described as served by `server`.
    pub fn new(prefix: &'static str, server: &'static str) -> Self {
        Self {
            prefix,
            server,
            requests: Arc::default(),
        }
    }

    /// Counts one request of `method` on `route` (a template) answered with `status`.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let key = (method.to_owned(), route.to_owned(), status);
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = requests.entry(key).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 += seconds;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (prefix, server) = (self.prefix, self.server);
        let mut text = format!(
            "# HELP {prefix}_requests_total Requests served by the {server}.\n# TYPE {prefix}_requests_total counter\n"
        );
        for ((method, route, status), (count, _)) in &requests {
            let _ = writeln!(
                text,
                "{prefix}_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        let _ = write!(
            text,
            "# HELP {prefix}_request_duration_seconds_sum Seconds spent serving requests.\n# TYPE {prefix}_request_duration_seconds_sum counter\n"
        );
        for ((method, route, status), (_, seconds)) in &requests {
            let _ = writeln!(
                text,
                "{prefix}_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {seconds}"
            );
        }
        text
    }

    /// `GET /metrics`.
    pub fn response(&self) -> Response {
        (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            self.render(),
        )
            .into_response()
    }
}

/// Middleware counting every request under its route template.
pub async fn record(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_render_by_method_route_and_status() {
        let metrics = HttpMetrics::new("dotmac_isp", "ISP instance");
        metrics.observe("GET", "/api/v1/customers/{id}", 200, 0.25);
        metrics.observe("GET", "/api/v1/customers/{id}", 200, 0.5);
        let text = metrics.render();
        assert!(text.contains("# TYPE dotmac_isp_requests_total counter"));
        assert!(text.contains(
            "dotmac_isp_requests_total{method=\"GET\",route=\"/api/v1/customers/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "dotmac_isp_request_duration_seconds_sum{method=\"GET\",route=\"/api/v1/customers/{id}\",status=\"200\"} 0.75"
        ));
    }
}
