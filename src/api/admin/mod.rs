//! The admin API under `/admin/v1` (API.md §5): bearer admin token (`admin.token`); a user key
//! gets 40300; the routes answer 404 when no admin token is configured. Every action is recorded
//! in the audit trail (`audit::AuditTrail`) with its time and actor.
//!
//! One file per resource: add `pub mod x;` here and merge `x::router()` in `router()`.

pub mod accounts;
pub mod assets;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{extract::State, Router};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::envelope::Data;
use super::error::{ApiError, ErrorCode};
use super::AppState;
use crate::wire::admin::{AuditEntry, AuditList};
use crate::wire::envelope::{Envelope, Error400, Error401, Error403, Error404, Error500};

pub mod channels;
pub mod tasks;

/// Longest reason an operator gives (a rejection, a failed task).
const MAX_REASON_CHARS: usize = 1000;

/// The required `reason` of an operator's decision that the user will see: trimmed, 1–1000
/// characters, else 40001 naming `reason`.
fn reason_field(body: &serde_json::Value) -> Result<String, ApiError> {
    let reason = crate::api::upload::string_field(body, "reason")?
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
    Ok(reason)
}

/// An authenticated operator. `actor` names who acted in the audit trail.
#[derive(Debug, Clone)]
pub struct Admin {
    pub actor: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, ApiError> {
        let Some(token) = state.admin_token.as_ref() else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "admin API is off: set admin.token (REELAY_ADMIN__TOKEN) to enable it",
            ));
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::api::extract::bearer_credentials)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "missing admin token; send `Authorization: Bearer <admin token>`",
                )
            })?;
        let matches: bool = presented
            .as_bytes()
            .ct_eq(token.expose_secret().as_bytes())
            .into();
        if matches {
            // An optional `X-Reelay-Actor` names the person acting; it defaults to `admin`.
            let actor = parts
                .headers
                .get("x-reelay-actor")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && v.len() <= 100)
                .map(|v| format!("admin:{v}"))
                .unwrap_or_else(|| "admin".to_string());
            return Ok(Admin { actor });
        }
        if presented.starts_with("sk_") {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "an API key cannot use the admin API; use the admin token",
            ));
        }
        Err(ApiError::new(
            ErrorCode::Unauthorized,
            "admin token is invalid",
        ))
    }
}

/// The admin routes of this file in `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(audit))]
pub struct ApiDoc;

/// Every admin route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit))
        .merge(accounts::router())
        .merge(assets::router())
        .merge(channels::router())
        .merge(tasks::router())
}

#[derive(serde::Deserialize)]
struct AuditParams {
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /admin/v1/audit`: admin actions, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "admin",
    security(("admin_token" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1-100, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "The audit trail, newest first", body = Envelope<AuditList>),
        (status = 400, description = "40001 bad limit or cursor", body = Error400),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 admin API off (no admin.token)", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    crate::api::extract::Query(params): crate::api::extract::Query<AuditParams>,
) -> Result<Data<AuditList>, ApiError> {
    let limit = match params.limit.as_deref() {
        None => 50,
        limit => crate::api::listing::parse_limit(limit)?,
    };
    let before = crate::api::listing::seq_cursor(params.cursor.as_deref())?;
    let actions = state.audit.recent(before, limit + 1).await?;
    let (actions, next_cursor) = crate::api::listing::split_by_seq(&actions, limit, |a| a.seq);
    let items = actions
        .iter()
        .map(|action| AuditEntry {
            action: action.action.clone(),
            actor: action.actor.clone(),
            at: action.at,
            detail: action.detail.clone(),
            seq: action.seq,
            target: action.target.clone(),
        })
        .collect();
    Ok(Data(state.success, AuditList { items, next_cursor }))
}
