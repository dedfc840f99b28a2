//! Accepting a task and charging for it, as one transaction: the task row, the ledger debit and
//! the idempotency record commit together or not at all (API.md §2).

mod group;

pub use group::Creates;
use reelay_catalog::ValidatedRequest;

use crate::ids;
use crate::store::ledger::{self, Kind, PostError};
use crate::store::tasks::{self, NewTask};
use crate::store::{now, Db};

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_WINDOW_SECS: i64 = 24 * 3600;

/// Records deleted per statement when pruning (keeps each write transaction short).
const PRUNE_BATCH: i64 = 5_000;

/// Deletes idempotency records older than the window (a key that old creates a new task
/// anyway); returns how many. In batches, so that the one writer is never held for long.
pub async fn prune_idempotency(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let cutoff = now - IDEMPOTENCY_WINDOW_SECS;
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

/// A task that was accepted (now or by an earlier request with the same idempotency key).
#[derive(Debug)]
pub struct Accepted {
    pub task_id: String,
    pub created_at: i64,
    /// True when an earlier request with the same key and body created it.
    pub replayed: bool,
}

/// Why a create was refused.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("balance {balance} is below the price {price}")]
    Insufficient { balance: i64, price: i64 },
    #[error("idempotency key reused with a different body")]
    IdempotencyConflict,
    #[error("the key already has {limit} tasks in flight")]
    TooManyInFlight { limit: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// An `Idempotency-Key` and the hash of the body it came with.
pub struct Idempotency<'a> {
    pub key: &'a str,
    pub body_hash: &'a str,
}

/// Who is creating the task.
#[derive(Clone, Copy)]
pub struct Creator<'a> {
    pub account_id: &'a str,
    pub key_id: &'a str,
    /// The key's limit on queued + processing tasks (`None`: unlimited).
    pub max_in_flight: Option<i64>,
}

/// Inserts the task, debits its price and records the idempotency key, atomically.
///
/// Two requests with the same new `Idempotency-Key` racing on different replicas (PostgreSQL)
/// both find no earlier record; the loser's insert hits the primary key and its transaction rolls
/// back (nothing charged). It is then retried once, and finds the winner's task to replay.
pub async fn accept_task(
    db: &Db,
    creator: Creator<'_>,
    request: &ValidatedRequest,
    idempotency: Option<Idempotency<'_>>,
) -> Result<Accepted, CreateError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match accept_once(db, creator, request, idempotency.as_ref()).await {
            Err(CreateError::Db(sqlx::Error::Database(error)))
                if tries < 3 && idempotency.is_some() && error.is_unique_violation() =>
            {
                continue;
            }
            other => return other,
        }
    }
}

async fn accept_once(
    db: &Db,
    creator: Creator<'_>,
    request: &ValidatedRequest,
    idempotency: Option<&Idempotency<'_>>,
) -> Result<Accepted, CreateError> {
    let Creator {
        account_id,
        key_id,
        max_in_flight,
    } = creator;
    let now = now();
    let mut tx = db.write.begin().await?;
    if let Some(idem) = idempotency {
        let earlier: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT task_id, body_hash, created_at FROM idempotency WHERE account_id = $1 AND idem_key = $2",
        )
        .bind(account_id)
        .bind(idem.key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((task_id, body_hash, created_at)) = earlier {
            if created_at > now - IDEMPOTENCY_WINDOW_SECS {
                if body_hash != idem.body_hash {
                    return Err(CreateError::IdempotencyConflict);
                }
                let task_created: i64 =
                    sqlx::query_scalar("SELECT created_at FROM tasks WHERE id = $1")
                        .bind(&task_id)
                        .fetch_one(&mut *tx)
                        .await?;
                return Ok(Accepted {
                    task_id,
                    created_at: task_created,
                    replayed: true,
                });
            }
            sqlx::query("DELETE FROM idempotency WHERE account_id = $1 AND idem_key = $2")
                .bind(account_id)
                .bind(idem.key)
                .execute(&mut *tx)
                .await?;
        }
    }

    if let Some(limit) = max_in_flight {
        // Lock the key's row (a no-op update; PostgreSQL holds it to commit, SQLite has one
        // writer) so that creates racing on several replicas count each other's tasks.
        sqlx::query("UPDATE api_keys SET max_in_flight = max_in_flight WHERE id = $1")
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE key_id = $1 AND status IN ('queued', 'processing')",
        )
        .bind(key_id)
        .fetch_one(&mut *tx)
        .await?;
        if live >= limit {
            return Err(CreateError::TooManyInFlight { limit });
        }
    }
    let task_id = ids::new_id("vid");
    let request_json = crate::tasks::view::stored_request(request)
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    tasks::insert(
        &mut tx,
        &NewTask {
            id: &task_id,
            account_id,
            key_id,
            model: &request.model,
            request_json: &request_json,
            cost_credits: request.price.credits,
            cost_unit: request.price.unit.as_str(),
            cost_seconds: i64::from(request.price.seconds),
            created_at: now,
        },
    )
    .await?;
    if request.price.credits > 0 {
        match ledger::post(
            &mut tx,
            account_id,
            Kind::Charge,
            -request.price.credits,
            Some(&task_id),
            None,
        )
        .await
        {
            Ok(_) => {}
            Err(PostError::Insufficient { balance, .. }) => {
                return Err(CreateError::Insufficient {
                    balance,
                    price: request.price.credits,
                })
            }
            Err(PostError::NoAccount) => return Err(CreateError::Db(sqlx::Error::RowNotFound)),
            Err(PostError::Db(e)) => return Err(e.into()),
        }
    }
    if let Some(idem) = idempotency {
        sqlx::query("INSERT INTO idempotency (account_id, idem_key, body_hash, task_id, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(account_id)
            .bind(idem.key)
            .bind(idem.body_hash)
            .bind(&task_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Accepted {
        task_id,
        created_at: now,
        replayed: false,
    })
}

/// Adds (or, when negative, removes) credits through the ledger, outside any task.
pub async fn adjust_credits(
    db: &Db,
    account_id: &str,
    credits: i64,
    note: Option<&str>,
) -> Result<i64, PostError> {
    let mut tx = db.write.begin().await?;
    let kind = if credits >= 0 {
        Kind::Topup
    } else {
        Kind::Adjust
    };
    let balance = ledger::post(&mut tx, account_id, kind, credits, None, note).await?;
    tx.commit().await?;
    Ok(balance)
}

/// Creates an account with `credits` and a first key; returns (account id, key id, secret).
pub async fn create_account_with_key(
    db: &Db,
    name: &str,
    key_name: &str,
    credits: i64,
) -> Result<(String, String, String), PostError> {
    let account_id = ids::new_id("acct");
    let mut tx = db.write.begin().await?;
    crate::store::accounts::insert(&mut tx, &account_id, name).await?;
    let key = crate::store::keys::insert(&mut tx, &account_id, key_name).await?;
    if credits != 0 {
        ledger::post(
            &mut tx,
            &account_id,
            Kind::Topup,
            credits,
            None,
            Some("initial credits"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((account_id, key.key_id, key.secret))
}
