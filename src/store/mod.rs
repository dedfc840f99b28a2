//! The database: connection pools, migrations and the queries of each table.
//!
//! SQLite runs in WAL mode with one writer connection (SQLite has one writer anyway; a single
//! connection removes `SQLITE_BUSY` upgrade failures) and a pool of readers. The SQL is kept to
//! the subset PostgreSQL shares so that a second backend is an addition, not a rewrite.

pub mod accounts;
pub mod assets;
pub mod audit;
pub mod keys;
pub mod ledger;
pub mod meta;
pub mod tasks;
pub mod upstream;
pub mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// Handle to the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    /// The single writer connection; every transaction goes here.
    pub write: SqlitePool,
    /// Readers for queries that change nothing.
    pub read: SqlitePool,
}

/// Migrations embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Db {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Db { write, read })
    }

    /// Applies migrations only (for `reelay migrate`).
    pub async fn migrate(url: &str) -> Result<(), sqlx::Error> {
        let db = Db::connect(url).await?;
        db.close().await;
        Ok(())
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

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
