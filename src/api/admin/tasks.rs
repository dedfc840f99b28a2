//! The operator's task log (API.md §5 "tasks: list all, get any, fail-and-refund a stuck one"):
//! - `GET /admin/v1/tasks?account_id=&status=&model=&q=&since=&until=&limit=&cursor=`: every account's tasks,
//!   newest first, hidden ones included;
//! - `GET /admin/v1/tasks/{task_id}`: any task, with its account;
//! - `POST /admin/v1/tasks/{task_id}/fail` `{reason}`: a queued or processing task → `failed`
//!   (`error.code` `operator_failed`) and refunded in the same transaction, audited as
//!   `task.fail`. What an upstream already runs for it is not cancelled there.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::Admin;
use crate::api::error::{ApiError, ErrorCode};
use crate::api::extract::{JsonObject, Path, Query};
use crate::api::listing::{split_page, TaskListParams};
use crate::api::AppState;
use crate::tasks::view::{task_view, TaskView};
use crate::tasks::TaskRow;
use crate::wire::admin::{AdminTask, AdminTaskPage, FailTaskRequest};
use crate::wire::envelope::{
    Envelope, Error400, Error401, Error403, Error404, Error409, Error413, Error500,
};

/// The admin task routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, get_one, fail))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/{task_id}", get(get_one))
        .route("/tasks/{task_id}/fail", post(fail))
}

/// An [`AdminTask`] as written: the task by its borrowed writer.
#[derive(serde::Serialize)]
struct AdminTaskView<'a> {
    account_id: &'a str,
    hidden: bool,
    task: TaskView<'a>,
}

fn admin_view<'a>(state: &AppState, row: &'a TaskRow) -> AdminTaskView<'a> {
    AdminTaskView {
        account_id: &row.account_id,
        hidden: row.hidden_at.is_some(),
        task: task_view(row, &state.view()),
    }
}

#[derive(serde::Serialize)]
struct AdminTaskViewPage<'a> {
    items: Vec<AdminTaskView<'a>>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct ListParams {
    account_id: Option<String>,
    #[serde(flatten)]
    list: TaskListParams,
}

/// Every account's tasks, newest first.
#[utoipa::path(
    get,
    path = "/tasks",
    tag = "admin",
    security(("admin_token" = [])),
    params(
        ("account_id" = Option<String>, Query, description = "Only this account's tasks"),
        ("status" = Option<String>, Query, description = "`queued`, `processing`, `completed` or `failed`"),
        ("model" = Option<String>, Query, description = "Only this model"),
        ("q" = Option<String>, Query, description = "A piece of the prompt or of the task id, any case (1–200 characters)"),
        ("since" = Option<i64>, Query, description = "Only tasks created at or after this unix second"),
        ("until" = Option<i64>, Query, description = "Only tasks created before this unix second"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of tasks", body = Envelope<AdminTaskPage>),
        (status = 400, description = "40001 invalid parameter (data.param)", body = Error400),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 admin API off", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<ListParams>,
) -> Result<axum::response::Response, ApiError> {
    let request = params.list.check()?;
    let account_id = params.account_id.as_deref().filter(|a| !a.is_empty());
    let rows = state.tasks.page(&request.for_operator(account_id)).await?;
    let (rows, next_cursor) = split_page(&rows, request.limit);
    let page = AdminTaskViewPage {
        items: rows.iter().map(|row| admin_view(&state, row)).collect(),
        next_cursor,
    };
    Ok(crate::api::envelope::written(state.success, |body| {
        serde_json::to_writer(body, &page)
    }))
}

/// Any account's task.
#[utoipa::path(
    get,
    path = "/tasks/{task_id}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("task_id" = String, Path, description = "`vid_…`")),
    responses(
        (status = 200, description = "The task and its account", body = Envelope<AdminTask>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such task, or admin API off", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn get_one(
    State(state): State<AppState>,
    _admin: Admin,
    Path(task_id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let row = state
        .tasks
        .get_any(&task_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no task {task_id}")))?;
    let view = admin_view(&state, &row);
    Ok(crate::api::envelope::written(state.success, |body| {
        serde_json::to_writer(body, &view)
    }))
}

/// Fail a queued or processing task and refund it.
#[utoipa::path(
    post,
    path = "/tasks/{task_id}/fail",
    tag = "admin",
    security(("admin_token" = [])),
    params(("task_id" = String, Path, description = "`vid_…`")),
    request_body(content = FailTaskRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The task, now failed and refunded", body = Envelope<AdminTask>),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field (data.param)", body = Error400),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such task, or admin API off", body = Error404),
        (status = 409, description = "40900 the task has already ended", body = Error409),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn fail(
    State(state): State<AppState>,
    admin: Admin,
    Path(task_id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<axum::response::Response, ApiError> {
    let reason = super::reason_field(&body)?;
    let Some(before) = state.tasks.get_any(&task_id).await? else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no task {task_id}"),
        ));
    };
    if !state.tasks.fail_by_operator(&task_id, &reason).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "task {task_id} has already ended ({}); only a queued or processing task can be failed",
                before.status.as_str()
            ),
        ));
    }
    state
        .audit
        .record(&admin.actor, "task.fail", Some(&task_id), Some(&reason))
        .await?;
    tracing::warn!(task_id = %task_id, actor = %admin.actor, "task failed by an operator");
    let row = state
        .tasks
        .get_any(&task_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no task {task_id}")))?;
    let view = admin_view(&state, &row);
    Ok(crate::api::envelope::written(state.success, |body| {
        serde_json::to_writer(body, &view)
    }))
}
