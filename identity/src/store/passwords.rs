//! Passwords as the APIs set and check them: against the [`policy`](crate::policy), then hashed
//! or verified on the blocking pool, since argon2 takes tens of milliseconds.

use super::Sealed;
use crate::{password, policy::Weakness};

/// A password that could not be set.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// It breaks the policy; the message says how.
    #[error("{0}")]
    Weak(#[from] Weakness),
    /// Hashing failed.
    #[error("{0}")]
    Hash(#[from] password::HashError),
    /// The blocking pool is gone (shutting down).
    #[error("hashing task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Checks `password` against the policy for an account known by `context` (its e-mail, name),
/// then hashes it.
pub async fn new_hash(password: &str, context: &[&str]) -> Result<Sealed, SetError> {
    crate::policy::check(password, context)?;
    let password = password.to_owned();
    let phc = tokio::task::spawn_blocking(move || password::hash(&password)).await??;
    Ok(Sealed(phc))
}

/// Whether `password` matches `phc`; with no hash, the same work is spent on nothing and the
/// answer is `false`, so an unknown account costs what a wrong password does.
pub async fn matches(password: &str, phc: Option<&Sealed>) -> bool {
    let password = password.to_owned();
    let phc = phc.map(|p| p.reveal().to_owned());
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => password::verify(&password, &phc),
        None => {
            password::verify_nothing(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}
