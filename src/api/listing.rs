//! What every listing shares: `limit` (1–100, default 20), `cursor` (an opaque
//! `(created_at, id)` position, `next_cursor` of the previous page), and the task listings'
//! filters (`status`, `model`, `q`, `since`, `until`), checked once for the user's list
//! (`GET /videos`) and the operator's log (`GET /admin/v1/tasks`).

use base64::Engine;
use serde::Deserialize;

use super::error::ApiError;
use crate::tasks::{ListFilter, TaskRow};

/// The task statuses a listing may filter by.
const STATUSES: [&str; 4] = ["queued", "processing", "completed", "failed"];

/// Longest `q`, in characters.
pub(crate) const MAX_QUERY_CHARS: usize = 200;

/// A task listing's query string, as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TaskListParams {
    pub status: Option<String>,
    pub model: Option<String>,
    pub q: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A task listing as checked: every filter valid, empty ones dropped.
pub(crate) struct TaskListRequest {
    pub limit: i64,
    status: Option<String>,
    model: Option<String>,
    text: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    before: Option<(i64, String)>,
}

impl TaskListParams {
    /// Checks every parameter; an error names the first one that is wrong and what it takes.
    pub(crate) fn check(&self) -> Result<TaskListRequest, ApiError> {
        let limit = parse_limit(self.limit.as_deref())?;
        let status = one_of("status", &self.status, &STATUSES)?;
        let text = non_empty(&self.q).map(str::trim).filter(|q| !q.is_empty());
        if let Some(text) = text {
            let chars = text.chars().count();
            if chars > MAX_QUERY_CHARS {
                return Err(ApiError::field(
                    "q",
                    format!("q: at most {MAX_QUERY_CHARS} characters (got {chars})"),
                ));
            }
        }
        let since = unix_seconds("since", non_empty(&self.since))?;
        let until = unix_seconds("until", non_empty(&self.until))?;
        let before = position_cursor(non_empty(&self.cursor))?;
        Ok(TaskListRequest {
            limit,
            status: status.map(str::to_string),
            model: non_empty(&self.model).map(str::to_string),
            text: text.map(str::to_string),
            since,
            until,
            before,
        })
    }
}

impl TaskListRequest {
    /// The store's filter for one account's own list (tasks it deleted are not shown).
    pub(crate) fn for_account<'a>(&'a self, account_id: &'a str) -> ListFilter<'a> {
        self.filter(Some(account_id), false)
    }

    /// The store's filter for the operator's log: every account's tasks, or one account's,
    /// deleted ones included.
    pub(crate) fn for_operator<'a>(&'a self, account_id: Option<&'a str>) -> ListFilter<'a> {
        self.filter(account_id, true)
    }

    /// One more row than the page, to know whether another page follows.
    fn filter<'a>(&'a self, account_id: Option<&'a str>, include_hidden: bool) -> ListFilter<'a> {
        ListFilter {
            account_id,
            include_hidden,
            status: self.status.as_deref(),
            model: self.model.as_deref(),
            text: self.text.as_deref(),
            since: self.since,
            until: self.until,
            before: self.before.clone(),
            limit: self.limit + 1,
        }
    }
}

/// A filter's `value` when it is one of `allowed` (absent or empty: no filter); else an error
/// naming the parameter and what it takes.
pub(crate) fn one_of<'a>(
    name: &str,
    value: &'a Option<String>,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match non_empty(value) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(v) => Err(ApiError::field(
            name,
            format!("{name}: must be one of {} (got {v:?})", allowed.join(", ")),
        )),
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn unix_seconds(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    match text.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(Some(n)),
        _ => Err(ApiError::field(
            name,
            format!("{name}: must be a time in unix seconds, a whole number ≥ 0 (got {text:?})"),
        )),
    }
}

/// The first `limit` of `rows` (read with `limit + 1`) and the cursor of the next page, `None`
/// on the last.
pub(crate) fn split_page(rows: &[TaskRow], limit: i64) -> (&[TaskRow], Option<String>) {
    split_by(rows, limit, |row| (row.created_at, row.id.as_str()))
}

/// [`split_page`] for any rows, positioned by `(created_at, id)`.
pub(crate) fn split_by<T>(
    rows: &[T],
    limit: i64,
    position: impl Fn(&T) -> (i64, &str),
) -> (&[T], Option<String>) {
    split(rows, limit, |row| {
        let (at, id) = position(row);
        encode_cursor(at, id)
    })
}

/// The first `limit` of `rows` (read with `limit + 1`) and, when more follow, the cursor of
/// the last one shown.
fn split<T>(rows: &[T], limit: i64, cursor: impl Fn(&T) -> String) -> (&[T], Option<String>) {
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(usize::try_from(limit).unwrap_or(0))];
    let next_cursor = rows.last().filter(|_| has_more).map(cursor);
    (rows, next_cursor)
}

/// `limit` of a listing: 1–100, default 20.
pub(crate) fn parse_limit(limit: Option<&str>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(20),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ApiError::field(
                "limit",
                format!("limit: must be an integer from 1 to 100 (got {text:?})"),
            )),
        },
    }
}

/// The one answer to a cursor this server did not issue.
fn bad_cursor() -> ApiError {
    ApiError::field(
        "cursor",
        "cursor: not a cursor this server issued; pass next_cursor unchanged",
    )
}

/// The `seq` of a cursor of a listing ordered by a sequence number (the ledger, the audit
/// trail); `None` for the first page.
pub(crate) fn seq_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    match cursor.filter(|c| !c.is_empty()) {
        Some(cursor) => cursor.parse::<i64>().map(Some).map_err(|_| bad_cursor()),
        None => Ok(None),
    }
}

/// The `(created_at, id)` position of a listing ordered by creation (tasks, assets); `None` for
/// the first page.
pub(crate) fn position_cursor(cursor: Option<&str>) -> Result<Option<(i64, String)>, ApiError> {
    match cursor.filter(|c| !c.is_empty()) {
        Some(cursor) => decode_cursor(cursor).map(Some),
        None => Ok(None),
    }
}

/// [`split_by`] for rows ordered by a sequence number: the next cursor is the last row's `seq`.
pub(crate) fn split_by_seq<T>(
    rows: &[T],
    limit: i64,
    seq: impl Fn(&T) -> i64,
) -> (&[T], Option<String>) {
    split(rows, limit, |row| seq(row).to_string())
}

fn encode_cursor(created_at: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

/// The `(created_at, id)` position of a `cursor` this server issued.
fn decode_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    let bad = bad_cursor;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (at, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_string()))
}
