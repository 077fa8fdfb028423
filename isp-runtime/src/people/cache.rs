//! Verified sessions cached in Redis (under `t:<tenant>:session:`), so a request's session
//! check is one Redis read instead of a database query. An entry lives at most
//! [`TTL_SECONDS`] and never past its session's end; whatever changes a session or its account
//! (sign-out, revocation, a password, role, status or second-factor change) forgets the
//! account's entries once its transaction has committed. Redis failing makes the check fall
//! back to the database.

use fred::{
    clients::Client,
    interfaces::KeysInterface,
    types::{Expiration, SetOptions},
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{entity::session, sessions::Verified};

/// Seconds an entry may be served from the cache.
pub const TTL_SECONDS: i64 = 60;

/// The cache of one instance.
#[derive(Clone)]
pub struct SessionCache {
    client: Client,
    prefix: String,
}

impl SessionCache {
    /// A cache for `tenant`'s sessions.
    pub fn new(client: Client, tenant: &str) -> Self {
        Self {
            client,
            prefix: format!("t:{tenant}:session:"),
        }
    }

    /// The cached session of a token digest, if any.
    pub async fn get(&self, digest: &str) -> Option<Verified> {
        match self.client.get::<Option<String>, _>(self.key(digest)).await {
            Ok(Some(json)) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "session cache unavailable; checking the database");
                None
            }
        }
    }

    /// Caches a session just verified, until `now + TTL` or its end, whichever is sooner.
    pub async fn put(&self, digest: &str, verified: &Verified, now: chrono::DateTime<chrono::Utc>) {
        let seconds = (verified.expires_at - now).num_seconds().min(TTL_SECONDS);
        let Ok(json) = serde_json::to_string(verified) else {
            return;
        };
        if seconds > 0
            && let Err(error) = self
                .client
                .set::<(), _, _>(
                    self.key(digest),
                    json,
                    Some(Expiration::EX(seconds)),
                    None::<SetOptions>,
                    false,
                )
                .await
        {
            tracing::warn!(%error, "session cache: storing a session failed");
        }
    }

    /// Forgets every cached session of an account; call it after the change commits.
    pub async fn forget_account(
        &self,
        db: &impl ConnectionTrait,
        account: Uuid,
    ) -> Result<(), DbErr> {
        let digests: Vec<String> = session::Entity::find()
            .select_only()
            .column(session::Column::TokenHash)
            .filter(session::Column::AccountId.eq(account))
            .filter(session::Column::ExpiresAt.gt(chrono::Utc::now()))
            .into_tuple()
            .all(db)
            .await?;
        if digests.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = digests.iter().map(|d| self.key(d)).collect();
        if let Err(error) = self.client.del::<(), _>(keys).await {
            tracing::error!(%error, %account, "session cache: forgetting an account's sessions failed; they may be served for up to a minute");
        }
        Ok(())
    }

    fn key(&self, digest: &str) -> String {
        format!("{}{digest}", self.prefix)
    }
}
