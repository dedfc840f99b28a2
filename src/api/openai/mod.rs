//! OpenAI's video API (DIALECTS.md §3) under `/v1/videos`: create, retrieve (with
//! `openai-poll-after-ms`), content with `Range`, list with cursors, delete, remix, for the
//! OpenAI SDK (`client.videos.*`) and the gateways that speak it. A translation, nothing more: a
//! create becomes the seed route's create body ([`request`]) and goes through the one submitter;
//! reads render the task's Video object (`tasks::view::openai`); errors are OpenAI-shaped
//! ([`error`]).

pub mod error;
pub mod request;

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use self::error::OpenAiApiError;
use self::request::Part;
use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, Door, Path, Query, Rejection};
use super::AppState;
use crate::assets::spool::SpoolError;
use crate::tasks::accept::{Creator, Idempotency};
use crate::tasks::state::DeleteOutcome;
use crate::tasks::view::openai::{new_video, openai_video};
use crate::tasks::view::signed_result;
use crate::tasks::{ClientMeta, ListFilter, TaskRow};
use crate::wire::openai::{
    OpenAiCreateRequest, OpenAiErrorBody, OpenAiRemixRequest, OpenAiVideo, OpenAiVideoDeleted,
    OpenAiVideoList,
};

/// How long a client should wait before polling a running video again.
const POLL_AFTER_MS: &str = "1000";

/// The OpenAI door's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, retrieve, list, delete, content, remix))]
pub struct ApiDoc;

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit = super::upload::upload_body_limit(max_upload_bytes);
    Router::new()
        .route("/v1/videos", get(list).post(create).layer(body_limit))
        .route("/v1/videos/{id}", get(retrieve).delete(delete))
        .route("/v1/videos/{id}/content", get(content))
        .route("/v1/videos/{id}/remix", post(remix))
}

/// An OpenAI-shaped 404 for any other path under `/v1`.
pub async fn unknown_route() -> OpenAiApiError {
    OpenAiApiError(ApiError::new(
        ErrorCode::NotFound,
        "no such route; this server offers /v1/videos",
    ))
}

fn caller(caller: Result<Caller, ApiError>) -> Result<Caller, OpenAiApiError> {
    caller.map_err(OpenAiApiError)
}

/// The create's members: a multipart form's parts, or a JSON object's members.
async fn read_parts(
    state: &AppState,
    request: Request,
) -> Result<(Vec<(String, Part)>, Vec<u8>), ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let limit = state.assets.settings.max_upload_bytes;
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, state).await.map_err(|e| {
            ApiError::new(
                ErrorCode::BadJson,
                format!("body is not valid multipart/form-data: {e}"),
            )
        })?;
        let mut parts = Vec::new();
        // What the idempotency hash covers: every part's name and bytes, in order.
        let mut hashed = Vec::new();
        let part_error = |e: axum::extract::multipart::MultipartError| {
            crate::api::extract::multipart_error(&e, || {
                ApiError::new(
                    ErrorCode::TooLarge,
                    format!("body: larger than {limit} bytes"),
                )
            })
        };
        while let Some(mut field) = multipart.next_field().await.map_err(part_error)? {
            let name = field.name().unwrap_or("").to_string();
            let filename = field.file_name().map(str::to_string);
            let is_file = filename.is_some()
                || field
                    .content_type()
                    .is_some_and(|t| !t.starts_with("text/"));
            hashed.extend_from_slice(name.as_bytes());
            hashed.push(0);
            let part = if is_file {
                // Spooled as it arrives; hashed chunk by chunk on the way.
                let mut file = state
                    .assets
                    .spool
                    .create(limit)
                    .await
                    .map_err(ApiError::internal)?;
                let mut digest = Sha256::new();
                while let Some(chunk) = field.chunk().await.map_err(part_error)? {
                    digest.update(&chunk);
                    file.write(&chunk).await.map_err(|e| match e {
                        SpoolError::TooLarge { .. } => ApiError::new(
                            ErrorCode::TooLarge,
                            format!("body: larger than {limit} bytes"),
                        ),
                        SpoolError::Io(e) => ApiError::internal(e),
                    })?;
                }
                file.finish().await.map_err(ApiError::internal)?;
                hashed.extend_from_slice(&digest.finalize());
                Part::File {
                    file: Arc::new(file),
                    filename,
                }
            } else {
                let bytes = super::upload::text_part(field, part_error).await?;
                hashed.extend_from_slice(&Sha256::digest(&bytes));
                Part::Text(String::from_utf8_lossy(&bytes).into_owned())
            };
            parts.push((name, part));
        }
        return Ok((parts, hashed));
    }
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|e| crate::api::extract::bytes_rejection(&e))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::BadJson,
            format!("body: must be multipart/form-data or a JSON object: {e}"),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(ApiError::new(
            ErrorCode::BadJson,
            "body: must be a JSON object",
        ));
    };
    let parts = object
        .into_iter()
        .map(|(name, value)| (name, Part::Json(value)))
        .collect();
    Ok((parts, bytes.to_vec()))
}

