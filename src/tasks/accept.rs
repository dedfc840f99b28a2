//! Accepting a task and charging for it, as one transaction: the task row, the ledger debit and
//! the idempotency record commit together or not at all (API.md §2). One create at a time
//! ([`accept_task`]) or many in one transaction ([`Creates`], the group commit under load);
//! both check a key's in-flight limit with the one guard (`store::keys::lock_and_count_live`)
//! and take the price from the key's quota (`store::keys::take_quota`) before the charge.

mod group;

pub use group::Creates;
use reelay_catalog::ValidatedRequest;

use crate::clock::now;
use crate::ids;
use crate::store::idempotency::{self, NewRecord};
use crate::store::keys;
use crate::store::ledger::{self, Kind, PostError};
use crate::store::tasks::{self, NewTask, StoredRequest};
use crate::store::Db;

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
    /// The key's spending quota would be exceeded.
    #[error("the key's quota is {quota}, {used} used; the price is {price}")]
    QuotaExceeded { quota: i64, used: i64, price: i64 },
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
    /// What the task's door keeps for its own view ([`crate::store::tasks::ClientMeta::encode`]).
    pub client: Option<&'a str>,
    /// Seconds the task may stay queued before it fails as `expired` (refunded).
    pub start_within: Option<i64>,
}

/// Inserts the task, debits its price and records the idempotency key, atomically.
///
/// Two requests with the same new `Idempotency-Key` racing on different replicas (PostgreSQL)
/// both find no earlier record; the loser's insert hits the primary key and its transaction rolls
/// back (nothing charged). It is then retried once, and finds the winner's task to replay.
pub(crate) async fn accept_task(
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
        client,
        start_within,
    } = creator;
    let now = now();
    let mut tx = db.write.begin().await?;
    if let Some(idem) = idempotency {
        if let Some(earlier) = idempotency::find(&mut tx, account_id, idem.key).await? {
            if earlier.created_at > now - idempotency::WINDOW_SECS {
                if earlier.body_hash != idem.body_hash {
                    return Err(CreateError::IdempotencyConflict);
                }
                let created_at = tasks::created_at(&mut tx, &earlier.task_id).await?;
                return Ok(Accepted {
                    task_id: earlier.task_id,
                    created_at,
                    replayed: true,
                });
            }
            idempotency::delete(&mut tx, account_id, idem.key).await?;
        }
    }
    if let Some(limit) = max_in_flight {
        if keys::lock_and_count_live(&mut tx, key_id).await? >= limit {
            return Err(CreateError::TooManyInFlight { limit });
        }
    }
    let price = request.price.credits;
    if price > 0 && !keys::take_quota(&mut tx, key_id, price).await? {
        if let (Some(quota), used) = keys::quota_in(&mut tx, key_id).await? {
            return Err(CreateError::QuotaExceeded { quota, used, price });
        }
    }
    let task_id = ids::new_ordered_id("vid");
    let stored =
        StoredRequest::encode(request).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    tasks::insert(
        &mut tx,
        &NewTask {
            id: &task_id,
            account_id,
            key_id,
            model: &request.model,
            request: &stored,
            cost_credits: request.price.credits,
            cost_unit: request.price.unit.as_str(),
            cost_seconds: i64::from(request.price.seconds),
            created_at: now,
            client,
            start_deadline: start_within.map(|secs| now.saturating_add(secs)),
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
            Err(error @ PostError::OutOfRange { .. }) => {
                return Err(CreateError::Db(sqlx::Error::Protocol(error.to_string())))
            }
            Err(PostError::Db(e)) => return Err(e.into()),
        }
    }
    if let Some(idem) = idempotency {
        let record = NewRecord {
            account_id,
            key: idem.key,
            body_hash: idem.body_hash,
            task_id: &task_id,
            created_at: now,
        };
        idempotency::insert_many(&mut tx, std::slice::from_ref(&record)).await?;
    }
    tx.commit().await?;
    Ok(Accepted {
        task_id,
        created_at: now,
        replayed: false,
    })
}
