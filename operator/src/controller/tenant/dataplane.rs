//! The tenant's data plane step of a reconcile: OpenBao namespace, credentials (master copy in
//! OpenBao KV), PostgreSQL role and database, Redis user, and the credentials Secret's data.
//!
//! The order heals any crash: new passwords are written to KV with `applied=false` first, then
//! set in PostgreSQL and Redis, the replaced AppRole secret id is revoked, then all is marked
//! applied. A later reconcile that finds them not
//! applied sets them again; applied ones are only checked.

use std::collections::BTreeMap;

use dotmac_contract::instance;
use serde_json::{Map, Value, json};

use super::{
    names,
    removal::{Gone, Parts},
    status::DataPlaneState,
};
use crate::{
    config::{DataPlaneConfig, host_port},
    provision::{
        Changed, ProvisionError,
        openbao::{self, OpenBao, SecretsProvisioner},
        password::Password,
        postgres::{DatabaseProvisioner, Postgres},
        redis::{self, CacheProvisioner, Redis},
    },
};
use dotmac_platform::crd::{Tenant, tenant::DeletionPolicy};

/// Annotation whose new value rotates a tenant's credentials.
pub const ROTATE_ANNOTATION: &str = "platform.dotmac.io/rotate-credentials";

/// Connected provisioners and the addresses tenants use. The provisioners are type
/// parameters so tests can wrap the real ones and inject a fault at any step.
#[derive(Debug, Clone)]
pub struct DataPlane<D = Postgres, C = Redis, S = OpenBao> {
    postgres: D,
    redis: C,
    openbao: S,
    postgres_host: String,
    redis_host: String,
    openbao_addr: String,
}

/// The addresses tenant instances use to reach their data plane.
#[derive(Debug, Clone)]
pub struct TenantEndpoints {
    /// PostgreSQL `host:port`.
    pub postgres_host: String,
    /// Redis `host:port`.
    pub redis_host: String,
    /// OpenBao address.
    pub openbao_addr: String,
}

/// Why the data plane could not be set up at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Only some of the four admin settings are given.
    #[error(
        "the data plane needs all of DOTMAC_POSTGRES_ADMIN_URL, DOTMAC_REDIS_ADMIN_URL, DOTMAC_OPENBAO_ADDR and DOTMAC_OPENBAO_TOKEN_FILE"
    )]
    Incomplete,
    /// The OpenBao token file could not be read.
    #[error("reading the OpenBao token file {0}: {1}")]
    TokenFile(std::path::PathBuf, std::io::Error),
    /// A client could not be built.
    #[error(transparent)]
    Client(#[from] ProvisionError),
}

/// The outcome of one part: what it had to create or restore, or why it is not in place.
pub type Part = Result<Changed, ProvisionError>;