/// Submits a translated create for `who`; the new task's Video object (answered with
/// `openai-poll-after-ms`, as every Video that is not done).
async fn submit(
    state: &AppState,
    who: &Caller,
    mut translated: request::Translated,
    remixed_from: Option<String>,
    idempotency: Option<Idempotency<'_>>,
) -> Result<Response, OpenAiApiError> {
    if let Some((file, filename)) = translated.upload.take() {
        let uploaded = state
            .assets
            .upload_file(
                &who.account_id,
                filename.as_deref(),
                &file,
                state.retention_secs,
            )
            .await
            .map_err(|e| super::upload::upload_error(e, "input_reference"))?;
        if !uploaded.mime_type.starts_with("image/") {
            return Err(ApiError::field(
                "input_reference",
                format!(
                    "input_reference: must be an image (got {})",
                    uploaded.mime_type
                ),
            )
            .into());
        }
        translated
            .body
            .entry("first_image")
            .or_insert(Value::String(uploaded.url));
    }
    // A thumbnail (`variant=thumbnail`) is the last frame: asked for unless the client said.
    translated
        .body
        .entry("return_last_frame")
        .or_insert(Value::Bool(true));
    let catalog_model = state
        .catalog
        .resolve(&translated.model)
        .map_or_else(|| translated.model.clone(), |m| m.name.clone());
    let client = translated
        .client_meta(&catalog_model, remixed_from.clone())
        .encode();
    let creator = Creator {
        account_id: &who.account_id,
        key_id: &who.key_id,
        max_in_flight: who.max_in_flight,
        client: client.as_deref(),
        start_within: None,
    };
    let body = Value::Object(translated.body.clone());
    let (request, accepted) = state
        .submitter
        .submit(creator, &body, idempotency)
        .await
        .map_err(|e| translated.openai_error(super::videos::submit_error(e)))?;
    if accepted.replayed {
        // An earlier create's task, in whatever state it is now.
        let row = state
            .tasks
            .get_for_account(&who.account_id, &accepted.task_id)
            .await?
            .ok_or_else(|| {
                OpenAiApiError(ApiError::not_found(&format!("video {}", accepted.task_id)))
            })?;
        return video_response(state, &row);
    }
    let video = new_video(
        accepted.task_id,
        accepted.created_at,
        &request,
        translated.model,
        remixed_from,
    );
    let mut response = Json(video).into_response();
    response.headers_mut().insert(
        "openai-poll-after-ms",
        HeaderValue::from_static(POLL_AFTER_MS),
    );
    Ok(response)
}

fn render(state: &AppState, row: &TaskRow) -> Result<OpenAiVideo, OpenAiApiError> {
    openai_video(row, &state.view()).ok_or_else(|| {
        OpenAiApiError(ApiError::internal(format!(
            "task {}: its stored request cannot be read",
            row.id
        )))
    })
}

/// The Video object, with `openai-poll-after-ms` while it is not done.
fn video_response(state: &AppState, row: &TaskRow) -> Result<Response, OpenAiApiError> {
    let video = render(state, row)?;
    let mut response = Json(video).into_response();
    if !row.status.is_terminal() {
        response.headers_mut().insert(
            "openai-poll-after-ms",
            HeaderValue::from_static(POLL_AFTER_MS),
        );
    }
    Ok(response)
}

