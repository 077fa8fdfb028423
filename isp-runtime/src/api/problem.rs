//! How service errors become problem+json responses (the format itself is `dotmac-web`'s).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
pub use dotmac_web::problem::{Entitlement, Problem};

use crate::error::Error;

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound { entity } => Self::not_found(format!("no such {entity}")),
            Error::Invalid { field, message } => Self::invalid(field, message),
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
                problem.entitlement = Some(Box::new(Entitlement { feature, plan }));
                problem
            }
            Error::LimitReached {
                limit,
                allowed,
                counts,
            } => Self::new(
                StatusCode::FORBIDDEN,
                "limit-reached",
                "Limit reached",
                format!(
                    "this tenant may have at most {allowed} {counts} ({limit}); cancel some or ask the platform to raise the limit"
                ),
            )
            .with_field(limit),
            Error::Unauthorized {
                kind,
                field,
                message,
            } => {
                let problem = Self::new(StatusCode::UNAUTHORIZED, kind, "Unauthorized", message);
                match field {
                    Some(field) => problem.with_field(field),
                    None => problem,
                }
            }
            Error::Locked { retry_after } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "sign-in-locked",
                "Sign-in locked",
                format!(
                    "too many failed sign-ins; try again in {} minutes or ask an administrator to unlock",
                    (retry_after + 59) / 60
                ),
            ),
            Error::Forbidden(detail) => Self::forbidden(detail),
            Error::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Self::internal()
            }
            Error::Unavailable(what) => Self::unavailable(what),
            Error::Db(error) => {
                tracing::error!(%error, "database error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Error::Locked { retry_after } => Some(*retry_after),
            _ => None,
        };
        let mut response = Problem::from(self).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.max(1).into());
        }
        response
    }
}