/// A stored credential (empty when absent: the backend then refuses it, and the next
/// rotation replaces it).
fn field(creds: &Map<String, Value>, key: &str) -> Password {
    Password::from_stored(
        creds
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A fresh management-API token for an instance (`dmp_…`, as the API's own tokens).
/// A new random password for a credential.
fn generate() -> Result<Password, ProvisionError> {
    Password::generate().map_err(|e| ProvisionError::Failed {
        backend: "OpenBao",
        step: "generate a password",
        message: e.to_string(),
    })
}

fn instance_token() -> Result<Password, ProvisionError> {
    dotmac_web::bearer::generate("dmp_")
        .map(Password::from_stored)
        .map_err(|e| ProvisionError::Failed {
            backend: "OpenBao",
            step: "generate the instance's API token",
            message: e.to_string(),
        })
}

/// A part that is not in place.
#[derive(Debug)]
pub struct Blocked {
    /// `secrets`, `database` or `cache`: the first part (in that order) that failed.
    pub part: &'static str,
    /// Why.
    pub error: ProvisionError,
}

/// What the data plane step produced: every part's state for the conditions, and the
/// credentials Secret's data, which exists only when every part is in place.
#[derive(Debug)]
pub struct Provisioned {
    /// Each part's state.
    pub state: DataPlaneState,
    /// The Secret's data, or the first part that is not in place.
    pub secret_data: Result<BTreeMap<String, String>, Blocked>,
}

/// A part's outcome as a condition: what changed, or (reason, message).
fn part_state(part: &Part) -> Result<Changed, (String, String)> {
    match part {
        Ok(changed) => Ok(changed.clone()),
        Err(e) => Err((e.reason(), e.to_string())),
    }
}

impl Provisioned {
    /// Puts the parts together: the Secret's data (made by `data`) when all are in place.
    fn of(
        secrets: Part,
        database: Part,
        cache: Part,
        data: impl FnOnce() -> BTreeMap<String, String>,
    ) -> Self {
        let state = DataPlaneState {
            database: part_state(&database),
            cache: part_state(&cache),
            secrets: part_state(&secrets),
        };
        let blocked = [
            ("secrets", secrets),
            ("database", database),
            ("cache", cache),
        ]
        .into_iter()
        .find_map(|(part, result)| result.err().map(|error| Blocked { part, error }));
        Self {
            state,
            secret_data: match blocked {
                Some(blocked) => Err(blocked),
                None => Ok(data()),
            },
        }
    }
}

impl DataPlane {
    /// The data plane from settings: `Ok(None)` when none are given.
    pub async fn from_config(config: &DataPlaneConfig) -> Result<Option<Self>, SetupError> {
        let (Some(pg), Some(rd), Some(addr), Some(token_file)) = (
            &config.postgres_admin_url,
            &config.redis_admin_url,
            &config.openbao_addr,
            &config.openbao_token_file,
        ) else {
            let any = config.postgres_admin_url.is_some()
                || config.redis_admin_url.is_some()
                || config.openbao_addr.is_some()
                || config.openbao_token_file.is_some();
            return if any {
                Err(SetupError::Incomplete)
            } else {
                Ok(None)
            };
        };
        let token = std::fs::read_to_string(token_file)
            .map_err(|e| SetupError::TokenFile(token_file.clone(), e))?;
        Ok(Some(Self {
            postgres: Postgres::connect_lazy(pg).await?,
            redis: Redis::connect_lazy(rd)?,
            openbao: OpenBao::new(addr, Password::from_stored(token.trim().to_owned()))?,
            postgres_host: config
                .tenant_postgres_host
                .clone()
                .unwrap_or_else(|| host_port(pg)),
            redis_host: config
                .tenant_redis_host
                .clone()
                .unwrap_or_else(|| host_port(rd)),
            openbao_addr: config
                .tenant_openbao_addr
                .clone()
                .unwrap_or_else(|| addr.clone()),
        }))
    }
}

impl<D: DatabaseProvisioner, C: CacheProvisioner, S: SecretsProvisioner> DataPlane<D, C, S> {
    /// A data plane over the given provisioners.
    pub fn with(postgres: D, redis: C, openbao: S, endpoints: TenantEndpoints) -> Self {
        Self {
            postgres,
            redis,
            openbao,
            postgres_host: endpoints.postgres_host,
            redis_host: endpoints.redis_host,
            openbao_addr: endpoints.openbao_addr,
        }
    }

    /// Makes the tenant's database, Redis user and OpenBao namespace exist with current
    /// credentials, rotating them when the rotate annotation has a new value.
    pub async fn provision(&self, tenant: &Tenant) -> Provisioned {
        let name = tenant.metadata.name.clone().unwrap_or_default();
        let (role_id, creds, mut found) = match self.credentials(tenant, &name).await {
            Ok(found) => found,
            Err(e) => return Provisioned::of(Err(e), Ok(vec![]), Ok(vec![]), BTreeMap::new),
        };
        let (database, cache, secrets) = self.apply_credentials(&name, creds.clone()).await;
        let secrets = secrets.map(|mut more| {
            found.append(&mut more);
            found
        });
        Provisioned::of(secrets, database, cache, || {
            self.secret_data(&name, &role_id, &creds)
        })
    }

    /// The OpenBao namespace and AppRole (its role id), the credentials in force (the stored
    /// ones, or new ones when there are none or the rotate annotation changed), and what had to
    /// be created in OpenBao.
    async fn credentials(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<(String, Map<String, Value>, Changed), ProvisionError> {
        let (role_id, mut changed) = self.openbao.ensure(name).await?;
        let rotate = tenant
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ROTATE_ANNOTATION))
            .cloned()
            .unwrap_or_default();
        let stored = self.openbao.read_credentials(name).await?;
        let creds = match stored {
            Some(mut c) if c.get("rotation").and_then(Value::as_str) == Some(rotate.as_str()) => {
                // Credentials stored before instances had a management-API token or an AAA
                // secret get them.
                let mut added = false;
                if !c.contains_key("api_token") {
                    c.insert("api_token".into(), Value::from(instance_token()?.expose()));
                    added = true;
                }
                if !c.contains_key("aaa_secret") {
                    c.insert("aaa_secret".into(), Value::from(generate()?.expose()));
                    added = true;
                }
                if added {
                    self.openbao.write_credentials(name, &c).await?;
                }
                c
            }
            other => {
                if other.is_none() {
                    changed.push("store new credentials (none were kept)");
                }
                let previous_secret_id = other
                    .as_ref()
                    .and_then(|c| c.get("secret_id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.new_credentials(name, &rotate, previous_secret_id)
                    .await?
            }
        };
        Ok((role_id, creds, changed))
    }

    /// Sets credentials not yet applied in PostgreSQL and Redis (applied ones are only
    /// checked, and restored where they drifted), then revokes the replaced AppRole secret id
    /// and marks them applied.
    async fn apply_credentials(
        &self,
        name: &str,
        mut creds: Map<String, Value>,
    ) -> (Part, Part, Part) {
        let applied = creds.get("applied") == Some(&Value::Bool(true));
        let database = self
            .postgres
            .ensure(
                &names::database(name),
                &field(&creds, "db_password"),
                !applied,
            )
            .await;
        let cache = self
            .redis
            .ensure(name, &field(&creds, "redis_password"))
            .await
            // Setting new credentials is the point of a rotation, not a repair.
            .map(|changed| {
                changed
                    .into_iter()
                    .filter(|step| applied || *step != redis::SET_PASSWORD)
                    .collect()
            });
        let mut secrets = Ok(Changed::new());
        if database.is_ok() && cache.is_ok() && !applied {
            // The replaced AppRole secret id stops working once the new one is in force.
            if let Some(old) = creds.get("previous_secret_id").and_then(Value::as_str) {
                secrets = self
                    .openbao
                    .destroy_secret_id(name, &Password::from_stored(old.to_owned()))
                    .await
                    .map(|()| Changed::new());
            }
            if secrets.is_ok() {
                creds.remove("previous_secret_id");
                creds.insert("applied".into(), Value::Bool(true));
                secrets = self
                    .openbao
                    .write_credentials(name, &creds)
                    .await
                    .map(|()| Changed::new());
            }
        }
        (database, cache, secrets)
    }

    /// The credentials Secret's data.
    fn secret_data(
        &self,
        name: &str,
        role_id: &str,
        creds: &Map<String, Value>,
    ) -> BTreeMap<String, String> {
        let db_name = names::database(name);
        BTreeMap::from([
            (
                instance::DATABASE_URL.to_owned(),
                format!(
                    "postgres://{db_name}:{}@{}/{db_name}",
                    field(creds, "db_password").expose(),
                    self.postgres_host
                ),
            ),
            (
                instance::REDIS_URL.to_owned(),
                format!(
                    "redis://{}:{}@{}",
                    redis::user(name).replace(':', "%3A"),
                    field(creds, "redis_password").expose(),
                    self.redis_host
                ),
            ),
            (
                instance::MANAGEMENT_API_TOKEN.to_owned(),
                field(creds, "api_token").expose().to_owned(),
            ),
            (
                instance::AAA_SECRET.to_owned(),
                field(creds, "aaa_secret").expose().to_owned(),
            ),
            (instance::OPENBAO_ADDR.to_owned(), self.openbao_addr.clone()),
            (
                instance::OPENBAO_NAMESPACE.to_owned(),
                openbao::namespace(name),
            ),
            (instance::OPENBAO_ROLE_ID.to_owned(), role_id.to_owned()),
            (
                instance::OPENBAO_SECRET_ID.to_owned(),
                field(creds, "secret_id").expose().to_owned(),
            ),
        ])
    }

    /// Fresh passwords and AppRole secret id, written to KV (not yet applied).
    async fn new_credentials(
        &self,
        tenant: &str,
        rotation: &str,
        previous_secret_id: Option<String>,
    ) -> Result<Map<String, Value>, ProvisionError> {
        let secret_id = self.openbao.issue_secret_id(tenant).await?;
        let creds = json!({
            "db_password": generate()?.expose(),
            "redis_password": generate()?.expose(),
            "secret_id": secret_id.expose(),
            "api_token": instance_token()?.expose(),
            "aaa_secret": generate()?.expose(),
            "rotation": rotation,
            "applied": false,
        });
        let mut creds = creds.as_object().cloned().unwrap_or_default();
        if let Some(previous) = previous_secret_id {
            creds.insert("previous_secret_id".into(), Value::from(previous));
        }
        self.openbao.write_credentials(tenant, &creds).await?;
        Ok(creds)
    }

    /// Removes the Redis user, and OpenBao and the database per `deletionPolicy`: Delete
    /// drops them, Retain keeps them and disables the database login. Each part is tried even
    /// when another fails, so the status can say what is gone already.
    pub async fn cleanup(&self, tenant: &Tenant) -> Cleanup {
        let name = tenant.metadata.name.clone().unwrap_or_default();
        let database = names::database(&name);
        let cache = self.redis.remove(&name).await.map(|()| Gone::Removed);
        match tenant.spec.deletion_policy {
            DeletionPolicy::Delete => Cleanup {
                cache,
                secrets: self.openbao.remove(&name).await.map(|()| Gone::Removed),
                database: self
                    .postgres
                    .drop_all(&database)
                    .await
                    .map(|()| Gone::Removed),
            },
            DeletionPolicy::Retain => Cleanup {
                cache,
                secrets: Ok(Gone::Retained),
                database: self
                    .postgres
                    .disable_login(&database)
                    .await
                    .map(|()| Gone::Retained),
            },
        }
    }
}

/// What one cleanup attempt did with each data-plane part.
#[derive(Debug)]
pub struct Cleanup {
    /// PostgreSQL role and database.
    pub database: Result<Gone, ProvisionError>,
    /// Redis user.
    pub cache: Result<Gone, ProvisionError>,
    /// OpenBao namespace.
    pub secrets: Result<Gone, ProvisionError>,
}

impl Cleanup {
    /// The parts as the status shows them.
    pub fn parts(&self) -> Parts {
        let state = |part: &Result<Gone, ProvisionError>| match part {
            Ok(gone) => Ok(*gone),
            Err(e) => Err((e.reason(), e.to_string())),
        };
        Parts {
            database: state(&self.database),
            cache: state(&self.cache),
            secrets: state(&self.secrets),
        }
    }

    /// The first part that could not be removed, in the order of [`Parts::blocked`].
    pub fn failure(self) -> Option<(&'static str, ProvisionError)> {
        [
            ("cache", self.cache),
            ("secrets", self.secrets),
            ("database", self.database),
        ]
        .into_iter()
        .find_map(|(part, result)| result.err().map(|e| (part, e)))
    }
}
