//! Reading an asset upload body: JSON `{name, type, url}` or `multipart/form-data` with parts
//! `name`, `type` and `file` (or `url`), and turning it into an [`Upload`] with the documented
//! errors (40000 malformed body, 40001 field problems, 41300 too large).

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::Value;

use super::error::{ApiError, ErrorCode};
use super::extract::JsonObject;
use super::per_key::Pass;
use super::AppState;
use crate::assets::intake::{Source, Upload};
use crate::assets::spool::{Spool, SpoolError, Spooled};
use crate::assets::uploads::UploadError;
use crate::assets::{parse_kind, Purpose};

/// Longest accepted `name`.
const MAX_NAME_CHARS: usize = 255;

/// The fields of an upload, as sent.
#[derive(Default)]
pub(crate) struct UploadForm {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub url: Option<String>,
    /// The `file` part, written to the spool as it arrived.
    pub file: Option<(Spooled, Option<String>)>,
}

/// Takes one of the calling key's upload slots (`limits.uploads_per_key`) for as long as the
/// answer is held; 429 with `Retry-After` when the key already has that many uploads running.
pub(crate) fn take_upload_slot(state: &AppState, key_id: &str) -> Result<Pass, ApiError> {
    state.uploads.enter(key_id)
}

/// Writes a multipart file part to a new spool file as its chunks arrive, refusing it with
/// 41300 (`too_large(limit)`) as soon as it passes `limit`; `part_error` maps the body's errors.
pub(crate) async fn spool_field(
    spool: &Spool,
    mut field: Field<'_>,
    limit: u64,
    part_error: impl Fn(MultipartError) -> ApiError,
) -> Result<Spooled, ApiError> {
    let mut file = spool.create(limit).await.map_err(spool_error(limit))?;
    while let Some(chunk) = field.chunk().await.map_err(&part_error)? {
        file.write(&chunk).await.map_err(spool_error(limit))?;
    }
    file.finish().await.map_err(spool_error(limit))?;
    Ok(file)
}

/// A text part's bytes, at most [`MULTIPART_SLACK`] (the room a body has besides its file): a
/// form field is never a way to make reelay hold a large body. Past it: 41300 naming the part.
pub(crate) async fn text_part(
    mut field: Field<'_>,
    part_error: impl Fn(MultipartError) -> ApiError,
) -> Result<Vec<u8>, ApiError> {
    let name = field.name().unwrap_or("").to_string();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(&part_error)? {
        if bytes.len() + chunk.len() > MULTIPART_SLACK {
            return Err(ApiError::new(
                ErrorCode::TooLarge,
                format!("{name}: a form field is limited to {MULTIPART_SLACK} bytes"),
            )
            .with_param(name));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn spool_error(limit: u64) -> impl Fn(SpoolError) -> ApiError {
    move |error| match error {
        SpoolError::TooLarge { .. } => too_large(limit),
        SpoolError::Io(error) => ApiError::internal(error),
    }
}

/// Reads a JSON or multipart upload body.
pub(crate) async fn read_form(state: &AppState, request: Request) -> Result<UploadForm, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let limit = state.assets.settings.max_upload_bytes;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit + MULTIPART_SLACK as u64) {
            return Err(too_large(limit));
        }
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::new(ErrorCode::BadJson, format!("body: {e}")))?;
        read_multipart(&state.assets.spool, multipart, limit).await
    } else {
        let JsonObject(body) = JsonObject::from_request(request, state)
            .await
            .map_err(|e| {
                if e.code == ErrorCode::BadJson && !content_type.starts_with("application/json") {
                    ApiError::new(
                    ErrorCode::BadJson,
                    "body must be JSON (`Content-Type: application/json`) or multipart/form-data",
                )
                } else {
                    e
                }
            })?;
        Ok(UploadForm {
            name: string_field(&body, "name")?,
            kind: string_field(&body, "type")?,
            url: string_field(&body, "url")?,
            file: None,
        })
    }
}

