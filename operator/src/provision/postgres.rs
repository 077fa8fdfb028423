//! A tenant's PostgreSQL database: a login role `tenant_<name>` that owns the database
//! `tenant_<name>`, cannot create roles or databases, and is the only one (besides
//! superusers) allowed to connect, since CONNECT is revoked from PUBLIC.

use std::future::Future;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement};

use super::{
    Changed, ProvisionError,
    calls::{self, Access},
    password::Password,
};

const BACKEND: &str = "PostgreSQL";

/// What the platform does with a tenant's database.
pub trait DatabaseProvisioner: Send + Sync {
    /// Makes role and database exist as described, enabling login. A missing role is created
    /// with `password`; an existing one gets it only when `set_password` (a new or rotated
    /// credential). Returns what it had to create or restore.
    fn ensure(
        &self,
        name: &str,
        password: &Password,
        set_password: bool,
    ) -> impl Future<Output = Result<Changed, ProvisionError>> + Send;
    /// Keeps the data but stops the role from logging in (deletionPolicy Retain).
    fn disable_login(&self, name: &str) -> impl Future<Output = Result<(), ProvisionError>> + Send;
    /// Drops the database and the role (deletionPolicy Delete); gone already is fine.
    fn drop_all(&self, name: &str) -> impl Future<Output = Result<(), ProvisionError>> + Send;
}

/// The real PostgreSQL, through an admin connection.
#[derive(Debug, Clone)]
pub struct Postgres {
    admin: DatabaseConnection,
}

fn classify(step: &'static str) -> impl Fn(DbErr) -> ProvisionError {
    move |error| {
        let message = error.to_string();
        let unreachable = matches!(error, DbErr::Conn(_) | DbErr::ConnectionAcquire(_))
            || [
                "connection refused",
                "timed out",
                "broken pipe",
                "connection reset",
                "closed",
            ]
            .iter()
            .any(|m| message.to_lowercase().contains(m));
        if unreachable {
            ProvisionError::Unreachable {
                backend: BACKEND,
                message,
            }
        } else {
            ProvisionError::Failed {
                backend: BACKEND,
                step,
                message,
            }
        }
    }
}

/// Quotes an identifier (names are validated tenant names, quoting is belt and braces).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

impl Postgres {
    /// Connects with the platform's admin credentials.
    pub async fn connect(admin_url: &str) -> Result<Self, ProvisionError> {
        Self::open(admin_url, false).await
    }

    /// An admin pool that connects on first use, so the operator starts while PostgreSQL is
    /// down and reports it per tenant instead.
    pub async fn connect_lazy(admin_url: &str) -> Result<Self, ProvisionError> {
        Self::open(admin_url, true).await
    }

    async fn open(admin_url: &str, lazy: bool) -> Result<Self, ProvisionError> {
        let mut options = sea_orm::ConnectOptions::new(admin_url.to_owned());
        options
            .connect_lazy(lazy)
            .max_connections(16)
            .connect_timeout(std::time::Duration::from_secs(5))
            .acquire_timeout(std::time::Duration::from_secs(30))
            .sqlx_logging(false);
        let admin = Database::connect(options)
            .await
            .map_err(classify("connect"))?;
        Ok(Self { admin })
    }

    async fn exists(
        &self,
        sql: &str,
        name: &str,
        step: &'static str,
    ) -> Result<bool, ProvisionError> {
        calls::count(BACKEND, Access::Read);
        let row = self
            .admin
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [name.into()],
            ))
            .await
            .map_err(classify(step))?;
        Ok(row.is_some())
    }

    async fn run(&self, sql: String, step: &'static str) -> Result<(), ProvisionError> {
        calls::count(BACKEND, Access::Write);
        self.admin
            .execute_unprepared(&sql)
            .await
            .map(|_| ())
            .map_err(classify(step))
    }

    async fn can_login(&self, name: &str) -> Result<Option<bool>, ProvisionError> {
        calls::count(BACKEND, Access::Read);
        let row = self
            .admin
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1",
                [name.into()],
            ))
            .await
            .map_err(classify("read the role"))?;
        row.map(|r| r.try_get::<bool>("", "rolcanlogin"))
            .transpose()
            .map_err(classify("read the role"))
    }
}

impl DatabaseProvisioner for Postgres {
    async fn ensure(
        &self,
        name: &str,
        password: &Password,
        set_password: bool,
    ) -> Result<Changed, ProvisionError> {
        let mut changed = Changed::new();
        match self.can_login(name).await? {
            None => {
                const STEP: &str = "create the role";
                self.run(
                    format!(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}",
                        ident(name),
                        literal(password.expose())
                    ),
                    STEP,
                )
                .await?;
                changed.push(STEP);
            }
            Some(can_login) => {
                if !can_login {
                    const STEP: &str = "re-enable the role's login";
                    self.run(format!("ALTER ROLE {} LOGIN", ident(name)), STEP)
                        .await?;
                    changed.push(STEP);
                }
                if set_password {
                    self.run(
                        format!(
                            "ALTER ROLE {} PASSWORD {}",
                            ident(name),
                            literal(password.expose())
                        ),
                        "set the role's password",
                    )
                    .await?;
                }
            }
        }
        if !self
            .exists(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                name,
                "read the database",
            )
            .await?
        {
            const STEP: &str = "create the database";
            self.run(
                format!("CREATE DATABASE {} OWNER {}", ident(name), ident(name)),
                STEP,
            )
            .await?;
            changed.push(STEP);
        }
        // PUBLIC keeps CONNECT until revoked; an ACL entry starting with '=' is PUBLIC's.
        let public_connect = self
            .exists(
                "SELECT 1 FROM pg_database WHERE datname = $1 AND (datacl IS NULL OR EXISTS (
                    SELECT 1 FROM unnest(datacl) a WHERE a::text LIKE '=%c%/%'))",
                name,
                "read the database privileges",
            )
            .await?;
        if public_connect {
            const STEP: &str = "revoke CONNECT from PUBLIC";
            self.run(
                format!(
                    "REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC",
                    ident(name)
                ),
                STEP,
            )
            .await?;
            changed.push(STEP);
        }
        Ok(changed)
    }

    async fn disable_login(&self, name: &str) -> Result<(), ProvisionError> {
        if self.can_login(name).await? == Some(true) {
            self.run(
                format!("ALTER ROLE {} NOLOGIN", ident(name)),
                "disable the role's login",
            )
            .await?;
            self.run(
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {}",
                    literal(name)
                ),
                "end the role's sessions",
            )
            .await?;
        }
        Ok(())
    }

    async fn drop_all(&self, name: &str) -> Result<(), ProvisionError> {
        if self
            .exists(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                name,
                "read the database",
            )
            .await?
        {
            self.run(
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name)),
                "drop the database",
            )
            .await?;
        }
        if self.can_login(name).await?.is_some() {
            self.run(
                format!("DROP ROLE IF EXISTS {}", ident(name)),
                "drop the role",
            )
            .await?;
        }
        Ok(())
    }
}
