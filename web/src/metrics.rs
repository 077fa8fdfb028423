//! Metrics in the Prometheus text format: [`Exposition`], the one writer of it every process
//! uses, and [`HttpMetrics`], served as `/metrics` by both APIs: requests and the seconds spent
//! on them, by method, route template (never the raw path, so the series stay few) and status.

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

/// What a metric family is.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

/// A Prometheus text exposition, written family by family.
#[derive(Debug, Default)]
pub struct Exposition(String);

impl Exposition {
    /// Starts the family `name`: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample of `name` with `labels`.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl std::fmt::Display,
    ) -> &mut Self {
        self.0.push_str(name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(label, value)| format!("{label}=\"{value}\""))
                .collect();
            let _ = write!(self.0, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.0, " {value}");
        self
    }

    /// The text.
    pub fn finish(self) -> String {
        self.0
    }
}

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
        let (total, seconds) = (
            format!("{}_requests_total", self.prefix),
            format!("{}_request_duration_seconds_sum", self.prefix),
        );
        let mut text = Exposition::default();
        let help = format!("Requests served by the {}.", self.server);
        text.family(&total, Kind::Counter, &help);
        for ((method, route, status), (count, _)) in &requests {
            let status = status.to_string();
            let labels = [
                ("method", method.as_str()),
                ("route", route),
                ("status", &status),
            ];
            text.sample(&total, &labels, count);
        }
        text.family(&seconds, Kind::Counter, "Seconds spent serving requests.");
        for ((method, route, status), (_, spent)) in &requests {
            let status = status.to_string();
            let labels = [
                ("method", method.as_str()),
                ("route", route),
                ("status", &status),
            ];
            text.sample(&seconds, &labels, spent);
        }
        text.finish()
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
