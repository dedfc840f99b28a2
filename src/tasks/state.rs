//! The task state machine: the only code that writes a task's `status`.
//!
//! `queued → processing → completed | failed`, never backwards. A crashed worker's task stays
//! `processing` and is reclaimed when its lease runs out (resume), or failed and refunded after
//! `max_attempts` claims. Failing a task and refunding it is one transaction, and the refund is
//! guarded twice (the `refunded` flag and a unique ledger index), so it happens exactly once.
//! Reaching a terminal status enqueues the task's webhook delivery in the same transaction.

use crate::store::ledger::{self, Kind};
use crate::store::tasks::TaskRow;
use crate::store::webhooks;
use crate::store::{now, Db};

/// Why a cancel was refused.
#[derive(Debug)]
pub enum CancelOutcome {
    Cancelled,
    NotFound,
    NotCancellable { status: String },
}

/// Claims the oldest runnable task: a `queued` one, or a `processing` one whose lease ran out
/// (its worker died) and that has claims left. When `routed` (upstream channels exist), only
/// tasks the dispatcher routed to the local channel are claimed.
pub async fn claim(
    db: &Db,
    worker_id: &str,
    lease_secs: u64,
    max_attempts: i64,
    routed: bool,
) -> Result<Option<TaskRow>, sqlx::Error> {
    let now = now();
    // PostgreSQL: replicas claiming at once skip each other's locked rows instead of taking the
    // same task twice (the subquery is evaluated once, so without the lock both would update it).
    let sql = format!(
        "UPDATE tasks SET status = 'processing', progress = CASE WHEN progress < 1 THEN 1 ELSE progress END, \
         claimed_by = $1, lease_until = $2, attempts = attempts + 1, channel = 'local', updated_at = $3 \
         WHERE id = (SELECT id FROM tasks WHERE (status = 'queued' AND (channel = 'local' OR (channel IS NULL AND $4 = 0))) \
                     OR (status = 'processing' AND lease_until < $5 AND attempts < $6) \
                     ORDER BY created_at, id LIMIT 1{}) \
         RETURNING *",
        db.backend().skip_locked()
    );
    sqlx::query_as::<_, TaskRow>(&sql)
        .bind(worker_id)
        .bind(now + lease_secs as i64)
        .bind(now)
        .bind(i64::from(routed))
        .bind(now)
        .bind(max_attempts)
        .fetch_optional(&db.write)
        .await
}

