//! The task state machine: the only code that moves a task's `status`
//! (`store::tasks::transitions` holds the SQL; nothing else calls it).
//!
//! `queued → processing → completed | failed`, never backwards. A crashed worker's task stays
//! `processing` and is reclaimed when its lease runs out (resume), or failed and refunded after
//! `max_attempts` claims. Failing a task refunds it once, in the same transaction.
//!
//! One set of transitions for every channel, each guarded by who holds the task ([`Holder`]):
//! `route` (queued, unrouted → routed to a channel), `claim` / `heartbeat` (a local worker),
//! `running` (a remote channel reports progress), `complete` and `fail`.

use super::StoredResult;
use crate::providers::TaskFailure;
use crate::store::tasks::transitions;
use crate::store::tasks::TaskStatus;
use crate::store::Db;

pub use crate::store::tasks::transitions::{
    claim, discard_done, discards_due, due_for_expiry, exhausted, heartbeat, mark_expired,
    release_claims, route, route_many, running_many, unroute, Holder, NewSubmission,
};

/// Why a cancel was refused.
#[derive(Debug)]
pub enum CancelOutcome {
    Cancelled,
    NotFound,
    NotCancellable { status: TaskStatus },
}

/// `→ completed` with the stored result, for the task's holder. False when the task is no
/// longer theirs (taken over, cancelled, failed meanwhile).
pub async fn complete(
    db: &Db,
    task_id: &str,
    holder: Holder<'_>,
    result: &StoredResult,
) -> Result<bool, sqlx::Error> {
    let json = serde_json::to_string(result).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    transitions::complete(db, task_id, holder, &json).await
}

/// Moves a live task to `failed` with `failure` as its error and refunds it, in one
/// transaction. False when the task is no longer `holder`'s.
pub async fn fail(
    db: &Db,
    task_id: &str,
    holder: Holder<'_>,
    failure: &TaskFailure,
) -> Result<bool, sqlx::Error> {
    transitions::fail(db, task_id, holder, &failure.code, &failure.message).await
}

/// Cancels a `queued` task of this account (refunded); other states are not cancellable here.
pub async fn cancel(
    db: &Db,
    account_id: &str,
    task_id: &str,
) -> Result<CancelOutcome, sqlx::Error> {
    let Some(row) = crate::store::tasks::get_for_account(db, account_id, task_id).await? else {
        return Ok(CancelOutcome::NotFound);
    };
    if row.status == TaskStatus::Queued
        && fail(
            db,
            task_id,
            Holder::Queued,
            &TaskFailure::new("cancelled", "cancelled by the user"),
        )
        .await?
    {
        return Ok(CancelOutcome::Cancelled);
    }
    let status = crate::store::tasks::get(db, task_id)
        .await?
        .map(|r| r.status)
        .unwrap_or(row.status);
    Ok(CancelOutcome::NotCancellable { status })
}

/// What a DELETE by the task's owner did (Ark's and OpenAI's delete).
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// It was queued: cancelled and refunded (it stays readable, `cancelled`).
    Cancelled,
    /// It had ended: it left the owner's reads and listings and its files were deleted.
    Deleted,
    NotFound,
    /// It is running: refused.
    Running,
}

/// Deletes a task of this account as Ark's and OpenAI's DELETE do: a queued task is cancelled
/// (refunded); a terminal one is hidden from its owner in every dialect and its files deleted
/// (its ledger rows stay); a running one is refused.
pub async fn delete_for_owner(
    db: &Db,
    storage: &crate::storage::Storage,
    account_id: &str,
    task_id: &str,
) -> Result<DeleteOutcome, sqlx::Error> {
    match cancel(db, account_id, task_id).await? {
        CancelOutcome::Cancelled => return Ok(DeleteOutcome::Cancelled),
        CancelOutcome::NotFound => return Ok(DeleteOutcome::NotFound),
        CancelOutcome::NotCancellable {
            status: TaskStatus::Queued | TaskStatus::Processing,
        } => return Ok(DeleteOutcome::Running),
        CancelOutcome::NotCancellable { .. } => {}
    }
    if !transitions::hide(db, account_id, task_id).await? {
        return Ok(DeleteOutcome::NotFound);
    }
    if let Err(error) = storage.delete_results(task_id).await {
        // The sweeper deletes them after the grace period (`hide` asked it to).
        tracing::warn!(%error, task_id, "deleting a deleted task's files failed; the sweeper retries");
    }
    Ok(DeleteOutcome::Deleted)
}

/// Fails (with a refund) every `queued` task whose start deadline passed, as `expired`; how
/// many.
pub(crate) async fn expire_unstarted(db: &Db) -> Result<u64, sqlx::Error> {
    let mut expired = 0;
    for task_id in transitions::past_start_deadline(db, crate::store::now(), 500).await? {
        let failure = TaskFailure::new(
            "expired",
            "the task did not start within its execution_expires_after; the task was refunded",
        );
        if fail(db, &task_id, Holder::Queued, &failure).await? {
            expired += 1;
        }
    }
    Ok(expired)
}

/// Fails (with a refund) a task from `exhausted`.
pub(crate) async fn fail_exhausted(
    db: &Db,
    task_id: &str,
    max_attempts: i64,
) -> Result<bool, sqlx::Error> {
    let message =
        format!("the worker running this task stopped {max_attempts} times; the task was refunded");
    fail(
        db,
        task_id,
        Holder::AnyLive,
        &TaskFailure::new("worker_lost", message),
    )
    .await
}
