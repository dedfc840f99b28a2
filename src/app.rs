//! `Application::build` wires settings into a running server (database, storage, catalog, API,
//! workers, sweeps); `run_until_stopped` serves until the shutdown future fires, then drains.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reelay_catalog::{Catalog, ValidateOptions};
use reelay_media::{FetchPolicy, Fetcher, MediaLimits};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::api::envelope::SuccessCode;
use crate::api::{self, AppState};
use crate::config::Settings;
use crate::providers::channels::Channels;
use crate::providers::local::LocalProvider;
use crate::storage::Storage;
use crate::store::{self, Db};
use crate::tasks::sweep::Sweeper;
use crate::tasks::upstream::Upstream;
use crate::tasks::worker::Worker;
use crate::webhooks::Dispatcher;

/// How long after a task failed the sweeper deletes its `results/<task_id>/` once more: longer
/// than a worker that lost its lease can still be rendering and uploading (an S3 upload retries
/// for up to 3 minutes).
const DISCARD_GRACE_SECS: i64 = 15 * 60;

/// The account and key made on first start (the secret is shown once).
#[derive(Debug, Clone)]
pub struct BootstrapKey {
    pub account_id: String,
    pub key_id: String,
    pub secret: String,
    pub credits: i64,
}

/// Which parts of reelay this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API, workers and sweeps (`reelay serve`).
    All,
    /// Workers and sweeps only (`reelay worker`).
    WorkerOnly,
    /// The HTTP API only (`reelay serve --no-workers`): tasks it accepts are done by workers
    /// elsewhere that share its database.
    ApiOnly,
}

/// A built, bound, not yet running reelay.
pub struct Application {
    listener: Option<TcpListener>,
    /// The database every part of this application shares.
    db: Db,
    address: SocketAddr,
    state: AppState,
    worker: Worker,
    sweeper: Sweeper,
    dispatcher: Dispatcher,
    /// The dispatcher (routing to every channel) and the pollers of remote channels.
    upstream: Arc<Upstream>,
    settings: Settings,
    role: Role,
    /// Set when this start created the first account.
    pub bootstrap: Option<BootstrapKey>,
}

/// Errors that stop reelay from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("{0}")]
    Other(String),
}

