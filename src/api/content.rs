//! `GET /videos/{id}/content`: a `302` to the task's result URL (API.md §2): reelay's signed
//! file URL, served with `Range` support, or a presigned S3 URL with `storage.serve = "presigned"`.
//!
//! Unknown and others' tasks are 404; a task that is not `completed` is 409 (it may still be
//! running, or failed); a completed task whose file was deleted past retention is 404.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::{ApiError, ErrorCode};
use super::extract::Caller;
use super::AppState;
use crate::store::tasks;
use crate::tasks::view::task_json;

pub fn router() -> Router<AppState> {
    Router::new().route("/videos/{task_id}/content", get(content))
}

#[tracing::instrument(skip_all, fields(task_id = %task_id))]
async fn content(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> Result<Response, ApiError> {
    let row = tasks::get_for_account(&state.db, &caller.account_id, &task_id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("task {task_id}")))?;
    if row.status != "completed" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "task {task_id} is {}; its video is available once it is completed",
                row.status
            ),
        ));
    }
    let task = task_json(&row, &state.view());
    let Some(url) = task["result"]["video_url"].as_str() else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("the video of task {task_id} was deleted after its retention period"),
        ));
    };
    let location = HeaderValue::from_str(url).map_err(ApiError::internal)?;
    let mut response = StatusCode::FOUND.into_response();
    response.headers_mut().insert(LOCATION, location);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
