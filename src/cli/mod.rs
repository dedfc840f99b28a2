//! The `reelay` command line: `serve`, `worker`, `migrate`, and the operator commands `keys`
//! and `credits`, which act on the configured database directly; and the client commands
//! (`video`, `asset`, `models`, `account`), which talk to a running server.

mod client_cmds;
mod operator;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{self, Application, Role};
use crate::config::{Overrides, Settings};

/// reelay: a self-hostable gateway for AI video generation (Seedance 2.0 task API).
#[derive(Parser, Debug)]
#[command(name = "reelay", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the configuration and data live (shared by every server-side command).
#[derive(Args, Clone, Default)]
pub(crate) struct ConfigArgs {
    /// Configuration file (default: ./reelay.toml when it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory for the default SQLite database and object store.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL (overrides database.url).
    #[arg(long, global = true)]
    database_url: Option<String>,
}

impl std::fmt::Debug for ConfigArgs {
    /// `--database-url` may carry a password: print it redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigArgs")
            .field("config", &self.config)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(crate::config::redact_url),
            )
            .finish()
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the API, the workers and the sweeps in one process.
    ///
    /// Example: reelay serve --listen 127.0.0.1:8080 --data-dir ./reelay-data
    Serve {
        /// Address to listen on.
        #[arg(long)]
        listen: Option<String>,
        /// Serve the HTTP API only: no workers, sweeps or upstream dispatch. For API replicas
        /// of a multi-node deployment whose work is done by `reelay worker` processes.
        #[arg(long)]
        no_workers: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Run workers and sweeps only (no HTTP API).
    ///
    /// Example: reelay worker --config reelay.toml --metrics-listen 127.0.0.1:9464
    Worker {
        /// Serve this worker's /metrics, /healthz and /readyz on this address
        /// (`worker.metrics_listen`); by default a worker listens nowhere.
        #[arg(long)]
        metrics_listen: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(operator::KeysCommand),
    /// Manage account credits.
    #[command(subcommand)]
    Credits(operator::CreditsCommand),
    /// Create, follow, list and cancel video tasks on a running server.
    ///
    /// Example: reelay video create --model seedance2.0-sp --prompt "a lighthouse at dusk" --wait --output out.mp4
    Video {
        #[command(subcommand)]
        command: client_cmds::VideoCommand,
        #[command(flatten)]
        client: client_cmds::ClientArgs,
    },
    /// Upload media to your asset library on a running server.
    ///
    /// Example: reelay asset upload ./cat.png
    Asset {
        #[command(subcommand)]
        command: client_cmds::AssetCommand,
        #[command(flatten)]
        client: client_cmds::ClientArgs,
    },
    /// List the models the server offers, with prices.
    ///
    /// Example: reelay models --url http://127.0.0.1:8080 --api-key sk_...
    Models {
        #[command(flatten)]
        client: client_cmds::ClientArgs,
    },
    /// Show your account: balance and webhook secret state.
    ///
    /// Example: REELAY_API_KEY=sk_... reelay account --json
    Account {
        #[command(flatten)]
        client: client_cmds::ClientArgs,
    },
}

impl ConfigArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..Overrides::default()
        }
    }

    pub fn load(&self) -> Result<Settings, String> {
        Settings::load(&self.overrides()).map_err(|e| e.to_string())
    }
}

/// Parses the command line and runs it.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            listen,
            no_workers,
            config,
        } => {
            let role = if no_workers { Role::ApiOnly } else { Role::All };
            let overrides = Overrides {
                listen,
                ..config.overrides()
            };
            serve(Settings::load(&overrides), role).await
        }
        Command::Worker {
            metrics_listen,
            config,
        } => {
            let overrides = Overrides {
                metrics_listen,
                ..config.overrides()
            };
            serve(Settings::load(&overrides), Role::WorkerOnly).await
        }
        Command::Migrate { config } => migrate(&config).await,
        Command::Keys(command) => operator::keys(command).await,
        Command::Credits(command) => operator::credits(command).await,
        Command::Video { command, client } => return client_cmds::video(command, client).await,
        Command::Asset { command, client } => return client_cmds::asset(command, client).await,
        Command::Models { client } => return client_cmds::models(client).await,
        Command::Account { client } => return client_cmds::account(client).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

async fn serve(
    settings: Result<Settings, crate::config::ConfigError>,
    role: Role,
) -> Result<(), String> {
    let settings = settings.map_err(|e| e.to_string())?;
    let application = Application::build(settings, role)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(key) = &application.bootstrap {
        println!("reelay: first start on an empty database.");
        println!(
            "Created account {} with {} credits and API key {}.",
            key.account_id, key.credits, key.key_id
        );
        println!("This secret is shown once; keep it (it is stored only as a hash):");
        println!("{}", key.secret);
    }
    if role != Role::WorkerOnly {
        tracing::info!(address = %application.address(), public_url = %application.public_url(), "reelay listening");
        println!("reelay listening on http://{}", application.address());
    } else if application.serves_http() {
        tracing::info!(address = %application.address(), "reelay worker started; metrics served");
        println!(
            "reelay worker metrics on http://{}/metrics",
            application.address()
        );
    } else {
        tracing::info!("reelay worker started");
    }
    application
        .run_until_stopped(app::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn migrate(config: &ConfigArgs) -> Result<(), String> {
    let settings = config.load()?;
    let db = app::open_database(&settings, true).await?;
    db.close().await;
    println!("migrations applied");
    Ok(())
}
