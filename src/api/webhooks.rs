//! `POST /account/webhook-secret` (create or rotate the signing secret, shown once) and the
//! `webhook` delivery state reported on `GET /videos/{id}` (API.md §6).
//!
//! The secret is stored server-side (`accounts.webhook_secret`), sealed with `secrets.key` when
//! one is set (`keyring`): reelay must read it back to sign every delivery, unlike API keys,
//! which it only has to verify and keeps hashed.

use axum::extract::State;
use axum::routing::post;
use axum::Router;

use super::envelope::Data;
use super::error::ApiError;
use super::extract::Caller;
use super::AppState;
use crate::webhooks::Delivery;
use crate::wire::envelope::{Envelope, Error401, Error404, Error429, Error500};
use crate::wire::seed::{WebhookDelivery, WebhookSecret};

/// The webhook secret route's part of `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(rotate_secret))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route(&super::v1("/account/webhook-secret"), post(rotate_secret))
}

/// Creates or replaces the account's webhook secret; deliveries from now on are signed with it.
#[utoipa::path(
    post,
    path = "/account/webhook-secret",
    tag = "account",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The new secret, shown once", body = Envelope<WebhookSecret>),
        (status = 401, description = "40100 missing or invalid API key", body = Error401),
        (status = 404, description = "40400 the key's account is gone", body = Error404),
        (status = 429, description = "42900 key's request rate limit", body = Error429, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "50000 internal error", body = Error500),
    ),
)]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Data<WebhookSecret>, ApiError> {
    let Some(secret) = state.webhooks.rotate_secret(&caller.account_id).await? else {
        return Err(ApiError::not_found("account"));
    };
    tracing::info!("webhook secret rotated");
    Ok(Data(state.success, WebhookSecret { secret }))
}

/// The public view of a delivery.
pub(crate) fn delivery_view(delivery: Delivery) -> WebhookDelivery {
    WebhookDelivery {
        attempts: delivery.attempts,
        delivered_at: delivery.delivered_at,
        last_error: delivery.last_error,
        last_status: delivery.last_status,
        next_attempt_at: delivery.next_attempt_at,
        state: delivery.state,
        url: delivery.url,
        webhook_id: delivery.id,
    }
}

/// The `webhook` of a task: `null`, or the delivery of a task with a `callback_url` that
/// ended (`webhooks::Webhooks::delivery_of`).
pub(crate) async fn delivery_of(
    state: &AppState,
    task: &crate::tasks::view::TaskView<'_>,
) -> Result<Option<WebhookDelivery>, sqlx::Error> {
    Ok(state.webhooks.delivery_of(task).await?.map(delivery_view))
}