impl Application {
    /// Connects, migrates, loads the catalog, bootstraps the first account and binds the listener.
    pub async fn build(settings: Settings, role: Role) -> Result<Application, StartError> {
        crate::data_dir::prepare(settings.data_dir())
            .map_err(|e| StartError::Other(e.to_string()))?;
        let url = settings.database_url();
        crate::data_dir::private_database_file(&url)
            .map_err(|e| StartError::Other(e.to_string()))?;
        let db = Db::connect_with(&url, settings.pool_settings())
            .await
            .map_err(|source| StartError::Database {
                url: crate::config::redact_url(&url),
                source,
            })?;
        let catalog = match &settings.catalog.path {
            Some(path) => Catalog::with_override_file(path)
                .map_err(|e| StartError::Other(format!("catalog.path {}: {e}", path.display())))?,
            None => Catalog::embedded(),
        };
        let keyring = crate::keyring::Keyring::new(db.clone(), Arc::new(sealer(&settings)?));
        let signing_key = keyring
            .url_signing_key()
            .await
            .map_err(|e| StartError::Other(format!("the URL-signing key: {e}")))?;
        let resealed = keyring
            .reseal_webhook_secrets()
            .await
            .map_err(|e| StartError::Other(format!("the webhook secrets: {e}")))?;
        if keyring.seals() {
            tracing::info!(resealed, "secrets at rest sealed with secrets.key");
        } else {
            tracing::info!(
                "secrets.key is not set: the URL-signing key and webhook secrets are stored in \
                 clear in the database, protected by its file permissions only"
            );
        }
        let storage = Storage::from_settings(&settings, signing_key.into_bytes())
            .map_err(|e| StartError::Other(e.to_string()))?;
        let bootstrap = bootstrap_first_account(&db, &settings).await?;

        let (listener, address) = match role {
            Role::All | Role::ApiOnly => {
                let listener = TcpListener::bind(&settings.server.listen)
                    .await
                    .map_err(|e| {
                        StartError::Other(format!("server.listen {}: {e}", settings.server.listen))
                    })?;
                let address = listener
                    .local_addr()
                    .map_err(|e| StartError::Other(e.to_string()))?;
                (Some(listener), address)
            }
            Role::WorkerOnly => match &settings.worker.metrics_listen {
                Some(listen) => {
                    let listener = TcpListener::bind(listen).await.map_err(|e| {
                        StartError::Other(format!("worker.metrics_listen {listen}: {e}"))
                    })?;
                    let address = listener
                        .local_addr()
                        .map_err(|e| StartError::Other(e.to_string()))?;
                    (Some(listener), address)
                }
                None => (None, ([0, 0, 0, 0], 0).into()),
            },
        };
        let public_url = match (&settings.server.public_url, role) {
            (Some(url), _) => url.clone(),
            (None, Role::All | Role::ApiOnly) => format!("http://{address}"),
            // A worker's own address (none, or its metrics listener) serves no files: the
            // result URLs in the webhooks it sends need the API's origin.
            (None, Role::WorkerOnly) => {
                tracing::warn!(
                    "server.public_url is not set: result URLs in the webhooks this worker sends \
                     will not reach the API; set it to the API's public origin"
                );
                "http://0.0.0.0:0".to_string()
            }
        }
        .trim_end_matches('/')
        .to_string();
        let metrics = crate::metrics::Metrics::new();
        let fetcher = Fetcher::new(FetchPolicy {
            allow_http: settings.media.allow_http,
            allow_private_networks: settings.media.allow_private_networks,
            timeout: Duration::from_secs(settings.media.fetch_timeout_secs),
            ..FetchPolicy::default()
        })
        .map_err(|e| StartError::Other(format!("media fetcher: {e}")))?;
        let assets = crate::assets::Assets {
            db: db.clone(),
            storage: storage.clone(),
            fetcher: fetcher.clone(),
            limits: MediaLimits::default(),
            settings: Arc::new(settings.assets.clone()),
            public_url: public_url.as_str().into(),
            spool: crate::assets::spool::Spool::new(settings.data_dir.join("tmp")),
        };
        let sweep_assets = assets.clone();
        let catalog = Arc::new(catalog);
        let local = LocalProvider {
            catalog: catalog.clone(),
            fetcher: fetcher.clone(),
            limits: MediaLimits::default(),
            assets: Arc::new(assets.clone()),
            metrics: metrics.clone(),
        };
        let channels = Arc::new(
            Channels::from_settings(&settings.channels, &metrics, local)
                .map_err(StartError::Other)?,
        );
        for name in store::upstream::paused_channels(&db)
            .await
            .map_err(|e| StartError::Other(format!("reading paused channels: {e}")))?
        {
            if let Some(channel) = channels.get(&name) {
                channel.set_paused(true);
            }
        }
        let wake = Arc::new(Notify::new());
        let retention_secs = (settings.results.retention_hours * 3600) as i64;
        let state = AppState::new(crate::api::Shared {
            accounts: crate::accounts::Accounts::new(db.clone()),
            tasks: crate::tasks::Tasks::new(db.clone()),
            webhooks: crate::webhooks::Webhooks::new(db.clone(), keyring.clone()),
            audit: crate::audit::AuditTrail::new(db.clone()),
            catalog: catalog.clone(),
            storage: storage.clone(),
            success: SuccessCode::from_setting(&settings.api.success_code),
            public_url: public_url.as_str().into(),
            retention_secs,
            wake: wake.clone(),
            channels: channels.clone(),
            max_body_bytes: settings.api.max_body_bytes,
            admin_token: settings.admin.token.clone(),
            limits: settings.limits.clone(),
            metrics: metrics.clone(),
            shutdown: CancellationToken::new(),
            assets: assets.clone(),
            streams: crate::api::per_key::PerKeyCap::new(
                "event streams open",
                "limits.streams_per_key",
                settings.limits.streams_per_key,
            ),
            uploads: crate::api::per_key::PerKeyCap::new(
                "uploads in progress",
                "limits.uploads_per_key",
                settings.limits.uploads_per_key,
            ),
            submitter: crate::tasks::submit::Submitter {
                db: db.clone(),
                catalog: catalog.clone(),
                validate_options: ValidateOptions {
                    allow_http_callback: settings.media.allow_http,
                    allow_http_media: settings.media.allow_http,
                },
                channels: channels.clone(),
                creates: crate::tasks::accept::Creates::start(db.clone()),
                wake: wake.clone(),
                urls: crate::tasks::submit::UrlCheck {
                    fetcher: fetcher.clone(),
                    storage: storage.clone(),
                    public_url: public_url.as_str().into(),
                    lookup_within: Duration::from_millis(settings.media.create_lookup_ms),
                },
            },
        });
        let dispatcher = Dispatcher {
            db: db.clone(),
            fetcher: fetcher.clone(),
            storage: storage.clone(),
            public_url: state.public_url.clone(),
            retention_secs,
            settings: settings.webhooks.clone(),
            keyring,
        };
        // Creates wake the dispatcher (`wake`); it routes every task, and wakes the local
        // workers (`local_wake`) for the tasks it gives an in-process channel.
        let local_wake = Arc::new(Notify::new());
        let upstream = Arc::new(
            Upstream::new(
                db.clone(),
                channels.clone(),
                storage.clone(),
                settings.upstream.clone(),
                state.public_url.clone(),
                wake.clone(),
                local_wake.clone(),
            )
            .map_err(StartError::Other)?,
        );
        let worker = Worker {
            id: crate::ids::new_id("wrk"),
            db: db.clone(),
            storage: storage.clone(),
            channels: Worker::in_process(&channels),
            router: upstream.clone(),
            settings: settings.worker.clone(),
            wake: local_wake,
        };
        let sweeper = Sweeper {
            db: db.clone(),
            storage,
            max_attempts: settings.worker.max_attempts,
            retention_secs,
            // An intake downloads for at most `fetch_timeout_secs`; allow that twice plus a minute.
            asset_intake_timeout_secs: (settings.media.fetch_timeout_secs * 2 + 60) as i64,
            discard_grace_secs: DISCARD_GRACE_SECS,
            assets: sweep_assets,
        };
        Ok(Application {
            listener,
            db,
            address,
            state,
            worker,
            sweeper,
            dispatcher,
            upstream,
            settings,
            role,
            bootstrap,
        })
    }