/// Bytes a multipart body may carry beyond the file itself (boundaries, other parts).
pub(crate) const MULTIPART_SLACK: usize = 64 * 1024;

/// The body limit of a route that takes an upload of at most `max_upload_bytes`.
pub(crate) fn upload_body_limit(max_upload_bytes: u64) -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(
        usize::try_from(max_upload_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(MULTIPART_SLACK),
    )
}

/// 41300 for an upload over `limit`, naming the `file` part.
pub(crate) fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        format!("file: uploads are limited to {limit} bytes (assets.max_upload_bytes)"),
    )
    .with_param("file")
}

/// A file the uploads store refused, as the error of the request field `param` it came in.
pub(crate) fn upload_error(error: UploadError, param: &str) -> ApiError {
    match error {
        UploadError::Storage(error) => ApiError::internal(error),
        UploadError::Db(error) => ApiError::internal(error),
        UploadError::Spool(SpoolError::Io(error)) => ApiError::internal(error),
        UploadError::TooLarge { limit, .. }
        | UploadError::Spool(SpoolError::TooLarge { limit })
            if param == "file" =>
        {
            too_large(limit)
        }
        refused => ApiError::field(param, format!("{param}: {refused}")),
    }
}

async fn read_multipart(
    spool: &Spool,
    mut multipart: Multipart,
    limit: u64,
) -> Result<UploadForm, ApiError> {
    let mut form = UploadForm::default();
    let part_error = |e: axum::extract::multipart::MultipartError| {
        crate::api::extract::multipart_error(&e, || too_large(limit))
    };
    while let Some(field) = multipart.next_field().await.map_err(part_error)? {
        let part = field.name().unwrap_or("").to_string();
        match part.as_str() {
            "file" => {
                let file_name = field.file_name().map(str::to_string);
                let file = spool_field(spool, field, limit, part_error).await?;
                form.file = Some((file, file_name));
            }
            "name" | "type" | "url" => {
                let text =
                    String::from_utf8_lossy(&text_part(field, part_error).await?).into_owned();
                match part.as_str() {
                    "name" => form.name = Some(text),
                    "type" => form.kind = Some(text),
                    _ => form.url = Some(text),
                }
            }
            _ => {}
        }
    }
    Ok(form)
}

/// An optional string field; other types are 40001.
pub(crate) fn string_field(body: &Value, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::field(field, format!("{field}: must be a string"))),
    }
}

/// Checks the form for `purpose` and makes the upload.
pub(crate) fn to_upload(form: UploadForm, purpose: Purpose) -> Result<Upload, ApiError> {
    let kind = match (purpose, form.kind.as_deref()) {
        (Purpose::RealPerson, None | Some("image")) => reelay_media::MediaKind::Image,
        (Purpose::RealPerson, Some(other)) => {
            return Err(ApiError::field(
                "type",
                format!("type: a real-person record is an image (got {other:?})"),
            ))
        }
        (_, None) => {
            return Err(ApiError::field(
                "type",
                "type: required; one of image, video, audio",
            ))
        }
        (_, Some(text)) => parse_kind(text).ok_or_else(|| {
            ApiError::field(
                "type",
                format!("type: must be one of image, video, audio (got {text:?})"),
            )
        })?,
    };
    let url = form.url.filter(|u| !u.trim().is_empty());
    let (source, default_name) = match (url, form.file) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "url",
                "url: give either url or a file part, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::field(
                "url",
                "url: required (an https:// URL), or send the bytes as a `file` part of multipart/form-data",
            ))
        }
        (Some(url), None) => {
            let last = url
                .trim()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("")
                .to_string();
            (Source::Url(url), last)
        }
        (None, Some((file, file_name))) => (Source::File(file), file_name.unwrap_or_default()),
    };
    let name = form.name.unwrap_or(default_name).trim().to_string();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::field(
            "name",
            format!("name: at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(Upload {
        purpose,
        kind,
        name,
        source,
    })
}
