//! What a service operation can fail with. The HTTP layer turns each into a problem+json
//! response; a database error is logged there and never shown to the caller.

use sea_orm::{DbErr, SqlErr};

/// A failed service operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The addressed record does not exist.
    #[error("{entity} not found")]
    NotFound {
        /// Kind of record (`customer`).
        entity: &'static str,
    },
    /// A value is out of range or malformed (422).
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault, as named in the request.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The request clashes with the current state (409): a duplicate, an illegal status
    /// change, a rule such as "no price cut while subscribed".
    #[error("{message}")]
    Conflict {
        /// The field at fault, when one is.
        field: Option<String>,
        /// What clashes.
        message: String,
    },
    /// A feature this tenant's plan does not include (403).
    #[error("feature {feature} is not enabled")]
    FeatureDisabled {
        /// Feature id.
        feature: String,
        /// The lowest plan that has it, when known.
        plan: Option<String>,
    },
    /// A limit of the tenant is reached (403): `limit` names it as the Tenant spells it.
    #[error("the tenant's {limit} of {allowed} is reached")]
    LimitReached {
        /// The Tenant's limit (`limits.maxCustomers`).
        limit: &'static str,
        /// Its value.
        allowed: u64,
        /// What it counts (`customers`, cancelled ones not included).
        counts: &'static str,
    },
    /// Credentials refused (401). `kind` says why, as the problem type: `wrong-credentials`
    /// (the same for an unknown account and a wrong password), `second-factor-required`,
    /// `wrong-second-factor`, `link-invalid`.
    #[error("{message}")]
    Unauthorized {
        /// The problem type.
        kind: &'static str,
        /// The field at fault, when one is.
        field: Option<&'static str>,
        /// What to do.
        message: &'static str,
    },
    /// Too many failed sign-ins for the account or the address (429).
    #[error("too many failed sign-ins; try again in {retry_after} seconds")]
    Locked {
        /// Seconds until the lock ends.
        retry_after: i64,
    },
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Something the server needs failed (no randomness, a hash, mail); logged, not shown.
    #[error("{0}")]
    Internal(String),
    /// A dependency (the job queue) is down (503).
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl Error {
    /// A 422 for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A 409 about `field`.
    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A record named by a request field that does not exist is bad input in that field (422),
    /// not a missing route (404).
    pub fn in_field(self, field: &str) -> Self {
        match self {
            Self::NotFound { entity } => Self::invalid(field, format!("no such {entity}")),
            other => other,
        }
    }

    /// Maps a unique-constraint violation to a 409 naming `field`; other errors pass through.
    pub fn unique_as_conflict(error: DbErr, field: &str, message: &str) -> Self {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::conflict(Some(field), message),
            _ => Self::Db(error),
        }
    }
}

/// Result of a service operation.
pub type Result<T> = std::result::Result<T, Error>;
