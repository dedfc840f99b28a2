//! The seed vendor's companion routes (DIALECTS.md §1), which its own client calls besides the
//! task routes: `POST /files/upload`, `GET /user/balance`, `GET /key/balance`.

use axum::extract::{Multipart, State};
use axum::routing::{get, post};
use axum::Router;

use super::envelope::Data;
use super::error::{ApiError, ErrorCode};
use super::extract::Caller;
use super::upload::{spool_field, take_upload_slot, too_large, upload_body_limit, upload_error};
use super::AppState;
use crate::assets::spool::{Spool, Spooled};
use crate::wire::envelope::{Envelope, Error400, Error401, Error413, Error429, Error500};
use crate::wire::seed::{KeyBalance, UploadedFile, UserBalance};

/// The companion routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(upload, user_balance, key_balance))]
pub struct ApiDoc;

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit = upload_body_limit(max_upload_bytes);
    Router::new()
        .route(&super::v1("/files/upload"), post(upload).layer(body_limit))
        .route(&super::v1("/user/balance"), get(user_balance))
        .route(&super::v1("/key/balance"), get(key_balance))
}

/// Upload a media file; its URL works wherever a media URL is accepted.
#[utoipa::path(
    post,
    path = "/files/upload",
    tag = "files",
    security(("api_key" = [])),
    request_body(content_type = "multipart/form-data", description = "One part `file` (at most `assets.max_upload_bytes`, 100 MB by default): an image (jpg, jpeg, png, gif, webp, bmp), a video (mp4, mov, webm) or an audio file (mp3, wav, m4a, aac, flac, ogg); the type is read from the bytes"),
    responses(
        (status = 200, description = "Stored", body = Envelope<UploadedFile>),
        (status = 400, description = "40000 not multipart/form-data; 40001 no `file` part, an empty file or an unsupported type", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 413, description = "41300 larger than the upload limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit, or `limits.uploads_per_key` uploads of this key in progress", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Data<UploadedFile>, ApiError> {
    let limit = state.assets.settings.max_upload_bytes;
    let _slot = take_upload_slot(&state, &caller.key_id)?;
    let multipart = multipart.map_err(|e| {
        ApiError::new(
            ErrorCode::BadJson,
            format!("body must be multipart/form-data with a `file` part: {e}"),
        )
    })?;
    let (file, filename) = read_file_part(&state.assets.spool, multipart, limit).await?;
    let uploaded = state
        .assets
        .upload_file(
            &caller.account_id,
            filename.as_deref(),
            &file,
            state.retention_secs,
        )
        .await
        .map_err(|e| upload_error(e, "file"))?;
    Ok(Data(
        state.success,
        UploadedFile {
            url: uploaded.url,
            filename: uploaded.filename,
            size: uploaded.size,
            mime_type: uploaded.mime_type,
        },
    ))
}

/// The `file` part (spooled as it arrives) and its file name; other parts are ignored.
async fn read_file_part(
    spool: &Spool,
    mut multipart: Multipart,
    limit: u64,
) -> Result<(Spooled, Option<String>), ApiError> {
    let part_error = |e: axum::extract::multipart::MultipartError| {
        crate::api::extract::multipart_error(&e, || too_large(limit))
    };
    while let Some(field) = multipart.next_field().await.map_err(part_error)? {
        if field.name() == Some("file") {
            let filename = field.file_name().map(str::to_string);
            let file = spool_field(spool, field, limit, part_error).await?;
            return Ok((file, filename));
        }
    }
    Err(ApiError::field(
        "file",
        "file: required, a `file` part of multipart/form-data",
    ))
}

/// The calling key's account balance.
#[utoipa::path(
    get,
    path = "/user/balance",
    tag = "account",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The balance", body = Envelope<UserBalance>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn user_balance(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Data<UserBalance>, ApiError> {
    let balance = state
        .accounts
        .balance(&caller.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("account {}", caller.account_id)))?;
    Ok(Data(
        state.success,
        UserBalance {
            balance: balance.available.saturating_add(balance.used),
            used_coin: balance.used,
            available: balance.available,
        },
    ))
}

/// The calling key's spending quota.
#[utoipa::path(
    get,
    path = "/key/balance",
    tag = "account",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The key's quota", body = Envelope<KeyBalance>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn key_balance(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Data<KeyBalance>, ApiError> {
    let quota = state
        .accounts
        .key_quota(&caller.key_id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("key {}", caller.key_id)))?;
    Ok(Data(
        state.success,
        KeyBalance {
            name: quota.name.clone(),
            total_quota: quota.quota,
            used_quota: quota.used,
            available_quota: quota.available(),
            unlimited: quota.unlimited(),
        },
    ))
}
