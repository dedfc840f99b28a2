//! `GET /metrics`: Prometheus text (API.md §8) of the process's [`crate::metrics::Metrics`];
//! the task counts and queue depth are read from the database at scrape time.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Requests by route and status, tasks by model and status, queue depth, upstream calls and errors by channel, render seconds", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 500, description = "50000 internal error", body = crate::wire::envelope::Error500),
    ),
)]
pub(super) async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.tasks.count_into(&state.metrics).await?;
    let body = state.metrics.encode().map_err(ApiError::internal)?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}
