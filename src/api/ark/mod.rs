//! Ark's task protocol (DIALECTS.md §2) under `/api/v3/contents/generations/tasks`: create, get,
//! list and delete, for the Volcengine Ark and BytePlus ModelArk SDKs, LiteLLM's
//! `volcengine/<model>` and the Vercel AI SDK. A translation, nothing more: a create becomes the
//! seed route's create body ([`request`]) and goes through the one submitter; reads render the
//! task's Ark view (`tasks::view::ark`); errors are Ark-shaped ([`error`]). A task made here is
//! the same task on every other door.

pub mod error;
pub mod request;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

use self::error::ArkApiError;
use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, Path};
use super::AppState;
use crate::tasks::accept::{Creator, Idempotency};
use crate::tasks::state::DeleteOutcome;
use crate::tasks::view::ark::ark_task;
use crate::tasks::{NumberedFilter, StatusFilter, TaskRow};
use crate::wire::ark::{
    ArkCreateRequest, ArkDeleted, ArkErrorBody, ArkTask, ArkTaskId, ArkTaskList,
};

/// The Ark door's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, get_task, list, delete))]
pub struct ApiDoc;

/// The routes where Ark's SDKs expect them (`Ark(base_url="http://HOST/api/v3")`). A create
/// may carry media inline as base64 `data:` URLs: its body may be as large as an upload in
/// base64.
pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    // Base64 is 4 bytes for every 3.
    let body_limit = super::upload::upload_body_limit(max_upload_bytes.saturating_mul(4) / 3);
    Router::new()
        .route(
            "/api/v3/contents/generations/tasks",
            get(list).post(create).layer(body_limit),
        )
        .route(
            "/api/v3/contents/generations/tasks/{id}",
            get(get_task).delete(delete),
        )
}

/// An Ark-shaped 404 for any other path under `/api/v3`.
pub async fn unknown_route() -> ArkApiError {
    ArkApiError(ApiError::new(
        ErrorCode::NotFound,
        "no such route; this server offers /api/v3/contents/generations/tasks",
    ))
}

/// The caller, or its authentication error in Ark's shape.
fn caller(caller: Result<Caller, ApiError>) -> Result<Caller, ArkApiError> {
    caller.map_err(ArkApiError)
}

/// Create a video generation task (Ark).
#[utoipa::path(
    post,
    path = "/contents/generations/tasks",
    tag = "ark",
    security(("api_key" = [])),
    request_body(content = ArkCreateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Accepted", body = ArkTaskId),
        (status = 400, description = "InvalidParameter: `param` names the Ark field", body = ArkErrorBody),
        (status = 401, description = "AuthenticationError", body = ArkErrorBody),
        (status = 402, description = "AccountOverdueError: the balance or the key's quota is too low", body = ArkErrorBody),
        (status = 404, description = "InvalidEndpointOrModel.NotFound: unknown model", body = ArkErrorBody),
        (status = 429, description = "RateLimitExceeded", body = ArkErrorBody),
        (status = 500, description = "InternalServiceError", body = ArkErrorBody),
    ),
)]
async fn create(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ArkTaskId>, ArkApiError> {
    let who = caller(who)?;
    let body = body.map_err(|e| crate::api::extract::bytes_rejection(&e))?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::BadJson, format!("body: not valid JSON: {e}")))?;
    let mut translated = request::translate(&value)?;
    store_inline_media(&state, &who, &mut translated).await?;
    let idem_key = super::videos::idempotency_key(&headers)?;
    let body_hash = hex::encode(Sha256::digest(&body));
    let idempotency = idem_key.as_deref().map(|key| Idempotency {
        key,
        body_hash: &body_hash,
    });
    // The model's catalog name, for the view's echo (an unknown model fails in submit).
    let catalog_model = state
        .catalog
        .resolve(&translated.model)
        .map_or_else(|| translated.model.clone(), |m| m.name.clone());
    let client = translated.client_meta(&catalog_model).encode();
    let creator = Creator {
        account_id: &who.account_id,
        key_id: &who.key_id,
        max_in_flight: who.max_in_flight,
        client: client.as_deref(),
        start_within: translated.execution_expires_after,
    };
    let (_, accepted) = state
        .submitter
        .submit(creator, &translated.body, idempotency)
        .await
        .map_err(|e| translated.ark_error(super::videos::submit_error(e)))?;
    Ok(Json(ArkTaskId {
        id: accepted.task_id,
    }))
}

