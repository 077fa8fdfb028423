//! The external systems a tenant needs besides Kubernetes, each behind a small trait so tests
//! can inject faults: a PostgreSQL database and role ([`postgres`]), a Redis ACL user
//! ([`redis`]) and an OpenBao namespace ([`openbao`]). Every step checks before it writes and
//! can be repeated.

pub mod calls;
pub mod openbao;
pub mod password;
pub mod postgres;
pub mod redis;

/// What an `ensure` had to create or restore, as the steps that wrote, in order; empty when
/// everything was in place. Setting a password the caller asked to set is not listed.
pub type Changed = Vec<&'static str>;

/// A provisioning step failed; the message never contains a credential.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The backend could not be reached (connection refused, timed out, reset).
    #[error("{backend} is unreachable: {message}")]
    Unreachable {
        /// `PostgreSQL` or `Redis`.
        backend: &'static str,
        /// What the client said.
        message: String,
    },
    /// The backend is sealed (OpenBao) and cannot serve until unsealed.
    #[error("{backend} is sealed")]
    Sealed {
        /// `OpenBao`.
        backend: &'static str,
    },
    /// The backend refused or failed a command.
    #[error("{backend} refused {step}: {message}")]
    Failed {
        /// `PostgreSQL` or `Redis`.
        backend: &'static str,
        /// The step, e.g. `create the role`.
        step: &'static str,
        /// What the backend said.
        message: String,
    },
}

impl ProvisionError {
    /// The condition reason: `PostgresUnreachable`, `PostgresFailed`, `RedisUnreachable`, …
    pub fn reason(&self) -> String {
        match self {
            Self::Unreachable { backend, .. } => format!("{}Unreachable", short(backend)),
            Self::Failed { backend, .. } => format!("{}Failed", short(backend)),
            Self::Sealed { backend } => format!("{}Sealed", short(backend)),
        }
    }
}

fn short(backend: &str) -> &str {
    match backend {
        "PostgreSQL" => "Postgres",
        other => other,
    }
}
