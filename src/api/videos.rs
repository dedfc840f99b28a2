//! Task routes: create, quote, query, list, cancel (API.md §2).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use reelay_catalog::{ErrorKind, ValidatedRequest};
use sha2::{Digest, Sha256};

use super::envelope::Data;
use super::error::{ApiError, ErrorCode};
use super::extract::{self, Caller, JsonObject, Path, Query};
use super::listing::{split_page, TaskListParams};
use super::AppState;
use crate::tasks::accept::{self, CreateError, Idempotency};
use crate::tasks::state::CancelOutcome;
use crate::tasks::submit::SubmitError;
use crate::tasks::view::{task_view, TaskView};
use crate::wire::envelope::{
    Envelope, Error400, Error401, Error402, Error404, Error409, Error413, Error429, Error500,
    Error503,
};
use crate::wire::seed::{CreateVideoRequest, Quote, Task, TaskCreated, TaskPage, WebhookDelivery};

/// The task routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, quote, list, query, cancel))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&super::v1("/seedance/videos"), post(create))
        .route(&super::v1("/seedance/videos/quote"), post(quote))
        .route(&super::v1("/videos"), get(list))
        .route(&super::v1("/videos/{task_id}"), get(query))
        .route(&super::v1("/videos/{task_id}/cancel"), post(cancel))
}

/// The one mapping of a refused submission to the API's error codes.
pub(crate) fn submit_error(error: SubmitError) -> ApiError {
    match error {
        SubmitError::Invalid(error) => {
            let code = match error.kind {
                ErrorKind::InvalidField => ErrorCode::InvalidField,
                ErrorKind::UnknownModel => ErrorCode::UnknownModel,
            };
            ApiError::new(code, error.message).with_param(error.param)
        }
        SubmitError::BadAsset { field, message } => {
            ApiError::new(ErrorCode::BadAsset, message).with_param(field)
        }
        SubmitError::NoChannel { model } => ApiError::new(
            ErrorCode::NoChannel,
            format!("no configured channel serves model {model}"),
        ),
        SubmitError::Create(CreateError::Insufficient { balance, price }) => ApiError::new(
            ErrorCode::InsufficientBalance,
            format!(
                "balance too low: this task costs {price} credits and the balance is {balance} credits"
            ),
        ),
        SubmitError::Create(CreateError::QuotaExceeded { quota, used, price }) => ApiError::new(
            ErrorCode::InsufficientBalance,
            format!(
                "this API key's quota is too low: this task costs {price} credits and the key has {} of its quota of {quota} credits left",
                (quota - used).max(0)
            ),
        ),
        SubmitError::Create(CreateError::IdempotencyConflict) => ApiError::new(
            ErrorCode::Conflict,
            "Idempotency-Key was already used with a different body in the last 24 hours",
        )
        .with_param("Idempotency-Key"),
        SubmitError::Create(CreateError::TooManyInFlight { limit }) => {
            let mut error = ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "this API key already has {limit} tasks queued or processing (its limit); retry when one finishes"
                ),
            );
            error.retry_after = Some(5);
            error
        }
        SubmitError::Create(CreateError::Db(e)) | SubmitError::Db(e) => ApiError::internal(e),
    }
}

fn quote_of(request: &ValidatedRequest) -> Quote {
    Quote {
        credits: request.price.credits,
        seconds: i64::from(request.price.seconds),
        unit: request.price.unit.as_str().to_string(),
    }
}

/// The `Idempotency-Key` header, if any, checked for shape.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            "Idempotency-Key",
            "Idempotency-Key: must be 1-255 printable ASCII characters",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad());
    }
    Ok(Some(text.to_string()))
}

/// Create a video task (seed). Validates, prices and charges in one transaction.
#[utoipa::path(
    post,
    path = "/seedance/videos",
    tag = "tasks",
    security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 printable ASCII characters; the same key and body within 24 h returns the original answer without a second charge")),
    request_body(content = CreateVideoRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Task accepted (`queued`)", body = Envelope<TaskCreated>),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field or Idempotency-Key; 40002 unknown model; 40003 unusable asset:// reference", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 402, description = "40200 balance too low for this task", body = Error402),
        (status = 409, description = "40900 Idempotency-Key reused with a different body", body = Error409),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate or in-flight task limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
        (status = 503, description = "50300 no channel serves this model", body = Error503),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Data<TaskCreated>, ApiError> {
    let idem_key = idempotency_key(&headers)?;
    let body_hash = hex::encode(Sha256::digest(body.to_string().as_bytes()));
    let idempotency = idem_key.as_deref().map(|key| Idempotency {
        key,
        body_hash: &body_hash,
    });
    let creator = accept::Creator {
        account_id: &caller.account_id,
        key_id: &caller.key_id,
        max_in_flight: caller.max_in_flight,
        client: None,
        start_within: None,
    };
    let (request, accepted) = state
        .submitter
        .submit(creator, &body, idempotency)
        .await
        .map_err(submit_error)?;
    let cost = quote_of(&request);
    Ok(Data(
        state.success,
        TaskCreated {
            cost,
            created_at: accepted.created_at,
            model: request.model,
            status: "queued".to_string(),
            task_id: accepted.task_id,
        },
    ))
}

