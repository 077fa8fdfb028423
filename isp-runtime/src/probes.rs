//! Liveness and readiness probes: `/health` says the process serves, `/ready` that its
//! database answers too, so Kubernetes only routes traffic to instances that can work.

use axum::{Json, extract::State, http::StatusCode};
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// Body of both probes.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct ProbeReport {
    /// `ok`, or `unavailable` when a dependency fails.
    pub status: &'static str,
    /// Each checked dependency and its state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// One dependency's state.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// `ok` or `unavailable`.
    pub status: &'static str,
}

/// `GET /health`: the process is up.
pub async fn health() -> Json<ProbeReport> {
    Json(ProbeReport {
        status: "ok",
        checks: Vec::new(),
    })
}

/// `GET /ready`: the database answers; 503 when it does not.
pub async fn ready(State(db): State<DatabaseConnection>) -> (StatusCode, Json<ProbeReport>) {
    let (code, status) = match db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::warn!(%error, "readiness: database ping failed");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    };
    (
        code,
        Json(ProbeReport {
            status,
            checks: vec![Check {
                name: "database",
                status,
            }],
        }),
    )
}
