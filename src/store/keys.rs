//! API keys: stored as a clear lookup prefix plus a SHA-256 hash of the whole secret.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

use super::positional::ByPosition;
use super::{now, Db};
use crate::ids;

/// One key as stored (never the secret).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub lookup: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub rpm: Option<i64>,
    pub max_in_flight: Option<i64>,
    /// Most credits the key may spend (`None` or 0: unlimited).
    pub quota: Option<i64>,
    /// Credits its tasks were charged, net of refunds.
    pub quota_used: i64,
}

/// What a request's authentication reads of its key: who it is, the hash to check the secret
/// against, and its own limits (the listing's columns are left out of every request's read).
#[derive(Debug, Clone, FromRow)]
pub struct Credential {
    pub id: String,
    pub account_id: String,
    pub secret_hash: String,
    pub rpm: Option<i64>,
    pub max_in_flight: Option<i64>,
}

/// The columns of [`Credential`], in its field order (a macro so that `concat!` can use it).
macro_rules! credential_columns {
    () => {
        "id, account_id, secret_hash, rpm, max_in_flight"
    };
}
pub(super) use credential_columns;

/// How many columns [`credential_columns`] lists.
pub(super) const CREDENTIAL_COLUMNS: usize = 5;

/// The active key with this lookup part, from the columns [`credential_columns`] lists.
const ACTIVE_BY_LOOKUP: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM api_keys WHERE lookup = $1 AND revoked_at IS NULL"
);

impl Credential {
    /// The credential from the [`credential_columns`] of `row`, by position from `at`.
    pub(super) fn by_position<R: ByPosition>(row: &R, at: usize) -> Result<Credential, R::Error> {
        Ok(Credential {
            id: row.at(at)?,
            account_id: row.at(at + 1)?,
            secret_hash: row.at(at + 2)?,
            rpm: row.at(at + 3)?,
            max_in_flight: row.at(at + 4)?,
        })
    }
}

/// A key just made: its id and the secret to show once.
pub struct CreatedKey {
    pub key_id: String,
    pub secret: String,
}

pub async fn insert(
    conn: &mut AnyConnection,
    account_id: &str,
    name: &str,
) -> Result<CreatedKey, sqlx::Error> {
    let key_id = ids::new_id("key");
    let made = ids::new_api_secret();
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, lookup, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key_id)
    .bind(account_id)
    .bind(name)
    .bind(&made.lookup)
    .bind(&made.hash)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(CreatedKey {
        key_id,
        secret: made.secret,
    })
}

/// The active key whose secret is `secret`, compared in constant time.
pub async fn authenticate(db: &Db, secret: &str) -> Result<Option<Credential>, sqlx::Error> {
    let Some(lookup) = ids::secret_lookup(secret) else {
        return Ok(None);
    };
    let local = db.local().and_then(|reader| {
        reader.query_row(ACTIVE_BY_LOOKUP, [lookup], |row| {
            Credential::by_position(row, 0)
        })
    });
    let key = match local {
        Some(key) => key,
        None => {
            sqlx::query_as::<_, Credential>(ACTIVE_BY_LOOKUP)
                .bind(lookup)
                .fetch_optional(&db.read)
                .await?
        }
    };
    Ok(key.filter(|k| matches(k, secret)))
}

/// True when `secret` is the key's (constant time).
pub(super) fn matches(key: &Credential, secret: &str) -> bool {
    ids::secret_matches(secret, &key.secret_hash)
}

pub async fn list(db: &Db, account_id: Option<&str>) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query_as::<_, ApiKey>(
        "SELECT * FROM api_keys WHERE ($1 IS NULL OR account_id = $2) ORDER BY created_at, id",
    )
    .bind(account_id)
    .bind(account_id)
    .fetch_all(&db.read)
    .await
}

/// Revokes a key; false when no active key has that id.
pub async fn revoke(db: &Db, key_id: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(key_id)
            .execute(&db.write)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a key's own limits (`Some(None)` clears one back to the server default, `None` leaves
/// it); the key after the change, or `None` when there is no such key.
pub(crate) async fn set_limits(
    db: &Db,
    key_id: &str,
    rpm: Option<Option<i64>>,
    max_in_flight: Option<Option<i64>>,
    quota: Option<Option<i64>>,
) -> Result<Option<ApiKey>, sqlx::Error> {
    let mut tx = db.write.begin().await?;
    if let Some(quota) = quota {
        sqlx::query("UPDATE api_keys SET quota = $1 WHERE id = $2")
            .bind(quota.filter(|q| *q > 0))
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(rpm) = rpm {
        sqlx::query("UPDATE api_keys SET rpm = $1 WHERE id = $2")
            .bind(rpm)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(max_in_flight) = max_in_flight {
        sqlx::query("UPDATE api_keys SET max_in_flight = $1 WHERE id = $2")
            .bind(max_in_flight)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
    }
    let key = sqlx::query_as::<_, ApiKey>("SELECT * FROM api_keys WHERE id = $1")
        .bind(key_id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(key)
}

/// One key by id (any account, revoked too).
pub async fn get(db: &Db, key_id: &str) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as::<_, ApiKey>("SELECT * FROM api_keys WHERE id = $1")
        .bind(key_id)
        .fetch_optional(&db.read)
        .await
}

/// The one in-flight guard of a create: locks the key's row (a no-op update: PostgreSQL holds
/// the lock to commit, SQLite has one writer) so that creates racing on several replicas count
/// each other's tasks, then counts the key's `queued` + `processing` tasks.
pub(crate) async fn lock_and_count_live(
    conn: &mut AnyConnection,
    key_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query("UPDATE api_keys SET max_in_flight = max_in_flight WHERE id = $1")
        .bind(key_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE key_id = $1 AND status IN ('queued', 'processing')",
    )
    .bind(key_id)
    .fetch_one(&mut *conn)
    .await
}

/// Takes `credits` from the key's quota, in the transaction that charges them: false (and
/// nothing taken) when that would go past a set quota. The update locks the key's row, so
/// creates racing on several replicas see each other's spending.
pub(crate) async fn take_quota(
    conn: &mut AnyConnection,
    key_id: &str,
    credits: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET quota_used = quota_used + $1 \
         WHERE id = $2 AND (quota IS NULL OR quota <= 0 OR quota_used + $3 <= quota)",
    )
    .bind(credits)
    .bind(key_id)
    .bind(credits)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The key's quota and what it has used (`(None, 0)` for no such key).
pub(crate) async fn quota_in(
    conn: &mut AnyConnection,
    key_id: &str,
) -> Result<(Option<i64>, i64), sqlx::Error> {
    Ok(sqlx::query_as::<_, (Option<i64>, i64)>(
        "SELECT quota, quota_used FROM api_keys WHERE id = $1",
    )
    .bind(key_id)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or((None, 0)))
}

/// Gives a refunded task's credits back to its key's quota, in the refund's transaction.
pub(crate) async fn give_back_quota(
    conn: &mut AnyConnection,
    key_id: &str,
    credits: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET quota_used = quota_used - $1 WHERE id = $2")
        .bind(credits)
        .bind(key_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets a key's quota (`None` or 0: unlimited); the key after the change, or `None` when there
/// is no such key.
pub(crate) async fn set_quota(
    db: &Db,
    key_id: &str,
    quota: Option<i64>,
) -> Result<Option<ApiKey>, sqlx::Error> {
    set_limits(db, key_id, None, None, Some(quota)).await
}
