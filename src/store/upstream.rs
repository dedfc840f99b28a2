//! Upstream submissions (`upstream_tasks`) and channel pause switches (`channel_state`).
//! Task status itself only changes in `crate::tasks::state`.

use std::collections::HashMap;

use sqlx::FromRow;

use super::{now, Db};

/// One submission of a task to an upstream channel.
#[derive(Debug, Clone, FromRow)]
pub struct UpstreamRow {
    pub task_id: String,
    pub channel: String,
    pub upstream_model: String,
    pub upstream_id: Option<String>,
    /// `submitting`, `submitted` or `done`.
    pub submit_state: String,
    pub marker: String,
    pub submit_started_ms: i64,
    pub submitted_ms: Option<i64>,
    pub next_poll_ms: i64,
    pub polls: i64,
    pub misses: i64,
    pub downloads: i64,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub updated_ms: i64,
}

/// A submitted row with its task's status and what the poller plans by.
#[derive(Debug, Clone, FromRow)]
pub struct DueRow {
    pub task_id: String,
    pub upstream_id: String,
    pub submitted_ms: i64,
    pub misses: i64,
    pub downloads: i64,
    pub task_status: String,
    /// When the poller planned to look at it next.
    pub next_poll_ms: i64,
    /// When the row last changed (after acceptance: the last status call that saw the task).
    pub last_look_ms: i64,
    /// The task's class: catalog model, billed seconds, price.
    pub model: String,
    pub cost_seconds: i64,
    pub cost_credits: i64,
}

/// Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Tasks in flight per channel (submitting or accepted, not done).
pub async fn in_flight(db: &Db) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT channel, COUNT(*) FROM upstream_tasks WHERE submit_state IN ('submitting', 'submitted') GROUP BY channel",
    )
    .fetch_all(&db.read)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Accepted rows worth a status call, in the order they were planned (`next_poll_ms`): those
