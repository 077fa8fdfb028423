//! RFC 9457 problem details: every error response is `application/problem+json` with a stable
//! `type`, a title, a human detail and, when one field is at fault, its name.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// A problem+json body.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a 403 about a feature: the feature and the plan that has it.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<Box<Entitlement>>,
}

/// The feature a 403 is about, and the lowest plan that has it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Entitlement {
    /// The feature refused.
    pub feature: String,
    /// The lowest plan that has it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

impl Problem {
    /// A problem of `kind` (the last segment of its type URI).
    pub fn new(
        status: StatusCode,
        kind: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: format!("https://dotmac.io/problems/{kind}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            entitlement: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400: the body or query could not be read.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    /// 401: no or unknown credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    /// 403: the credentials may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404 for a route or record that does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 422: a value is out of range or malformed.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-value",
            "Invalid value",
            format!("{field}: {}", detail.into()),
        )
        .with_field(field)
    }

    /// 409: the request clashes with the current state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// 503: a dependency is down; nothing was changed.
    pub fn unavailable(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            format!("{what} is unavailable; nothing was changed, try again"),
        )
    }

    /// 500, without internals (the caller logs the cause).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the request failed on the server; it was logged",
        )
    }

    /// 429.
    pub fn rate_limited(limit: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("this token may make {limit} requests per minute"),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
