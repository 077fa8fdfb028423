//! A tenant's Redis ACL user `tenant:<name>`: keys and channels `t:<name>:*` only, no admin or
//! dangerous commands, a generated password.

use std::future::Future;

use fred::{
    clients::Client,
    interfaces::{AclInterface, ClientLike},
    types::{Value, config::Config},
};
use sha2::{Digest, Sha256};

use super::{
    Changed, ProvisionError,
    calls::{self, Access},
    password::Password,
};

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

/// Whether `ACL GETUSER`'s `commands` are the tenant's: Redis 7 reports `+@all -@admin
/// -@dangerous` as `+@all -@dangerous` (every admin command is dangerous), older ones verbatim.
fn commands_hold(commands: &str) -> bool {
    let rules: Vec<&str> = commands.split_whitespace().collect();
    rules.contains(&"+@all")
        && rules.contains(&"-@dangerous")
        && rules
            .iter()
            .all(|r| ["+@all", "-@admin", "-@dangerous"].contains(r))
}

/// The step [`CacheProvisioner::ensure`] reports when only the user's password differed.
pub const SET_PASSWORD: &str = "set the user's password";

/// What the platform does with a tenant's Redis user.
pub trait CacheProvisioner: Send + Sync {
    /// Makes the user exist with the tenant's rules and exactly `password`. Returns what it had
    /// to create or restore ([`SET_PASSWORD`] when only the password differed).
    fn ensure(
        &self,
        tenant: &str,
        password: &Password,
    ) -> impl Future<Output = Result<Changed, ProvisionError>> + Send;
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
        calls::count(BACKEND, Access::Read);
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
    async fn ensure(&self, tenant: &str, password: &Password) -> Result<Changed, ProvisionError> {
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
            && field("commands").is_some_and(|c| commands_hold(&c));
        let hash = hex::encode(Sha256::digest(password.expose().as_bytes()));
        let password_holds = field("passwords")
            .is_some_and(|ps| ps.split(' ').any(|h| h == hash) && ps.split(' ').count() == 1);
        let step = match (current.is_some(), rules_hold, password_holds) {
            (_, true, true) => return Ok(Changed::new()),
            (false, _, _) => "create the user",
            (true, false, _) => "restore the user's rules",
            (true, true, false) => SET_PASSWORD,
        };
        let mut rules: Vec<String> = rules(tenant);
        rules.insert(0, "resetpass".into());
        rules.insert(1, format!(">{}", password.expose()));
        calls::count(BACKEND, Access::Write);
        self.client
            .acl_setuser(&user, rules)
            .await
            .map_err(classify("set up the user"))?;
        Ok(vec![step])
    }

    async fn remove(&self, tenant: &str) -> Result<(), ProvisionError> {
        calls::count(BACKEND, Access::Write);
        let _: i64 = self
            .client
            .acl_deluser(user(tenant))
            .await
            .map_err(classify("delete the user"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::commands_hold;

    #[test]
    fn the_commands_hold_as_any_redis_version_reports_them() {
        assert!(commands_hold("+@all -@dangerous"), "Redis 7");
        assert!(commands_hold("+@all -@admin -@dangerous"));
        assert!(!commands_hold("+@all"));
        assert!(!commands_hold("+@all -@dangerous +flushall"));
        assert!(!commands_hold("-@dangerous"));
    }
}
