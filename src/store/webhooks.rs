//! Webhook deliveries: enqueue (inside the terminal-status transaction), claim an attempt,
//! record its outcome, and read a task's delivery state.

use sqlx::{AnyConnection, FromRow};

use super::tasks::TaskRow;
use super::{now, Db};

/// One delivery as stored; `id` is the `webhook-id` header, the same on every attempt.
#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    pub id: String,
    pub task_id: String,
    pub account_id: String,
    pub url: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

/// The `callback_url` stored in a task's validated request, if any.
pub fn callback_url(row: &TaskRow) -> Option<String> {
    callback_url_in(row.request.as_str()).map(|url| url.into_owned())
}

/// The non-empty `callback_url` member of a request's JSON object, if any.
pub(crate) fn callback_url_in(request: &str) -> Option<std::borrow::Cow<'_, str>> {
    /// Only the one field: the rest of the request is skipped, not built into a tree.
    #[derive(serde::Deserialize)]
    struct Callback<'a> {
        #[serde(borrow)]
        callback_url: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Callback<'_>>(request)
        .ok()?
        .callback_url
        .filter(|url| !url.is_empty())
}

/// Enqueues the delivery of a task that just became terminal (no-op without `callback_url`,
/// or when one is already queued). Call it inside the transaction that changed the status.
pub(crate) async fn enqueue_for(
    conn: &mut AnyConnection,
    row: &TaskRow,
) -> Result<(), sqlx::Error> {
    let Some(url) = callback_url(row) else {
        return Ok(());
    };
    let now = now();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, task_id, account_id, url, state, attempts, next_attempt_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7) ON CONFLICT (task_id) DO NOTHING",
    )
    .bind(crate::ids::new_id("msg"))
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(url)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Pending deliveries whose next attempt is due.
pub async fn due(db: &Db, at: i64, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as::<_, Delivery>(
        "SELECT * FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(at)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Takes one attempt of a due delivery: counts it and pushes `next_attempt_at` to `lease_until`
/// so that no other dispatcher (or replica) sends it meanwhile; if this process dies mid-attempt
/// the lease runs out and the attempt is made again (at-least-once). False when someone else took it.
pub(crate) async fn claim_attempt(
    db: &Db,
    id: &str,
    at: i64,
    lease_until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, updated_at = $2 \
         WHERE id = $3 AND state = 'pending' AND next_attempt_at <= $4",
    )
    .bind(lease_until)
    .bind(at)
    .bind(id)
    .bind(at)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What an attempt came to.
pub enum AttemptResult<'a> {
    Delivered {
        status: i64,
    },
    /// Retry at `next_attempt_at`.
    Retry {
        status: Option<i64>,
        error: &'a str,
        next_attempt_at: i64,
    },
    /// No more retries.
    GaveUp {
        status: Option<i64>,
        error: &'a str,
    },
}

/// Records the outcome of the attempt just made.
pub async fn record(db: &Db, id: &str, result: AttemptResult<'_>) -> Result<(), sqlx::Error> {
    let now = now();
    let (state, status, error, next, delivered_at) = match result {
        AttemptResult::Delivered { status } => ("delivered", Some(status), None, None, Some(now)),
        AttemptResult::Retry {
            status,
            error,
            next_attempt_at,
        } => ("pending", status, Some(error), Some(next_attempt_at), None),
        AttemptResult::GaveUp { status, error } => ("failed", status, Some(error), None, None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, last_status = $2, last_error = $3, next_attempt_at = $4, \
         delivered_at = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(state)
    .bind(status)
    .bind(error)
    .bind(next)
    .bind(delivered_at)
    .bind(now)
    .bind(id)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// The delivery of one task, if it has one.
pub(crate) async fn for_task(db: &Db, task_id: &str) -> Result<Option<Delivery>, sqlx::Error> {
    sqlx::query_as::<_, Delivery>("SELECT * FROM webhook_deliveries WHERE task_id = $1")
        .bind(task_id)
        .fetch_optional(&db.read)
        .await
}

/// Every account's stored webhook secret: `(account_id, stored value)`.
pub(crate) async fn stored_secrets(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, webhook_secret FROM accounts WHERE webhook_secret IS NOT NULL")
        .fetch_all(&db.write)
        .await
}

/// Replaces an account's stored webhook secret when it still is `old`; whether it did.
pub(crate) async fn replace_secret(
    db: &Db,
    account_id: &str,
    old: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE accounts SET webhook_secret = $1 WHERE id = $2 AND webhook_secret = $3",
    )
    .bind(new)
    .bind(account_id)
    .bind(old)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets (or rotates) an account's webhook secret.
pub(crate) async fn set_secret(
    db: &Db,
    account_id: &str,
    secret: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE accounts SET webhook_secret = $1 WHERE id = $2")
        .bind(secret)
        .bind(account_id)
        .execute(&db.write)
        .await?;
    Ok(done.rows_affected() == 1)
}
