//! `Idempotency-Key` records (API.md §2): which task an account's key created, with the hash of
//! the body it came with. Written in the create's transaction (one row, or many at once by the
//! group commit); pruned after the window by the sweep.

use std::collections::HashSet;

use sqlx::AnyConnection;

use super::{list_placeholders, values_placeholders, Db};

/// How long an `Idempotency-Key` is remembered.
pub(crate) const WINDOW_SECS: i64 = 24 * 3600;

/// Records deleted per statement when pruning (keeps each write transaction short).
const PRUNE_BATCH: i64 = 5_000;

/// What an earlier create with the same key recorded.
pub struct Record {
    pub task_id: String,
    pub body_hash: String,
    pub created_at: i64,
}

/// A record to write.
pub(crate) struct NewRecord<'a> {
    pub account_id: &'a str,
    pub key: &'a str,
    pub body_hash: &'a str,
    pub task_id: &'a str,
    pub created_at: i64,
}

/// The record of `key` for this account, if any (however old).
pub async fn find(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
) -> Result<Option<Record>, sqlx::Error> {
    let found: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT task_id, body_hash, created_at FROM idempotency WHERE account_id = $1 AND idem_key = $2",
    )
    .bind(account_id)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|(task_id, body_hash, created_at)| Record {
        task_id,
        body_hash,
        created_at,
    }))
}

/// Which of `keys` this account has recorded (one statement, on the primary key).
pub(crate) async fn recorded_among(
    conn: &mut AnyConnection,
    account_id: &str,
    keys: &[&str],
) -> Result<HashSet<String>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT idem_key FROM idempotency WHERE account_id = $1 AND idem_key IN {}",
        list_placeholders(2, keys.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql).bind(account_id);
    for key in keys {
        query = query.bind(*key);
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

/// Forgets an expired record, so that the key can create a new task.
pub async fn delete(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency WHERE account_id = $1 AND idem_key = $2")
        .bind(account_id)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes records (one multi-row insert). A key recorded meanwhile fails it on the primary key.
pub(crate) async fn insert_many(
    conn: &mut AnyConnection,
    records: &[NewRecord<'_>],
) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO idempotency (account_id, idem_key, body_hash, task_id, created_at) VALUES {}",
        values_placeholders(records.len(), 5)
    );
    let mut insert = sqlx::query(&sql);
    for record in records {
        insert = insert
            .bind(record.account_id)
            .bind(record.key)
            .bind(record.body_hash)
            .bind(record.task_id)
            .bind(record.created_at);
    }
    insert.execute(conn).await?;
    Ok(())
}

/// Deletes records older than the window (a key that old creates a new task anyway); returns
/// how many. In batches, so that the one writer is never held for long.
pub(crate) async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let cutoff = now - WINDOW_SECS;
    let mut deleted = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE (account_id, idem_key) IN \
             (SELECT account_id, idem_key FROM idempotency WHERE created_at <= $1 LIMIT $2)",
        )
        .bind(cutoff)
        .bind(PRUNE_BATCH)
        .execute(&db.write)
        .await?;
        deleted += done.rows_affected();
        if done.rows_affected() < PRUNE_BATCH as u64 {
            return Ok(deleted);
        }
    }
}
