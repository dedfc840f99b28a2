//! Asset routes (API.md §3): the SP library (`/seedance/sp/assets/*`) and the Full-route audit
//! (`/seedance/assets/*`). Another account's ids answer 404, never 403.
//!
//! - `upload` and `audit` take JSON `{name, type, url}` (fetched in the background; answers
//!   `Processing`) or multipart `name`, `type`, `file` (probed before answering; answers the
//!   final status). Both answer `{asset_id, status}` (+ `reason` when Failed).
//! - (ext) `POST /seedance/sp/assets/delete {asset_id}` removes an asset (any purpose) and its
//!   bytes; queued tasks that use it fail with a refund when they run.

use axum::extract::{Request, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use super::envelope::Data;
use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, JsonObject, Path, Query};
use super::listing::{one_of, parse_limit, position_cursor, split_by};
use super::upload::{read_form, take_upload_slot, to_upload, upload_body_limit};
use super::AppState;
use crate::assets::intake::{IntakeError, Source};
use crate::assets::{AssetFilter, AssetRow, Purpose};
use crate::wire::envelope::{Envelope, Error400, Error401, Error404, Error413, Error429, Error500};
use crate::wire::seed::{
    AssetAccepted, AssetDeleted, AssetDetail, AssetIdRequest, AssetIdsRequest, AssetItem,
    AssetPage, AssetStatus, AssetStatusList, AssetUploadForm, AssetUploadRequest,
};

/// Most ids in one status request.
pub(crate) const MAX_IDS: usize = 100;

/// The asset routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(upload, detail, status, delete, audit, audit_status, list, show))]
pub struct ApiDoc;

/// Asset routes; upload routes accept bodies up to `max_upload_bytes` (plus multipart overhead).
pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit = upload_body_limit(max_upload_bytes);
    Router::new()
        .route(
            &super::v1("/seedance/sp/assets/upload"),
            post(upload).layer(body_limit),
        )
        .route(&super::v1("/seedance/sp/assets/detail"), post(detail))
        .route(&super::v1("/seedance/sp/assets/status"), post(status))
        .route(&super::v1("/seedance/sp/assets/delete"), post(delete))
        .route(
            &super::v1("/seedance/assets/audit"),
            post(audit).layer(body_limit),
        )
        .route(&super::v1("/seedance/assets/status"), get(audit_status))
        .route(&super::v1("/assets"), get(list))
        .route(&super::v1("/assets/{asset_id}"), get(show))
}

/// Parses, checks and submits an upload for `purpose` (shared with the real-person routes).
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    request: Request,
    purpose: Purpose,
) -> Result<AssetRow, ApiError> {
    let _slot = take_upload_slot(state, &caller.key_id)?;
    let form = read_form(state, request).await?;
    let upload = to_upload(form, purpose)?;
    let param = match upload.source {
        Source::Url(_) => "url",
        Source::File(_) => "file",
    };
    state
        .assets
        .submit(&caller.account_id, upload)
        .await
        .map_err(|e| match e {
            IntakeError::BadUrl(message) => ApiError::field("url", message),
            IntakeError::Quota(message) => ApiError::field(param, message),
            IntakeError::TooLarge { limit, .. } => ApiError::new(
                ErrorCode::TooLarge,
                format!("file: uploads are limited to {limit} bytes (assets.max_upload_bytes)"),
            )
            .with_param("file"),
            IntakeError::Db(e) => ApiError::internal(e),
        })
}

/// `{asset_id, status}` plus `reason` when Failed (and `review` when reviewed): the answer to
/// an upload.
fn accepted_view(row: &AssetRow) -> AssetAccepted {
    AssetAccepted {
        asset_id: row.id.clone(),
        reason: row.reason.clone(),
        review: row.review.clone(),
        status: row.status.clone(),
    }
}

/// The full view of an asset (`detail`): the probed sizes once known; the review members only
/// for a reviewed purpose (`reviewed_by` and `reviewed_at` then `null` until decided).
pub(crate) fn asset_detail(row: &AssetRow) -> AssetDetail {
    let reviewed = row.review.is_some();
    AssetDetail {
        asset_id: row.id.clone(),
        created_at: row.created_at,
        duration: row.duration_ms.map(|ms| ms as f64 / 1000.0),
        format: row.format.clone(),
        height: row.height,
        name: row.name.clone(),
        reason: row.reason.clone(),
        review: row.review.clone(),
        reviewed_at: reviewed.then_some(row.reviewed_at),
        reviewed_by: reviewed.then(|| row.reviewed_by.clone()),
        size_bytes: row.size_bytes,
        status: row.status.clone(),
        kind: row.kind.clone(),
        updated_at: row.updated_at,
        url: row.source_url.clone(),
        width: row.width,
    }
}

