//! Real-person whitelist routes (API.md §3): submit a likeness `{name, url}` (or multipart
//! `name`, `file`), then poll `status` / `batch-status`. A record is `Processing` until probed
//! and reviewed (policy `assets.realperson_policy`, default `manual`), then `Active` with
//! `asset_ref` (`asset://rp_…`, usable as an image in any model that takes assets) or `Failed`
//! with a `reason`.

use axum::extract::{Request, State};
use axum::routing::post;
use axum::Router;

use super::assets::{asset_id_field, asset_ids_field, owned_rows, submit};
use super::envelope::Data;
use super::error::ApiError;
use super::extract::{Caller, JsonObject};
use super::upload::upload_body_limit;
use super::AppState;
use crate::assets::{asset_ref, AssetRow, Purpose};
use crate::wire::envelope::{Envelope, Error400, Error401, Error404, Error413, Error429, Error500};
use crate::wire::seed::{
    AssetIdRequest, AssetIdsRequest, RealPersonForm, RealPersonList, RealPersonRecord,
    RealPersonRequest,
};

/// The real-person routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(submit_record, status, batch_status))]
pub struct ApiDoc;

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit = upload_body_limit(max_upload_bytes);
    Router::new()
        .route(
            &super::v1("/seedance/sp/realperson/submit"),
            post(submit_record).layer(body_limit),
        )
        .route(&super::v1("/seedance/sp/realperson/status"), post(status))
        .route(
            &super::v1("/seedance/sp/realperson/batch-status"),
            post(batch_status),
        )
}

/// The view of a real-person record.
pub(crate) fn record_view(row: &AssetRow) -> RealPersonRecord {
    RealPersonRecord {
        asset_id: row.id.clone(),
        asset_ref: asset_ref(row),
        created_at: row.created_at,
        name: row.name.clone(),
        reason: row.reason.clone(),
        reviewed_at: row.reviewed_at,
        reviewed_by: row.reviewed_by.clone(),
        status: row.status.clone(),
        updated_at: row.updated_at,
        url: row.source_url.clone(),
    }
}

/// Submit a real person's likeness (an image) for the whitelist: JSON `{name, url}` or multipart `name`, `file`.
#[utoipa::path(
    post,
    path = "/seedance/sp/realperson/submit",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content(
        (RealPersonRequest = "application/json"),
        (RealPersonForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Accepted: `Processing` for a URL (fetched in the background), the final status for bytes", body = Envelope<RealPersonRecord>),
        (status = 400, description = "40000 body neither JSON nor multipart; 40001 bad name, type or url, or over the account's quota", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 413, description = "41300 upload larger than assets.max_upload_bytes", body = Error413),
        (status = 429, description = "42900 key's request rate limit, or `limits.uploads_per_key` uploads of this key in progress", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn submit_record(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Data<RealPersonRecord>, ApiError> {
    let row = submit(&state, &caller, request, Purpose::RealPerson).await?;
    Ok(Data(state.success, record_view(&row)))
}

/// One real-person record of the caller's.
#[utoipa::path(
    post,
    path = "/seedance/sp/realperson/status",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content = AssetIdRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The record", body = Envelope<RealPersonRecord>),
        (status = 400, description = "40000 bad JSON body; 40001 missing asset_id", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 no such record for this key's account", body = Error404),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn status(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<RealPersonRecord>, ApiError> {
    let id = asset_id_field(&body)?;
    let rows = owned_rows(
        &state,
        &caller,
        &[id],
        &[Purpose::RealPerson],
        "real-person record",
    )
    .await?;
    Ok(Data(state.success, record_view(&rows[0])))
}

/// 1 to 100 real-person records of the caller's, in request order.
#[utoipa::path(
    post,
    path = "/seedance/sp/realperson/batch-status",
    tag = "assets",
    security(("api_key" = [])),
    request_body(content = AssetIdsRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The records", body = Envelope<RealPersonList>),
        (status = 400, description = "40000 bad JSON body; 40001 asset_ids not a list of 1-100 strings", body = Error400),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 one of the ids is not the caller's record", body = Error404),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn batch_status(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<RealPersonList>, ApiError> {
    let ids = asset_ids_field(&body)?;
    let rows = owned_rows(
        &state,
        &caller,
        &ids,
        &[Purpose::RealPerson],
        "real-person record",
    )
    .await?;
    let items = rows.iter().map(record_view).collect();
    Ok(Data(state.success, RealPersonList { items }))
}
