//! The HTTP application: routes, request tracing and metrics, serving with graceful shutdown.

use std::time::{Duration, Instant};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use opentelemetry::{
    KeyValue,
    metrics::{Counter, Histogram},
};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::{api, probes};

/// Builds the application's router: probes, Prometheus `/metrics` and the API.
pub fn app(state: api::AppState) -> Router {
    let metrics = HttpMetrics::new();
    let exposition = metrics.prometheus.clone();
    let schedule = state.schedule.clone();
    let drops = state.radius_drops.clone();
    Router::new()
        .route("/health", get(probes::health))
        .route("/ready", get(probes::ready))
        .with_state(state.db.clone())
        .route(
            "/metrics",
            get(move || async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    exposition.render() + &schedule.metrics() + &drops.metrics(),
                )
            }),
        )
        .merge(api::router(state))
        .layer(middleware::from_fn_with_state(metrics, record_metrics))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(|response: &Response, _: Duration, span: &Span| {
                    span.record("http.response.status_code", response.status().as_u16());
                }),
        )
}

/// HTTP server metrics by method, route and status, recorded once per request into both
/// stacks: OpenTelemetry (request count and duration, exported over OTLP) and the Prometheus
/// counters `/metrics` serves.
#[derive(Clone)]
struct HttpMetrics {
    requests: Counter<u64>,
    duration: Histogram<f64>,
    prometheus: dotmac_web::metrics::HttpMetrics,
}

impl HttpMetrics {
    fn new() -> Self {
        let meter = opentelemetry::global::meter("dotmac-isp");
        Self {
            requests: meter
                .u64_counter("http.server.requests")
                .with_description("HTTP requests served")
                .build(),
            duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Time to serve an HTTP request")
                .build(),
            prometheus: dotmac_web::metrics::HttpMetrics::new("dotmac_isp", "ISP instance"),
        }
    }
}

async fn record_metrics(
    State(metrics): State<HttpMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = route_of(&request).to_owned();
    let response = next.run(request).await;
    let (status, seconds) = (response.status().as_u16(), started.elapsed().as_secs_f64());
    metrics.prometheus.observe(&method, &route, status, seconds);
    let attributes = [
        KeyValue::new("http.request.method", method),
        KeyValue::new("http.route", route),
        KeyValue::new("http.response.status_code", i64::from(status)),
    ];
    metrics.requests.add(1, &attributes);
    metrics.duration.record(seconds, &attributes);
    response
}

/// The route template that matched (`/customers/{id}`), never the raw path, so metric and span
/// names stay few.
fn route_of<B>(request: &axum::http::Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
}

/// One span per request, named `<METHOD> <route>` as OpenTelemetry's HTTP conventions ask.
fn request_span<B>(request: &axum::http::Request<B>) -> Span {
    let route = route_of(request);
    tracing::info_span!(
        "http.request",
        otel.name = format!("{} {route}", request.method()),
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = route,
        http.response.status_code = tracing::field::Empty,
    )
}

/// Serves `app` on `listener` until SIGTERM or Ctrl-C, then finishes in-flight requests.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    dotmac_web::shutdown::requested().await;
    tracing::info!("shutdown requested; finishing in-flight requests");
}
