//! `[database]`: the URL and the pool settings, which backend a URL names, and how a URL is
//! printed without its password. `store` opens its pools from these.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path` (default `<data_dir>/reelay.db`) or `postgres://user:pass@host/db`.
    #[serde(deserialize_with = "crate::config::text::opt_string")]
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
            sqlite_wal_autocheckpoint: DEFAULT_WAL_AUTOCHECKPOINT,
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

impl DatabaseSettings {
    /// Pool settings of this database.
    pub(crate) fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.max_connections,
            migrate: self.migrate_on_start,
            wal_autocheckpoint: self.sqlite_wal_autocheckpoint,
        }
    }

    /// Checks `url` (the configured or default database URL) and the pool keys.
    pub(super) fn validate(&self, url: &str) -> Result<(), ConfigError> {
        if Backend::of_url(url).is_none() {
            return Err(ConfigError::Invalid {
                key: "database.url",
                message: format!(
                    "must be a sqlite:// or postgres:// URL (got `{}`)",
                    redact_url(url)
                ),
            });
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "database.max_connections",
                message: "must be at least 1".into(),
            });
        }
        if self.sqlite_wal_autocheckpoint == 0 {
            // 0 turns SQLite's checkpoints off: the WAL would grow without bound.
            return Err(ConfigError::Invalid {
                key: "database.sqlite_wal_autocheckpoint",
                message: "must be at least 1 (pages; the default is 250)".into(),
            });
        }
        Ok(())
    }
}

/// Which database a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a `sqlite:` or `postgres:`/`postgresql:` URL.
    pub(crate) fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Pool sizing and behaviour that operators may tune.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    /// PostgreSQL pool size (SQLite: readers; the writer is always one connection).
    pub max_connections: u32,
    /// Apply pending migrations on connect (`false`: only `reelay migrate` applies them).
    pub migrate: bool,
    /// SQLite: WAL pages after which a commit checkpoints (`PRAGMA wal_autocheckpoint`).
    pub wal_autocheckpoint: u32,
}

/// The default of [`PoolSettings::wal_autocheckpoint`]. SQLite's own default (1,000 pages) makes
/// the commit that crosses it copy and sync ~4 MB while every create batched behind it waits:
/// p99 of creates 50–65 ms at 64 connections, 23 ms even at one. 250 pages keeps each stall
/// short (p99 41–43 ms at 64 connections, 11 ms at one) for ~25% less peak create throughput
/// (docs/BENCHMARKS.md).
pub const DEFAULT_WAL_AUTOCHECKPOINT: u32 = 250;

impl Default for PoolSettings {
    fn default() -> PoolSettings {
        PoolSettings {
            max_connections: 16,
            migrate: true,
            wal_autocheckpoint: DEFAULT_WAL_AUTOCHECKPOINT,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_by_url() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://u@h/db"), None);
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
