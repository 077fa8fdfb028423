//! A tenant's OpenBao namespace `tenants/<name>`: a KV v2 mount holding the master copy of the
//! tenant's credentials, a transit key for field encryption, a policy that allows only those,
//! and an AppRole for the tenant's instance. Every step reads before it writes.

use std::future::Future;

use dotmac_contract::instance;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    Changed, ProvisionError,
    calls::{self, Access},
    password::Password,
};

const BACKEND: &str = "OpenBao";
/// Parent namespace of every tenant namespace.
pub const PARENT: &str = "tenants";
/// KV v2 mount in a tenant namespace.
pub const KV_MOUNT: &str = instance::OPENBAO_KV_MOUNT;
/// Path of the credentials inside the KV mount.
pub const CREDENTIALS_PATH: &str = "credentials";
/// Transit key for field encryption.
pub const TRANSIT_KEY: &str = instance::OPENBAO_TRANSIT_KEY;
/// Name of the instance's policy and AppRole.
pub const ROLE: &str = "isp-runtime";

/// The namespace of a tenant.
pub fn namespace(tenant: &str) -> String {
    format!("{PARENT}/{tenant}")
}

/// The instance's AppRole login.
#[derive(Clone, PartialEq, Eq)]
pub struct AppRoleLogin {
    /// The role id (not secret on its own).
    pub role_id: String,
    /// The secret id.
    pub secret_id: Password,
}

impl std::fmt::Debug for AppRoleLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRoleLogin")
            .field("role_id", &self.role_id)
            .finish_non_exhaustive()
    }
}

