//! Task rows: insert and read. Status changes live in `crate::tasks::state`, the only writer.

use sqlx::{AnyConnection, FromRow};

mod conditions;
pub mod transitions;

use conditions::{Bound, Conditions};

pub use super::task_types::{ClientMeta, StoredRequest, TaskStatus};

use super::keys::{self, Credential};
use super::positional::ByPosition;
use super::Db;

/// One task as stored.
#[derive(Debug, Clone, FromRow)]
pub struct TaskRow {
    pub id: String,
    pub account_id: String,
    pub key_id: Option<String>,
    pub model: String,
    pub status: TaskStatus,
    pub progress: i64,
    /// The validated request, in its stored form.
    pub request: StoredRequest,
    pub cost_credits: i64,
    pub cost_unit: String,
    pub cost_seconds: i64,
    pub refunded: i64,
    pub channel: Option<String>,
    /// JSON of `crate::tasks::StoredResult` once completed.
    pub result: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i64,
    pub claimed_by: Option<String>,
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    pub expired: i64,
    /// JSON of [`ClientMeta`] for tasks of the Ark and OpenAI doors.
    pub client: Option<String>,
    /// A task still queued at this time fails as `expired`.
    pub start_deadline: Option<i64>,
    /// Deleted by its owner: gone from the owner's reads and listings.
    pub hidden_at: Option<i64>,
}

/// The columns of [`TaskRow`], in its field order (a macro so that `concat!` can use it).
macro_rules! task_columns {
    () => {
        "id, account_id, key_id, model, status, progress, request, cost_credits, cost_unit, \
         cost_seconds, refunded, channel, result, error_code, error_message, attempts, \
         claimed_by, lease_until, created_at, updated_at, completed_at, expired, client, \
         start_deadline, hidden_at"
    };
}

impl TaskRow {
    /// The task from the [`task_columns`] of `row`, by position from `at`.
    fn by_position<R: ByPosition>(row: &R, at: usize) -> Result<TaskRow, R::Error> {
        Ok(TaskRow {
            id: row.at(at)?,
            account_id: row.at(at + 1)?,
            key_id: row.at(at + 2)?,
            model: row.at(at + 3)?,
            status: row.at(at + 4)?,
            progress: row.at(at + 5)?,
            request: row.at(at + 6)?,
            cost_credits: row.at(at + 7)?,
            cost_unit: row.at(at + 8)?,
            cost_seconds: row.at(at + 9)?,
            refunded: row.at(at + 10)?,
            channel: row.at(at + 11)?,
            result: row.at(at + 12)?,
            error_code: row.at(at + 13)?,
            error_message: row.at(at + 14)?,
            attempts: row.at(at + 15)?,
            claimed_by: row.at(at + 16)?,
            lease_until: row.at(at + 17)?,
            created_at: row.at(at + 18)?,
            updated_at: row.at(at + 19)?,
            completed_at: row.at(at + 20)?,
            expired: row.at(at + 21)?,
            client: row.at(at + 22)?,
            start_deadline: row.at(at + 23)?,
            hidden_at: row.at(at + 24)?,
        })
    }
}

/// The values of a new task row.
pub struct NewTask<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub key_id: &'a str,
    pub model: &'a str,
    pub request: &'a StoredRequest,
    pub cost_credits: i64,
    pub cost_unit: &'a str,
    pub cost_seconds: i64,
    pub created_at: i64,
    /// [`ClientMeta::encode`] of the door's extras.
    pub client: Option<&'a str>,
    /// Fails as `expired` if still queued at this time.
    pub start_deadline: Option<i64>,
}

/// Inserts one new task (`queued`).
pub async fn insert(conn: &mut AnyConnection, task: &NewTask<'_>) -> Result<(), sqlx::Error> {
    insert_many(conn, std::slice::from_ref(task)).await
}

/// Inserts new tasks (`queued`) with one multi-row statement (one row, or the group commit
/// of creates).
pub(crate) async fn insert_many(
    conn: &mut AnyConnection,
    tasks: &[NewTask<'_>],
) -> Result<(), sqlx::Error> {
    if tasks.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO tasks (id, account_id, key_id, model, status, progress, request, cost_credits, cost_unit, \
         cost_seconds, created_at, updated_at, client, start_deadline) VALUES {}",
        super::values_placeholders(tasks.len(), 14)
    );
    let mut query = sqlx::query(&sql);
    for task in tasks {
        query = query
            .bind(task.id)
            .bind(task.account_id)
            .bind(task.key_id)
            .bind(task.model)
            .bind("queued")
            .bind(0i64)
            .bind(task.request.as_str())
            .bind(task.cost_credits)
            .bind(task.cost_unit)
            .bind(task.cost_seconds)
            .bind(task.created_at)
            .bind(task.created_at)
            .bind(task.client)
            .bind(task.start_deadline);
    }
    query.execute(conn).await?;
    Ok(())
}

