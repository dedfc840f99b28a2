//! Group commit of task creates.
//!
//! Under load most of a create's time is the database round trips of its transaction (on
//! SQLite they all queue for the one writer connection). Creates that need nothing but a
//! charge (no `Idempotency-Key`, no in-flight limit on the key) are therefore queued here and
//! written together: one transaction holds every queued create, with one balance update per
//! account and one multi-row insert each for the tasks and the ledger. Each create still gets
//! its own answer, and the money rules are those of [`accept_task`]: a task row commits with
//! its charge or not at all.
//!
//! Anything unusual falls back to the one-create path, in queue order: an account whose
//! batch total exceeds its balance (so that each create gets its own exact "balance too low"
//! answer, and the ones that fit still pass), and a database error before the commit (the
//! batch rolls back, nothing is charged, and each create is tried alone). A failed commit is
//! not retried: it may have committed (a connection lost while PostgreSQL commits), and a
//! retry could create and charge a second task; each of its creates answers with the error,
//! as the one-create path does.

use std::collections::BTreeMap;

use reelay_catalog::ValidatedRequest;
use tokio::sync::{mpsc, oneshot};

use super::{accept_task, Accepted, CreateError, Creator, Idempotency};
use crate::ids;
use crate::store::ledger::{self, Kind, PostError};
use crate::store::tasks::{self, NewTask};
use crate::store::{now, Db};

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
    request: ValidatedRequest,
    reply: oneshot::Sender<Result<Accepted, CreateError>>,
}

impl Creates {
    /// Starts the writer task (it ends when the last `Creates` clone is dropped).
    pub fn start(db: Db) -> Creates {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db.clone(), receiver));
        Creates { db, queue }
    }

    /// Accepts a task as [`accept_task`] does, through the group commit when it can.
    pub async fn accept(
        &self,
        creator: Creator<'_>,
        request: &ValidatedRequest,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Accepted, CreateError> {
        if idempotency.is_some() || creator.max_in_flight.is_some() {
            return accept_task(&self.db, creator, request, idempotency).await;
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            account_id: creator.account_id.to_string(),
            key_id: creator.key_id.to_string(),
            request: request.clone(),
            reply,
        };
        if self.queue.send(job).await.is_err() {
            // The writer has stopped (shutdown): write this one alone.
            return accept_task(&self.db, creator, request, None).await;
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
    request_json: String,
}

async fn commit(db: &Db, jobs: Vec<Job>) {
    let mut ready = Vec::with_capacity(jobs.len());
    for job in jobs {
        match serde_json::to_string(&job.request) {
            Ok(request_json) => ready.push(Prepared {
                job,
                task_id: ids::new_id("vid"),
                request_json,
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
            for (index, prepared) in ready.into_iter().enumerate() {
                if alone.contains(&index) {
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

/// Writes the batch in one transaction; returns the indexes left for the one-create path
/// (accounts whose balance does not cover their part of the batch).
async fn write_batch(db: &Db, ready: &[Prepared], now: i64) -> Result<Vec<usize>, BatchError> {
    // Accounts in a fixed order, so that two replicas' batches lock them in the same order.
    let mut by_account: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, prepared) in ready.iter().enumerate() {
        by_account
            .entry(prepared.job.account_id.as_str())
            .or_default()
            .push(index);
    }
    let mut tx = db.write.begin().await.map_err(BatchError::BeforeCommit)?;
    let mut alone = Vec::new();
    for (account_id, indexes) in &by_account {
        let postings: Vec<(&str, i64)> = indexes
            .iter()
            .map(|&i| &ready[i])
            .filter(|p| p.job.request.price.credits > 0)
            .map(|p| (p.task_id.as_str(), -p.job.request.price.credits))
            .collect();
        match ledger::post_many(&mut tx, account_id, Kind::Charge, &postings).await {
            Ok(_) => {}
            Err(PostError::Insufficient { .. } | PostError::NoAccount) => {
                alone.extend(indexes.iter().copied());
            }
            Err(PostError::Db(e)) => return Err(BatchError::BeforeCommit(e)),
        }
    }
    let rows: Vec<NewTask<'_>> = ready
        .iter()
        .enumerate()
        .filter(|(index, _)| !alone.contains(index))
        .map(|(_, p)| NewTask {
            id: &p.task_id,
            account_id: &p.job.account_id,
            key_id: &p.job.key_id,
            model: &p.job.request.model,
            request_json: &p.request_json,
            cost_credits: p.job.request.price.credits,
            cost_unit: p.job.request.price.unit.as_str(),
            cost_seconds: i64::from(p.job.request.price.seconds),
            created_at: now,
        })
        .collect();
    tasks::insert_many(&mut tx, &rows)
        .await
        .map_err(BatchError::BeforeCommit)?;
    tx.commit().await.map_err(BatchError::Commit)?;
    Ok(alone)
}

/// The one-create path for each job, in order.
async fn one_by_one(db: &Db, jobs: Vec<Job>) {
    for job in jobs {
        let creator = Creator {
            account_id: &job.account_id,
            key_id: &job.key_id,
            max_in_flight: None,
        };
        let result = accept_task(db, creator, &job.request, None).await;
        let _ = job.reply.send(result);
    }
}
