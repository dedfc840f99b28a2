//! Synchronous reads of the SQLite file on the calling thread, for the requests clients repeat
//! most (the API-key lookup of every request, the task poll).
//!
//! sqlx runs each SQLite statement on the connection's own thread and hands the rows back over
//! a channel: two thread switches per statement, which under load cost more than the statement
//! itself (`perf`, docs/BENCHMARKS.md). A primary-key read of a WAL database served from the
//! page cache takes microseconds, so these few reads run right here through `rusqlite` on a
//! small set of read-only connections.
//!
//! It never blocks the runtime: the connections have no busy timeout, and any error (busy, a
//! locked file, a schema this code does not know) returns `None`, on which the caller runs the
//! same query through sqlx, whose answer is authoritative. PostgreSQL and in-memory databases
//! have no local reader.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Params, Row};

/// Idle connections kept for reuse; more may be open for a moment under a burst.
const KEEP_IDLE: usize = 8;

/// Read-only connections to one SQLite file.
pub struct LocalReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for LocalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalReader {
    /// The reader of the file a `sqlite:` URL names; `None` for an in-memory database or a URL
    /// sqlx would not parse either.
    pub fn for_url(url: &str) -> Option<LocalReader> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return None;
        }
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
        let path = options.get_filename().to_path_buf();
        // sqlx names its in-memory databases `file:…` URIs; only plain paths are read here.
        if path.as_os_str().is_empty() || path.to_string_lossy().starts_with("file:") {
            return None;
        }
        Some(LocalReader {
            path,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The first row of `sql` (`$1, $2, …` placeholders) mapped by `map`: `Some(None)` when
    /// there is no row, `None` when the local read failed and the caller must ask sqlx.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Option<T>> {
        let connection = match self.take() {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(%error, "local SQLite read unavailable; using the pool");
                return None;
            }
        };
        let answer = read(&connection, sql, params, map);
        match answer {
            Ok(row) => {
                self.give_back(connection);
                Some(row)
            }
            Err(error) => {
                // The connection is dropped: a later read opens a fresh one.
                tracing::debug!(%error, "local SQLite read failed; using the pool");
                None
            }
        }
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        if let Some(connection) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(connection);
        }
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Never wait for a lock on a runtime thread: busy means "ask the pool".
        connection.busy_timeout(Duration::ZERO)?;
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < KEEP_IDLE {
                idle.push(connection);
            }
        }
    }
}

fn read<T>(
    connection: &Connection,
    sql: &str,
    params: impl Params,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    match rows.next()? {
        Some(row) => map(row).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_file_has_a_local_reader() {
        assert!(LocalReader::for_url("sqlite::memory:").is_none());
        assert!(LocalReader::for_url("sqlite://x.db?mode=memory").is_none());
        let reader = LocalReader::for_url("sqlite:///data/reelay.db?mode=rwc").expect("a file");
        assert_eq!(reader.path, PathBuf::from("/data/reelay.db"));
    }

    #[test]
    fn a_missing_file_is_a_fallback_not_an_error() {
        let reader = LocalReader::for_url("sqlite:///nonexistent/dir/reelay.db").expect("a file");
        assert!(reader
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .is_none());
    }
}