/// Validate and price a create body without creating a task.
#[utoipa::path(
    post,
    path = "/seedance/videos/quote",
    tag = "tasks",
    security(("api_key" = [])),
    request_body(content = CreateVideoRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The price", body = Envelope<Quote>),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field; 40002 unknown model; 40003 unusable asset:// reference", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
        (status = 503, description = "50300 no channel serves this model", body = Error503),
    ),
)]
async fn quote(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<Quote>, ApiError> {
    let request = state
        .submitter
        .check(&caller.account_id, &body)
        .await
        .map_err(submit_error)?;
    Ok(Data(state.success, quote_of(&request)))
}

/// Query a task (seed).
#[utoipa::path(
    get,
    path = "/videos/{task_id}",
    tag = "tasks",
    security(("api_key" = [])),
    params(("task_id" = String, Path, description = "`vid_…`")),
    responses(
        (status = 200, description = "The task", body = Envelope<Task>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such task for this key's account", body = Error404),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    super::log_task(&task_id);
    // The key and the task in one read (what the `Caller` extractor and a task read would do in
    // two): clients poll this route more than any other.
    let secret = extract::bearer(&headers)?;
    let (key, row) = state
        .tasks
        .get_with_key(secret, &task_id)
        .await?
        .ok_or_else(extract::invalid_key)?;
    extract::admit(&state, key).await?;
    let row = row.ok_or_else(|| ApiError::not_found(&format!("task {task_id}")))?;
    let view = state.view();
    let task = task_view(&row, &view);
    let webhook = super::webhooks::delivery_of(&state, &task).await?;
    // Written here: the view borrows the row.
    Ok(super::envelope::written(state.success, |body| {
        task.write_json(body, &Polled { webhook })
    }))
}

/// What the poll adds to the task object: its `webhook` (which sorts after every task field).
#[derive(serde::Serialize)]
struct Polled {
    webhook: Option<WebhookDelivery>,
}

/// A [`TaskPage`] as the list writes it: each item by the task's borrowed writer ([`TaskView`],
/// which writes a [`Task`]'s bytes).
#[derive(serde::Serialize)]
struct TaskViewPage<'a> {
    items: Vec<TaskView<'a>>,
    next_cursor: Option<String>,
}

/// The caller's tasks, newest first.
#[utoipa::path(
    get,
    path = "/videos",
    tag = "tasks",
    security(("api_key" = [])),
    params(
        ("status" = Option<String>, Query, description = "`queued`, `processing`, `completed` or `failed`"),
        ("model" = Option<String>, Query, description = "Only this model"),
        ("q" = Option<String>, Query, description = "A piece of the prompt or of the task id, any case (1-200 characters)"),
        ("since" = Option<i64>, Query, description = "Only tasks created at or after this unix second"),
        ("until" = Option<i64>, Query, description = "Only tasks created before this unix second"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of tasks", body = Envelope<TaskPage>),
        (status = 400, description = "40001 bad status, q, since, until, limit or cursor", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<TaskListParams>,
) -> Result<axum::response::Response, ApiError> {
    let request = params.check()?;
    let rows = state
        .tasks
        .page(&request.for_account(&caller.account_id))
        .await?;
    let (rows, next_cursor) = split_page(&rows, request.limit);
    let view = state.view();
    let page = TaskViewPage {
        items: rows.iter().map(|row| task_view(row, &view)).collect(),
        next_cursor,
    };
    // Written here: the views borrow the rows.
    Ok(super::envelope::written(state.success, |body| {
        serde_json::to_writer(body, &page)
    }))
}

/// Cancel a queued task: it becomes `failed` (`error.code: cancelled`) and is refunded.
#[utoipa::path(
    post,
    path = "/videos/{task_id}/cancel",
    tag = "tasks",
    security(("api_key" = [])),
    params(("task_id" = String, Path, description = "`vid_…`")),
    responses(
        (status = 200, description = "The cancelled task", body = Envelope<Task>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such task for this key's account", body = Error404),
        (status = 409, description = "40900 the task is processing or already terminal", body = Error409),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    super::log_task(&task_id);
    match state.tasks.cancel(&caller.account_id, &task_id).await? {
        CancelOutcome::Cancelled => {
            let row = state
                .tasks
                .get_for_account(&caller.account_id, &task_id)
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("task {task_id}")))?;
            let view = state.view();
            Ok(super::envelope::written(state.success, |body| {
                serde_json::to_writer(body, &task_view(&row, &view))
            }))
        }
        CancelOutcome::NotFound => Err(ApiError::not_found(&format!("task {task_id}"))),
        CancelOutcome::NotCancellable { status } => Err(ApiError::new(
            ErrorCode::Conflict,
            match status.as_str() {
                "processing" => format!(
                    "task {task_id} is processing and can no longer be cancelled: a render that has started runs to the end (cancel works while a task is queued)"
                ),
                _ => format!("task {task_id} is {status} and can no longer be cancelled"),
            },
        )),
    }
}