/// Create a video (OpenAI).
#[utoipa::path(
    post,
    path = "/videos",
    tag = "openai",
    security(("api_key" = [])),
    request_body(content = OpenAiCreateRequest, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Accepted", body = OpenAiVideo),
        (status = 400, description = "invalid_request_error: `param` names the field", body = OpenAiErrorBody),
        (status = 401, description = "authentication_error", body = OpenAiErrorBody),
        (status = 402, description = "insufficient_quota: the balance or the key's quota is too low", body = OpenAiErrorBody),
        (status = 429, description = "rate_limit_error", body = OpenAiErrorBody),
    ),
)]
async fn create(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, OpenAiApiError> {
    let who = caller(who)?;
    let _slot = super::upload::take_upload_slot(&state, &who.key_id)?;
    let (parts, hashed) = read_parts(&state, request).await?;
    let translated = request::translate(&parts, &state.catalog)?;
    let idem_key = super::videos::idempotency_key(&headers)?;
    let body_hash = hex::encode(Sha256::digest(&hashed));
    let idempotency = idem_key.as_deref().map(|key| Idempotency {
        key,
        body_hash: &body_hash,
    });
    submit(&state, &who, translated, None, idempotency).await
}

async fn own_task(state: &AppState, who: &Caller, id: &str) -> Result<TaskRow, OpenAiApiError> {
    super::log_task(id);
    state
        .tasks
        .get_for_account(&who.account_id, id)
        .await?
        .ok_or_else(|| OpenAiApiError(ApiError::not_found(&format!("video {id}"))))
}

/// Retrieve a video (OpenAI).
#[utoipa::path(
    get,
    path = "/videos/{id}",
    tag = "openai",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The task id")),
    responses(
        (status = 200, description = "The video; `openai-poll-after-ms` while not done", body = OpenAiVideo),
        (status = 401, description = "authentication_error", body = OpenAiErrorBody),
        (status = 404, description = "not_found_error", body = OpenAiErrorBody),
    ),
)]
async fn retrieve(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    Path(id): Path<String>,
) -> Result<Response, OpenAiApiError> {
    let who = caller(who)?;
    let row = own_task(&state, &who, &id).await?;
    video_response(&state, &row)
}

#[derive(Deserialize)]
struct ListParams {
    after: Option<String>,
    limit: Option<String>,
    order: Option<String>,
}

/// List the caller's videos (OpenAI).
#[utoipa::path(
    get,
    path = "/videos",
    tag = "openai",
    security(("api_key" = [])),
    params(
        ("after" = Option<String>, Query, description = "The last id of the previous page"),
        ("limit" = Option<i64>, Query, description = "1-100, default 20"),
        ("order" = Option<String>, Query, description = "`desc` (newest first, default) or `asc`"),
    ),
    responses(
        (status = 200, description = "A page of videos", body = OpenAiVideoList),
        (status = 400, description = "invalid_request_error", body = OpenAiErrorBody),
        (status = 401, description = "authentication_error", body = OpenAiErrorBody),
    ),
)]
async fn list(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    params: Result<Query<ListParams>, Rejection>,
) -> Result<Json<OpenAiVideoList>, OpenAiApiError> {
    let who = caller(who)?;
    // The query is read after the caller, so that a bad key is 401 whatever the query says.
    let Query(params) = params.map_err(|rejection| rejection.error)?;
    let limit = super::listing::parse_limit(params.limit.as_deref())?;
    let ascending = match params.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::field(
                "order",
                format!("order: must be asc or desc (got {other:?})"),
            )
            .into())
        }
    };
    let after = match params.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(id) => {
            let row = state
                .tasks
                .get_for_account(&who.account_id, id)
                .await?
                .ok_or_else(|| {
                    ApiError::field("after", format!("after: no video {id} of this account"))
                })?;
            Some((row.created_at, row.id))
        }
    };
    let rows = if ascending {
        state
            .tasks
            .page_ascending(&who.account_id, after, limit + 1)
            .await?
    } else {
        state
            .tasks
            .page(&ListFilter {
                account_id: Some(&who.account_id),
                before: after,
                limit: limit + 1,
                ..ListFilter::default()
            })
            .await?
    };
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let data = rows
        .iter()
        .map(|row| render(&state, row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(OpenAiVideoList {
        first_id: data.first().map(|v| v.id.clone()),
        last_id: data.last().map(|v| v.id.clone()),
        data,
        has_more,
        object: "list".into(),
    }))
}

/// Delete a video (OpenAI): a queued one is cancelled (refunded); an ended one leaves every
/// listing and its files are deleted.
#[utoipa::path(
    delete,
    path = "/videos/{id}",
    tag = "openai",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The task id")),
    responses(
        (status = 200, description = "Deleted (or, when queued, cancelled and refunded)", body = OpenAiVideoDeleted),
        (status = 401, description = "authentication_error", body = OpenAiErrorBody),
        (status = 404, description = "not_found_error", body = OpenAiErrorBody),
        (status = 409, description = "the video is being generated", body = OpenAiErrorBody),
    ),
)]
async fn delete(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    Path(id): Path<String>,
) -> Result<Json<OpenAiVideoDeleted>, OpenAiApiError> {
    let who = caller(who)?;
    super::log_task(&id);
    match state
        .tasks
        .delete_for_owner(&state.storage, &who.account_id, &id)
        .await?
    {
        DeleteOutcome::Cancelled | DeleteOutcome::Deleted => Ok(Json(OpenAiVideoDeleted {
            deleted: true,
            id,
            object: "video.deleted".into(),
        })),
        DeleteOutcome::NotFound => Err(ApiError::not_found(&format!("video {id}")).into()),
        DeleteOutcome::Running => Err(ApiError::new(
            ErrorCode::Conflict,
            format!("video {id} is being generated and cannot be deleted until it ends"),
        )
        .into()),
    }
}