/// due by `now_ms`, and those not looked at since `looked_before_ms` (a call that has room
/// takes them early; never a task whose result is being copied, `succeeded`).
pub async fn due(
    db: &Db,
    channel: &str,
    now_ms: i64,
    looked_before_ms: i64,
    limit: i64,
) -> Result<Vec<DueRow>, sqlx::Error> {
    sqlx::query_as::<_, DueRow>(
        "SELECT u.task_id, u.upstream_id, COALESCE(u.submitted_ms, u.submit_started_ms) AS submitted_ms, \
         u.misses, u.downloads, t.status AS task_status, u.updated_ms AS last_look_ms, u.next_poll_ms, \
         t.model, t.cost_seconds, t.cost_credits \
         FROM upstream_tasks u JOIN tasks t ON t.id = u.task_id \
         WHERE u.channel = $1 AND u.submit_state = 'submitted' AND u.upstream_id IS NOT NULL \
         AND (u.next_poll_ms <= $2 OR (u.updated_ms <= $3 \
              AND (u.last_status IS NULL OR u.last_status <> 'succeeded'))) \
         ORDER BY u.next_poll_ms LIMIT $4",
    )
    .bind(channel)
    .bind(now_ms)
    .bind(looked_before_ms)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Submissions whose outcome is unknown (an ambiguous create, or a crash mid-call) and due for reconciliation.
pub(crate) async fn unresolved(
    db: &Db,
    channel: &str,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<UpstreamRow>, sqlx::Error> {
    sqlx::query_as::<_, UpstreamRow>(
        "SELECT * FROM upstream_tasks WHERE channel = $1 AND submit_state = 'submitting' AND next_poll_ms <= $2 \
         ORDER BY next_poll_ms LIMIT $3",
    )
    .bind(channel)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// The earliest time something of this channel is due (ms).
pub(crate) async fn next_due(db: &Db, channel: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(next_poll_ms) FROM upstream_tasks WHERE channel = $1 AND submit_state IN ('submitting', 'submitted')",
    )
    .bind(channel)
    .fetch_one(&db.read)
    .await
}

/// The upstream accepted these submissions, `(task_id, upstream_id, next_poll_ms)`: one
/// statement for all of them. Returns the tasks recorded (a row no longer `submitting`, whose
/// submission was resolved meanwhile, is left as it is and not returned).
pub(crate) async fn mark_submitted_many(
    db: &Db,
    rows: &[(String, String, i64)],
) -> Result<Vec<String>, sqlx::Error> {
    let now = now_ms();
    let mut recorded = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE upstream_tasks SET submit_state = 'submitted', upstream_id = v.column2, submitted_ms = $1, \
             next_poll_ms = v.column3, last_error = NULL, updated_ms = $1 \
             FROM (VALUES {}) AS v WHERE upstream_tasks.task_id = v.column1 \
             AND upstream_tasks.submit_state = 'submitting' RETURNING upstream_tasks.task_id",
            super::values_placeholders_from(chunk.len(), 3, 2)
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(now);
        for (task_id, upstream_id, next_poll_ms) in chunk {
            query = query.bind(task_id).bind(upstream_id).bind(*next_poll_ms);
        }
        recorded.extend(query.fetch_all(&db.write).await?);
    }
    Ok(recorded)
}

/// Sets when a row is looked at next, with what was seen.
pub(crate) async fn reschedule(
    db: &Db,
    task_id: &str,
    next_poll_ms: i64,
    last_status: Option<&str>,
    last_error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE upstream_tasks SET next_poll_ms = $1, polls = polls + 1, last_status = COALESCE($2, last_status), \
         last_error = COALESCE($3, last_error), updated_ms = $4 WHERE task_id = $5",
    )
    .bind(next_poll_ms)
    .bind(last_status)
    .bind(last_error)
    .bind(now_ms())
    .bind(task_id)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Reschedules many rows in one statement (per 500), after a status call asked at `asked_ms`:
/// `(task_id, next_poll_ms, last_status)`. A row a callback poked after the call was asked
/// stays due at once (the answer may predate what the callback announced), unless the answer
/// says it succeeded (its result is being copied).
pub(crate) async fn reschedule_many(
    db: &Db,
    rows: &[(String, i64, String)],
    asked_ms: i64,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    // One statement per chunk (SQLite ≥ 3.33 and PostgreSQL both update from a VALUES list,
    // whose columns are `column1`…): a poll call's rows cost the single writer one statement,
    // not one each.
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE upstream_tasks SET next_poll_ms = CASE WHEN upstream_tasks.next_poll_ms = 0 \
             AND upstream_tasks.updated_ms >= $1 AND v.column3 <> 'succeeded' THEN 0 ELSE v.column2 END, \
             polls = upstream_tasks.polls + 1, last_status = v.column3, misses = 0, updated_ms = $2 \
             FROM (VALUES {}) AS v WHERE upstream_tasks.task_id = v.column1 \
             AND upstream_tasks.submit_state = 'submitted'",
            super::values_placeholders_from(chunk.len(), 3, 3)
        );
        let mut query = sqlx::query(&sql).bind(asked_ms).bind(now);
        for (task_id, at, status) in chunk {
            query = query.bind(task_id).bind(*at).bind(status);
        }
        query.execute(&db.write).await?;
    }
    Ok(())
}

/// Most rows in one multi-row statement (3 parameters each, well under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 500;

/// The upstream did not list an accepted task; returns the misses so far.
pub(crate) async fn record_miss(
    db: &Db,
    task_id: &str,
    next_poll_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE upstream_tasks SET misses = misses + 1, next_poll_ms = $1, updated_ms = $2 WHERE task_id = $3 RETURNING misses",
    )
    .bind(next_poll_ms)
    .bind(now_ms())
    .bind(task_id)
    .fetch_one(&db.write)
    .await
}

/// A result download failed; returns the attempts so far.
pub(crate) async fn record_download_failure(
    db: &Db,
    task_id: &str,
    next_poll_ms: i64,
    error: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE upstream_tasks SET downloads = downloads + 1, next_poll_ms = $1, last_error = $2, updated_ms = $3 \
         WHERE task_id = $4 RETURNING downloads",
    )
    .bind(next_poll_ms)
    .bind(error)
    .bind(now_ms())
    .bind(task_id)
    .fetch_one(&db.write)
    .await
}

