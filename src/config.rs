//! Settings: built-in defaults → `reelay.toml` → `REELAY_<SECTION>__<KEY>` environment → command-line flags
//! (API.md §9), validated once at start. Errors name the key that is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

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
    pub listen: String,
    /// Public origin used in URLs reelay hands out; default `http://<listen address>`.
    pub public_url: Option<String>,
    /// How long a shutdown waits for in-flight renders before requeueing them.
    pub shutdown_grace_secs: u64,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path` (default `<data_dir>/reelay.db`) or `postgres://user:pass@host/db`.
    pub url: Option<String>,
    /// Connections in the pool (PostgreSQL; SQLite readers). The SQLite writer is always one.
    pub max_connections: u32,
    /// Apply pending migrations at start. With `false`, only `reelay migrate` applies them.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> DatabaseSettings {
        DatabaseSettings {
            url: None,
            max_connections: 16,
            migrate_on_start: true,
        }
    }
}

impl std::fmt::Debug for DatabaseSettings {
    /// The URL may carry a password: print it redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("max_connections", &self.max_connections)
            .field("migrate_on_start", &self.migrate_on_start)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `file:///path` (default `<data_dir>/objects`).
    pub url: Option<String>,
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
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Bearer token for `/admin/v1`; admin routes are off when unset. Never serialized.
    #[serde(skip_serializing)]
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// `"0"` (integer 0, default) or `"20000"` (the string, for clients of that variant).
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
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Requests per minute per API key (unset = unlimited). Enforced by the hardening issue.
    pub default_rpm: Option<u32>,
    /// Tasks in flight per API key (unset = unlimited). Enforced by the hardening issue.
    pub default_max_in_flight: Option<u32>,
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

pub use crate::providers::settings::{ChannelSettings, UpstreamSettings};

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./reelay-data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            storage: StorageSettings { url: None },
            results: ResultSettings::default(),
            catalog: CatalogSettings::default(),
            media: MediaSettings::default(),
            admin: AdminSettings::default(),
            api: ApiSettings::default(),
            worker: WorkerSettings::default(),
            limits: LimitSettings::default(),
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
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
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
    /// Reads every layer. `REELAY_URL` and `REELAY_API_KEY` belong to the client commands and are not settings.
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
        if self.api.success_code != "0" && self.api.success_code != "20000" {
            return Err(ConfigError::Invalid {
                key: "api.success_code",
                message: format!(
                    "must be \"0\" or \"20000\" (got \"{}\")",
                    self.api.success_code
                ),
            });
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
        let url = self.database_url();
        if crate::store::Backend::of_url(&url).is_none() {
            return Err(ConfigError::Invalid {
                key: "database.url",
                message: format!(
                    "must be a sqlite:// or postgres:// URL (got `{}`)",
                    redact_url(&url)
                ),
            });
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "database.max_connections",
                message: "must be at least 1".into(),
            });
        }
        if let Some(storage) = &self.storage.url {
            if !storage.starts_with("file://") {
                return Err(ConfigError::Invalid {
                    key: "storage.url",
                    message: format!(
                        "only file:// URLs are supported in this version (got `{storage}`)"
                    ),
                });
            }
        }
        crate::providers::settings::validate(&self.channels, &self.upstream)?;
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
    pub fn pool_settings(&self) -> crate::store::PoolSettings {
        crate::store::PoolSettings {
            max_connections: self.database.max_connections,
            migrate: self.database.migrate_on_start,
        }
    }

    /// Root directory of the local object store.
    pub fn objects_dir(&self) -> PathBuf {
        match &self.storage.url {
            Some(url) => PathBuf::from(url.trim_start_matches("file://")),
            None => self.data_dir.join("objects"),
        }
    }

    /// The data directory, for files that are not in the database.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
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
    fn redacts_database_password() {
        assert_eq!(
            redact_url("postgres://u:secret@db/reelay"),
            "postgres://u:***@db/reelay"
        );
    }
}