/// A task of this account (others' tasks, and tasks it deleted, are invisible).
pub async fn get_for_account(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<Option<TaskRow>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks WHERE id = $1 AND account_id = $2 AND hidden_at IS NULL"
    );
    if let Some(row) = db.local().and_then(|reader| {
        reader.query_row(sql, [id, account_id], |row| TaskRow::by_position(row, 0))
    }) {
        return Ok(row);
    }
    sqlx::query_as::<_, TaskRow>(sql)
        .bind(id)
        .bind(account_id)
        .fetch_optional(&db.read)
        .await
}

/// The active API key `secret` and, when it is its account's, task `id`, in one read: the task
/// poll, the request clients repeat most. `None`: the key is unknown, revoked or wrong.
pub async fn get_with_key(
    db: &Db,
    secret: &str,
    id: &str,
) -> Result<Option<(Credential, Option<TaskRow>)>, sqlx::Error> {
    let Some(lookup) = crate::ids::secret_lookup(secret) else {
        return Ok(None);
    };
    let sql = concat!(
        "SELECT k.*, t.* FROM (SELECT ",
        keys::credential_columns!(),
        " FROM api_keys WHERE lookup = $1 AND revoked_at IS NULL) AS k \
         LEFT JOIN (SELECT ",
        task_columns!(),
        " FROM tasks WHERE id = $2 AND hidden_at IS NULL) AS t ON t.account_id = k.account_id"
    );
    let local = db
        .local()
        .and_then(|reader| reader.query_row(sql, [lookup, id], |row| key_and_task(row)));
    let found = match local {
        Some(found) => found,
        // The same statement through the pool: one round trip on PostgreSQL.
        None => match sqlx::query(sql)
            .bind(lookup)
            .bind(id)
            .fetch_optional(&db.read)
            .await?
        {
            Some(row) => Some(key_and_task(&row)?),
            None => None,
        },
    };
    Ok(found.filter(|(key, _)| keys::matches(key, secret)))
}

/// The key and (when the join found one) the task of a [`get_with_key`] row: the task's columns
/// are all NULL when the key's account has no such task.
fn key_and_task<R: ByPosition>(row: &R) -> Result<(Credential, Option<TaskRow>), R::Error> {
    let key = Credential::by_position(row, 0)?;
    let task = match row.at::<Option<String>>(keys::CREDENTIAL_COLUMNS)? {
        Some(_) => Some(TaskRow::by_position(row, keys::CREDENTIAL_COLUMNS)?),
        None => None,
    };
    Ok((key, task))
}

