//! `GET /admin/v1/channels` (health, in-flight, recent error rate, breaker) and
//! `POST /admin/v1/channels/{name}/pause|resume`. A paused channel takes no new tasks; what it
//! already runs continues. The switch is stored, so it survives restarts.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;

use super::Admin;
use crate::api::envelope::Data;
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::api::AppState;
use crate::providers::channels::HealthView;
use crate::wire::admin::{ChannelError, ChannelHealth, ChannelList, ChannelSwitched, ChannelView};
use crate::wire::envelope::{Envelope, Error401, Error403, Error404, Error500};

/// The admin channel routes' part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, pause, resume))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list))
        .route("/channels/{name}/pause", post(pause))
        .route("/channels/{name}/resume", post(resume))
}

/// Channels with their health, in-flight counts and breaker.
#[utoipa::path(
    get,
    path = "/channels",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every channel", body = Envelope<ChannelList>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 admin API off (no admin.token)", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Data<ChannelList>, ApiError> {
    let loads = state.tasks.channel_loads().await?;
    let items = state
        .channels
        .list
        .iter()
        .map(|channel| {
            let settings = &channel.settings;
            let name = settings.name.as_str();
            let (queued, processing) = loads.queued_and_processing(name);
            ChannelView {
                health: health(channel.health_view()),
                in_flight: loads.in_flight(name),
                max_concurrency: i64::from(settings.max_concurrency),
                models: settings.models.clone(),
                name: name.to_string(),
                priority: settings.priority,
                processing,
                provider: settings.provider.clone(),
                queued_upstream: queued,
                rpm: i64::from(settings.rpm),
                weight: i64::from(settings.weight),
            }
        })
        .collect();
    Ok(Data(state.success, ChannelList { items }))
}

/// A channel's health as operators see it.
fn health(view: HealthView) -> ChannelHealth {
    ChannelHealth {
        breaker: view.breaker.to_string(),
        breaker_reason: view.breaker_reason,
        consecutive_failures: view.consecutive_failures,
        creates_last_minute: view.creates_last_minute,
        last_error: view.last_error,
        paused: view.paused,
        recent_calls: view.recent_calls,
        recent_error_rate: view.recent_error_rate,
        recent_errors: view
            .recent_errors
            .into_iter()
            .map(|(at, message)| ChannelError { at, message })
            .collect(),
    }
}

/// Pause a channel: it takes no new tasks (stored; survives restarts).
#[utoipa::path(
    post,
    path = "/channels/{name}/pause",
    tag = "admin",
    security(("admin_token" = [])),
    params(("name" = String, Path, description = "Channel name")),
    responses(
        (status = 200, description = "Paused", body = Envelope<ChannelSwitched>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such channel, or admin API off", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn pause(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
) -> Result<Data<ChannelSwitched>, ApiError> {
    switch(state, admin, name, true).await
}

/// Resume a paused channel.
#[utoipa::path(
    post,
    path = "/channels/{name}/resume",
    tag = "admin",
    security(("admin_token" = [])),
    params(("name" = String, Path, description = "Channel name")),
    responses(
        (status = 200, description = "Resumed", body = Envelope<ChannelSwitched>),
        (status = 401, description = "40100 missing or invalid admin token", body = Error401),
        (status = 403, description = "40300 an API key was sent instead of the admin token", body = Error403),
        (status = 404, description = "40400 no such channel, or admin API off", body = Error404),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn resume(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
) -> Result<Data<ChannelSwitched>, ApiError> {
    switch(state, admin, name, false).await
}

async fn switch(
    state: AppState,
    admin: Admin,
    name: String,
    paused: bool,
) -> Result<Data<ChannelSwitched>, ApiError> {
    let channel = state
        .channels
        .get(&name)
        .ok_or_else(|| ApiError::not_found(&format!("channel {name}")))?
        .clone();
    state.tasks.store_channel_pause(&name, paused).await?;
    channel.set_paused(paused);
    let action = if paused {
        "channel.pause"
    } else {
        "channel.resume"
    };
    state
        .audit
        .record(&admin.actor, action, Some(&name), None)
        .await?;
    tracing::info!(channel = %name, paused, actor = %admin.actor, "channel switched");
    if !paused {
        state.wake.notify_one();
    }
    Ok(Data(
        state.success,
        ChannelSwitched {
            health: health(channel.health_view()),
            name,
            paused,
        },
    ))
}
