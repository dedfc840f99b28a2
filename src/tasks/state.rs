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
    release_claims, route, running, unroute, Holder, NewSubmission,
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