/// What the platform does with a tenant's OpenBao namespace.
pub trait SecretsProvisioner: Send + Sync {
    /// Makes the namespace, mounts, key, policy and AppRole exist; returns the role id and what
    /// it had to create or restore.
    fn ensure(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<(String, Changed), ProvisionError>> + Send;
    /// Issues a new secret id for the instance's AppRole.
    fn issue_secret_id(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<Password, ProvisionError>> + Send;
    /// Revokes a secret id of the instance's AppRole (after a rotation); gone already is fine.
    fn destroy_secret_id(
        &self,
        tenant: &str,
        secret_id: &Password,
    ) -> impl Future<Output = Result<(), ProvisionError>> + Send;
    /// Reads the credentials kept in KV (field → value), if any.
    fn read_credentials(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Map<String, Value>>, ProvisionError>> + Send;
    /// Writes the credentials into KV (a new version).
    fn write_credentials(
        &self,
        tenant: &str,
        fields: &serde_json::Map<String, Value>,
    ) -> impl Future<Output = Result<(), ProvisionError>> + Send;
    /// Removes the tenant's namespace and all in it; gone already is fine.
    fn remove(&self, tenant: &str) -> impl Future<Output = Result<(), ProvisionError>> + Send;
}

/// Where a mount is listed: secrets engines (`sys/mounts`) or auth methods (`sys/auth`).
#[derive(Debug, Clone, Copy)]
enum Table {
    Engines,
    Auth,
}

impl Table {
    /// The API path that lists the mounts and, with a name appended, creates one.
    fn path(self) -> &'static str {
        match self {
            Self::Engines => "sys/mounts",
            Self::Auth => "sys/auth",
        }
    }
}

/// The real OpenBao over its HTTP API.
#[derive(Clone)]
pub struct OpenBao {
    http: reqwest::Client,
    addr: String,
    token: Password,
}

impl std::fmt::Debug for OpenBao {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenBao")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn unreachable(error: reqwest::Error) -> ProvisionError {
    ProvisionError::Unreachable {
        backend: BACKEND,
        message: error.without_url().to_string(),
    }
}

impl OpenBao {
    /// A client for the OpenBao at `addr` with the platform's admin `token`.
    pub fn new(addr: &str, token: Password) -> Result<Self, ProvisionError> {
        dotmac_telemetry::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(unreachable)?;
        Ok(Self {
            http,
            addr: addr.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Fails with reason `OpenBaoSealed` when the server is sealed, `OpenBaoUnreachable` when
    /// it does not answer.
    pub async fn check_health(&self) -> Result<(), ProvisionError> {
        calls::count(BACKEND, Access::Read);
        let response = self
            .http
            .get(format!("{}/v1/sys/health", self.addr))
            .send()
            .await
            .map_err(unreachable)?;
        match response.status().as_u16() {
            200 | 429 | 472 | 473 => Ok(()),
            503 => Err(ProvisionError::Sealed { backend: BACKEND }),
            code => Err(ProvisionError::Unreachable {
                backend: BACKEND,
                message: format!("health answered {code}"),
            }),
        }
    }

    /// One API call in `namespace` (root when empty); `Ok(None)` for 404.
    async fn call(
        &self,
        method: Method,
        namespace: &str,
        path: &str,
        body: Option<Value>,
        step: &'static str,
    ) -> Result<Option<Value>, ProvisionError> {
        let access = if method == Method::GET {
            Access::Read
        } else {
            Access::Write
        };
        calls::count(BACKEND, access);
        let mut request = self
            .http
            .request(method, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", self.token.expose());
        if !namespace.is_empty() {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return Err(ProvisionError::Sealed { backend: BACKEND });
        }
        let text = response.text().await.map_err(unreachable)?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("errors").cloned())
                .map_or_else(|| status.to_string(), |e| e.to_string());
            return Err(ProvisionError::Failed {
                backend: BACKEND,
                step,
                message,
            });
        }
        Ok(Some(serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Creates the namespace `name` inside `parent` when missing. Another writer creating it at
    /// the same time is success once it exists.
    async fn ensure_namespace(
        &self,
        parent: &str,
        name: &str,
        what: &'static str,
        changed: &mut Changed,
    ) -> Result<(), ProvisionError> {
        let path = format!("sys/namespaces/{name}");
        if self
            .call(Method::GET, parent, &path, None, what)
            .await?
            .is_some()
        {
            return Ok(());
        }
        changed.push(what);
        match self
            .call(Method::POST, parent, &path, Some(json!({})), what)
            .await
        {
            Ok(_) => Ok(()),
            Err(ProvisionError::Failed { .. }) => {
                for _ in 0..50 {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    if self
                        .call(Method::GET, parent, &path, None, what)
                        .await?
                        .is_some()
                    {
                        return Ok(());
                    }
                }
                Err(ProvisionError::Failed {
                    backend: BACKEND,
                    step: what,
                    message: "created elsewhere but never appeared".into(),
                })
            }
            Err(other) => Err(other),
        }
    }

    /// Whether `path` is mounted in `table` of namespace `ns`.
    async fn is_mounted(&self, ns: &str, table: Table, path: &str) -> Result<bool, ProvisionError> {
        let mounts = self
            .call(Method::GET, ns, table.path(), None, "read the mounts")
            .await?
            .unwrap_or_default();
        Ok(mounts
            .get("data")
            .unwrap_or(&mounts)
            .get(format!("{path}/"))
            .is_some())
    }

    /// Mounts `path` in `table` of namespace `ns` with `config` when it is missing. Another
    /// writer mounting it at the same time (OpenBao answers "path is already in use") is
    /// success once the mount is there.
    async fn ensure_mounted(
        &self,
        ns: &str,
        table: Table,
        path: &str,
        config: Value,
        step: &'static str,
        changed: &mut Changed,
    ) -> Result<(), ProvisionError> {
        if self.is_mounted(ns, table, path).await? {
            return Ok(());
        }
        changed.push(step);
        match self
            .call(
                Method::POST,
                ns,
                &format!("{}/{path}", table.path()),
                Some(config),
                step,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(ProvisionError::Failed { message, .. }) if message.contains("already in use") => {
                if self.is_mounted(ns, table, path).await? {
                    Ok(())
                } else {
                    Err(ProvisionError::Failed {
                        backend: BACKEND,
                        step,
                        message,
                    })
                }
            }
            Err(other) => Err(other),
        }
    }

    /// One call whose answer must carry a string at `pointer`.
    async fn string_field(
        &self,
        method: Method,
        namespace: &str,
        path: &str,
        body: Option<Value>,
        pointer: &str,
        step: &'static str,
    ) -> Result<String, ProvisionError> {
        self.call(method, namespace, path, body, step)
            .await?
            .and_then(|reply| {
                reply
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| ProvisionError::Failed {
                backend: BACKEND,
                step,
                message: format!("the answer has no {pointer}"),
            })
    }

    /// The instance's policy: read its KV and write its own folder of it, encrypt and decrypt
    /// with its transit key.
    fn policy() -> String {
        let own = instance::OPENBAO_INSTANCE_FOLDER;
        format!(
            "path \"{KV_MOUNT}/data/*\" {{ capabilities = [\"read\"] }}\n\
             path \"{KV_MOUNT}/metadata/*\" {{ capabilities = [\"read\", \"list\"] }}\n\
             path \"{KV_MOUNT}/data/{own}/*\" {{ capabilities = [\"create\", \"read\", \"update\", \"delete\"] }}\n\
             path \"{KV_MOUNT}/metadata/{own}/*\" {{ capabilities = [\"read\", \"list\", \"delete\"] }}\n\
             path \"transit/encrypt/{TRANSIT_KEY}\" {{ capabilities = [\"update\"] }}\n\
             path \"transit/decrypt/{TRANSIT_KEY}\" {{ capabilities = [\"update\"] }}\n"
        )
    }
}

impl OpenBao {
    /// The transit key `fields`, created when missing.
    async fn ensure_transit_key(
        &self,
        ns: &str,
        changed: &mut Changed,
    ) -> Result<(), ProvisionError> {
        let path = format!("transit/keys/{TRANSIT_KEY}");
        if self
            .call(Method::GET, ns, &path, None, "read the transit key")
            .await?
            .is_none()
        {
            const STEP: &str = "create the transit key";
            let key = json!({"type": "aes256-gcm96"});
            self.call(Method::POST, ns, &path, Some(key), STEP).await?;
            changed.push(STEP);
        }
        Ok(())
    }

    /// The tenant policy, rewritten when it differs from [`Self::policy`].
    async fn ensure_policy(&self, ns: &str, changed: &mut Changed) -> Result<(), ProvisionError> {
        let wanted = Self::policy();
        let path = format!("sys/policies/acl/{ROLE}");
        let policy = self
            .call(Method::GET, ns, &path, None, "read the policy")
            .await?;
        if policy
            .as_ref()
            .and_then(|p| p.pointer("/data/policy"))
            .and_then(Value::as_str)
            != Some(wanted.as_str())
        {
            const STEP: &str = "write the policy";
            let body = json!({"policy": wanted});
            self.call(Method::PUT, ns, &path, Some(body), STEP).await?;
            changed.push(STEP);
        }
        Ok(())
    }

    /// AppRole enabled and the role bound to the tenant policy; returns its role id.
    async fn ensure_approle(
        &self,
        ns: &str,
        changed: &mut Changed,
    ) -> Result<String, ProvisionError> {
        self.ensure_mounted(
            ns,
            Table::Auth,
            "approle",
            json!({"type": "approle"}),
            "enable AppRole",
            changed,
        )
        .await?;
        let role_path = format!("auth/approle/role/{ROLE}");
        let role = self
            .call(Method::GET, ns, &role_path, None, "read the AppRole")
            .await?;
        let policies_ok = role
            .as_ref()
            .and_then(|r| r.pointer("/data/token_policies"))
            .is_some_and(|p| p == &json!([ROLE]));
        if !policies_ok {
            let body = json!({"token_policies": [ROLE], "token_ttl": "1h", "token_max_ttl": "24h", "secret_id_ttl": "0"});
            const STEP: &str = "write the AppRole";
            self.call(Method::POST, ns, &role_path, Some(body), STEP)
                .await?;
            changed.push(STEP);
        }
        self.string_field(
            Method::GET,
            ns,
            &format!("{role_path}/role-id"),
            None,
            "/data/role_id",
            "read the role id",
        )
        .await
    }
}

impl SecretsProvisioner for OpenBao {
    async fn ensure(&self, tenant: &str) -> Result<(String, Changed), ProvisionError> {
        let mut changed = Changed::new();
        let c = &mut changed;
        self.check_health().await?;
        self.ensure_namespace("", PARENT, "create the parent namespace", c)
            .await?;
        self.ensure_namespace(PARENT, tenant, "create the namespace", c)
            .await?;
        let ns = namespace(tenant);
        let kv = json!({"type": "kv", "options": {"version": "2"}});
        self.ensure_mounted(&ns, Table::Engines, KV_MOUNT, kv, "mount KV", c)
            .await?;
        let transit = json!({"type": "transit"});
        self.ensure_mounted(&ns, Table::Engines, "transit", transit, "mount transit", c)
            .await?;
        self.ensure_transit_key(&ns, c).await?;
        self.ensure_policy(&ns, c).await?;
        let role_id = self.ensure_approle(&ns, c).await?;
        Ok((role_id, changed))
    }

    async fn issue_secret_id(&self, tenant: &str) -> Result<Password, ProvisionError> {
        let reply = self
            .string_field(
                Method::POST,
                &namespace(tenant),
                &format!("auth/approle/role/{ROLE}/secret-id"),
                Some(json!({})),
                "/data/secret_id",
                "issue a secret id",
            )
            .await?;
        Ok(Password::from_stored(reply))
    }

    async fn destroy_secret_id(
        &self,
        tenant: &str,
        secret_id: &Password,
    ) -> Result<(), ProvisionError> {
        self.call(
            Method::POST,
            &namespace(tenant),
            &format!("auth/approle/role/{ROLE}/secret-id/destroy"),
            Some(json!({"secret_id": secret_id.expose()})),
            "revoke the previous secret id",
        )
        .await
        .map(|_| ())
    }

    async fn read_credentials(
        &self,
        tenant: &str,
    ) -> Result<Option<serde_json::Map<String, Value>>, ProvisionError> {
        let reply = self
            .call(
                Method::GET,
                &namespace(tenant),
                &format!("{KV_MOUNT}/data/{CREDENTIALS_PATH}"),
                None,
                "read the credentials",
            )
            .await?;
        Ok(reply.and_then(|r| r.pointer("/data/data").and_then(Value::as_object).cloned()))
    }

    async fn write_credentials(
        &self,
        tenant: &str,
        fields: &serde_json::Map<String, Value>,
    ) -> Result<(), ProvisionError> {
        self.call(
            Method::POST,
            &namespace(tenant),
            &format!("{KV_MOUNT}/data/{CREDENTIALS_PATH}"),
            Some(json!({"data": fields})),
            "write the credentials",
        )
        .await
        .map(|_| ())
    }

    async fn remove(&self, tenant: &str) -> Result<(), ProvisionError> {
        if self
            .call(
                Method::GET,
                PARENT,
                &format!("sys/namespaces/{tenant}"),
                None,
                "read the namespace",
            )
            .await?
            .is_some()
        {
            self.call(
                Method::DELETE,
                PARENT,
                &format!("sys/namespaces/{tenant}"),
                None,
                "delete the namespace",
            )
            .await?;
        }
        Ok(())
    }
}