/// How long a listing's `content_url` works: until the top of the hour after next, so the URL
/// of an asset stays the same for an hour (a page that refreshes does not reload its previews).
fn content_url_expiry(now: i64) -> i64 {
    (now / 3600 + 2) * 3600
}

/// One asset of the caller's listing, with a signed URL of its stored bytes.
fn asset_item(state: &AppState, row: &AssetRow, now: i64) -> AssetItem {
    let view = state.view();
    let content_url = row.object_key.as_deref().map(|key| {
        view.storage
            .result_url(view.public_url, key, Some(content_url_expiry(now)), now)
    });
    AssetItem {
        asset_id: row.id.clone(),
        asset_ref: crate::assets::asset_ref(row),
        content_url,
        created_at: row.created_at,
        duration: row.duration_ms.map(|ms| ms as f64 / 1000.0),
        format: row.format.clone(),
        height: row.height,
        name: row.name.clone(),
        purpose: row.purpose.clone(),
        reason: row.reason.clone(),
        review: row.review.clone(),
        size_bytes: row.size_bytes,
        status: row.status.clone(),
        kind: row.kind.clone(),
        updated_at: row.updated_at,
        url: row.source_url.clone(),
        width: row.width,
    }
}

/// One item of a status listing.
fn status_view(row: &AssetRow) -> AssetStatus {
    AssetStatus {
        asset_id: row.id.clone(),
        name: row.name.clone(),
        reason: row.reason.clone(),
        review: row.review.clone(),
        status: row.status.clone(),
        kind: row.kind.clone(),
    }
}

