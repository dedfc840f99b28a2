//! Admin review of audited assets and real-person records (API.md §5):
//!
//! - `GET /admin/v1/reviews[?purpose=audit|realperson]`: items awaiting a decision (probed and
//!   stored), oldest first, each with a `preview_url` signed for one hour.
//! - `POST /admin/v1/reviews/{id}/approve`: → `Active` (real-person records gain `asset_ref`).
//! - `POST /admin/v1/reviews/{id}/reject` `{reason}`: → `Failed` with that reason.
//!
//! Decisions are recorded in the audit trail (`asset.approve`, `asset.reject`,
//! `realperson.approve`, `realperson.reject`) with the actor and time; an item that is not
//! awaiting review answers 409.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::Admin;
use crate::api::assets::asset_detail;
use crate::api::envelope::Data;
use crate::api::error::{ApiError, ErrorCode};
use crate::api::extract::{JsonObject, Path, Query};
use crate::api::AppState;
use crate::assets::review::{Decision, ReviewError};
use crate::assets::{asset_ref, AssetRow, Purpose};
use crate::wire::admin::{RejectRequest, ReviewItem, ReviewList};
use crate::wire::envelope::{
    Envelope, Error400, Error401, Error403, Error404, Error409, Error413, Error500,
};

/// How long a reviewer's preview link works.
const PREVIEW_TTL_SECS: i64 = 3600;
/// The admin review routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(pending, approve, reject))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reviews", get(pending))
        .route("/reviews/{id}/approve", post(approve))
        .route("/reviews/{id}/reject", post(reject))
}

#[derive(Deserialize)]
struct PendingParams {
    purpose: Option<String>,
}

/// The asset's detail (as its owner sees it) with its owner, purpose, reference and a preview URL.
fn review_item(state: &AppState, row: &AssetRow) -> ReviewItem {
    let detail = asset_detail(row);
    ReviewItem {
        account_id: row.account_id.clone(),
        asset_id: detail.asset_id,
        asset_ref: asset_ref(row),
        created_at: detail.created_at,
        duration: detail.duration,
        format: detail.format,
        height: detail.height,
        name: detail.name,
        preview_url: state
            .assets
            .signed_url(&state.public_url, row, PREVIEW_TTL_SECS),
        purpose: row.purpose.clone(),
        reason: detail.reason,
        review: detail.review,
        reviewed_at: detail.reviewed_at,
        reviewed_by: detail.reviewed_by,
        size_bytes: detail.size_bytes,
        status: detail.status,
        kind: detail.kind,
        updated_at: detail.updated_at,
        url: detail.url,
        width: detail.width,
    }
}

/// Items awaiting a review decision, oldest first (at most 200).
#[utoipa::path(
    get,
    path = "/reviews",
    tag = "admin",
    security(("admin_token" = [])),
    params(("purpose" = Option<String>, Query, description = "`audit` or `realperson`")),
    responses(
        (status = 200, description = "Pending items with a preview URL", body = Envelope<ReviewList>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 admin API off (no admin.token)", body = Error404),
        (status = 400, description = "40001 bad purpose", body = Error400),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn pending(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<PendingParams>,
) -> Result<Data<ReviewList>, ApiError> {
    let purpose = match params.purpose.as_deref() {
        None | Some("") => None,
        Some(text) => match Purpose::parse(text) {
            Some(p) if p.is_audited() => Some(p),
            _ => {
                return Err(ApiError::field(
                    "purpose",
                    format!("purpose: must be audit or realperson (got {text:?})"),
                ))
            }
        },
    };
    let items = state.assets.pending_reviews(purpose, 200).await?;
    let items = items.iter().map(|row| review_item(&state, row)).collect();
    Ok(Data(state.success, ReviewList { items }))
}

/// Approve an audited asset or real-person record: it becomes `Active`.
#[utoipa::path(
    post,
    path = "/reviews/{id}/approve",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "`asset_…` or `rp_…`")),
    responses(
        (status = 200, description = "The item, now Active", body = Envelope<ReviewItem>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such asset or record, or admin API off", body = Error404),
        (status = 409, description = "40900 the item is not awaiting review", body = Error409),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Data<ReviewItem>, ApiError> {
    decide(&state, &admin, &id, Decision::Approve).await
}

/// Reject an audited asset or real-person record: it becomes `Failed` with the reason.
#[utoipa::path(
    post,
    path = "/reviews/{id}/reject",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "`asset_…` or `rp_…`")),
    request_body(content = RejectRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The item, now Failed", body = Envelope<ReviewItem>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such asset or record, or admin API off", body = Error404),
        (status = 400, description = "40000 bad JSON body; 40001 invalid field (data.param)", body = Error400),
        (status = 409, description = "40900 the item is not awaiting review", body = Error409),
        (status = 413, description = "41300 body larger than the JSON limit", body = Error413),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Data<ReviewItem>, ApiError> {
    let reason = super::reason_field(&body)?;
    decide(&state, &admin, &id, Decision::Reject { reason }).await
}

async fn decide(
    state: &AppState,
    admin: &Admin,
    id: &str,
    decision: Decision,
) -> Result<Data<ReviewItem>, ApiError> {
    let row = state
        .assets
        .decide(&admin.actor, id, decision)
        .await
        .map_err(|e| match e {
            ReviewError::NotFound(id) => ApiError::new(
                ErrorCode::NotFound,
                format!("no asset or real-person record {id}"),
            ),
            e @ ReviewError::NotPending { .. } => ApiError::new(ErrorCode::Conflict, e.to_string()),
            ReviewError::Db(e) => ApiError::internal(e),
        })?;
    Ok(Data(state.success, review_item(state, &row)))
}
