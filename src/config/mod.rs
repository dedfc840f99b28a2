//! Settings: built-in defaults → `reelay.toml` → `REELAY_<SECTION>__<KEY>` environment → command-line flags
//! (API.md §9), validated once at start. Errors name the key that is wrong.
//!
//! `config` is the bottom layer: it holds the settings types and their validation, and imports
//! nothing of the crate (`tests/it/tidy.rs` holds it). Each subsystem reads its own section from
//! here: `store` its [`PoolSettings`], `storage` its [`StorageLocation`], `providers` its
//! [`ChannelSettings`]. The larger sections have their own file: `database.rs`, `storage.rs`,
//! `channels.rs` (`[[channels]]` and `[upstream]`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod channels;
mod database;
mod storage;
mod text;

pub use channels::{ChannelSettings, UpstreamSettings, PROVIDERS};
pub use database::{
    redact_url, Backend, DatabaseSettings, PoolSettings, DEFAULT_WAL_AUTOCHECKPOINT,
};
pub use storage::{S3Settings, ServeMode, StorageLocation, StorageSettings, StorageUrlError};

/// Everything reelay reads from its configuration layers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Directory for the default SQLite database and the default object store.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub results: ResultSettings,
    pub catalog: CatalogSettings,
    pub media: MediaSettings,
    pub admin: AdminSettings,
    pub api: ApiSettings,
    pub worker: WorkerSettings,
    pub limits: LimitSettings,
    pub secrets: SecretSettings,
    pub assets: AssetSettings,
    pub bootstrap: BootstrapSettings,
    pub webhooks: WebhookSettings,
    /// Configured channels (MODELS.md §Routing). Empty: the built-in `local` channel serves every model.
    pub channels: Vec<ChannelSettings>,
    /// How tasks wait for, and results come back from, upstream channels.
    pub upstream: UpstreamSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address the HTTP API listens on (`127.0.0.1:0` picks a free port).
    #[serde(deserialize_with = "text::string")]
    pub listen: String,
    /// Public origin used in URLs reelay hands out; default `http://<listen address>`.
    #[serde(deserialize_with = "text::opt_string")]
    pub public_url: Option<String>,
    /// How long a shutdown waits for in-flight renders before requeueing them.
    pub shutdown_grace_secs: u64,
    /// A new connection must send a whole request head within this time, and so must a kept-alive
    /// connection once the first byte of its next request has arrived (nginx's
    /// `client_header_timeout`).
    pub header_timeout_secs: u64,
    /// A kept-alive connection with no request for this long is closed (nginx's
    /// `keepalive_timeout`).
    pub keepalive_timeout_secs: u64,
    /// A request body that sends nothing for this long is cut off with 408; it is also the grace
    /// before `min_body_bytes_per_sec` applies (nginx's `client_body_timeout`).
    pub body_timeout_secs: u64,
    /// Once `body_timeout_secs` have been spent waiting for a request body, it must have arrived at
    /// this average rate or more, else 408 (a body trickled a byte a second is cut off).
    pub min_body_bytes_per_sec: u64,
    /// Open client connections served at once; 0 = the open-file limit (raised to its hard limit
    /// at start) minus a reserve for the database, storage and outgoing calls. Past it a new
    /// connection gets a fast 503 (`/healthz` and `/readyz` still answer) from a small overflow.
    pub max_connections: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResultSettings {
    /// Hours a result file is kept and its URL valid; 0 keeps results forever.
    pub retention_hours: u64,
    /// How often the retention sweep runs.
    pub sweep_interval_secs: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogSettings {
    /// Operator catalog file applied over the built-in one.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSettings {
    /// Development only: allow `http://` media and callback URLs.
    pub allow_http: bool,
    /// Development only: allow URLs that resolve to loopback/private addresses.
    pub allow_private_networks: bool,
    /// Total time allowed for one download.
    pub fetch_timeout_secs: u64,
    /// At create, how long the lookup of a media or callback URL's host name may take before
    /// the URL is left to the fetch (a name resolving to a non-public address is refused at
    /// create); 0 = names are not looked up at create (address literals are still checked).
    pub create_lookup_ms: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Bearer token for `/admin/v1`; admin routes are off when unset. Never serialized.
    #[serde(skip_serializing)]
    pub token: Option<SecretString>,
}

/// The key that seals the secrets reelay keeps in its database (the URL-signing key, webhook
/// secrets); see `docs/HARDENING.md` for what it protects and how to rotate it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretSettings {
    /// At least 32 characters (`openssl rand -base64 32`); unset = secrets stored in clear.
    /// Never serialized.
    #[serde(skip_serializing)]
    pub key: Option<SecretString>,
    /// The key being rotated away from: values sealed with it are read and sealed again with
    /// `key` at start. Never serialized.
    #[serde(skip_serializing)]
    pub previous_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// `"0"` (integer 0, default) or `"20000"` (the string, for clients of that variant).
    #[serde(deserialize_with = "text::string")]
    pub success_code: String,
    /// Largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Local renders run at once in this process.
    pub local_concurrency: usize,
    /// A claim not renewed for this long is considered abandoned and reclaimed.
    pub lease_secs: u64,
    /// How often idle workers look for work (they are also woken on create).
    pub poll_interval_ms: u64,
    /// Claims of one task before it fails with a refund.
    pub max_attempts: i64,
    /// `reelay worker` only: address of a listener that serves this process's `/metrics`,
    /// `/healthz` and `/readyz` (its renders and upstream calls are counted here, not by the API
    /// replicas). Unset: the worker listens nowhere.
    #[serde(deserialize_with = "text::opt_string")]
    pub metrics_listen: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Requests per minute per API key (unset = unlimited); a key's own `rpm` overrides it.
    pub default_rpm: Option<u32>,
    /// Tasks queued or processing per API key (unset = unlimited); a key's own `max_in_flight`
    /// overrides it.
    pub default_max_in_flight: Option<u32>,
    /// Event streams (`GET /videos/{id}/events`, SSE) one API key may hold open at once; past
    /// it, 429. 0 = no cap. Counted per process.
    pub streams_per_key: u32,
    /// Uploads (multipart bodies being read, stored and probed) one API key may have in
    /// progress at once; one more is 429. 0 = no cap. Counted per process.
    pub uploads_per_key: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            default_rpm: None,
            default_max_in_flight: None,
            streams_per_key: 8,
            uploads_per_key: 4,
        }
    }
}

