//! Fixed-window counters in the database (`rate_windows`), so that a per-minute limit holds
//! across every replica: per-key request RPM and per-channel create RPM.

use super::Db;

/// Length of a window.
pub(crate) const WINDOW_SECS: i64 = 60;

/// Counts one event in `scope`'s current window and says whether it is within `limit`;
/// `Err(retry_after_secs)` when the window is already full (the refused event still counts,
/// which only makes a client that ignores `Retry-After` wait longer).
pub async fn take(
    db: &Db,
    scope: &str,
    limit: i64,
    now: i64,
) -> Result<Result<(), i64>, sqlx::Error> {
    let window_start = now - now.rem_euclid(WINDOW_SECS);
    let count: i64 = sqlx::query_scalar(
        "INSERT INTO rate_windows (scope, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (scope, window_start) DO UPDATE SET count = rate_windows.count + 1 \
         RETURNING count",
    )
    .bind(scope)
    .bind(window_start)
    .fetch_one(&db.write)
    .await?;
    if count <= limit {
        Ok(Ok(()))
    } else {
        Ok(Err((window_start + WINDOW_SECS - now).max(1)))
    }
}

/// Deletes windows that ended before `now` minus one window.
pub(crate) async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
        .bind(now - 2 * WINDOW_SECS)
        .execute(&db.write)
        .await?;
    Ok(done.rows_affected())
}
