//! The operator's health port: `/healthz` (the process runs), `/readyz` (a standby replica, or
//! the leader once its caches have synced, while every watch is up) and `/metrics`.

use std::sync::{Arc, atomic::Ordering};

use axum::{Router, http::StatusCode, routing::get};

use super::{RunError, metrics::Metrics};

/// Serves the health port on `addr` until the task is aborted.
pub async fn serve(addr: std::net::SocketAddr, metrics: Arc<Metrics>) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Health { addr, source })?;
    let ready = metrics.clone();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    let down = ready.watches.down_list();
                    if !ready.ready.load(Ordering::Relaxed) {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "caches not synced".to_owned(),
                        )
                    } else if !down.is_empty() {
                        let message = format!("watches down: {}", down.join(", "));
                        (StatusCode::SERVICE_UNAVAILABLE, message)
                    } else {
                        (StatusCode::OK, "ok".to_owned())
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.render() }
            }),
        );
    tracing::info!(%addr, "health and metrics server listening");
    axum::serve(listener, app)
        .await
        .map_err(|source| RunError::Health { addr, source })
}