/// How a review decision is made for audited assets and real-person records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewPolicy {
    /// Approve whatever passes probing.
    Auto,
    /// An operator approves or rejects through the admin API.
    Manual,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetSettings {
    /// Largest upload (multipart file or downloaded URL) in bytes; larger multipart bodies get 413.
    pub max_upload_bytes: u64,
    /// Assets (of every purpose, Failed ones excluded) one account may hold.
    pub max_per_account: u64,
    /// Total stored bytes one account's assets may take.
    pub max_bytes_per_account: u64,
    /// Review of Full-route audit uploads (`auto` by default).
    pub audit_policy: ReviewPolicy,
    /// Review of real-person submissions (`manual` by default).
    pub realperson_policy: ReviewPolicy,
}

impl Default for AssetSettings {
    fn default() -> Self {
        AssetSettings {
            max_upload_bytes: 100 * 1024 * 1024,
            max_per_account: 1000,
            max_bytes_per_account: 10 * 1024 * 1024 * 1024,
            audit_policy: ReviewPolicy::Auto,
            realperson_policy: ReviewPolicy::Manual,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapSettings {
    /// Credits given to the account created on first start.
    pub initial_credits: i64,
}

/// Webhook delivery (API.md §6).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Seconds to wait after the 1st, 2nd, … failed attempt; the last one repeats until `max_age_secs`.
    pub schedule_secs: Vec<u64>,
    /// No attempt is made later than this after the task ended (24 h).
    pub max_age_secs: u64,
    /// Time allowed for one attempt (a slower receiver counts as a failure).
    pub timeout_secs: u64,
    /// How often the dispatcher looks for due deliveries.
    pub poll_interval_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            schedule_secs: vec![5, 30, 120, 600, 1800, 3600, 7200],
            max_age_secs: 24 * 3600,
            timeout_secs: 10,
            poll_interval_ms: 1000,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./reelay-data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            storage: StorageSettings::default(),
            results: ResultSettings::default(),
            catalog: CatalogSettings::default(),
            media: MediaSettings::default(),
            admin: AdminSettings::default(),
            api: ApiSettings::default(),
            worker: WorkerSettings::default(),
            limits: LimitSettings::default(),
            secrets: SecretSettings::default(),
            assets: AssetSettings::default(),
            bootstrap: BootstrapSettings::default(),
            webhooks: WebhookSettings::default(),
            channels: Vec::new(),
            upstream: UpstreamSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            shutdown_grace_secs: 30,
            header_timeout_secs: 10,
            keepalive_timeout_secs: 75,
            body_timeout_secs: 30,
            min_body_bytes_per_sec: 1024,
            max_connections: 0,
        }
    }
}

