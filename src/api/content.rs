//! `GET /videos/{id}/content`: a `302` to the task's result URL (API.md §2): reelay's signed
//! file URL, served with `Range` support, or a presigned S3 URL with `storage.serve = "presigned"`.
//!
//! Unknown and others' tasks are 404; a task that is not `completed` is 409 (it may still be
//! running, or failed); a completed task whose file was deleted past retention is 404.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, Path};
use super::AppState;
use crate::tasks::view::task_json;
use crate::wire::envelope::{Error401, Error404, Error409, Error429, Error500};

/// The content route's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(content))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route(&super::v1("/videos/{task_id}/content"), get(content))
}

/// The task's MP4: a 302 to its signed result URL (which serves `Range`).
#[utoipa::path(
    get,
    path = "/videos/{task_id}/content",
    tag = "tasks",
    security(("api_key" = [])),
    params(("task_id" = String, Path, description = "`vid_…`")),
    responses(
        (status = 302, description = "Redirect to the video", headers(("Location" = String, description = "The signed result URL"))),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such task for this key's account, or its video was deleted after retention", body = Error404),
        (status = 409, description = "40900 the task is not completed", body = Error409),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn content(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> Result<Response, ApiError> {
    super::log_task(&task_id);
    let row = state
        .tasks
        .get_for_account(&caller.account_id, &task_id)
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