    /// The bound address (port 0 in tests becomes a real port here).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// True when this process has a listener: the API, or a worker's `worker.metrics_listen`.
    pub fn serves_http(&self) -> bool {
        self.listener.is_some()
    }

    /// The public origin of the URLs this server hands out.
    pub(crate) fn public_url(&self) -> String {
        self.state.public_url.to_string()
    }

    /// State for tests that drive workers by hand.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The database handle (for tests and benchmarks that read or seed rows).
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// A worker sharing this application's database and storage (for tests).
    pub fn worker(&self) -> Worker {
        self.worker.clone()
    }

    /// A sweeper sharing this application's database and storage (for tests).
    pub fn sweeper(&self) -> Sweeper {
        self.sweeper.clone()
    }

    /// A webhook dispatcher sharing this application's database (for tests).
    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    /// Serves the API and runs workers and sweeps (as the role says) until `shutdown` resolves;
    /// then stops accepting, lets in-flight renders finish within `server.shutdown_grace_secs`,
    /// and requeues the rest.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let with_workers = self.role != Role::ApiOnly;
        self.run(shutdown, with_workers).await
    }

    /// Like `run_until_stopped` but without background workers (tests call `poll_once`).
    pub async fn run_api_only(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        self.run(shutdown, false).await
    }

    async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        with_workers: bool,
    ) -> Result<(), StartError> {
        let token = self.state.shutdown.clone();
        let grace = Duration::from_secs(self.settings.server.shutdown_grace_secs);
        let mut background = tokio::task::JoinSet::new();
        if with_workers {
            // PostgreSQL: other replicas' new tasks wake this process's idle loops.
            if let Some(listener) = crate::store::notify::spawn_listener(
                &self.db,
                self.state.wake.clone(),
                self.worker.wake.clone(),
                token.clone(),
            ) {
                background.spawn(async move {
                    let _ = listener.await;
                });
            }
            background.spawn(self.worker.run(token.clone(), grace));
            let every =
                Duration::from_secs(self.settings.results.sweep_interval_secs.clamp(1, 3600))
                    .min(Duration::from_secs(self.settings.worker.lease_secs));
            background.spawn(self.sweeper.run(every, token.clone()));
            background.spawn(self.dispatcher.run(token.clone()));
            background.spawn(self.upstream.clone().run(token.clone()));
        }
        let trigger = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: no new requests or claims");
            trigger.cancel();
        });
        if let Some(listener) = self.listener {
            let overflow = api::overflow_router(self.state.clone());
            let app = match self.role {
                // A worker answers only for itself: its metrics and health.
                Role::WorkerOnly => api::ops_router(self.state),
                Role::All | Role::ApiOnly => api::router(self.state),
            };
            let open_files = api::serve::descriptors::raise_open_file_limit();
            let limits = api::serve::ConnectionLimits::new(&self.settings.server, open_files);
            tracing::info!(
                max_connections = limits.max_connections,
                overflow = limits.overflow_connections,
                "connection cap"
            );
            api::serve::serve(listener, app, overflow, limits, token.clone()).await;
        } else {
            token.cancelled().await;
        }
        while background.join_next().await.is_some() {}
        tracing::info!("stopped");
        Ok(())
    }
}