impl Default for ResultSettings {
    fn default() -> Self {
        ResultSettings {
            retention_hours: 72,
            sweep_interval_secs: 300,
        }
    }
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            allow_http: false,
            allow_private_networks: false,
            fetch_timeout_secs: 60,
            create_lookup_ms: 1000,
        }
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            success_code: "0".into(),
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            local_concurrency: 2,
            lease_secs: 30,
            poll_interval_ms: 1000,
            max_attempts: 3,
            metrics_listen: None,
        }
    }
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            initial_credits: 1_000_000,
        }
    }
}

/// Values given on the command line; they win over every other layer.
#[derive(Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// `reelay worker --metrics-listen`.
    pub metrics_listen: Option<String>,
}

impl std::fmt::Debug for Overrides {
    /// The database URL may carry a password: print it redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("config_file", &self.config_file)
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .finish()
    }
}

/// A configuration that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
    /// A `[[channels]]` entry (or `[upstream]`) is wrong; `key` is like `channels[1].base_url`.
    #[error("configuration key `{key}`: {message}")]
    InvalidKey { key: String, message: String },
}

impl Settings {
    /// Reads every layer. `REELAY_URL` and `REELAY_API_KEY` belong to the client commands and
    /// `REELAY_TEST_*` to the test harness (`scripts/seaweedfs`); they are not settings.
    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        let file = overrides.config_file.clone().or_else(|| {
            let default = PathBuf::from("reelay.toml");
            default.exists().then_some(default)
        });
        if let Some(file) = &file {
            if !file.exists() {
                return Err(ConfigError::Parse(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(
            // REELAY_URL / REELAY_API_KEY belong to the client commands, REELAY_TEST_* to
            // the test suite; neither is server configuration.
            Env::prefixed("REELAY_")
                .ignore(&["url", "api_key"])
                .filter(|key| !key.starts_with("test_"))
                .split("__"),
        );
        let mut settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Parse(describe_figment_error(e)))?;
        if let Some(listen) = &overrides.listen {
            settings.server.listen = listen.clone();
        }
        if let Some(listen) = &overrides.metrics_listen {
            settings.worker.metrics_listen = Some(listen.clone());
        }
        if let Some(dir) = &overrides.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.database_url {
            settings.database.url = Some(url.clone());
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server
            .listen
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Invalid {
                key: "server.listen",
                message: format!(
                    "`{}` is not an address like 127.0.0.1:8080 ({e})",
                    self.server.listen
                ),
            })?;
        if let Some(public) = &self.server.public_url {
            let parsed = url::Url::parse(public).map_err(|e| ConfigError::Invalid {
                key: "server.public_url",
                message: format!("`{public}` is not an absolute URL ({e})"),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid {
                    key: "server.public_url",
                    message: "must start with http:// or https://".into(),
                });
            }
        }
        if let Some(listen) = &self.worker.metrics_listen {
            listen
                .parse::<SocketAddr>()
                .map_err(|e| ConfigError::Invalid {
                    key: "worker.metrics_listen",
                    message: format!("`{listen}` is not an address like 127.0.0.1:9090 ({e})"),
                })?;
        }
        if self.api.success_code != "0" && self.api.success_code != "20000" {
            return Err(ConfigError::Invalid {
                key: "api.success_code",
                message: format!(
                    "must be \"0\" or \"20000\" (got \"{}\")",
                    self.api.success_code
                ),
            });
        }
        for (key, secs) in [
            (
                "server.header_timeout_secs",
                self.server.header_timeout_secs,
            ),
            (
                "server.keepalive_timeout_secs",
                self.server.keepalive_timeout_secs,
            ),
            ("server.body_timeout_secs", self.server.body_timeout_secs),
        ] {
            if secs == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    message: "must be at least 1 second".into(),
                });
            }
        }
        if self.worker.local_concurrency == 0 {
            return Err(ConfigError::Invalid {
                key: "worker.local_concurrency",
                message: "must be at least 1".into(),
            });
        }
        if self.worker.lease_secs < 3 {
            return Err(ConfigError::Invalid {
                key: "worker.lease_secs",
                message: "must be at least 3 (workers renew their lease every second)".into(),
            });
        }
        if self.worker.max_attempts < 1 {
            return Err(ConfigError::Invalid {
                key: "worker.max_attempts",
                message: "must be at least 1".into(),
            });
        }
        if self.bootstrap.initial_credits < 0 {
            return Err(ConfigError::Invalid {
                key: "bootstrap.initial_credits",
                message: "must not be negative".into(),
            });
        }
        if self.webhooks.schedule_secs.is_empty() {
            return Err(ConfigError::Invalid {
                key: "webhooks.schedule_secs",
                message: "must list at least one delay in seconds".into(),
            });
        }
        self.database.validate(&self.database_url())?;
        self.storage.validate(&self.data_dir)?;
        channels::validate(&self.channels, &self.upstream)?;
        Ok(())
    }

    /// The database URL, defaulting to SQLite inside the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("reelay.db").display()),
        }
    }

    /// Pool settings of the configured database.
    pub(crate) fn pool_settings(&self) -> PoolSettings {
        self.database.pool_settings()
    }

    /// Where objects are stored: `storage.url`, or the directory `<data_dir>/objects` when unset.
    pub(crate) fn storage_location(&self) -> Result<StorageLocation, ConfigError> {
        self.storage.location(&self.data_dir)
    }

    /// The data directory, for files that are not in the database.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if path.is_empty() {
                format!("{}{source}", e.kind)
            } else {
                format!("key `{path}`: {}{source}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().expect("defaults validate");
    }

    #[test]
    fn bad_success_code_names_the_key() {
        let mut settings = Settings::default();
        settings.api.success_code = "1".into();
        let err = settings.validate().expect_err("must fail").to_string();
        assert!(err.contains("api.success_code"), "{err}");
    }

    #[test]
    fn a_worker_metrics_address_from_the_command_line_is_checked_and_named() {
        let overrides = Overrides {
            metrics_listen: Some("localhost".into()),
            ..Overrides::default()
        };
        let error = Settings::load(&overrides).expect_err("not an address");
        assert!(
            error.to_string().contains("worker.metrics_listen"),
            "{error}"
        );
        let overrides = Overrides {
            metrics_listen: Some("127.0.0.1:9464".into()),
            ..Overrides::default()
        };
        let settings = Settings::load(&overrides).expect("valid");
        assert_eq!(
            settings.worker.metrics_listen.as_deref(),
            Some("127.0.0.1:9464")
        );
    }
}
