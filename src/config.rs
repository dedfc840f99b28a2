//! Settings: built-in defaults → `reelay.toml` → `REELAY_<SECTION>__<KEY>` environment → command-line flags
//! (API.md §9), validated once at start. Errors name the key that is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::storage::StorageLocation;

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
    /// SQLite: WAL pages after which a commit checkpoints them back into the database file.
    /// Smaller: shorter, more frequent stalls (lower tail latency); larger: more throughput.
    pub sqlite_wal_autocheckpoint: u32,
}

impl Default for DatabaseSettings {
    fn default() -> DatabaseSettings {
        DatabaseSettings {
            url: None,
            max_connections: 16,
            migrate_on_start: true,
            sqlite_wal_autocheckpoint: crate::store::DEFAULT_WAL_AUTOCHECKPOINT,
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
            .field("sqlite_wal_autocheckpoint", &self.sqlite_wal_autocheckpoint)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `file:///path` (default `<data_dir>/objects`) or `s3://bucket/prefix` (`storage.s3`).
    pub url: Option<String>,
    /// Who serves result files: reelay itself (default) or the S3 store through presigned URLs.
    pub serve: ServeMode,
    /// Connection to an S3-compatible store; unset keys come from the usual `AWS_*` variables.
    pub s3: S3Settings,
}

/// How the result URLs in a task (`video_url`, `last_frame_url`) are made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServeMode {
    /// HMAC-signed `/files/...` URLs served by reelay with `Range`; any replica can verify them
    /// because the signing key is in the database.
    #[default]
    Reelay,
    /// Presigned S3 GET URLs (S3 only), valid until the result expires and at most 7 days.
    Presigned,
}

/// `storage.s3.*`: where the `s3://` bucket lives and how to sign in. Every key is optional;
/// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and the rest
/// of `object_store`'s `AWS_*` variables) fill what is unset.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Settings {
    /// Endpoint of an S3-compatible service (`http://127.0.0.1:8333`); unset: AWS S3.
    pub endpoint: Option<String>,
    /// Region to sign for (`us-east-1` when unset everywhere; R2 wants `auto`).
    pub region: Option<String>,
    /// Access key id; needs `secret_access_key` with it.
    pub access_key_id: Option<String>,
    /// Secret access key. Never serialized or printed.
    #[serde(skip_serializing)]
    pub secret_access_key: Option<SecretString>,
    /// Allow an `http://` endpoint (local MinIO or SeaweedFS). Off: only https.
    pub allow_http: bool,
    /// Address buckets as `https://bucket.endpoint/key` instead of `https://endpoint/bucket/key`
    /// (path style, the default, is what MinIO and SeaweedFS need).
    pub virtual_hosted_style: bool,
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
    /// `reelay worker` only: address of a listener that serves this process's `/metrics`,
    /// `/healthz` and `/readyz` (its renders and upstream calls are counted here, not by the API
    /// replicas). Unset: the worker listens nowhere.
    pub metrics_listen: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Requests per minute per API key (unset = unlimited); a key's own `rpm` overrides it.
    pub default_rpm: Option<u32>,
    /// Tasks queued or processing per API key (unset = unlimited); a key's own `max_in_flight`
    /// overrides it.
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
            storage: StorageSettings::default(),
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
        if self.database.sqlite_wal_autocheckpoint == 0 {
            // 0 turns SQLite's checkpoints off: the WAL would grow without bound.
            return Err(ConfigError::Invalid {
                key: "database.sqlite_wal_autocheckpoint",
                message: "must be at least 1 (pages; the default is 250)".into(),
            });
        }
        self.validate_storage()?;
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
            wal_autocheckpoint: self.database.sqlite_wal_autocheckpoint,
        }
    }

    /// Where objects are stored: `storage.url`, or the directory `<data_dir>/objects` when unset.
    pub fn storage_location(&self) -> Result<StorageLocation, ConfigError> {
        match &self.storage.url {
            Some(url) => StorageLocation::parse(url).map_err(|e| ConfigError::Invalid {
                key: "storage.url",
                message: e.to_string(),
            }),
            None => Ok(StorageLocation::Local(self.data_dir.join("objects"))),
        }
    }

    /// `storage.*`: a supported URL, `serve` and `s3` keys that fit it.
    fn validate_storage(&self) -> Result<(), ConfigError> {
        let location = self.storage_location()?;
        let s3 = &self.storage.s3;
        let is_s3 = matches!(location, StorageLocation::S3 { .. });
        if !is_s3 {
            if self.storage.serve == ServeMode::Presigned {
                return Err(ConfigError::Invalid {
                    key: "storage.serve",
                    message: "\"presigned\" needs an s3:// storage.url; use \"reelay\" (the default) with file:// storage".into(),
                });
            }
            let s3_keys_set = s3.endpoint.is_some()
                || s3.region.is_some()
                || s3.access_key_id.is_some()
                || s3.secret_access_key.is_some()
                || s3.allow_http
                || s3.virtual_hosted_style;
            if s3_keys_set {
                return Err(ConfigError::Invalid {
                    key: "storage.s3",
                    message: "storage.s3.* is set but storage.url is not an s3:// URL (objects would be stored on local disk)".into(),
                });
            }
            return Ok(());
        }
        if let Some(endpoint) = &s3.endpoint {
            let parsed = url::Url::parse(endpoint).map_err(|e| ConfigError::Invalid {
                key: "storage.s3.endpoint",
                message: format!("is not an absolute URL like https://s3.example.com ({e})"),
            })?;
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(ConfigError::Invalid {
                    key: "storage.s3.endpoint",
                    message: "must not carry credentials; use storage.s3.access_key_id and storage.s3.secret_access_key".into(),
                });
            }
            match parsed.scheme() {
                "https" => {}
                "http" if s3.allow_http => {}
                "http" => {
                    return Err(ConfigError::Invalid {
                        key: "storage.s3.allow_http",
                        message: format!(
                            "the endpoint `{endpoint}` is plain http; set storage.s3.allow_http = true to allow it"
                        ),
                    })
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "storage.s3.endpoint",
                        message: "must start with http:// or https://".into(),
                    })
                }
            }
        }
        match (&s3.access_key_id, &s3.secret_access_key) {
            (Some(_), None) => Err(ConfigError::Invalid {
                key: "storage.s3.secret_access_key",
                message: "is required when storage.s3.access_key_id is set".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                key: "storage.s3.access_key_id",
                message: "is required when storage.s3.secret_access_key is set".into(),
            }),
            _ => Ok(()),
        }
    }

    /// The data directory, for files that are not in the database.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Hides the password of a database URL: in the userinfo (`postgres://u:pw@host/db`) and in
/// the query (`?password=pw`, which sqlx and libpq accept too). A URL that does not parse is
/// hidden whole when it could hold a password (an `@` or a `password`), since where the
/// password is cannot be known.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        if url.contains('@') || url.to_ascii_lowercase().contains("password") {
            return "<unparseable URL, hidden>".to_string();
        }
        return url.to_string();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let secret_param = |name: &str| {
        let name = name.to_ascii_lowercase();
        name.contains("password") || name.contains("secret") || name == "sslkey"
    };
    if parsed.query_pairs().any(|(name, _)| secret_param(&name)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret_param(&name) {
                    "***".to_string()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
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

    #[test]
    fn redacts_database_password() {
        assert_eq!(
            redact_url("postgres://u:secret@db/reelay"),
            "postgres://u:***@db/reelay"
        );
        assert_eq!(
            redact_url("postgres://db/reelay?user=u&password=secret&sslmode=require"),
            "postgres://db/reelay?user=u&password=***&sslmode=require"
        );
        assert!(!redact_url("postgres://u:secret@[bad/reelay").contains("secret"));
        assert_eq!(
            redact_url("sqlite:///var/lib/reelay/reelay.db"),
            "sqlite:///var/lib/reelay/reelay.db"
        );
    }
}
