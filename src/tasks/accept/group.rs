//! Group commit of task creates.
//!
//! Under load most of a create's time is the database round trips of its transaction (on
//! SQLite they all queue for the one writer connection). Creates are therefore queued here and
//! written together: one transaction holds every queued create, with one balance update per
//! account and one multi-row insert each for the tasks, the ledger and the idempotency records.
//! Each create still gets its own answer, and the rules are those of [`accept_task`]: a task
//! row commits with its charge and its idempotency record or not at all; a key's in-flight
//! limit counts the tasks it already has plus the ones admitted before it in the batch, and a
//! key's quota is taken once for the total of its creates in the batch.
//!
//! Anything unusual falls back to the one-create path, in queue order, after the batch
//! commits: an `Idempotency-Key` that is already recorded or repeats an earlier create of the
//! batch (so that it replays, or answers 409, exactly as alone); a create beyond its key's
//! in-flight limit (its own 429); every create of a key whose quota the batch's total would
//! pass (each its own 402, and the ones that fit still pass); an account whose batch total exceeds its balance (each create
//! gets its own exact "balance too low" answer, and the ones that fit still pass); and a
//! database error before the commit (the batch rolls back, nothing is charged, and each create
//! is tried alone — this covers another replica recording the same idempotency key meanwhile).
//! A failed commit is not retried: it may have committed (a connection lost while PostgreSQL
//! commits), and a retry could create and charge a second task; each of its creates answers
//! with the error, as the one-create path does.
//!
//! Locks are taken in the one-create path's order (API keys, then accounts, then the
//! idempotency index), each class in sorted order, so batches and single creates on several
//! replicas cannot wait on each other in a cycle.

use std::collections::{BTreeMap, HashSet};

use reelay_catalog::ValidatedRequest;
use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use super::{accept_task, Accepted, CreateError, Creator, Idempotency};
use crate::clock::now;
use crate::ids;
use crate::store::idempotency::{self, NewRecord};
use crate::store::keys;
use crate::store::ledger::{self, Kind, PostError};
use crate::store::tasks::{self, NewTask, StoredRequest};
use crate::store::Db;

/// Most creates written by one transaction.
const MAX_BATCH: usize = 128;
/// Creates waiting for the writer at most; beyond this a create waits to be queued.
const QUEUE: usize = 1024;

/// Accepts tasks, grouping plain creates into shared transactions. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Creates {
    db: Db,
    queue: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    account_id: String,
    key_id: String,
    max_in_flight: Option<i64>,
    client: Option<String>,
    start_within: Option<i64>,
    idempotency: Option<OwnedIdempotency>,
    request: ValidatedRequest,
    reply: oneshot::Sender<Result<Accepted, CreateError>>,
}

#[derive(Debug)]
struct OwnedIdempotency {
    key: String,
    body_hash: String,
}

impl Job {
    fn creator(&self) -> Creator<'_> {
        Creator {
            account_id: &self.account_id,
            key_id: &self.key_id,
            max_in_flight: self.max_in_flight,
            client: self.client.as_deref(),
            start_within: self.start_within,
        }
    }

    fn idempotency(&self) -> Option<Idempotency<'_>> {
        self.idempotency.as_ref().map(|i| Idempotency {
            key: &i.key,
            body_hash: &i.body_hash,
        })
    }
}

impl Creates {
    /// Starts the writer task (it ends when the last `Creates` clone is dropped).
    pub fn start(db: Db) -> Creates {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db.clone(), receiver));
        Creates { db, queue }
    }

    /// Accepts a task as [`accept_task`] does, through the group commit.
    pub async fn accept(
        &self,
        creator: Creator<'_>,
        request: &ValidatedRequest,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Accepted, CreateError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            account_id: creator.account_id.to_string(),
            key_id: creator.key_id.to_string(),
            max_in_flight: creator.max_in_flight,
            client: creator.client.map(str::to_string),
            start_within: creator.start_within,
            idempotency: idempotency.as_ref().map(|i| OwnedIdempotency {
                key: i.key.to_string(),
                body_hash: i.body_hash.to_string(),
            }),
            request: request.clone(),
            reply,
        };
        if self.queue.send(job).await.is_err() {
            // The writer has stopped (shutdown): write this one alone.
            return accept_task(&self.db, creator, request, idempotency).await;
        }
        // No answer: the writer stopped while holding the job (runtime shutdown). Its batch
        // may have committed, so the create is not retried; the caller gets an error.
        answer
            .await
            .unwrap_or(Err(CreateError::Db(sqlx::Error::WorkerCrashed)))
    }
}

