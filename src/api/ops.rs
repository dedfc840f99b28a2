//! Ops routes: `/healthz` (the process is up) and `/readyz` (database and storage answer).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use crate::wire::ops::{Health, Readiness};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses((status = 200, description = "Up", body = Health)),
)]
pub(super) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
    })
}

/// The database and object storage answer.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "The database or storage does not answer", body = Readiness),
    ),
)]
pub(super) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = state.tasks.database_answers().await;
    let storage = state.storage.ping().await;
    let status = if database && storage {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let readiness = Readiness {
        database,
        status: if status == StatusCode::OK {
            "ready"
        } else {
            "not_ready"
        }
        .to_string(),
        storage,
    };
    (status, Json(readiness))
}
