//! `POST /upstream/v1/callbacks/{channel}`: status-change notices from upstreams (Ark POSTs the
//! task object to the `callback_url` reelay sent). Ark signs nothing, so a callback is only a
//! hint: it makes the channel's poller fetch that task's status now, and the poller acts on what
//! the upstream's own API says, never on the callback body.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use super::extract::Path;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/upstream/v1/callbacks/{channel}", post(callback))
}

#[tracing::instrument(skip_all, fields(channel = %channel))]
async fn callback(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    body: Bytes,
) -> StatusCode {
    let Some(runtime) = state
        .channels
        .get(&channel)
        .filter(|c| c.execution() == crate::providers::Execution::Remote)
    else {
        return StatusCode::NOT_FOUND;
    };
    let Ok(notice) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(upstream_id) = notice["id"].as_str().or(notice["task_id"].as_str()) else {
        return StatusCode::BAD_REQUEST;
    };
    match state.tasks.poll_soon(&channel, upstream_id).await {
        Ok(known) => {
            tracing::debug!(%upstream_id, known, "upstream callback");
            if known {
                runtime.wake.notify_one();
            }
            // Unknown ids are acknowledged too, so the sender stops retrying.
            StatusCode::OK
        }
        Err(error) => {
            tracing::error!(%error, "recording an upstream callback failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