#[derive(Deserialize)]
struct ContentParams {
    variant: Option<String>,
}

/// Download a video's MP4, or its thumbnail (the last frame, PNG) (OpenAI).
#[utoipa::path(
    get,
    path = "/videos/{id}/content",
    tag = "openai",
    security(("api_key" = [])),
    params(
        ("id" = String, Path, description = "The task id"),
        ("variant" = Option<String>, Query, description = "`video` (default) or `thumbnail`"),
    ),
    responses(
        (status = 200, description = "The bytes (`Range` honoured: 206)", content_type = "video/mp4"),
        (status = 400, description = "invalid_request_error: unknown variant, or the video is not completed", body = OpenAiErrorBody),
        (status = 404, description = "not_found_error", body = OpenAiErrorBody),
    ),
)]
async fn content(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    Path(id): Path<String>,
    Query(params): Query<ContentParams>,
    headers: HeaderMap,
) -> Result<Response, OpenAiApiError> {
    let who = caller(who)?;
    let row = own_task(&state, &who, &id).await?;
    let thumbnail = match params.variant.as_deref() {
        None | Some("video") => false,
        Some("thumbnail") => true,
        Some(other) => {
            return Err(ApiError::field(
                "variant",
                format!("variant: must be video or thumbnail (got {other:?})"),
            )
            .into())
        }
    };
    let Some(signed) = signed_result(&row, &state.view()) else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "video {id} is {}; its content exists once it is completed",
                row.status.as_str()
            ),
        )
        .into());
    };
    if signed.expired {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("video {id}: its files were deleted (past their retention)"),
        )
        .into());
    }
    let key = if thumbnail {
        signed.stored.last_frame_key.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!(
                    "video {id} has no thumbnail (it was created with return_last_frame false)"
                ),
            )
        })?
    } else {
        signed.stored.video_key
    };
    Ok(super::files::serve_object(&state, &key, &headers, Door::OpenAi).await?)
}

/// Remix a video (OpenAI): a new task with the original's inputs and a new prompt, charged as
/// a new task.
#[utoipa::path(
    post,
    path = "/videos/{id}/remix",
    tag = "openai",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The task id to remix")),
    request_body(content = OpenAiRemixRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The new video", body = OpenAiVideo),
        (status = 400, description = "invalid_request_error", body = OpenAiErrorBody),
        (status = 404, description = "not_found_error", body = OpenAiErrorBody),
    ),
)]
async fn remix(
    State(state): State<AppState>,
    who: Result<Caller, ApiError>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, OpenAiApiError> {
    let who = caller(who)?;
    let body = body.map_err(|e| crate::api::extract::bytes_rejection(&e))?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::BadJson, format!("body: not valid JSON: {e}")))?;
    let prompt = match value.get("prompt") {
        Some(Value::String(prompt)) => prompt.clone(),
        _ => return Err(ApiError::field("prompt", "prompt: required, a string").into()),
    };
    let original = own_task(&state, &who, &id).await?;
    let request = original
        .request
        .decode()
        .map_err(|e| ApiError::internal(format!("task {id}: {e}")))?;
    let Ok(Value::Object(mut inputs)) = serde_json::to_value(&request) else {
        return Err(ApiError::internal(format!("task {id}: its request is not an object")).into());
    };
    inputs.remove("price");
    inputs.retain(|_, value| !value.is_null());
    inputs.insert("prompt".into(), Value::String(prompt));
    let meta = ClientMeta::decode(original.client.as_deref());
    let model = meta.model.unwrap_or_else(|| original.model.clone());
    inputs.insert("model".into(), Value::String(original.model.clone()));
    let parts: Vec<(String, Part)> = inputs
        .into_iter()
        .map(|(name, value)| (name, Part::Json(value)))
        .collect();
    let mut translated = request::translate(&parts, &state.catalog)?;
    translated.model = model;
    let idem_key = super::videos::idempotency_key(&headers)?;
    let mut hashed = id.as_bytes().to_vec();
    hashed.extend_from_slice(&body);
    let body_hash = hex::encode(Sha256::digest(&hashed));
    let idempotency = idem_key.as_deref().map(|key| Idempotency {
        key,
        body_hash: &body_hash,
    });
    submit(&state, &who, translated, Some(id), idempotency).await
}