/// When task `id` was created (a replayed create answers with it).
pub async fn created_at(conn: &mut AnyConnection, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT created_at FROM tasks WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// Any task, for workers and the admin API.
pub async fn get(db: &Db, id: &str) -> Result<Option<TaskRow>, sqlx::Error> {
    sqlx::query_as::<_, TaskRow>("SELECT * FROM tasks WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.read)
        .await
}

/// How many tasks there are, by model and status.
pub(crate) async fn count_by_model_and_status(
    db: &Db,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT model, status, COUNT(*) FROM tasks GROUP BY model, status")
        .fetch_all(&db.read)
        .await
}

/// Filters of a task listing: one account's tasks (the user's list) or every account's (the
/// operator's log).
#[derive(Default)]
pub struct ListFilter<'a> {
    /// Only this account's tasks; `None`: every account's.
    pub account_id: Option<&'a str>,
    /// Also tasks their account deleted (the operator's log).
    pub include_hidden: bool,
    pub status: Option<&'a str>,
    pub model: Option<&'a str>,
    /// A case-insensitive piece of the prompt or of the task id.
    pub text: Option<&'a str>,
    /// Only tasks created at or after this unix second.
    pub since: Option<i64>,
    /// Only tasks created before this unix second.
    pub until: Option<i64>,
    /// Only tasks strictly older than this `(created_at, id)` position.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// The `LIKE` pattern that finds `text` anywhere, with `\` escaping `%`, `_` and itself.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A page of tasks, newest first. The statement holds only the filters that are set; the
/// prompt is read from the stored request (`$.prompt`) with each backend's JSON function.
pub async fn page(db: &Db, filter: &ListFilter<'_>) -> Result<Vec<TaskRow>, sqlx::Error> {
    let mut w = Conditions::default();
    if let Some(account) = filter.account_id {
        let p = w.text(account);
        w.and(format!("account_id = {p}"));
    }
    if !filter.include_hidden {
        w.and("hidden_at IS NULL".to_string());
    }
    if let Some(status) = filter.status {
        let p = w.text(status);
        w.and(format!("status = {p}"));
    }
    if let Some(model) = filter.model {
        let p = w.text(model);
        w.and(format!("model = {p}"));
    }
    if let Some(text) = filter.text {
        let pattern = contains_pattern(text);
        let prompt = match db.backend() {
            crate::config::Backend::Sqlite => "json_extract(request, '$.prompt')",
            crate::config::Backend::Postgres => "(request::jsonb ->> 'prompt')",
        };
        let p = w.bind(Bound::Owned(pattern.clone()));
        let q = w.bind(Bound::Owned(pattern));
        w.and(format!(
            "(LOWER(COALESCE({prompt}, '')) LIKE {p} ESCAPE '\\' OR LOWER(id) LIKE {q} ESCAPE '\\')"
        ));
    }
    if let Some(since) = filter.since {
        let p = w.int(since);
        w.and(format!("created_at >= {p}"));
    }
    if let Some(until) = filter.until {
        let p = w.int(until);
        w.and(format!("created_at < {p}"));
    }
    if let Some((at, id)) = &filter.before {
        let a = w.int(*at);
        let b = w.int(*at);
        let c = w.text(id);
        w.and(format!(
            "(created_at < {a} OR (created_at = {b} AND id < {c}))"
        ));
    }
    let limit = w.int(filter.limit);
    let sql = format!(
        "SELECT * FROM tasks{} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        w.where_clause()
    );
    sqlx::query_as_with::<_, TaskRow, _>(&sql, w.arguments()?)
        .fetch_all(&db.read)
        .await
}

/// A page of an account's tasks, oldest first, strictly after the `(created_at, id)` position.
pub async fn page_ascending(
    db: &Db,
    account_id: &str,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    let (after_at, after_id) = after.unwrap_or((i64::MIN, String::new()));
    sqlx::query_as::<_, TaskRow>(
        "SELECT * FROM tasks WHERE account_id = $1 AND hidden_at IS NULL \
         AND (created_at > $2 OR (created_at = $3 AND id > $4)) \
         ORDER BY created_at, id LIMIT $5",
    )
    .bind(account_id)
    .bind(after_at)
    .bind(after_at)
    .bind(&after_id)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Tasks routed to `channel` that have not ended (an in-process channel's in-flight count).
pub(crate) async fn routed_unfinished(db: &Db, channel: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE channel = $1 AND status IN ('queued', 'processing')",
    )
    .bind(channel)
    .fetch_one(&db.read)
    .await
}

/// `queued` tasks no channel has taken yet, oldest first.
pub(crate) async fn unrouted(db: &Db, limit: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    sqlx::query_as::<_, TaskRow>(
        "SELECT * FROM tasks WHERE status = 'queued' AND channel IS NULL ORDER BY created_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// A status condition of a numbered listing (Ark's statuses over reelay's).
#[derive(Debug, Clone, Copy)]
pub enum StatusFilter<'a> {
    /// `status = ...`.
    Is(&'a str),
    /// `failed` with this error code (`cancelled`, `expired`).
    FailedWith(&'a str),
    /// `failed` with any error code but these.
    FailedExcept(&'a [&'a str]),
}

/// Filters of a numbered listing (page number and size, a total).
pub struct NumberedFilter<'a> {
    pub account_id: &'a str,
    pub status: Option<StatusFilter<'a>>,
    pub model: Option<&'a str>,
    /// Only these ids (empty: any).
    pub ids: &'a [String],
    pub offset: i64,
    pub limit: i64,
}

/// A page of an account's tasks by number, newest first, and how many match in all.
pub async fn numbered_page(
    db: &Db,
    filter: &NumberedFilter<'_>,
) -> Result<(Vec<TaskRow>, i64), sqlx::Error> {
    let mut w = Conditions::default();
    let p = w.text(filter.account_id);
    w.and(format!("account_id = {p}"));
    w.and("hidden_at IS NULL".to_string());
    match filter.status {
        None => {}
        Some(StatusFilter::Is(status)) => {
            let p = w.text(status);
            w.and(format!("status = {p}"));
        }
        Some(StatusFilter::FailedWith(code)) => {
            let p = w.text(code);
            w.and(format!("status = 'failed' AND error_code = {p}"));
        }
        Some(StatusFilter::FailedExcept(codes)) => {
            let list: Vec<String> = codes.iter().map(|code| w.text(code)).collect();
            w.and(format!(
                "status = 'failed' AND (error_code IS NULL OR error_code NOT IN ({}))",
                list.join(", ")
            ));
        }
    }
    if let Some(model) = filter.model {
        let p = w.text(model);
        w.and(format!("model = {p}"));
    }
    if !filter.ids.is_empty() {
        let list: Vec<String> = filter.ids.iter().map(|id| w.text(id)).collect();
        w.and(format!("id IN ({})", list.join(", ")));
    }
    let count_sql = format!("SELECT COUNT(*) FROM tasks{}", w.where_clause());
    let total = sqlx::query_scalar_with::<_, i64, _>(&count_sql, w.arguments()?)
        .fetch_one(&db.read)
        .await?;
    let page_sql = format!(
        "SELECT * FROM tasks{} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
        w.where_clause(),
        filter.limit.max(0),
        filter.offset.max(0)
    );
    let page = sqlx::query_as_with::<_, TaskRow, _>(&page_sql, w.arguments()?)
        .fetch_all(&db.read)
        .await?;
    Ok((page, total))
}
