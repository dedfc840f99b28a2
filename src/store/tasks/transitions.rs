//! The SQL of a task's transitions: the only statements that write `tasks.status`. Called only
//! by the state machine, `tasks::state` (`tests/it/tidy.rs` holds it), which gives them their
//! meaning; guarded by who holds the task ([`Holder`]), so a transition that lost its race
//! does nothing and says so.
//!
//! Failing a task and refunding it is one transaction, and the refund is guarded twice (the
//! `refunded` flag and a unique ledger index), so it happens exactly once. Reaching a terminal
//! status enqueues the task's webhook delivery in the same transaction.

use super::super::ledger::{self, Kind};
use super::super::webhooks;
use super::super::{now, Db};
use super::TaskRow;

/// Claims the oldest runnable task of the in-process channels named `channels`: a `queued` one
/// the dispatcher routed to one of them, or a `processing` one whose lease ran out (its worker
/// died) and that has claims left.
pub async fn claim(
    db: &Db,
    worker_id: &str,
    channels: &[String],
    lease_secs: u64,
    max_attempts: i64,
) -> Result<Option<TaskRow>, sqlx::Error> {
    if channels.is_empty() {
        return Ok(None);
    }
    let now = now();
    let names = super::super::list_placeholders(6, channels.len());
    // PostgreSQL: replicas claiming at once skip each other's locked rows instead of taking the
    // same task twice (the subquery is evaluated once, so without the lock both would update it).
    let sql = format!(
        "UPDATE tasks SET status = 'processing', progress = CASE WHEN progress < 1 THEN 1 ELSE progress END, \
         claimed_by = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
         WHERE id = (SELECT id FROM tasks WHERE (status = 'queued' AND channel IN {names}) \
                     OR (status = 'processing' AND lease_until < $4 AND attempts < $5) \
                     ORDER BY created_at, id LIMIT 1{}) \
         RETURNING *",
        db.backend().skip_locked()
    );
    let mut query = sqlx::query_as::<_, TaskRow>(&sql)
        .bind(worker_id)
        .bind(now + lease_secs as i64)
        .bind(now)
        .bind(now)
        .bind(max_attempts);
    for name in channels {
        query = query.bind(name);
    }
    query.fetch_optional(&db.write).await
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

/// Who may move a task: each transition names the holder it expects, and does nothing (answers
/// `false`) when the task is no longer theirs.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    /// A local worker's claim: `processing` and claimed by this worker.
    Worker(&'a str),
    /// The remote channel the task was routed to: `queued` or `processing` on that channel.
    Channel(&'a str),
    /// Nobody yet: still `queued` (a cancel, a queue timeout).
    Queued,
    /// Whoever holds it: any live task (sweeps, operators).
    AnyLive,
}

impl Holder<'_> {
    /// The SQL condition on `tasks` (the holder bound as `$n`) and the value to bind.
    fn condition(self, n: usize) -> (String, Option<String>) {
        match self {
            Holder::Worker(worker) => (
                format!("status = 'processing' AND claimed_by = ${n}"),
                Some(worker.to_string()),
            ),
            Holder::Channel(channel) => (
                format!("status IN ('queued', 'processing') AND channel = ${n}"),
                Some(channel.to_string()),
            ),
            Holder::Queued => (format!("status = 'queued' AND ${n} IS NULL"), None),
            Holder::AnyLive => (
                format!("status IN ('queued', 'processing') AND ${n} IS NULL"),
                None,
            ),
        }
    }

    /// The remote channel that reported the end: its submission is done (otherwise the poller
    /// cancels it upstream, as for a task a user cancelled).
    fn reporting_channel(self) -> bool {
        matches!(self, Holder::Channel(_))
    }
}

/// `→ completed` with the stored result, for the task's holder. False when the task is no
/// longer theirs (taken over, cancelled, failed meanwhile).
pub async fn complete(
    db: &Db,
    task_id: &str,
    holder: Holder<'_>,
    result_json: &str,
) -> Result<bool, sqlx::Error> {
    let now = now();
    let (condition, value) = holder.condition(5);
    let sql = format!(
        "UPDATE tasks SET status = 'completed', progress = 100, result = $1, completed_at = $2, updated_at = $3, \
         lease_until = NULL WHERE id = $4 AND {condition} RETURNING *"
    );
    let mut tx = db.write.begin().await?;
    let row = sqlx::query_as::<_, TaskRow>(&sql)
        .bind(result_json)
        .bind(now)
        .bind(now)
        .bind(task_id)
        .bind(value)
        .fetch_optional(&mut *tx)
        .await?;
    // The terminal status and its webhook delivery commit together.
    if let Some(row) = &row {
        webhooks::enqueue_for(&mut tx, row).await?;
    }
    // The channel's report ends its submission whether or not the task was still its own.
    if holder.reporting_channel() {
        super::super::upstream::mark_done_in(&mut tx, task_id).await?;
    }
    tx.commit().await?;
    Ok(row.is_some())
}

/// Moves a live task to `failed` and refunds it, in one transaction. False when the task is no
/// longer `holder`'s.
pub async fn fail(
    db: &Db,
    task_id: &str,
    holder: Holder<'_>,
    code: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    let now = now();
    let (condition, value) = holder.condition(6);
    let sql = format!(
        "UPDATE tasks SET status = 'failed', error_code = $1, error_message = $2, completed_at = $3, updated_at = $4, \
         lease_until = NULL, discard_pending_since = $3 WHERE id = $5 AND {condition} RETURNING *"
    );
    let mut tx = db.write.begin().await?;
    let row = sqlx::query_as::<_, TaskRow>(&sql)
        .bind(code)
        .bind(message)
        .bind(now)
        .bind(now)
        .bind(task_id)
        .bind(value)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = &row {
        refund_in(&mut tx, row).await?;
        webhooks::enqueue_for(&mut tx, row).await?;
    }
    // The channel's report ends its submission whether or not the task was still its own.
    if holder.reporting_channel() {
        super::super::upstream::mark_done_in(&mut tx, task_id).await?;
    }
    tx.commit().await?;
    Ok(row.is_some())
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
    // The key's row before the account's, the order a create locks them in.
    if let Some(key_id) = &row.key_id {
        super::super::keys::give_back_quota(tx, key_id, row.cost_credits).await?;
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

/// Hides a terminal task from its owner (a DELETE through the Ark or OpenAI door) and asks the
/// sweeper to delete its `results/<task_id>/` once more after the grace period (the caller
/// deletes them at once too). True when it was hidden now.
pub async fn hide(db: &Db, account_id: &str, task_id: &str) -> Result<bool, sqlx::Error> {
    let now = now();
    let done = sqlx::query(
        "UPDATE tasks SET hidden_at = $1, discard_pending_since = $2, updated_at = $3 \
         WHERE id = $4 AND account_id = $5 AND status IN ('completed', 'failed') AND hidden_at IS NULL",
    )
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(task_id)
    .bind(account_id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `queued` tasks whose start deadline (Ark's `execution_expires_after`) is before `now`.
pub async fn past_start_deadline(
    db: &Db,
    now: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM tasks WHERE start_deadline IS NOT NULL AND start_deadline < $1 \
         AND status = 'queued' ORDER BY start_deadline LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.read)
    .await
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

// ---- Routing (MODELS.md §Routing). A task stays `queued` until its channel runs it: a local
// worker claims it, or a remote channel reports it running; a remote submission's sub-state
// lives in `upstream_tasks` (`store::upstream`).

/// A submission about to be made (recorded as `submitting` before the create call).
pub struct NewSubmission<'a> {
    pub upstream_model: &'a str,
    pub marker: &'a str,
    /// When the poller may reconcile it if the call never reports back (ms).
    pub reconcile_at_ms: i64,
}

/// Routes an unrouted `queued` task to `channel`, only while fewer than `max_in_flight` tasks
/// are in flight on it (`None`: no limit); see [`route_many`]. False when the task is no longer
/// routable or the channel is full.
pub async fn route(
    db: &Db,
    task_id: &str,
    channel: &str,
    max_in_flight: Option<i64>,
    submission: Option<NewSubmission<'_>>,
) -> Result<bool, sqlx::Error> {
    let (routed, _) = route_many(db, channel, max_in_flight, &[(task_id, submission)]).await?;
    Ok(!routed.is_empty())
}

/// Tasks routed per statement by [`route_many`] (8 bound values each at most, far below both
/// backends' limit on a statement's parameters).
const ROUTE_CHUNK: usize = 100;

/// Routes unrouted `queued` tasks to `channel` in one transaction, in the order given, while
/// fewer than `max_in_flight` tasks are in flight on it (`None`: no limit), counted in the
/// database in the same transaction so the limit holds across replicas: an in-process channel's
/// routed, unfinished tasks; a remote channel's open submissions. For a remote channel, each
/// task's `submission` (all `Some`) is recorded as `submitting` in the same transaction. Returns
/// the ids routed, in no particular order, and how many of `tasks` (from the first) were tried:
/// a task tried but not routed is no longer routable (routed by another replica, cancelled);
/// the tasks past those were not tried, the channel being full.
pub async fn route_many(
    db: &Db,
    channel: &str,
    max_in_flight: Option<i64>,
    tasks: &[(&str, Option<NewSubmission<'_>>)],
) -> Result<(Vec<String>, usize), sqlx::Error> {
    if tasks.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let remote = tasks[0].1.is_some();
    let now_ms = super::super::upstream::now_ms();
    let mut tx = db.write.begin().await?;
    let mut room = i64::MAX;
    if let Some(max_in_flight) = max_in_flight {
        // Serialise routing per channel (PostgreSQL: a row lock on the channel's state row,
        // held to commit; SQLite has one writer anyway), then count what is in flight.
        sqlx::query(
            "INSERT INTO channel_state (name, paused, updated_at) VALUES ($1, 0, $2) \
             ON CONFLICT (name) DO UPDATE SET updated_at = channel_state.updated_at",
        )
        .bind(channel)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let count = if remote {
            "SELECT COUNT(*) FROM upstream_tasks WHERE channel = $1 AND submit_state IN ('submitting', 'submitted')"
        } else {
            "SELECT COUNT(*) FROM tasks WHERE channel = $1 AND status IN ('queued', 'processing')"
        };
        let in_flight: i64 = sqlx::query_scalar(count)
            .bind(channel)
            .fetch_one(&mut *tx)
            .await?;
        room = max_in_flight - in_flight;
    }
    let mut routed: Vec<String> = Vec::new();
    let mut tried = 0;
    let mut rest = tasks;
    while room > 0 && !rest.is_empty() {
        let take = rest.len().min(ROUTE_CHUNK).min(room as usize);
        let (chunk, after) = rest.split_at(take);
        rest = after;
        tried += chunk.len();
        let sql = format!(
            "UPDATE tasks SET channel = $1, updated_at = $2 \
             WHERE status = 'queued' AND channel IS NULL AND id IN {} RETURNING id",
            super::super::list_placeholders(3, chunk.len())
        );
        let mut update = sqlx::query_scalar::<_, String>(&sql)
            .bind(channel)
            .bind(now());
        for (task_id, _) in chunk {
            update = update.bind(*task_id);
        }
        let ids = update.fetch_all(&mut *tx).await?;
        room -= ids.len() as i64;
        if remote && !ids.is_empty() {
            let done: Vec<&(&str, Option<NewSubmission<'_>>)> = chunk
                .iter()
                .filter(|(task_id, _)| ids.iter().any(|id| id == task_id))
                .collect();
            let sql = format!(
                "DELETE FROM upstream_tasks WHERE task_id IN {}",
                super::super::list_placeholders(1, done.len())
            );
            let mut delete = sqlx::query(&sql);
            for (task_id, _) in &done {
                delete = delete.bind(*task_id);
            }
            delete.execute(&mut *tx).await?;
            let sql = format!(
                "INSERT INTO upstream_tasks (task_id, channel, upstream_model, submit_state, marker, \
                 submit_started_ms, next_poll_ms, updated_ms) VALUES {}",
                super::super::values_placeholders(done.len(), 8)
            );
            let mut insert = sqlx::query(&sql);
            for (task_id, submission) in &done {
                let Some(submission) = submission else {
                    return Err(sqlx::Error::Protocol(
                        "route_many: a remote routing without its submission".into(),
                    ));
                };
                insert = insert
                    .bind(*task_id)
                    .bind(channel)
                    .bind(submission.upstream_model)
                    .bind("submitting")
                    .bind(submission.marker)
                    .bind(now_ms)
                    .bind(submission.reconcile_at_ms)
                    .bind(now_ms);
            }
            insert.execute(&mut *tx).await?;
        }
        routed.extend(ids);
    }
    tx.commit().await?;
    Ok((routed, tried))
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

/// The channel reports tasks running, `(task_id, progress)`: `queued → processing` (or progress
/// while processing), in one statement for all of them. Never moves a task backwards. Returns
/// how many moved.
pub async fn running_many(
    db: &Db,
    channel: &str,
    rows: &[(String, i64)],
) -> Result<u64, sqlx::Error> {
    let mut moved = 0;
    for chunk in rows.chunks(RUNNING_CHUNK) {
        // SQLite (≥ 3.33) and PostgreSQL both update from a VALUES list, whose columns are
        // `column1`, `column2`; the join is on the primary key.
        let sql = format!(
            "UPDATE tasks SET status = 'processing', \
             progress = CASE WHEN tasks.progress < v.column2 THEN v.column2 ELSE tasks.progress END, \
             updated_at = $1 FROM (VALUES {}) AS v \
             WHERE tasks.id = v.column1 AND tasks.channel = $2 AND tasks.status IN ('queued', 'processing')",
            super::super::values_placeholders_from(chunk.len(), 2, 3)
        );
        let mut query = sqlx::query(&sql).bind(now()).bind(channel);
        for (task_id, progress) in chunk {
            query = query.bind(task_id).bind((*progress).clamp(1, 99));
        }
        moved += query.execute(&db.write).await?.rows_affected();
    }
    Ok(moved)
}

/// Most tasks moved by one `running_many` statement.
const RUNNING_CHUNK: usize = 500;
