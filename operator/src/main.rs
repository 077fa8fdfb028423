//! `dotmac-operator`: the platform's operator binary.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dotmac_management_api::{
    ApiConfig, Caller, PlatformDatabase,
    people::{UserRole, users},
    tokens::{self, Principal, Role},
};
use dotmac_operator::config::ControllerConfig;
use dotmac_platform::plugins::source::{CatalogConfig, PluginCatalog};

/// DotMac platform operator.
#[derive(Parser, Debug)]
#[command(name = "dotmac-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What the controllers and the management API share.
#[derive(clap::Args, Debug)]
struct Platform {
    /// The platform database.
    #[command(flatten)]
    database: PlatformDatabase,
    /// The plugin catalog.
    #[command(flatten)]
    catalog: CatalogConfig,
}

impl Platform {
    /// Opens (and migrates) the database and starts following the catalog.
    async fn open(
        &self,
        client: &kube::Client,
    ) -> anyhow::Result<(sea_orm::DatabaseConnection, PluginCatalog)> {
        let db = platform_database(&self.database).await?;
        let plugins = PluginCatalog::start(&self.catalog, client.clone())?;
        Ok((db, plugins))
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reconcile Tenants, PluginLicenses and Resellers against the cluster KUBECONFIG (or the
    /// in-cluster config) names.
    Controller {
        /// Controller settings.
        #[command(flatten)]
        controller: ControllerConfig,
        /// The platform database (usage, commission ledger) and the plugin catalog.
        #[command(flatten)]
        platform: Platform,
    },
    /// Everything the operator serves: the controllers and the management API.
    Run {
        /// Controller settings.
        #[command(flatten)]
        controller: ControllerConfig,
        /// Management API settings.
        #[command(flatten)]
        api: ApiConfig,
        /// The platform database and the plugin catalog, shared by both.
        #[command(flatten)]
        platform: Platform,
    },
    /// Serve the management API alone.
    Api {
        /// Management API settings.
        #[command(flatten)]
        api: ApiConfig,
        /// The platform database (tokens, usage, health, commissions) and the plugin catalog.
        #[command(flatten)]
        platform: Platform,
    },
    /// Management API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// People who sign in to the management API.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write one YAML file per CustomResourceDefinition into a folder (or print them all).
    Crdgen {
        /// Folder to write `<plural>.<group>.yaml` files into; prints a multi-document stream
        /// to standard output when omitted.
        #[arg(long, short = 'o', env = "DOTMAC_CRD_DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Print the management API's OpenAPI document (what `openapi/management-api.json` holds).
    Openapi,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token and print it once on stdout (only its hash is stored).
    Create {
        /// The platform database.
        #[command(flatten)]
        database: PlatformDatabase,
        /// Unique name, used to revoke it.
        #[arg(long)]
        name: String,
        /// admin, reseller (with --reseller) or tenant (with --tenant).
        #[arg(long, value_enum)]
        role: Role,
        /// The Reseller a reseller token is bound to.
        #[arg(long)]
        reseller: Option<String>,
        /// The Tenant a tenant token is bound to.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a token by name.
    Revoke {
        /// The platform database.
        #[command(flatten)]
        database: PlatformDatabase,
        /// Its name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Invite a platform admin or a reseller user; prints the invitation token once on stdout,
    /// for `POST /api/v1/invitations/accept` with their password (valid for 7 days).
    Invite {
        /// The platform database.
        #[command(flatten)]
        database: PlatformDatabase,
        /// Their e-mail, what they sign in with.
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long)]
        name: String,
        /// admin, or reseller (with --reseller).
        #[arg(long, value_enum)]
        role: UserRole,
        /// The Reseller a reseller user speaks for.
        #[arg(long)]
        reseller: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = dotmac_telemetry::init("dotmac-operator").context("setting up telemetry")?;
    match cli.command {
        Command::Crdgen { out_dir } => crdgen(out_dir),
        Command::Openapi => {
            print!("{}", dotmac_management_api::openapi::pretty()?);
            Ok(())
        }
        Command::Controller {
            controller,
            platform,
        } => block_on(async {
            let client = kube_client().await?;
            let (db, plugins) = platform.open(&client).await?;
            dotmac_operator::controller::run(client, controller, db, plugins).await?;
            Ok(())
        }),
        Command::Run {
            controller,
            api,
            platform,
        } => block_on(async {
            let client = kube_client().await?;
            let (db, plugins) = platform.open(&client).await?;
            tokio::select! {
                result = dotmac_operator::controller::run(client.clone(), controller, db.clone(), plugins.clone()) => result?,
                result = dotmac_management_api::serve(&api, db, client, plugins) => result?,
            }
            Ok(())
        }),
        Command::Api { api, platform } => block_on(async {
            let client = kube_client().await?;
            let (db, plugins) = platform.open(&client).await?;
            dotmac_management_api::serve(&api, db, client, plugins).await?;
            Ok(())
        }),
        Command::Token { command } => block_on(token(command)),
        Command::User { command } => block_on(user(command)),
    }
}

fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}

async fn kube_client() -> anyhow::Result<kube::Client> {
    kube::Client::try_default()
        .await
        .context("connecting to Kubernetes (KUBECONFIG or in-cluster)")
}

/// Connects to the platform database and migrates it.
async fn platform_database(
    database: &PlatformDatabase,
) -> anyhow::Result<sea_orm::DatabaseConnection> {
    dotmac_metering::open(&database.url)
        .await
        .context("opening the platform database")
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    let database = match &command {
        TokenCommand::Create { database, .. } | TokenCommand::Revoke { database, .. } => database,
    };
    let db = platform_database(database).await?;
    match command {
        TokenCommand::Create {
            name,
            role,
            reseller,
            tenant,
            ..
        } => {
            let token = tokens::create(&db, &name, role, reseller.as_deref(), tenant.as_deref())
                .await
                .context("creating the token")?;
            println!("{token}");
            eprintln!("Token '{name}' created. It is shown only this once.");
        }
        TokenCommand::Revoke { name, .. } => {
            anyhow::ensure!(
                tokens::revoke(&db, &name).await.context("revoking")?,
                "no live token named '{name}'"
            );
            eprintln!("Token '{name}' revoked.");
        }
    }
    Ok(())
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Invite {
        database,
        email,
        name,
        role,
        reseller,
    } = command;
    let db = platform_database(&database).await?;
    let caller = Caller {
        name: "dotmac-operator user invite".into(),
        source: "command line".into(),
    };
    let new = users::NewUser {
        email: &email,
        display_name: &name,
        role,
        reseller: reseller.as_deref(),
    };
    let (user, link) = users::invite(&db, &caller, &Principal::Admin, new)
        .await
        .map_err(|problem| match &problem.field {
            Some(field) => anyhow::anyhow!("--{field}: {}", problem.detail),
            None => anyhow::anyhow!("{}", problem.detail),
        })?;
    println!("{}", link.token);
    eprintln!(
        "Invited {} ({:?}). The invitation is shown only this once; it expires {}.",
        user.email, user.role, link.expires_at
    );
    Ok(())
}

#[tracing::instrument]
fn crdgen(out_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let files = dotmac_platform::crd::render::files().context("rendering the CRDs")?;
    match out_dir {
        None => {
            let stream: Vec<&str> = files.iter().map(|f| f.yaml.as_str()).collect();
            print!("{}", stream.join("---\n"));
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for file in &files {
                let path = dir.join(&file.name);
                std::fs::write(&path, &file.yaml)
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(path = %path.display(), "wrote CRD");
            }
        }
    }
    Ok(())
}
