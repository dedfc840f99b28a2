//! `GET /videos/{id}/events`: Server-Sent Events, one `event: task` with the full task object at
//! each change of status or progress, ending after a terminal status (API.md §2).
//!
//! Each stream polls its task row every [`POLL`], so changes made by any worker, in this
//! process or another replica sharing the database, reach it within that delay. The event `id`
//! is the task's version, `rank(status) * 1000 + progress`: it only grows, because status never
//! goes backwards and progress only rises while processing. A client resuming with
//! `Last-Event-ID: v` gets the current state only if it is newer than `v`.
//!
//! A stream re-checks its key every [`KEY_CHECK`]: once the key is revoked, the stream ends
//! (a revoked key reads nothing more, on a stream opened before as on a new request).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::Stream;

use super::error::ApiError;
use super::extract::{Caller, Path};
use super::AppState;
use crate::tasks::view::task_view;
use crate::tasks::{TaskRow, TaskStatus};
use crate::wire::envelope::{Error401, Error404, Error429, Error500};
use crate::wire::seed::TaskEvent;

/// How often a stream re-reads its task.
pub(crate) const POLL: Duration = Duration::from_millis(250);
/// How often a stream checks that its key is still active.
pub(crate) const KEY_CHECK: Duration = Duration::from_secs(2);
/// Comment lines sent on an idle stream so proxies keep it open.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The event stream's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(events))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route(&super::v1("/videos/{task_id}/events"), get(events))
}

/// The version of a task as seen by event streams (the SSE `id`).
pub(crate) fn task_version(row: &TaskRow) -> i64 {
    let rank = match row.status {
        TaskStatus::Queued => 0,
        TaskStatus::Processing => 1,
        TaskStatus::Completed | TaskStatus::Failed => 2,
    };
    rank * 1000 + row.progress.clamp(0, 999)
}

fn is_terminal(row: &TaskRow) -> bool {
    row.status.is_terminal()
}

/// Where one stream stands.
struct Cursor {
    state: AppState,
    account_id: String,
    key_id: String,
    /// When the key was last found active.
    key_checked: tokio::time::Instant,
    task_id: String,
    last_sent: Option<i64>,
    finished: bool,
    /// Counts this stream against its key's `limits.streams_per_key` until it ends.
    _pass: super::per_key::Pass,
}

/// Server-Sent Events: one `event: task` (data: the task object, id: its version) at each change,
/// ending after a terminal status.
#[utoipa::path(
    get,
    path = "/videos/{task_id}/events",
    tag = "tasks",
    security(("api_key" = [])),
    params(
        ("task_id" = String, Path, description = "`vid_…`"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume: only a newer state is sent"),
    ),
    responses(
        (status = 200, description = "`text/event-stream` of `event: task` with the task object as `data`", content_type = "text/event-stream", body = TaskEvent),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such task for this key's account", body = Error404),
        (status = 429, description = "42900 key's request rate limit, or its open streams at `limits.streams_per_key`", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    super::log_task(&task_id);
    state
        .tasks
        .get_for_account(&caller.account_id, &task_id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("task {task_id}")))?;
    let pass = state.streams.enter(&caller.key_id)?;
    let last_sent = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let cursor = Cursor {
        state,
        account_id: caller.account_id,
        key_id: caller.key_id,
        key_checked: tokio::time::Instant::now(),
        task_id,
        last_sent,
        finished: false,
        _pass: pass,
    };
    let stream = futures::stream::unfold(cursor, |mut cursor| async move {
        let event = next_event(&mut cursor).await?;
        Some((Ok(event), cursor))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Waits for the next change; `None` ends the stream (terminal state sent, task gone, shutdown).
async fn next_event(cursor: &mut Cursor) -> Option<Event> {
    if cursor.finished {
        return None;
    }
    loop {
        if cursor.key_checked.elapsed() >= KEY_CHECK {
            match cursor.state.accounts.key_is_active(&cursor.key_id).await {
                Ok(true) => cursor.key_checked = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::info!(key_id = %cursor.key_id, "event stream ended: its key was revoked");
                    return None;
                }
                Err(error) => {
                    tracing::error!(%error, "event stream: checking the key failed");
                    return None;
                }
            }
        }
        let row = match cursor
            .state
            .tasks
            .get_for_account(&cursor.account_id, &cursor.task_id)
            .await
        {
            Ok(Some(row)) => row,
            Ok(None) => return None,
            Err(error) => {
                tracing::error!(%error, "event stream: reading the task failed");
                return None;
            }
        };
        let version = task_version(&row);
        if cursor.last_sent.is_none_or(|sent| version > sent) {
            cursor.last_sent = Some(version);
            cursor.finished = is_terminal(&row);
            let data = serde_json::to_string(&task_view(&row, &cursor.state.view()))
                .unwrap_or_else(|error| {
                    tracing::error!(%error, "event stream: writing the task failed");
                    "null".to_string()
                });
            return Some(
                Event::default()
                    .event("task")
                    .id(version.to_string())
                    .data(data),
            );
        }
        if is_terminal(&row) {
            return None;
        }
        tokio::select! {
            _ = cursor.state.shutdown.cancelled() => return None,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}