async fn writer(db: Db, mut receiver: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        commit(&db, std::mem::take(&mut jobs)).await;
    }
}

/// A job with its row values, ready to write.
struct Prepared {
    job: Job,
    task_id: String,
    request: StoredRequest,
}

async fn commit(db: &Db, jobs: Vec<Job>) {
    let mut ready = Vec::with_capacity(jobs.len());
    for job in jobs {
        match StoredRequest::encode(&job.request) {
            Ok(request) => ready.push(Prepared {
                job,
                task_id: ids::new_ordered_id("vid"),
                request,
            }),
            Err(e) => {
                let _ = job
                    .reply
                    .send(Err(CreateError::Db(sqlx::Error::Protocol(e.to_string()))));
            }
        }
    }
    let now = now();
    match write_batch(db, &ready, now).await {
        Ok(alone) => {
            let mut later = Vec::new();
            for (prepared, alone) in ready.into_iter().zip(alone) {
                if alone {
                    later.push(prepared.job);
                } else {
                    let _ = prepared.job.reply.send(Ok(Accepted {
                        task_id: prepared.task_id,
                        created_at: now,
                        replayed: false,
                    }));
                }
            }
            one_by_one(db, later).await;
        }
        Err(BatchError::BeforeCommit(error)) => {
            tracing::warn!(%error, creates = ready.len(), "group commit failed; writing each create alone");
            one_by_one(db, ready.into_iter().map(|p| p.job).collect()).await;
        }
        Err(BatchError::Commit(error)) => {
            tracing::error!(%error, creates = ready.len(), "group commit: the commit failed; not retried");
            for prepared in ready {
                let error = sqlx::Error::Protocol(format!("commit failed: {error}"));
                let _ = prepared.job.reply.send(Err(CreateError::Db(error)));
            }
        }
    }
}

/// Why a batch was not written.
enum BatchError {
    /// Nothing was committed: the creates may be retried.
    BeforeCommit(sqlx::Error),
    /// The commit itself failed: it may or may not have taken effect.
    Commit(sqlx::Error),
}

/// Writes the batch in one transaction; returns, per create, whether it was left for the
/// one-create path.
async fn write_batch(db: &Db, ready: &[Prepared], now: i64) -> Result<Vec<bool>, BatchError> {
    let mut tx = db.write.begin().await.map_err(BatchError::BeforeCommit)?;
    let mut alone = vec![false; ready.len()];
    leave_recorded_keys_alone(&mut tx, ready, &mut alone)
        .await
        .map_err(BatchError::BeforeCommit)?;
    admit_by_key(&mut tx, ready, &mut alone)
        .await
        .map_err(BatchError::BeforeCommit)?;

    // Accounts in a fixed order, so that two replicas' batches lock them in the same order.
    let mut by_account: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, prepared) in ready.iter().enumerate() {
        if !alone[index] {
            by_account
                .entry(prepared.job.account_id.as_str())
                .or_default()
                .push(index);
        }
    }
    for (account_id, indexes) in &by_account {
        let postings: Vec<(&str, i64)> = indexes
            .iter()
            .map(|&i| &ready[i])
            .filter(|p| p.job.request.price.credits > 0)
            .map(|p| (p.task_id.as_str(), -p.job.request.price.credits))
            .collect();
        match ledger::post_many(&mut tx, account_id, Kind::Charge, &postings).await {
            Ok(_) => {}
            Err(
                PostError::Insufficient { .. }
                | PostError::NoAccount
                | PostError::OutOfRange { .. },
            ) => {
                for &index in indexes {
                    alone[index] = true;
                }
            }
            Err(PostError::Db(e)) => return Err(BatchError::BeforeCommit(e)),
        }
    }
    let written: Vec<&Prepared> = ready
        .iter()
        .enumerate()
        .filter(|(index, _)| !alone[*index])
        .map(|(_, p)| p)
        .collect();
    let rows: Vec<NewTask<'_>> = written
        .iter()
        .map(|p| NewTask {
            id: &p.task_id,
            account_id: &p.job.account_id,
            key_id: &p.job.key_id,
            model: &p.job.request.model,
            request: &p.request,
            cost_credits: p.job.request.price.credits,
            cost_unit: p.job.request.price.unit.as_str(),
            cost_seconds: i64::from(p.job.request.price.seconds),
            created_at: now,
            client: p.job.client.as_deref(),
            start_deadline: p.job.start_within.map(|secs| now.saturating_add(secs)),
        })
        .collect();
    tasks::insert_many(&mut tx, &rows)
        .await
        .map_err(BatchError::BeforeCommit)?;
    record_keys(&mut tx, &written, now)
        .await
        .map_err(BatchError::BeforeCommit)?;
    tx.commit().await.map_err(BatchError::Commit)?;
    Ok(alone)
}

