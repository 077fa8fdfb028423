//! Where network secrets live. With the tenant's OpenBao, a NAS's shared secret is kept in its
//! KV (`instance/nas/<id>`; the `nas.secret` column is empty) and a PPPoE password is kept
//! encrypted with its transit key (`service_logins.sealed_password`), because CHAP needs the
//! cleartext. Without OpenBao (the embedded defaults) both stay in the database's own columns.
//!
//! What OpenBao answers is cached in memory for a few minutes, so that a sign-in does not wait
//! for it: FreeRADIUS asks for a NAS once a minute, and a login's password once per sign-in.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use super::entity::nas;
use crate::{
    error::{Error, Result},
    openbao::{BaoError, OpenBao},
};

/// How long a decrypted password or a NAS secret read from OpenBao is kept in memory.
const CACHED_FOR: Duration = Duration::from_secs(300);
/// The most entries each cache holds; past it, the expired ones go, then all.
const MOST_CACHED: usize = 200_000;

/// A PPPoE password as stored: in the clear, or sealed with the transit key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredPassword {
    /// Kept as is (no OpenBao).
    Clear(String),
    /// Transit ciphertext.
    Sealed(String),
}

impl StoredPassword {
    /// The `(password, sealed_password)` columns.
    pub fn columns(self) -> (Option<String>, Option<String>) {
        match self {
            Self::Clear(p) => (Some(p), None),
            Self::Sealed(c) => (None, Some(c)),
        }
    }
}

struct Cache<K> {
    entries: Mutex<HashMap<K, (String, Instant)>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq> Cache<K> {
    fn get(&self, key: &K) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(value, _)| value.clone())
    }

    fn keep(&self, key: K, value: String) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MOST_CACHED {
            let now = Instant::now();
            entries.retain(|_, (_, until)| now < *until);
            if entries.len() >= MOST_CACHED {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now() + CACHED_FOR));
    }
}

/// Network secrets, in OpenBao when the instance has it.
#[derive(Clone)]
pub struct Secrets {
    tenant: Arc<str>,
    bao: Option<Arc<OpenBao>>,
    passwords: Arc<Cache<String>>,
    nas: Arc<Cache<Uuid>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("openbao", &self.bao.is_some())
            .finish_non_exhaustive()
    }
}

/// Where a NAS's secret is kept in KV.
fn nas_path(id: Uuid) -> String {
    format!("nas/{id}")
}

impl Secrets {
    /// `tenant`'s secrets, kept in `bao`, or in the database without it.
    pub fn new(tenant: &str, bao: Option<OpenBao>) -> Self {
        Self {
            tenant: tenant.into(),
            bao: bao.map(Arc::new),
            passwords: Arc::default(),
            nas: Arc::default(),
        }
    }

    fn unavailable(&self, error: &BaoError) -> Error {
        tracing::error!(tenant = %self.tenant, %error, "OpenBao failed");
        Error::Unavailable("OpenBao")
    }

    /// A new PPPoE password as it is to be stored.
    pub async fn seal(&self, password: &str) -> Result<StoredPassword> {
        let Some(bao) = &self.bao else {
            return Ok(StoredPassword::Clear(password.to_owned()));
        };
        let sealed = bao
            .encrypt(password)
            .await
            .map_err(|e| self.unavailable(&e))?;
        self.passwords.keep(sealed.clone(), password.to_owned());
        Ok(StoredPassword::Sealed(sealed))
    }

    /// The cleartext of a stored PPPoE password.
    pub async fn password(&self, stored: StoredPassword) -> Result<String> {
        let sealed = match stored {
            StoredPassword::Clear(password) => return Ok(password),
            StoredPassword::Sealed(sealed) => sealed,
        };
        if let Some(password) = self.passwords.get(&sealed) {
            return Ok(password);
        }
        let Some(bao) = &self.bao else {
            return Err(Error::Internal(
                "a sealed PPPoE password, and no OpenBao to open it (BAO_ADDR is not set)"
                    .to_owned(),
            ));
        };
        let password = bao
            .decrypt(&sealed)
            .await
            .map_err(|e| self.unavailable(&e))?;
        self.passwords.keep(sealed, password.clone());
        Ok(password)
    }

    /// Keeps a new NAS's secret; answers what its `secret` column holds (nothing when the
    /// secret went to OpenBao). Written before the NAS row: a crash in between leaves a KV
    /// entry no NAS names, never a NAS without its secret.
    pub async fn keep_nas(&self, id: Uuid, secret: &str) -> Result<Option<String>> {
        let Some(bao) = &self.bao else {
            return Ok(Some(secret.to_owned()));
        };
        bao.put(&nas_path(id), secret)
            .await
            .map_err(|e| self.unavailable(&e))?;
        self.nas.keep(id, secret.to_owned());
        Ok(None)
    }

    /// A NAS's shared secret, wherever it is kept.
    pub async fn nas_secret(&self, nas: &nas::Model) -> Result<String> {
        if let Some(secret) = &nas.secret {
            return Ok(secret.clone());
        }
        if let Some(secret) = self.nas.get(&nas.id) {
            return Ok(secret);
        }
        let Some(bao) = &self.bao else {
            return Err(Error::Internal(format!(
                "NAS {} keeps its secret in OpenBao, and BAO_ADDR is not set",
                nas.name
            )));
        };
        let secret = bao
            .get(&nas_path(nas.id))
            .await
            .map_err(|e| self.unavailable(&e))?
            .ok_or_else(|| {
                Error::Internal(format!("NAS {}'s secret is missing in OpenBao", nas.name))
            })?;
        self.nas.keep(nas.id, secret.clone());
        Ok(secret)
    }

    /// Moves what an instance kept in the clear before it had OpenBao there: NAS secrets to
    /// KV, PPPoE passwords sealed. Each row is changed only if it still holds what was moved,
    /// so a crash or a concurrent change leaves nothing half-done. Answers how many moved.
    pub async fn seal_existing(&self, db: &impl ConnectionTrait) -> Result<u64> {
        let Some(bao) = &self.bao else {
            return Ok(0);
        };
        let backend = db.get_database_backend();
        let mut moved = 0;
        let clear_nas = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, secret FROM nas WHERE secret IS NOT NULL",
            ))
            .await?;
        for row in clear_nas {
            let id: Uuid = row.try_get("", "id")?;
            let secret: String = row.try_get("", "secret")?;
            bao.put(&nas_path(id), &secret)
                .await
                .map_err(|e| self.unavailable(&e))?;
            let done = db
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    "UPDATE nas SET secret = NULL WHERE id = $1 AND secret = $2",
                    [id.into(), secret.into()],
                ))
                .await?;
            moved += done.rows_affected();
        }
        let clear_logins = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT subscription_id, password FROM service_logins WHERE password IS NOT NULL",
            ))
            .await?;
        for row in clear_logins {
            let id: Uuid = row.try_get("", "subscription_id")?;
            let password: String = row.try_get("", "password")?;
            let sealed = bao
                .encrypt(&password)
                .await
                .map_err(|e| self.unavailable(&e))?;
            let done = db
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    "UPDATE service_logins SET password = NULL, sealed_password = $1 \
                     WHERE subscription_id = $2 AND password = $3",
                    [sealed.into(), id.into(), password.into()],
                ))
                .await?;
            moved += done.rows_affected();
        }
        if moved > 0 {
            tracing::info!(tenant = %self.tenant, moved, "network secrets moved to OpenBao");
        }
        Ok(moved)
    }
}