/// The database handle the one-off commands pass to the domain services.
pub(crate) type Database = Db;

/// Opens the configured database for a one-off command (`reelay keys`, `credits`), creating
/// the data directory first and migrating as `database.migrate_on_start` says; with `migrate`,
/// always applies the migrations (`reelay migrate`).
pub(crate) async fn open_database(settings: &Settings, migrate: bool) -> Result<Db, String> {
    crate::data_dir::prepare(settings.data_dir()).map_err(|e| e.to_string())?;
    crate::data_dir::private_database_file(&settings.database_url()).map_err(|e| e.to_string())?;
    let configured = settings.pool_settings();
    let pool = crate::config::PoolSettings {
        migrate: migrate || configured.migrate,
        ..configured
    };
    Db::connect_with(&settings.database_url(), pool)
        .await
        .map_err(|e| {
            if migrate {
                format!("migrations failed: {e}")
            } else {
                format!("database: {e}")
            }
        })
}

/// The sealer of `secrets.key` / `secrets.previous_key`.
fn sealer(settings: &Settings) -> Result<crate::secrets::Sealer, StartError> {
    use secrecy::ExposeSecret;
    crate::secrets::Sealer::new(
        settings.secrets.key.as_ref().map(|key| key.expose_secret()),
        settings
            .secrets
            .previous_key
            .as_ref()
            .map(|key| key.expose_secret()),
    )
    .map_err(|e| StartError::Other(e.to_string()))
}

/// On an empty database, creates the first account and key.
async fn bootstrap_first_account(
    db: &Db,
    settings: &Settings,
) -> Result<Option<BootstrapKey>, StartError> {
    let count = store::accounts::count(db)
        .await
        .map_err(|e| StartError::Other(format!("counting accounts: {e}")))?;
    if count > 0 {
        return Ok(None);
    }
    // Replicas starting together on an empty database: only one bootstraps.
    let claimed =
        store::meta::insert_if_absent(db, "bootstrapped_at", &crate::clock::now().to_string())
            .await
            .map_err(|e| StartError::Other(format!("claiming the bootstrap: {e}")))?;
    if !claimed {
        return Ok(None);
    }
    let credits = settings.bootstrap.initial_credits;
    let (account_id, key_id, secret) =
        crate::accounts::create_account_with_key(db, "default", "bootstrap", credits)
            .await
            .map_err(|e| StartError::Other(format!("creating the first account: {e}")))?;
    Ok(Some(BootstrapKey {
        account_id,
        key_id,
        secret,
        credits,
    }))
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
