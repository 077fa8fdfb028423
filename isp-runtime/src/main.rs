//! `dotmac-isp`: the per-tenant ISP application binary.

use anyhow::Context;
use clap::{Parser, Subcommand};
use dotmac_isp::{
    config::{DatabaseConfig, ServeConfig},
    http,
    people::{Role, accounts},
    server, tokens,
};

/// DotMac ISP runtime: one tenant's ISP management application.
#[derive(Parser, Debug)]
#[command(name = "dotmac-isp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the HTTP API and probes, and run queued billing and dunning jobs.
    Serve(Box<ServeConfig>),
    /// Bring the database schema up to date and exit.
    Migrate(DatabaseConfig),
    /// Print the instance API's OpenAPI document (what `openapi/isp-runtime.json` holds).
    Openapi,
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand, Debug)]
enum Admin {
    /// Fill an empty database with demo customers, plans and active subscriptions.
    Seed {
        /// Database and tenant.
        #[command(flatten)]
        database: DatabaseConfig,
        /// How many subscriptions (one customer each).
        #[arg(long, default_value_t = 100)]
        subscriptions: u64,
        /// The day they are next billed (YYYY-MM-DD); today by default.
        #[arg(long)]
        due: Option<chrono::NaiveDate>,
    },
    /// Create an API token and print it once on stdout (only its hash is kept).
    CreateToken {
        /// Database and tenant.
        #[command(flatten)]
        database: DatabaseConfig,
        /// A name for the token, recorded in the audit log.
        #[arg(long, default_value = "admin")]
        name: String,
        /// What the token may do (a staff role; `staff` is an old name of tenant-admin).
        #[arg(long, value_enum, default_value = "tenant-admin")]
        role: Role,
    },
    /// Invite a tenant admin (the first one, say) and print their single-use invitation link.
    Invite {
        /// Database and tenant.
        #[command(flatten)]
        database: DatabaseConfig,
        /// Their e-mail address.
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long)]
        name: String,
        /// Where people reach the instance, the base of the link.
        #[arg(
            long,
            env = "DOTMAC_PUBLIC_URL",
            default_value = "http://localhost:8001"
        )]
        public_url: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = dotmac_telemetry::init("dotmac-isp").context("setting up telemetry")?;
    match cli.command {
        Command::Serve(config) => serve(*config).await,
        Command::Openapi => {
            print!("{}", dotmac_isp::api::openapi::pretty()?);
            Ok(())
        }
        Command::Migrate(database) => {
            server::database(&database).await?;
            Ok(())
        }
        Command::Admin {
            command:
                Admin::Seed {
                    database,
                    subscriptions,
                    due,
                },
        } => {
            let db = server::database(&database).await?;
            let due = due.unwrap_or_else(|| chrono::Utc::now().date_naive());
            dotmac_isp::seed::seed(&db, subscriptions, due, |done| {
                if done % 10_000 == 0 || done == subscriptions {
                    tracing::info!(done, of = subscriptions, "seeding");
                }
            })
            .await
            .context("seeding (the database must be empty)")?;
            eprintln!("Seeded {subscriptions} active subscriptions due on {due}.");
            Ok(())
        }
        Command::Admin {
            command:
                Admin::CreateToken {
                    database,
                    name,
                    role,
                },
        } => {
            let db = server::database(&database).await?;
            let (_, token) = tokens::create(&db, &database.tenant, &name, role)
                .await
                .context("creating the token")?;
            println!("{token}");
            eprintln!(
                "Token '{name}' ({}) created for tenant {}. It is shown only this once.",
                role.name(),
                database.tenant
            );
            Ok(())
        }
        Command::Admin {
            command:
                Admin::Invite {
                    database,
                    email,
                    name,
                    public_url,
                },
        } => {
            let db = server::database(&database).await?;
            let invited = accounts::bootstrap(&db, public_url.trim_end_matches('/'), &email, &name)
                .await
                .context("inviting the tenant admin")?;
            println!("{}", invited.link.url);
            eprintln!(
                "Invited {} as tenant admin of {}. The link works once, until {}; they must enrol two-factor sign-in.",
                invited.account.email, database.tenant, invited.link.expires_at
            );
            Ok(())
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let (app, state) = server::assemble(&config, None).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let tenant = &config.database.tenant;
    let aaa = match (config.aaa_listen, config.aaa_secret.clone()) {
        (Some(at), Some(secret)) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the AAA listener {at}"))?;
            tracing::info!(addr = %at, %tenant, "AAA endpoints for FreeRADIUS listening");
            let records =
                dotmac_isp::network::auth_log::connection(&state.db, &config.database.database_url)
                    .await
                    .context("connecting the sign-in record writer")?;
            let router = dotmac_isp::network::aaa::router(state, secret, records);
            Some(tokio::spawn(http::serve(listener, router)))
        }
        _ => None,
    };
    tracing::info!(%addr, %tenant, "dotmac-isp listening");
    http::serve(listener, app).await.context("serving HTTP")?;
    if let Some(aaa) = aaa {
        aaa.await
            .context("the AAA listener stopped")?
            .context("serving the AAA endpoints")?;
    }
    tracing::info!(%tenant, "dotmac-isp stopped");
    Ok(())
}