/// Renews a claim and records progress (1–99). False when the claim was lost.
pub async fn heartbeat(
    db: &Db,
    task_id: &str,
    worker_id: &str,
    progress: i64,
    lease_secs: u64,
) -> Result<bool, sqlx::Error> {
    let now = now();
    let done = sqlx::query(
        "UPDATE tasks SET progress = CASE WHEN progress < $1 THEN $1 ELSE progress END, lease_until = $2, updated_at = $3 \
         WHERE id = $4 AND status = 'processing' AND claimed_by = $5",
    )
    .bind(progress.clamp(1, 99))
    .bind(now + lease_secs as i64)
    .bind(now)
    .bind(task_id)
    .bind(worker_id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `processing → completed` with the stored result. False when the claim was lost.
pub async fn complete(
    db: &Db,
    task_id: &str,
    worker_id: &str,
    result_json: &str,
) -> Result<bool, sqlx::Error> {
    let now = now();
    let mut tx = db.write.begin().await?;
    let row = sqlx::query_as::<_, TaskRow>(
        "UPDATE tasks SET status = 'completed', progress = 100, result = $1, completed_at = $2, updated_at = $3, \
         lease_until = NULL WHERE id = $4 AND status = 'processing' AND claimed_by = $5 RETURNING *",
    )
    .bind(result_json)
    .bind(now)
    .bind(now)
    .bind(task_id)
    .bind(worker_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    webhooks::enqueue_for(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(true)
}

/// Which tasks `fail` may touch.
pub enum FailGuard<'a> {
    /// Only while this worker holds the claim.
    ClaimedBy(&'a str),
    /// Only while still `queued` (cancel).
    Queued,
    /// Any non-terminal task (operator action, sweeps).
    AnyLive,
}

/// Moves a live task to `failed` and refunds it, in one transaction. False when the guard did not hold.
pub async fn fail(
    db: &Db,
    task_id: &str,
    guard: FailGuard<'_>,
    code: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    let now = now();
    let mut tx = db.write.begin().await?;
    let (condition, worker) = match guard {
        FailGuard::ClaimedBy(worker) => ("status = 'processing' AND claimed_by = $6", Some(worker)),
        FailGuard::Queued => ("status = 'queued' AND $6 IS NULL", None),
        FailGuard::AnyLive => ("status IN ('queued', 'processing') AND $6 IS NULL", None),
    };
    let sql = format!(
        "UPDATE tasks SET status = 'failed', error_code = $1, error_message = $2, completed_at = $3, updated_at = $4, \
         lease_until = NULL, discard_pending_since = $3 WHERE id = $5 AND {condition} RETURNING *"
    );
    let row = sqlx::query_as::<_, TaskRow>(&sql)
        .bind(code)
        .bind(message)
        .bind(now)
        .bind(now)
        .bind(task_id)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    refund_in(&mut tx, &row).await?;
    webhooks::enqueue_for(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(true)
}

/// Refunds a failed task's charge once (no-op when already refunded or free).
async fn refund_in(tx: &mut sqlx::AnyConnection, row: &TaskRow) -> Result<(), sqlx::Error> {
    let flagged = sqlx::query("UPDATE tasks SET refunded = 1 WHERE id = $1 AND refunded = 0")
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    if flagged.rows_affected() == 0 || row.cost_credits == 0 {
        return Ok(());
    }
    match ledger::post(
        tx,
        &row.account_id,
        Kind::Refund,
        row.cost_credits,
        Some(&row.id),
        None,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(ledger::PostError::Db(e)) => Err(e),
        Err(other) => Err(sqlx::Error::Protocol(format!(
            "refund of {}: {other}",
            row.id
        ))),
    }
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
    if row.status == "queued"
        && fail(
            db,
            task_id,
            FailGuard::Queued,
            "cancelled",
            "cancelled by the user",
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

/// Gives up this worker's claims at shutdown so that another worker resumes them at once.
pub async fn release_claims(db: &Db, worker_id: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tasks SET lease_until = 0, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = $1 \
         WHERE status = 'processing' AND claimed_by = $2",
    )
    .bind(now())
    .bind(worker_id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected())
}

/// Tasks whose worker died on their last allowed claim (no worker may claim them again).
pub async fn exhausted(db: &Db, max_attempts: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM tasks WHERE status = 'processing' AND lease_until < $1 AND attempts >= $2",
    )
    .bind(now())
    .bind(max_attempts)
    .fetch_all(&db.read)
    .await
}

/// Fails (with a refund) a task from `exhausted`.
pub async fn fail_exhausted(
    db: &Db,
    task_id: &str,
    max_attempts: i64,
) -> Result<bool, sqlx::Error> {
    let message =
        format!("the worker running this task stopped {max_attempts} times; the task was refunded");
    fail(db, task_id, FailGuard::AnyLive, "worker_lost", &message).await
}

/// Marks a completed task's result files as deleted by retention.
pub async fn mark_expired(db: &Db, task_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE tasks SET expired = 1, updated_at = $1 WHERE id = $2 AND status = 'completed' AND expired = 0")
        .bind(now())
        .bind(task_id)
        .execute(&db.write)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Failed tasks whose `results/<task_id>/` is to be deleted once more (`fail` asks for it): those
/// that failed at or before `cutoff`, oldest first.
pub async fn discards_due(db: &Db, cutoff: i64, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM tasks WHERE discard_pending_since IS NOT NULL AND discard_pending_since <= $1 \
         ORDER BY discard_pending_since LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Records that a failed task's `results/<task_id>/` was deleted after its grace period.
pub async fn discard_done(db: &Db, task_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET discard_pending_since = NULL WHERE id = $1")
        .bind(task_id)
        .execute(&db.write)
        .await?;
    Ok(())
}

/// Completed tasks whose results are older than `cutoff` and not yet swept.
pub async fn due_for_expiry(db: &Db, cutoff: i64, limit: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    sqlx::query_as::<_, TaskRow>(
        "SELECT * FROM tasks WHERE status = 'completed' AND expired = 0 AND completed_at <= $1 ORDER BY completed_at LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

// ---- Upstream channels (MODELS.md §Routing). While upstream, a task stays `queued` until its
// channel reports it running; its sub-state lives in `upstream_tasks` (`store::upstream`).

/// A submission about to be made (recorded as `submitting` before the create call).
pub struct NewSubmission<'a> {
    pub upstream_model: &'a str,
    pub marker: &'a str,
    /// When the poller may reconcile it if the call never reports back (ms).
    pub reconcile_at_ms: i64,
    /// The channel's `max_concurrency`: the submission is recorded only while fewer are in
    /// flight on the channel, counted in the database so the limit holds across replicas.
    pub max_in_flight: i64,
}

/// Routes an unrouted `queued` task to `channel`; for a remote channel, records the submission
/// as `submitting` in the same transaction. False when the task is no longer routable.
pub async fn route(
    db: &Db,
    task_id: &str,
    channel: &str,
    submission: Option<NewSubmission<'_>>,
) -> Result<bool, sqlx::Error> {
    let now_ms = crate::store::upstream::now_ms();
    let mut tx = db.write.begin().await?;
    if let Some(submission) = &submission {
        // Serialise submissions per channel (PostgreSQL: a row lock on the channel's state row,
        // held to commit; SQLite has one writer anyway), then count what is in flight.
        sqlx::query(
            "INSERT INTO channel_state (name, paused, updated_at) VALUES ($1, 0, $2) \
             ON CONFLICT (name) DO UPDATE SET updated_at = channel_state.updated_at",
        )
        .bind(channel)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let in_flight: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM upstream_tasks WHERE channel = $1 AND submit_state IN ('submitting', 'submitted')",
        )
        .bind(channel)
        .fetch_one(&mut *tx)
        .await?;
        if in_flight >= submission.max_in_flight {
            return Ok(false);
        }
    }
    let routed = sqlx::query(
        "UPDATE tasks SET channel = $1, updated_at = $2 WHERE id = $3 AND status = 'queued' AND channel IS NULL",
    )
    .bind(channel)
    .bind(now())
    .bind(task_id)
    .execute(&mut *tx)
    .await?;
    if routed.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(submission) = submission {
        sqlx::query("DELETE FROM upstream_tasks WHERE task_id = $1")
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO upstream_tasks (task_id, channel, upstream_model, submit_state, marker, submit_started_ms, \
             next_poll_ms, updated_ms) VALUES ($1, $2, $3, 'submitting', $4, $5, $6, $7)",
        )
        .bind(task_id)
        .bind(channel)
        .bind(submission.upstream_model)
        .bind(submission.marker)
        .bind(now_ms)
        .bind(submission.reconcile_at_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The upstream surely did not accept the submission: forget it, and make a still-`queued` task
/// routable again (to this or another channel).
pub async fn unroute(db: &Db, task_id: &str, channel: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.write.begin().await?;
    sqlx::query("DELETE FROM upstream_tasks WHERE task_id = $1 AND channel = $2 AND submit_state = 'submitting'")
        .bind(task_id)
        .bind(channel)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query(
        "UPDATE tasks SET channel = NULL, updated_at = $1 WHERE id = $2 AND status = 'queued' AND channel = $3",
    )
    .bind(now())
    .bind(task_id)
    .bind(channel)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// The channel reports the task running: `queued → processing` (or progress while processing).
/// Never moves a task backwards.
pub async fn upstream_running(
    db: &Db,
    task_id: &str,
    channel: &str,
    progress: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tasks SET status = 'processing', progress = CASE WHEN progress < $1 THEN $1 ELSE progress END, updated_at = $2 \
         WHERE id = $3 AND channel = $4 AND status IN ('queued', 'processing')",
    )
    .bind(progress.clamp(1, 99))
    .bind(now())
    .bind(task_id)
    .bind(channel)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The result is copied into reelay's storage: `queued | processing → completed`, and the
/// submission is done. False when the task ended otherwise meanwhile (e.g. cancelled).
pub async fn upstream_complete(
    db: &Db,
    task_id: &str,
    channel: &str,
    result_json: &str,
) -> Result<bool, sqlx::Error> {
    let now = now();
    let mut tx = db.write.begin().await?;
    let row = sqlx::query_as::<_, TaskRow>(
        "UPDATE tasks SET status = 'completed', progress = 100, result = $1, completed_at = $2, updated_at = $3, \
         lease_until = NULL WHERE id = $4 AND channel = $5 AND status IN ('queued', 'processing') RETURNING *",
    )
    .bind(result_json)
    .bind(now)
    .bind(now)
    .bind(task_id)
    .bind(channel)
    .fetch_optional(&mut *tx)
    .await?;
    // The terminal status and its webhook delivery commit together, as on the local path.
    if let Some(row) = &row {
        webhooks::enqueue_for(&mut tx, row).await?;
    }
    sqlx::query(
        "UPDATE upstream_tasks SET submit_state = 'done', updated_ms = $1 WHERE task_id = $2",
    )
    .bind(crate::store::upstream::now_ms())
    .bind(task_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.is_some())
}

/// The upstream failed the task (or reelay gave up on it): `failed` with `code`, refunded once,
/// and the submission is done.
pub async fn upstream_fail(
    db: &Db,
    task_id: &str,
    code: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    let failed = fail(db, task_id, FailGuard::AnyLive, code, message).await?;
    crate::store::upstream::mark_done(db, task_id).await?;
    Ok(failed)
}
