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

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Admin;
use crate::api::assets::asset_json;
use crate::api::envelope::Data;
use crate::api::error::{ApiError, ErrorCode};
use crate::api::extract::JsonObject;
use crate::api::upload::string_field;
use crate::api::AppState;
use crate::assets::review::{Decision, ReviewError};
use crate::assets::{asset_ref, Purpose};
use crate::store::assets::{self as rows, AssetRow};

/// How long a reviewer's preview link works.
const PREVIEW_TTL_SECS: i64 = 3600;
/// Longest rejection reason.
const MAX_REASON_CHARS: usize = 1000;

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

fn review_json(state: &AppState, row: &AssetRow) -> Value {
    let mut out = asset_json(row);
    out["purpose"] = json!(row.purpose);
    out["account_id"] = json!(row.account_id);
    out["asset_ref"] = json!(asset_ref(row));
    out["preview_url"] = json!(state
        .assets
        .signed_url(&state.public_url, row, PREVIEW_TTL_SECS));
    out
}

async fn pending(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<PendingParams>,
) -> Result<Data<Value>, ApiError> {
    let purpose = match params.purpose.as_deref() {
        None | Some("") => None,
        Some(text) => match Purpose::parse(text) {
            Some(p) if p.is_audited() => Some(p.as_str()),
            _ => {
                return Err(ApiError::field(
                    "purpose",
                    format!("purpose: must be audit or realperson (got {text:?})"),
                ))
            }
        },
    };
    let items = rows::pending_reviews(&state.db, purpose, 200).await?;
    let items: Vec<Value> = items.iter().map(|row| review_json(&state, row)).collect();
    Ok(Data(state.success, json!({ "items": items })))
}

async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Data<Value>, ApiError> {
    decide(&state, &admin, &id, Decision::Approve).await
}

async fn reject(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Data<Value>, ApiError> {
    let reason = string_field(&body, "reason")?
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::field("reason", "reason: required; say why, the user will see it")
        })?;
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::field(
            "reason",
            format!("reason: at most {MAX_REASON_CHARS} characters"),
        ));
    }
    decide(&state, &admin, &id, Decision::Reject { reason }).await
}

async fn decide(
    state: &AppState,
    admin: &Admin,
    id: &str,
    decision: Decision,
) -> Result<Data<Value>, ApiError> {
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
    Ok(Data(state.success, review_json(state, &row)))
}