/// Leaves for the one-create path every create whose `Idempotency-Key` is already recorded
/// (it replays, answers 409, or replaces a record older than the window) or repeats an earlier
/// create of this batch (it replays that one once the batch commits).
async fn leave_recorded_keys_alone(
    tx: &mut AnyConnection,
    ready: &[Prepared],
    alone: &mut [bool],
) -> Result<(), sqlx::Error> {
    // Per account, so that the lookup runs on the primary key (account_id, idem_key).
    let mut by_account: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (index, prepared) in ready.iter().enumerate() {
        if let Some(key) = &prepared.job.idempotency {
            by_account
                .entry(prepared.job.account_id.as_str())
                .or_default()
                .push((index, key.key.as_str()));
        }
    }
    for (account_id, keyed) in by_account {
        let keys: Vec<&str> = keyed.iter().map(|(_, key)| *key).collect();
        let recorded = idempotency::recorded_among(tx, account_id, &keys).await?;
        let mut seen = HashSet::new();
        for (index, key) in keyed {
            if !seen.insert(key) || recorded.contains(key) {
                alone[index] = true;
            }
        }
    }
    Ok(())
}

/// Per key, in key order: admits creates of a key with an in-flight limit while the key's
/// queued + processing tasks plus those admitted before them in the batch stay under it (the
/// key's row locked first, a no-op update as in [`accept_task`], so that replicas count each
/// other's creates); then takes the admitted creates' total price from the key's quota. A
/// create over the limit, and every create of a key whose quota the total would pass, is left
/// for the one-create path (which answers 429 or 402 each, and admits the ones that fit).
async fn admit_by_key(
    tx: &mut AnyConnection,
    ready: &[Prepared],
    alone: &mut [bool],
) -> Result<(), sqlx::Error> {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, prepared) in ready.iter().enumerate() {
        if !alone[index] {
            by_key
                .entry(prepared.job.key_id.as_str())
                .or_default()
                .push(index);
        }
    }
    for (key_id, indexes) in by_key {
        let limited = indexes
            .iter()
            .any(|&index| ready[index].job.max_in_flight.is_some());
        let mut admitted = Vec::with_capacity(indexes.len());
        if limited {
            let mut live = keys::lock_and_count_live(tx, key_id).await?;
            for index in indexes {
                match ready[index].job.max_in_flight {
                    Some(limit) if live >= limit => alone[index] = true,
                    _ => {
                        live += 1;
                        admitted.push(index);
                    }
                }
            }
        } else {
            admitted = indexes;
        }
        let total: i64 = admitted
            .iter()
            .map(|&index| ready[index].job.request.price.credits)
            .sum();
        if total > 0 && !keys::take_quota(tx, key_id, total).await? {
            for index in admitted {
                alone[index] = true;
            }
        }
    }
    Ok(())
}

/// Records the `Idempotency-Key`s of the written creates (one multi-row insert). Another
/// replica recording one of them since [`leave_recorded_keys_alone`] looked makes this fail
/// on the primary key: the batch rolls back and each create is tried alone.
async fn record_keys(
    tx: &mut AnyConnection,
    written: &[&Prepared],
    now: i64,
) -> Result<(), sqlx::Error> {
    let records: Vec<NewRecord<'_>> = written
        .iter()
        .filter_map(|p| {
            let key = p.job.idempotency.as_ref()?;
            Some(NewRecord {
                account_id: p.job.account_id.as_str(),
                key: key.key.as_str(),
                body_hash: key.body_hash.as_str(),
                task_id: p.task_id.as_str(),
                created_at: now,
            })
        })
        .collect();
    idempotency::insert_many(tx, &records).await
}

/// The one-create path for each job, in order.
async fn one_by_one(db: &Db, jobs: Vec<Job>) {
    for job in jobs {
        let result = accept_task(db, job.creator(), &job.request, job.idempotency()).await;
        let _ = job.reply.send(result);
    }
}