/// Nothing is left to do upstream for this task.
pub(crate) async fn mark_done(db: &Db, task_id: &str) -> Result<(), sqlx::Error> {
    let mut conn = db.write.acquire().await?;
    mark_done_in(&mut conn, task_id).await
}

/// [`mark_done`] inside the caller's transaction (the task's terminal move).
pub(crate) async fn mark_done_in(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE upstream_tasks SET submit_state = 'done', updated_ms = $1 WHERE task_id = $2",
    )
    .bind(now_ms())
    .bind(task_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Accepted rows whose reelay task already ended (cancelled by the user, failed by an operator):
/// they are cancelled upstream.
pub async fn orphaned(
    db: &Db,
    channel: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.task_id, u.upstream_id FROM upstream_tasks u JOIN tasks t ON t.id = u.task_id \
         WHERE u.channel = $1 AND u.submit_state = 'submitted' AND u.upstream_id IS NOT NULL \
         AND t.status IN ('completed', 'failed') LIMIT $2",
    )
    .bind(channel)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// A callback named this upstream task: look at it now, before every planned look (its next
/// look is planned at 0, so the next status call takes it first). False when reelay does not
/// know it.
pub(crate) async fn poke(db: &Db, channel: &str, upstream_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE upstream_tasks SET next_poll_ms = $1, updated_ms = $2 WHERE channel = $3 AND upstream_id = $4 \
         AND submit_state = 'submitted'",
    )
    .bind(0_i64)
    .bind(now_ms())
    .bind(channel)
    .bind(upstream_id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A task's submission row, if any.
pub async fn get(db: &Db, task_id: &str) -> Result<Option<UpstreamRow>, sqlx::Error> {
    sqlx::query_as::<_, UpstreamRow>("SELECT * FROM upstream_tasks WHERE task_id = $1")
        .bind(task_id)
        .fetch_optional(&db.read)
        .await
}

/// Per channel: tasks waiting upstream (`queued`) and running there (`processing`).
pub(crate) async fn live_counts(db: &Db) -> Result<HashMap<String, (i64, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT u.channel, SUM(CASE WHEN t.status = 'queued' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN t.status = 'processing' THEN 1 ELSE 0 END) \
         FROM upstream_tasks u JOIN tasks t ON t.id = u.task_id \
         WHERE u.submit_state IN ('submitting', 'submitted') GROUP BY u.channel",
    )
    .fetch_all(&db.read)
    .await?;
    Ok(rows.into_iter().map(|(c, q, p)| (c, (q, p))).collect())
}

/// Names of the channels an operator paused.
pub(crate) async fn paused_channels(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM channel_state WHERE paused = 1")
        .fetch_all(&db.read)
        .await
}

/// Stores a channel's pause switch.
pub(crate) async fn set_paused(db: &Db, name: &str, paused: bool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO channel_state (name, paused, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(i64::from(paused))
    .bind(now())
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Takes or renews the lease on polling `channel` for `holder` until `until_ms`. True when
/// `holder` holds it (it held it already, or the previous holder's lease ran out).
pub(crate) async fn hold_poller(
    db: &Db,
    channel: &str,
    holder: &str,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool, sqlx::Error> {
    let held: Option<String> = sqlx::query_scalar(
        "INSERT INTO channel_state (name, paused, updated_at, poller, poller_until_ms) VALUES ($1, 0, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET poller = excluded.poller, poller_until_ms = excluded.poller_until_ms \
         WHERE channel_state.poller = excluded.poller OR channel_state.poller IS NULL \
            OR channel_state.poller_until_ms < $5 \
         RETURNING poller",
    )
    .bind(channel)
    .bind(now())
    .bind(holder)
    .bind(until_ms)
    .bind(now_ms)
    .fetch_optional(&db.write)
    .await?;
    Ok(held.as_deref() == Some(holder))
}

/// Gives up the polling lease at shutdown so another replica takes over at once.
pub(crate) async fn release_poller(
    db: &Db,
    channel: &str,
    holder: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE channel_state SET poller = NULL, poller_until_ms = 0 WHERE name = $1 AND poller = $2",
    )
    .bind(channel)
    .bind(holder)
    .execute(&db.write)
    .await?;
    Ok(())
}
