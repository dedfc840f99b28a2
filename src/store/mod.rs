//! The database: connection pools, migrations and the queries of each table.
//!
//! Two backends behind one code path (sqlx's `Any` driver): SQLite (the default, one machine)
//! and PostgreSQL (several replicas). Queries use `$1, $2, …` placeholders and the SQL subset
//! both share; the few statements that must differ ask [`Db::backend`]. Migrations are mirrored
//! by name in `migrations/sqlite` and `migrations/postgres`.
//!
//! SQLite runs in WAL mode with one writer connection (SQLite has one writer anyway; a single
//! connection removes `SQLITE_BUSY` upgrade failures) and a pool of readers. PostgreSQL uses one
//! pool for both; migrations there run under sqlx's advisory lock, so replicas starting together
//! do not race.

pub mod accounts;
pub mod assets;
pub mod audit;
pub mod idempotency;
pub mod keys;
pub mod ledger;
pub mod local_read;
pub mod meta;
pub(crate) mod notify;
pub(crate) mod positional;
pub mod rate;
pub(crate) mod task_types;
pub mod tasks;
pub mod uploads;
pub mod upstream;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::config::PoolSettings;

// Which database a URL names: the type is a setting (`config`); the SQL where the two differ
// is here.
pub use crate::config::Backend;

impl Backend {
    /// Row-locking suffix for a claim's `SELECT … LIMIT 1` subquery: PostgreSQL skips rows
    /// another replica is claiming; SQLite has a single writer, so there is nothing to skip.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// Handle to the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    /// Where every transaction goes (SQLite: the single writer connection).
    pub write: AnyPool,
    /// Readers for queries that change nothing (PostgreSQL: the same pool as `write`).
    pub read: AnyPool,
    backend: Backend,
    url: String,
    /// SQLite file only: synchronous reads for the hottest queries (see [`local_read`]).
    local: Option<Arc<local_read::LocalReader>>,
}

/// Migrations embedded in the binary, one set per backend, mirrored by name.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A PostgreSQL connection idle this long is pinged before it is used again (and replaced when
/// the ping fails). Under load connections go back to work within microseconds and are not
/// pinged; when traffic is light every use pings, as sqlx's default would.
pub const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

impl Db {
    /// Opens (creating a SQLite file if needed) the database at `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        Db::connect_with(url, PoolSettings::default()).await
    }

    /// Opens the database at `url` with explicit pool settings.
    pub(crate) async fn connect_with(url: &str, settings: PoolSettings) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| {
            sqlx::Error::Configuration(
                "database.url must start with sqlite:// or postgres://".into(),
            )
        })?;
        let db = match backend {
            Backend::Sqlite => {
                let autocheckpoint = settings.wal_autocheckpoint;
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    // A local file does not drop connections: skip the ping round trip to the
                    // connection's thread that `test_before_acquire` costs on every statement.
                    .test_before_acquire(false)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            let pragmas = format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                 PRAGMA wal_autocheckpoint = {autocheckpoint};"
                            );
                            conn.execute(pragmas.as_str()).await?;
                            Ok(())
                        })
                    })
                    .connect(&with_sqlite_mode(url, "rwc"))
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(settings.max_connections.clamp(1, 64))
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout = 10000;").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&with_sqlite_mode(url, "ro"))?;
                Db {
                    write,
                    read,
                    backend,
                    url: url.to_string(),
                    local: local_read::LocalReader::for_url(url).map(Arc::new),
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(settings.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(30))
                    // sqlx's default pings every connection before each use: a second round
                    // trip per statement, a third of a busy replica's CPU (docs/BENCHMARKS.md).
                    // Only a connection idle for `PING_WHEN_IDLE_FOR` is pinged.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for < PING_WHEN_IDLE_FOR {
                                return Ok(true);
                            }
                            Ok(sqlx::Connection::ping(conn).await.is_ok())
                        })
                    })
                    .connect(url)
                    .await?;
                Db {
                    write: pool.clone(),
                    read: pool,
                    backend,
                    url: url.to_string(),
                    local: None,
                }
            }
        };
        if settings.migrate {
            db.run_migrations().await?;
        }
        Ok(db)
    }

    /// Applies pending migrations (PostgreSQL: under an advisory lock, so concurrent replicas
    /// wait for each other instead of racing).
    pub(crate) async fn run_migrations(&self) -> Result<(), sqlx::Error> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.write).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The synchronous SQLite reader, when there is one (a SQLite file).
    pub fn local(&self) -> Option<&local_read::LocalReader> {
        self.local.as_deref()
    }

    /// This handle with the synchronous reader off: every read goes through the pools (tests
    /// compare both paths).
    pub fn without_local(&self) -> Db {
        Db {
            local: None,
            ..self.clone()
        }
    }

    /// The URL this handle was opened with (secret-bearing: never log it unredacted).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// `url` with SQLite's `mode` parameter set (`rwc` creates the file, `ro` opens read-only).
fn with_sqlite_mode(url: &str, mode: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    let mode = format!("mode={mode}");
    params.push(&mode);
    format!("{base}?{}", params.join("&"))
}

/// Seconds since the Unix epoch: the clock the rows' times are written with.
pub use crate::clock::now;

/// `($first, …, $first+count-1)`: the list of an `IN` after `first - 1` other parameters.
pub(crate) fn list_placeholders(first: usize, count: usize) -> String {
    let list: Vec<String> = (first..first + count).map(|n| format!("${n}")).collect();
    format!("({})", list.join(", "))
}

/// `($1, …, $cols), ($cols+1, …), …` for a multi-row `INSERT … VALUES` of `rows` rows.
pub(crate) fn values_placeholders(rows: usize, cols: usize) -> String {
    values_placeholders_from(rows, cols, 1)
}

/// [`values_placeholders`] numbered from `$first` (after parameters bound before the list).
pub(crate) fn values_placeholders_from(rows: usize, cols: usize, first: usize) -> String {
    let mut sql = String::with_capacity(rows * cols * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..cols {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(first + row * cols + col).to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_from_where_they_start() {
        assert_eq!(list_placeholders(2, 3), "($2, $3, $4)");
        assert_eq!(values_placeholders(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn sqlite_mode_is_set_once() {
        assert_eq!(
            with_sqlite_mode("sqlite:///d/r.db", "ro"),
            "sqlite:///d/r.db?mode=ro"
        );
        assert_eq!(
            with_sqlite_mode("sqlite:///d/r.db?mode=rwc&cache=shared", "ro"),
            "sqlite:///d/r.db?cache=shared&mode=ro"
        );
    }

    #[test]
    fn migrations_are_mirrored_by_name() {
        let names = |backend: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .expect("migrations dir")
                .map(|entry| {
                    entry
                        .expect("entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        };
        assert_eq!(names("sqlite"), names("postgres"));
    }

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(values_placeholders(1, 2), "($1, $2)");
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
