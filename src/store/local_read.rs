//! Synchronous reads of the SQLite file on the calling thread, for the requests clients repeat
//! most (the API-key lookup of every request, the task poll).
//!
//! sqlx runs each SQLite statement on the connection's own thread and hands the rows back over
//! a channel: two thread switches per statement, which under load cost more than the statement
//! itself (`perf`, docs/BENCHMARKS.md). A primary-key read of a WAL database served from the
//! page cache takes microseconds, so these few reads run right here through `rusqlite`, each
//! thread on its own read-only connection.
//!
//! It never blocks the runtime: the connections have no busy timeout, and any error (busy, a
//! locked file, a schema this code does not know) returns `None`, on which the caller runs the
//! same query through sqlx, whose answer is authoritative. PostgreSQL and in-memory databases
//! have no local reader.

use std::cell::RefCell;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Params, Row};

/// Connections one thread keeps (one per reader it has used; a server has one reader).
const KEEP_PER_THREAD: usize = 4;

/// Numbers the readers, so that a thread's connections are found by reader.
static NEXT_READER: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's read-only connections. Each thread reads through its own: a connection
    /// handed between threads brought its page cache and statements from the other core's
    /// cache on every read (`perf`: cache misses in SQLite's allocator and page cache were the
    /// poll's hottest user-space instructions).
    static CONNECTIONS: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// A connection a thread keeps for a reader, dropped once the reader is.
struct Kept {
    reader: u64,
    alive: Weak<()>,
    connection: Connection,
}

/// Read-only connections to one SQLite file.
pub struct LocalReader {
    id: u64,
    path: PathBuf,
    /// Its weak references in the threads' connections tell them the reader is gone.
    alive: Arc<()>,
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
    pub(crate) fn for_url(url: &str) -> Option<LocalReader> {
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
            id: NEXT_READER.fetch_add(1, Ordering::Relaxed),
            path,
            alive: Arc::new(()),
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
        CONNECTIONS
            .try_with(|kept| {
                // Already borrowed (a read inside a read): the pool answers.
                let mut kept = kept.try_borrow_mut().ok()?;
                kept.retain(|k| k.alive.strong_count() > 0);
                let at = match kept.iter().position(|k| k.reader == self.id) {
                    Some(at) => at,
                    None => {
                        let connection = match self.open() {
                            Ok(connection) => connection,
                            Err(error) => {
                                tracing::debug!(%error, "local SQLite read unavailable; using the pool");
                                return None;
                            }
                        };
                        if kept.len() >= KEEP_PER_THREAD {
                            kept.remove(0);
                        }
                        kept.push(Kept {
                            reader: self.id,
                            alive: Arc::downgrade(&self.alive),
                            connection,
                        });
                        kept.len() - 1
                    }
                };
                match read(&kept[at].connection, sql, params, map) {
                    Ok(row) => Some(row),
                    Err(error) => {
                        // The connection is dropped: the next read opens a fresh one.
                        tracing::debug!(%error, "local SQLite read failed; using the pool");
                        kept.remove(at);
                        None
                    }
                }
            })
            .ok()
            .flatten()
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Never wait for a lock on a runtime thread: busy means "ask the pool".
        connection.busy_timeout(Duration::ZERO)?;
        Ok(connection)
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

    /// Two readers used by one thread each read their own file, and a reader that is dropped
    /// leaves no connection behind in the threads that used it.
    #[test]
    fn each_reader_reads_its_own_file_and_its_connections_go_with_it() {
        let dir = tempfile::tempdir().expect("dir");
        let open = |name: &str, value: i64| {
            let path = dir.path().join(name);
            let connection = Connection::open(&path).expect("create");
            connection
                .execute_batch(&format!(
                    "PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER); INSERT INTO t VALUES ({value});"
                ))
                .expect("schema");
            LocalReader::for_url(&format!("sqlite://{}", path.display())).expect("a file")
        };
        let (a, b) = (open("a.db", 1), open("b.db", 2));
        let value = |reader: &LocalReader| {
            reader
                .query_row("SELECT v FROM t", [], |r| r.get::<_, i64>(0))
                .expect("read locally")
                .expect("a row")
        };
        for _ in 0..3 {
            assert_eq!((value(&a), value(&b)), (1, 2));
        }
        let kept = || CONNECTIONS.with(|kept| kept.borrow().len());
        assert_eq!(kept(), 2);
        drop(a);
        assert_eq!(value(&b), 2);
        assert_eq!(
            kept(),
            1,
            "the dropped reader's connection is closed on the next read"
        );
    }
}
