//! A tenant's Redis ACL user `tenant:<name>`: keys and channels `t:<name>:*` only, no admin or
//! dangerous commands, a generated password.

use std::future::Future;

use fred::{
    clients::Client,
    interfaces::{AclInterface, ClientLike},
    types::{Value, config::Config},
};
use sha2::{Digest, Sha256};

use super::{ProvisionError, password::Password};

const BACKEND: &str = "Redis";

/// The ACL user name of a tenant.
pub fn user(tenant: &str) -> String {
    format!("tenant:{tenant}")
}

/// The key (and channel) pattern of a tenant.
pub fn key_pattern(tenant: &str) -> String {
    format!("t:{tenant}:*")
}

/// The rules of a tenant's user, without its password.
pub fn rules(tenant: &str) -> Vec<String> {
    vec![
        "on".into(),
        "resetkeys".into(),
        format!("~{}", key_pattern(tenant)),
        "resetchannels".into(),
        format!("&{}", key_pattern(tenant)),
        "+@all".into(),
        "-@admin".into(),
        "-@dangerous".into(),
    ]
}

/// What the platform does with a tenant's Redis user.
pub trait CacheProvisioner: Send + Sync {
    /// Makes the user exist with the tenant's rules; sets the password when given (new or
    /// rotated), otherwise keeps the one it has.
    fn ensure(
        &self,
        tenant: &str,
        password: Option<&Password>,
    ) -> impl Future<Output = Result<(), ProvisionError>> + Send;
    /// Removes the user; gone already is fine.
    fn remove(&self, tenant: &str) -> impl Future<Output = Result<(), ProvisionError>> + Send;
}

/// The real Redis, through an admin connection.
#[derive(Clone)]
pub struct Redis {
    client: Client,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").finish_non_exhaustive()
    }
}

fn classify(step: &'static str) -> impl Fn(fred::error::Error) -> ProvisionError {
    move |error| {
        let message = error.details().to_owned();
        match error.kind() {
            fred::error::ErrorKind::IO
            | fred::error::ErrorKind::Timeout
            | fred::error::ErrorKind::Canceled => ProvisionError::Unreachable {
                backend: BACKEND,
                message,
            },
            _ => ProvisionError::Failed {
                backend: BACKEND,
                step,
                message,
            },
        }
    }
}

impl Redis {
    /// Connects with the platform's admin credentials (`redis://[user:pass@]host:port`).
    pub async fn connect(admin_url: &str) -> Result<Self, ProvisionError> {
        let config = Config::from_url(admin_url).map_err(classify("parse the admin URL"))?;
        let client = fred::types::Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = std::time::Duration::from_secs(5);
                c.internal_command_timeout = std::time::Duration::from_secs(5);
            })
            .build()
            .map_err(classify("connect"))?;
        client.init().await.map_err(classify("connect"))?;
        Ok(Self { client })
    }

    /// An admin client that keeps reconnecting in the background, so the operator starts while
    /// Redis is down and reports it per tenant instead.
    pub fn connect_lazy(admin_url: &str) -> Result<Self, ProvisionError> {
        let config = Config::from_url(admin_url).map_err(classify("parse the admin URL"))?;
        let client = fred::types::Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = std::time::Duration::from_secs(5);
                c.internal_command_timeout = std::time::Duration::from_secs(5);
            })
            .with_performance_config(|p| {
                p.default_command_timeout = std::time::Duration::from_secs(5)
            })
            .set_policy(fred::types::config::ReconnectPolicy::new_exponential(
                0, 100, 5_000, 2,
            ))
            .build()
            .map_err(classify("connect"))?;
        drop(client.connect());
        Ok(Self { client })
    }

    /// The current rules of `user` as `ACL GETUSER` reports them, if the user exists.
    async fn current(&self, user: &str) -> Result<Option<Vec<(String, Value)>>, ProvisionError> {
        let reply: Value = self
            .client
            .acl_getuser(user)
            .await
            .map_err(classify("read the user"))?;
        match reply {
            Value::Null => Ok(None),
            Value::Array(items) => Ok(Some(
                items
                    .chunks(2)
                    .filter_map(|pair| Some((pair.first()?.as_string()?, pair.get(1)?.clone())))
                    .collect(),
            )),
            Value::Map(map) => Ok(Some(
                map.inner()
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
                    .collect(),
            )),
            _ => Ok(None),
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => other.as_string().unwrap_or_default(),
    }
}

impl CacheProvisioner for Redis {
    async fn ensure(
        &self,
        tenant: &str,
        password: Option<&Password>,
    ) -> Result<(), ProvisionError> {
        let user = user(tenant);
        let current = self.current(&user).await?;
        let field = |name: &str| {
            current
                .as_ref()
                .and_then(|c| c.iter().find(|(k, _)| k == name).map(|(_, v)| text(v)))
        };
        let pattern = key_pattern(tenant);
        let rules_hold = current.is_some()
            && field("flags").is_some_and(|f| f.split(' ').any(|x| x == "on"))
            && field("keys").is_some_and(|k| k.trim() == format!("~{pattern}"))
            && field("channels").is_some_and(|c| c.trim() == format!("&{pattern}"))
            && field("commands").is_some_and(|c| c.trim() == "+@all -@admin -@dangerous");
        let password_holds = match password {
            None => current.is_some(),
            Some(p) => {
                let hash = hex::encode(Sha256::digest(p.expose().as_bytes()));
                field("passwords").is_some_and(|ps| ps.split(' ').any(|h| h == hash))
                    && field("passwords").is_some_and(|ps| ps.split(' ').count() == 1)
            }
        };
        if rules_hold && password_holds {
            return Ok(());
        }
        let mut rules: Vec<String> = rules(tenant);
        if let Some(p) = password {
            rules.insert(0, "resetpass".into());
            rules.insert(1, format!(">{}", p.expose()));
        }
        self.client
            .acl_setuser(&user, rules)
            .await
            .map_err(classify("set up the user"))
    }

    async fn remove(&self, tenant: &str) -> Result<(), ProvisionError> {
        let _: i64 = self
            .client
            .acl_deluser(user(tenant))
            .await
            .map_err(classify("delete the user"))?;
        Ok(())
    }
}
