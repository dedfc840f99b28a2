//! Real-person whitelist routes (API.md §3): submit a likeness `{name, url}` (or multipart
//! `name`, `file`), then poll `status` / `batch-status`. A record is `Processing` until probed
//! and reviewed (policy `assets.realperson_policy`, default `manual`), then `Active` with
//! `asset_ref` (`asset://rp_…`, usable as an image in any model that takes assets) or `Failed`
//! with a `reason`.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use super::assets::{asset_id_field, asset_ids_field, owned_rows, submit};
use super::envelope::Data;
use super::error::ApiError;
use super::extract::{Caller, JsonObject};
use super::upload::MULTIPART_SLACK;
use super::AppState;
use crate::assets::{asset_ref, Purpose};
use crate::store::assets::AssetRow;

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit = DefaultBodyLimit::max(
        usize::try_from(max_upload_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(MULTIPART_SLACK),
    );
    Router::new()
        .route(
            "/seedance/sp/realperson/submit",
            post(submit_record).layer(body_limit),
        )
        .route("/seedance/sp/realperson/status", post(status))
        .route("/seedance/sp/realperson/batch-status", post(batch_status))
}

/// The view of a real-person record.
pub fn record_json(row: &AssetRow) -> Value {
    json!({
        "asset_id": row.id,
        "status": row.status,
        "asset_ref": asset_ref(row),
        "name": row.name,
        "url": row.source_url,
        "reason": row.reason,
        "reviewed_by": row.reviewed_by,
        "reviewed_at": row.reviewed_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
async fn submit_record(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Data<Value>, ApiError> {
    let row = submit(&state, &caller, request, Purpose::RealPerson).await?;
    Ok(Data(state.success, record_json(&row)))
}

async fn status(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<Value>, ApiError> {
    let id = asset_id_field(&body)?;
    let rows = owned_rows(
        &state,
        &caller,
        &[id],
        &[Purpose::RealPerson],
        "real-person record",
    )
    .await?;
    Ok(Data(state.success, record_json(&rows[0])))
}

async fn batch_status(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Data<Value>, ApiError> {
    let ids = asset_ids_field(&body)?;
    let rows = owned_rows(
        &state,
        &caller,
        &ids,
        &[Purpose::RealPerson],
        "real-person record",
    )
    .await?;
    let items: Vec<Value> = rows.iter().map(record_json).collect();
    Ok(Data(state.success, json!({ "items": items })))
}