/// Media sent inline as `data:<type>;base64,<…>` URLs (Ark takes base64 images; the Vercel AI
/// SDK sends image bytes so): decoded and stored as `/files/upload` stores a file, the URL
/// replaced by reelay's own URL for it.
async fn store_inline_media(
    state: &AppState,
    who: &Caller,
    translated: &mut request::Translated,
) -> Result<(), ArkApiError> {
    for (field, index, url) in translated.inline_media() {
        let param = translated.ark_param(&match index {
            Some(i) => format!("{field}[{i}]"),
            None => field.to_string(),
        });
        let bytes = request::decode_data_url(&url).ok_or_else(|| {
            ApiError::field(
                &param,
                format!("{param}: a data: URL must be data:<type>;base64,<data>"),
            )
        })?;
        let stored = state
            .assets
            .upload_bytes(&who.account_id, None, &bytes, state.retention_secs)
            .await
            .map_err(|e| super::upload::upload_error(e, &param))?;
        translated.replace_media(field, index, stored.url);
    }
    Ok(())
}

fn render(state: &AppState, row: &TaskRow) -> Result<ArkTask, ArkApiError> {
    ark_task(row, &state.view()).ok_or_else(|| {
        ArkApiError(ApiError::internal(format!(
            "task {}: its stored request cannot be read",
            row.id
        )))
    })
}

fn not_found(id: &str) -> ArkApiError {
    ArkApiError(ApiError::not_found(&format!("task {id}")))
}

/// Query a task (Ark).
#[utoipa::path(
    get,
    path = "/contents/generations/tasks/{id}",
    tag = "ark",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The task id")),
    responses(
        (status = 200, description = "The task", body = ArkTask),
        (status = 401, description = "AuthenticationError", body = ArkErrorBody),
        (status = 404, description = "ResourceNotFound", body = ArkErrorBody),
    ),
)]
async fn get_task(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    Path(id): Path<String>,
) -> Result<Json<ArkTask>, ArkApiError> {
    let who = caller(who)?;
    super::log_task(&id);
    let row = state
        .tasks
        .get_for_account(&who.account_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(render(&state, &row)?))
}

/// The list's query: `page_num`, `page_size`, `filter.status`, `filter.model`,
/// `filter.task_ids` (repeated).
struct ListQuery {
    page_num: i64,
    page_size: i64,
    status: Option<String>,
    model: Option<String>,
    task_ids: Vec<String>,
}

fn list_query(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let mut query = ListQuery {
        page_num: 1,
        page_size: 10,
        status: None,
        model: None,
        task_ids: Vec::new(),
    };
    let number = |name: &str, text: &str, max: i64| {
        text.parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::field(
                    name,
                    format!("{name}: must be a whole number from 1 to {max} (got {text:?})"),
                )
            })
    };
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if value.chars().any(char::is_control) {
            return Err(ApiError::field(
                &key,
                format!("{key}: the query parameter contains a control character"),
            ));
        }
        match key.as_ref() {
            "page_num" => query.page_num = number("page_num", &value, 1_000_000)?,
            "page_size" => query.page_size = number("page_size", &value, 500)?,
            "filter.status" if !value.is_empty() => query.status = Some(value.into_owned()),
            "filter.model" if !value.is_empty() => query.model = Some(value.into_owned()),
            "filter.task_ids" if !value.is_empty() => query.task_ids.push(value.into_owned()),
            "filter.service_tier" if value != "default" && !value.is_empty() => {
                return Err(ApiError::field(
                    "filter.service_tier",
                    "filter.service_tier: only \"default\" exists on this server",
                ))
            }
            _ => {}
        }
    }
    if query.task_ids.len() > 500 {
        return Err(ApiError::field(
            "filter.task_ids",
            "filter.task_ids: at most 500 ids",
        ));
    }
    Ok(query)
}