/// Add an asset to the SP library: JSON `{name, type, url}` or multipart `name`, `type`, `file`.
#[utoipa::path(
    post,
    path = "/seedance/sp/assets/upload",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content(
        (AssetUploadRequest = "application/json"),
        (AssetUploadForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Accepted: `Processing` for a URL (fetched in the background), the final status for bytes", body = Envelope<AssetAccepted>),
        (status = 400, description = "40000 body neither JSON nor multipart; 40001 bad name, type or url, or over the account's quota", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 413, description = "41300 upload larger than assets.max_upload_bytes", body = Error413),
        (status = 429, description = "42900 key's request rate limit, or `limits.uploads_per_key` uploads of this key in progress", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Data<AssetAccepted>, ApiError> {
    let row = submit(&state, &caller, request, Purpose::Library).await?;
    Ok(Data(state.success, accepted_view(&row)))
}

/// Submit an asset for the Full-route audit (same body as upload), then a review decision.
#[utoipa::path(
    post,
    path = "/seedance/assets/audit",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content(
        (AssetUploadRequest = "application/json"),
        (AssetUploadForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Accepted: `Processing` for a URL (fetched in the background), the final status for bytes", body = Envelope<AssetAccepted>),
        (status = 400, description = "40000 body neither JSON nor multipart; 40001 bad name, type or url, or over the account's quota", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 413, description = "41300 upload larger than assets.max_upload_bytes", body = Error413),
        (status = 429, description = "42900 key's request rate limit, or `limits.uploads_per_key` uploads of this key in progress", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Data<AssetAccepted>, ApiError> {
    let row = submit(&state, &caller, request, Purpose::Audit).await?;
    Ok(Data(state.success, accepted_view(&row)))
}

/// The required `asset_id` string of a body.
pub(crate) fn asset_id_field(body: &Value) -> Result<String, ApiError> {
    match body.get("asset_id") {
        Some(Value::String(id)) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        None | Some(Value::Null) => Err(ApiError::field("asset_id", "asset_id: required")),
        Some(_) => Err(ApiError::field(
            "asset_id",
            "asset_id: must be a non-empty string",
        )),
    }
}

/// The required `asset_ids` list of a body: 1–100 strings.
pub(crate) fn asset_ids_field(body: &Value) -> Result<Vec<String>, ApiError> {
    let bad = || {
        ApiError::field(
            "asset_ids",
            format!("asset_ids: must be a list of 1 to {MAX_IDS} asset id strings"),
        )
    };
    let list = body
        .get("asset_ids")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    if list.is_empty() || list.len() > MAX_IDS {
        return Err(bad());
    }
    list.iter()
        .map(|v| v.as_str().map(|s| s.trim().to_string()).ok_or_else(bad))
        .collect()
}

/// The caller's assets of `purposes` by id, in request order; any unknown id is 404.
pub(crate) async fn owned_rows(
    state: &AppState,
    caller: &Caller,
    ids: &[String],
    purposes: &[Purpose],
    what: &str,
) -> Result<Vec<AssetRow>, ApiError> {
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let row = state
            .assets
            .get_for_account(&caller.account_id, id)
            .await?
            .filter(|row| purposes.iter().any(|p| p.as_str() == row.purpose))
            .ok_or_else(|| ApiError::not_found(&format!("{what} {id}")))?;
        found.push(row);
    }
    Ok(found)
}

const ASSET_PURPOSES: [Purpose; 2] = [Purpose::Library, Purpose::Audit];

/// One asset of the caller's (library or audit).
#[utoipa::path(
    post,
    path = "/seedance/sp/assets/detail",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content = AssetIdRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The asset", body = Envelope<AssetDetail>),
        (status = 400, description = "40000 bad JSON body; 40001 missing asset_id", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such asset for this key's account", body = Error404),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<AssetDetail>, ApiError> {
    let id = asset_id_field(&body)?;
    let rows = owned_rows(&state, &caller, &[id], &ASSET_PURPOSES, "asset").await?;
    Ok(Data(state.success, asset_detail(&rows[0])))
}

/// Status of 1 to 100 of the caller's assets, in request order.
#[utoipa::path(
    post,
    path = "/seedance/sp/assets/status",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content = AssetIdsRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The statuses", body = Envelope<AssetStatusList>),
        (status = 400, description = "40000 bad JSON body; 40001 asset_ids not a list of 1-100 strings", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 one of the ids is not the caller's asset", body = Error404),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn status(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<AssetStatusList>, ApiError> {
    let ids = asset_ids_field(&body)?;
    let rows = owned_rows(&state, &caller, &ids, &ASSET_PURPOSES, "asset").await?;
    let items = rows.iter().map(status_view).collect();
    Ok(Data(state.success, AssetStatusList { items }))
}

#[derive(Deserialize)]
struct AuditStatusParams {
    asset_ids: Option<String>,
}

/// Status of audited assets: `?asset_ids=a,b`.
#[utoipa::path(
    get,
    path = "/seedance/assets/status",
    tag = "assets",
    security(("api_key" = [])),
    params(("asset_ids" = String, Query, description = "1 to 100 comma-separated asset ids")),
    responses(
        (status = 200, description = "The statuses", body = Envelope<AssetStatusList>),
        (status = 400, description = "40001 asset_ids missing or more than 100", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 one of the ids is not the caller's asset", body = Error404),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn audit_status(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AuditStatusParams>,
) -> Result<Data<AssetStatusList>, ApiError> {
    let ids: Vec<String> = params
        .asset_ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(ApiError::field(
            "asset_ids",
            format!("asset_ids: give 1 to {MAX_IDS} comma-separated asset ids"),
        ));
    }
    let rows = owned_rows(&state, &caller, &ids, &ASSET_PURPOSES, "asset").await?;
    let items = rows.iter().map(status_view).collect();
    Ok(Data(state.success, AssetStatusList { items }))
}

/// (ext) Delete an asset and its bytes; queued tasks using it fail with a refund.
#[utoipa::path(
    post,
    path = "/seedance/sp/assets/delete",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content = AssetIdRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Deleted", body = Envelope<AssetDeleted>),
        (status = 400, description = "40000 bad JSON body; 40001 missing asset_id", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such asset for this key's account", body = Error404),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<AssetDeleted>, ApiError> {
    let id = asset_id_field(&body)?;
    if !state.assets.delete(&caller.account_id, &id).await? {
        return Err(ApiError::not_found(&format!("asset {id}")));
    }
    Ok(Data(
        state.success,
        AssetDeleted {
            asset_id: id,
            deleted: true,
        },
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;

    /// The `json!` builders these answers had before the wire types, kept as the reference:
    /// which members are left out (not `null`) when the row has no value for them.
    fn accepted_before(row: &AssetRow) -> Value {
        let mut out = json!({ "asset_id": row.id, "status": row.status });
        if let Some(reason) = &row.reason {
            out["reason"] = json!(reason);
        }
        if row.review.is_some() {
            out["review"] = json!(row.review);
        }
        out
    }

    fn detail_before(row: &AssetRow) -> Value {
        let mut out = Map::new();
        out.insert("asset_id".into(), json!(row.id));
        out.insert("status".into(), json!(row.status));
        out.insert("name".into(), json!(row.name));
        out.insert("type".into(), json!(row.kind));
        out.insert("url".into(), json!(row.source_url));
        out.insert("created_at".into(), json!(row.created_at));
        out.insert("updated_at".into(), json!(row.updated_at));
        if let Some(width) = row.width {
            out.insert("width".into(), json!(width));
        }
        if let Some(height) = row.height {
            out.insert("height".into(), json!(height));
        }
        if let Some(ms) = row.duration_ms {
            out.insert("duration".into(), json!(ms as f64 / 1000.0));
        }
        out.insert("size_bytes".into(), json!(row.size_bytes));
        out.insert("format".into(), json!(row.format));
        out.insert("reason".into(), json!(row.reason));
        if row.review.is_some() {
            out.insert("review".into(), json!(row.review));
            out.insert("reviewed_by".into(), json!(row.reviewed_by));
            out.insert("reviewed_at".into(), json!(row.reviewed_at));
        }
        Value::Object(out)
    }

    fn status_before(row: &AssetRow) -> Value {
        let mut out = json!({ "asset_id": row.id, "status": row.status, "name": row.name, "type": row.kind, "reason": row.reason });
        if row.review.is_some() {
            out["review"] = json!(row.review);
        }
        out
    }

    /// Rows with and without probed sizes, a failure reason, a review and its decision.
    fn rows() -> Vec<AssetRow> {
        let base = AssetRow {
            id: "asset_1".into(),
            account_id: "acct_1".into(),
            purpose: "library".into(),
            kind: "image".into(),
            name: "cat".into(),
            source_url: None,
            status: "Processing".into(),
            reason: None,
            review: None,
            reviewed_by: None,
            reviewed_at: None,
            object_key: None,
            format: None,
            width: None,
            height: None,
            duration_ms: None,
            size_bytes: 0,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_001,
        };
        let probed = AssetRow {
            status: "Active".into(),
            source_url: Some("https://example.com/cat.png".into()),
            format: Some("png".into()),
            width: Some(640),
            height: Some(480),
            size_bytes: 1234,
            ..base.clone()
        };
        let audio = AssetRow {
            kind: "audio".into(),
            format: Some("wav".into()),
            duration_ms: Some(3_250),
            ..probed.clone()
        };
        let failed = AssetRow {
            status: "Failed".into(),
            reason: Some("too small".into()),
            ..base.clone()
        };
        let pending = AssetRow {
            purpose: "audit".into(),
            review: Some("pending".into()),
            ..probed.clone()
        };
        let decided = AssetRow {
            review: Some("approved".into()),
            reviewed_by: Some("admin:alice".into()),
            reviewed_at: Some(1_700_000_100),
            ..pending.clone()
        };
        vec![base, probed, audio, failed, pending, decided]
    }

    fn written<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).expect("serialize")
    }

    #[test]
    fn asset_answers_write_the_bytes_of_the_maps_they_replaced() {
        for row in rows() {
            assert_eq!(
                written(&accepted_view(&row)),
                accepted_before(&row).to_string()
            );
            assert_eq!(
                written(&asset_detail(&row)),
                detail_before(&row).to_string()
            );
            assert_eq!(written(&status_view(&row)), status_before(&row).to_string());
        }
    }
}

#[derive(Deserialize)]
struct ListParams {
    purpose: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// (ext) The caller's assets of every purpose, newest first.
#[utoipa::path(
    get,
    path = "/assets",
    tag = "assets",
    security(("api_key" = [])),
    params(
        ("purpose" = Option<String>, Query, description = "`library` (SP library), `audit` (Full-route audit) or `realperson`; all when absent"),
        ("status" = Option<String>, Query, description = "`Processing`, `Active` or `Failed`"),
        ("type" = Option<String>, Query, description = "`image`, `video` or `audio`"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of assets", body = Envelope<AssetPage>),
        (status = 400, description = "40001 bad purpose, status, type, limit or cursor", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Data<AssetPage>, ApiError> {
    let purpose = one_of(
        "purpose",
        &params.purpose,
        &[
            Purpose::Library.as_str(),
            Purpose::Audit.as_str(),
            Purpose::RealPerson.as_str(),
        ],
    )?;
    let status = one_of(
        "status",
        &params.status,
        &["Processing", "Active", "Failed"],
    )?;
    let kind = one_of("type", &params.kind, &["image", "video", "audio"])?;
    let limit = parse_limit(params.limit.as_deref())?;
    let before = position_cursor(params.cursor.as_deref())?;
    let rows = state
        .assets
        .page(&AssetFilter {
            account_id: &caller.account_id,
            purpose,
            status,
            kind,
            before,
            limit: limit + 1,
        })
        .await?;
    let (rows, next_cursor) = split_by(&rows, limit, |row| (row.created_at, row.id.as_str()));
    let now = crate::clock::now();
    let items = rows
        .iter()
        .map(|row| asset_item(&state, row, now))
        .collect();
    Ok(Data(state.success, AssetPage { items, next_cursor }))
}

/// (ext) One of the caller's assets of any purpose, as `GET /assets` lists it.
#[utoipa::path(
    get,
    path = "/assets/{asset_id}",
    tag = "assets",
    security(("api_key" = [])),
    params(("asset_id" = String, Path, description = "`asset_…` or `rp_…`")),
    responses(
        (status = 200, description = "The asset", body = Envelope<AssetItem>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such asset for this key's account", body = Error404),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Data<AssetItem>, ApiError> {
    let row = state
        .assets
        .get_for_account(&caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("asset {id}")))?;
    Ok(Data(
        state.success,
        asset_item(&state, &row, crate::clock::now()),
    ))
}
