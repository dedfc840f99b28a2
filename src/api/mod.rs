//! The HTTP API: one router per resource, the envelope, the error table, auth, and ops routes.

pub mod account;
pub mod admin;
pub mod ark;
pub mod assets;
pub mod companion;
pub mod console;
pub mod content;
pub mod envelope;
pub mod error;
pub mod events;
pub mod extract;
pub mod files;
pub mod lang;
pub(crate) mod listing;
pub mod metrics;
pub mod openai;
pub mod openapi;
pub mod ops;
pub mod per_key;
pub mod realperson;
pub mod serve;
pub mod upload;
pub mod upstream_callbacks;
pub mod videos;
pub mod webhooks;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::response::Response;
use axum::Router;
use reelay_catalog::Catalog;
use tokio::sync::Notify;

use crate::storage::Storage;
use crate::tasks::view::ViewContext;
use envelope::SuccessCode;
use error::{ApiError, ErrorCode};

/// Shared state of every handler: one allocation, so the clones axum makes per request (the
/// middleware, each `State` extractor) are a reference count and not a copy of every field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every handler reads (through `AppState`). Handlers reach the database only through the
/// domain services here (`accounts`, `tasks`, `submitter`, `assets`, `webhooks`, `audit`).
pub struct Shared {
    /// Accounts, keys, per-key limits, credits and the ledger.
    pub accounts: crate::accounts::Accounts,
    /// Task reads, lists and cancel; the load and pause switch of the channels.
    pub tasks: crate::tasks::Tasks,
    /// Webhook secrets and the delivery state of a task.
    pub webhooks: crate::webhooks::Webhooks,
    /// The admin audit trail.
    pub audit: crate::audit::AuditTrail,
    pub catalog: Arc<Catalog>,
    pub storage: Storage,
    pub success: SuccessCode,
    /// Origin of the URLs reelay hands out, without a trailing slash.
    pub public_url: Arc<str>,
    /// 0 = results kept forever.
    pub retention_secs: i64,
    /// Poked on create so an idle worker claims at once.
    pub wake: Arc<Notify>,
    /// The channels that run tasks (routing, health, pause).
    pub channels: Arc<crate::providers::channels::Channels>,
    /// Largest JSON body accepted.
    pub max_body_bytes: usize,
    /// Admin token; admin routes are off when `None`.
    pub admin_token: Option<secrecy::SecretString>,
    /// Default per-key limits (a key's own `rpm` / `max_in_flight` override them).
    pub limits: crate::config::LimitSettings,
    /// Prometheus metrics of this process.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Fires at shutdown; long-lived responses (event streams) end on it.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The asset library, audits and real-person records.
    pub assets: crate::assets::Assets,
    /// Task submission (validate, price, accept with its charge, wake the dispatcher): what
    /// every door calls to create a task.
    pub submitter: crate::tasks::submit::Submitter,
    /// Event streams open per key (`limits.streams_per_key`).
    pub streams: Arc<per_key::PerKeyCap>,
    /// Uploads in progress per key (`limits.uploads_per_key`).
    pub uploads: Arc<per_key::PerKeyCap>,
}

impl Shared {
    pub fn view(&self) -> ViewContext<'_> {
        ViewContext {
            storage: &self.storage,
            public_url: &self.public_url,
            retention_secs: self.retention_secs,
        }
    }
}

/// Base path of the public API.
pub(crate) const BASE: &str = "/api/open-api/v1";

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let max_upload = state.assets.settings.max_upload_bytes;
    // The public routes carry the full path (`v1`) rather than sit under `nest(BASE, …)`: a
    // nested route rewrites every request's URI to strip the prefix.
    Router::new()
        .merge(videos::router())
        .merge(account::router())
        .merge(companion::router(max_upload))
        .merge(ark::router(max_upload))
        .nest("/api/v3", Router::new().fallback(ark::unknown_route))
        .merge(openai::router(max_upload))
        .nest("/v1", Router::new().fallback(openai::unknown_route))
        .merge(webhooks::router())
        .merge(events::router())
        .merge(content::router())
        .merge(assets::router(max_upload))
        .merge(realperson::router(max_upload))
        .nest("/admin/v1", admin::router().fallback(unknown_route))
        .merge(console::router())
        .merge(ops::router())
        .merge(files::router())
        .merge(metrics::router())
        .merge(openapi::router())
        .merge(upstream_callbacks::router())
        .fallback(unknown_route)
        // Last, so that it reaches every route above: a method a route does not take is 405
        // with `Allow`, in the envelope of the route's door.
        .method_not_allowed_fallback(extract::method_not_allowed)
        .layer(ObserveLayer(state.metrics.clone()))
        .with_state(state)
}

/// What a `reelay worker` with `worker.metrics_listen` serves: its own metrics and health.
pub(crate) fn ops_router(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(metrics::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(extract::method_not_allowed)
        .layer(ObserveLayer(state.metrics.clone()))
        .with_state(state)
}

/// The router for connections past `server.max_connections`: `/healthz` and `/readyz` answer as
/// usual, every other route a fast 503 / 50301 in its door's envelope with `Retry-After: 1`.
pub(crate) fn overflow_router(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .fallback(busy)
        .method_not_allowed_fallback(busy)
        .with_state(state)
}

async fn busy(uri: axum::http::Uri) -> Response {
    let mut error = ApiError::new(ErrorCode::Busy, serve::BUSY_MESSAGE);
    error.retry_after = Some(1);
    extract::Door::of(uri.path()).answer(error)
}

/// `path` under the public API's base path.
fn v1(path: &str) -> String {
    format!("{BASE}{path}")
}

/// Names the task a request is about in the request's log context, so every line it logs
/// carries it.
fn log_task(task_id: &str) {
    crate::telemetry::request::record_task(task_id);
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such route; see the API reference for the routes reelay serves",
    )
}

/// Gives every request an id (`X-Request-Id`, kept when the client sent a sane one) and a log
/// context (`telemetry::request`: the lines it logs carry the id, method and path, and the
/// account and task once known), and counts it in the metrics by route template, method and
/// status. One layer for the three, written as a tower service rather than with
/// `middleware::from_fn`, which per request clones the route's boxed service, boxes it again as
/// `Next` and splits and rejoins the request.
#[derive(Clone)]
struct ObserveLayer(Arc<crate::metrics::Metrics>);

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            metrics: self.0.clone(),
            inner,
        }
    }
}

/// The service [`ObserveLayer`] wraps each route in.
#[derive(Clone)]
struct Observe<S> {
    metrics: Arc<crate::metrics::Metrics>,
    inner: S,
}

impl<S> tower::Service<Request> for Observe<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string)
            .unwrap_or_else(|| crate::ids::new_id("req"));
        let header = HeaderValue::from_str(&id).ok();
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        let context =
            crate::telemetry::request::Request::new(id, method.clone(), request.uri().clone());
        let lang = lang::Lang::from_accept_language(
            request
                .headers()
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let answer = lang.scope(self.inner.call(request));
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let mut response = context
                .scope(async {
                    let response = match answer.await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    tracing::debug!(status = response.status().as_u16(), "answered");
                    response
                })
                .await;
            metrics.count_request(route.as_ref(), &method, response.status());
            if let Some(value) = header {
                response.headers_mut().insert("x-request-id", value);
            }
            Ok(response)
        })
    }
}
