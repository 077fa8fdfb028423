//! RFC 9457 problem details: every error response is `application/problem+json` with a stable
//! `type`, a title, a human detail and, when one field is at fault, its name.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::Error;

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
    /// The feature a 403 is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// The lowest plan that has the feature of a 403.
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
            feature: None,
            plan: None,
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

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound { entity } => Self::not_found(format!("no such {entity}")),
            Error::Invalid { field, message } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-value",
                "Invalid value",
                format!("{field}: {message}"),
            )
            .with_field(field),
            Error::Conflict { field, message } => {
                let problem = Self::new(StatusCode::CONFLICT, "conflict", "Conflict", message);
                match field {
                    Some(field) => problem.with_field(field),
                    None => problem,
                }
            }
            Error::FeatureDisabled { feature, plan } => {
                let upgrade = plan.as_ref().map_or_else(String::new, |plan| {
                    format!("; it comes with the {plan} plan")
                });
                let mut problem = Self::new(
                    StatusCode::FORBIDDEN,
                    "feature-not-entitled",
                    "Feature not in this plan",
                    format!("feature {feature} is not enabled for this tenant{upgrade}"),
                );
                problem.feature = Some(feature);
                problem.plan = plan;
                problem
            }
            Error::Unavailable(what) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                format!("{what} is unavailable; nothing was changed, try again"),
            ),
            Error::Db(error) => {
                tracing::error!(%error, "database error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the request failed on the server; it was logged",
                )
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