/// Ark's status filter over reelay's statuses.
fn status_filter(status: &str) -> Result<StatusFilter<'static>, ApiError> {
    Ok(match status {
        "queued" => StatusFilter::Is("queued"),
        "running" => StatusFilter::Is("processing"),
        "succeeded" => StatusFilter::Is("completed"),
        "failed" => StatusFilter::FailedExcept(&["cancelled", "expired"]),
        "cancelled" => StatusFilter::FailedWith("cancelled"),
        "expired" => StatusFilter::FailedWith("expired"),
        other => {
            return Err(ApiError::field(
                "filter.status",
                format!("filter.status: must be queued, running, succeeded, failed, cancelled or expired (got {other:?})"),
            ))
        }
    })
}

/// List the caller's tasks (Ark), newest first.
#[utoipa::path(
    get,
    path = "/contents/generations/tasks",
    tag = "ark",
    security(("api_key" = [])),
    params(
        ("page_num" = Option<i64>, Query, description = "From 1"),
        ("page_size" = Option<i64>, Query, description = "1-500, default 10"),
        ("filter.status" = Option<String>, Query, description = "queued, running, succeeded, failed, cancelled or expired"),
        ("filter.model" = Option<String>, Query, description = "A model name or alias"),
        ("filter.task_ids" = Option<Vec<String>>, Query, description = "Repeat for several ids"),
    ),
    responses(
        (status = 200, description = "A page of tasks", body = ArkTaskList),
        (status = 400, description = "InvalidParameter", body = ArkErrorBody),
        (status = 401, description = "AuthenticationError", body = ArkErrorBody),
    ),
)]
async fn list(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ArkTaskList>, ArkApiError> {
    let who = caller(who)?;
    let query = list_query(raw.as_deref())?;
    let status = query.status.as_deref().map(status_filter).transpose()?;
    let model = query.model.as_deref().map(|model| {
        state
            .catalog
            .resolve(model)
            .map_or_else(|| model.to_string(), |m| m.name.clone())
    });
    let (rows, total) = state
        .tasks
        .numbered_page(&NumberedFilter {
            account_id: &who.account_id,
            status,
            model: model.as_deref(),
            ids: &query.task_ids,
            offset: (query.page_num - 1).saturating_mul(query.page_size),
            limit: query.page_size,
        })
        .await?;
    let items = rows
        .iter()
        .map(|row| render(&state, row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ArkTaskList { items, total }))
}

/// Cancel a queued task (refunded) or delete an ended one (Ark).
#[utoipa::path(
    delete,
    path = "/contents/generations/tasks/{id}",
    tag = "ark",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The task id")),
    responses(
        (status = 200, description = "Queued: cancelled and refunded. Ended: gone from every listing, its files deleted", body = ArkDeleted),
        (status = 401, description = "AuthenticationError", body = ArkErrorBody),
        (status = 404, description = "ResourceNotFound", body = ArkErrorBody),
        (status = 409, description = "Conflict: the task is running", body = ArkErrorBody),
    ),
)]
async fn delete(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    Path(id): Path<String>,
) -> Result<Json<ArkDeleted>, ArkApiError> {
    let who = caller(who)?;
    super::log_task(&id);
    match state
        .tasks
        .delete_for_owner(&state.storage, &who.account_id, &id)
        .await?
    {
        DeleteOutcome::Cancelled | DeleteOutcome::Deleted => Ok(Json(ArkDeleted {})),
        DeleteOutcome::NotFound => Err(not_found(&id)),
        DeleteOutcome::Running => Err(ArkApiError(ApiError::new(
            ErrorCode::Conflict,
            format!("task {id} is running and cannot be cancelled or deleted until it ends"),
        ))),
    }
}
