//! `GET /metrics`: Prometheus text (API.md §8). HTTP requests by route and status are counted by
//! a middleware; task counts by model and status and the queue depth are read from the database
//! at scrape time, so they are right whichever replica did the work.

use std::sync::Arc;

use std::fmt::Write;

use axum::extract::{MatchedPath, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::error::ApiError;
use super::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: RouteLabel,
    method: MethodLabel,
    status: u16,
}

/// The route template a request matched (never the raw path, to bound label cardinality).
/// Holds axum's `MatchedPath` (a reference count), so counting a request allocates nothing.
#[derive(Clone, Debug)]
enum RouteLabel {
    Matched(MatchedPath),
    Unmatched,
}

impl RouteLabel {
    fn as_str(&self) -> &str {
        match self {
            RouteLabel::Matched(path) => path.as_str(),
            RouteLabel::Unmatched => "unmatched",
        }
    }
}

impl PartialEq for RouteLabel {
    fn eq(&self, other: &RouteLabel) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteLabel {}

impl std::hash::Hash for RouteLabel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// The request method: one of HTTP's standard methods, or `other` (a client could otherwise
/// grow the label set without bound by inventing methods).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum MethodLabel {
    Standard(Method),
    Other,
}

impl MethodLabel {
    fn of(method: &Method) -> MethodLabel {
        const STANDARD: [Method; 9] = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::HEAD,
            Method::OPTIONS,
            Method::PATCH,
            Method::CONNECT,
            Method::TRACE,
        ];
        if STANDARD.contains(method) {
            MethodLabel::Standard(method.clone())
        } else {
            MethodLabel::Other
        }
    }
}

impl EncodeLabelValue for MethodLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        match self {
            MethodLabel::Standard(method) => encoder.write_str(method.as_str()),
            MethodLabel::Other => encoder.write_str("other"),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    model: String,
    status: String,
}

/// The process's metrics, shared through `AppState`.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    tasks: Family<TaskLabels, Gauge>,
    queue_depth: Gauge,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("reelay");
        let requests = Family::<RequestLabels, Counter>::default();
        let tasks = Family::<TaskLabels, Gauge>::default();
        let queue_depth = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register("tasks", "Tasks by model and status", tasks.clone());
        registry.register(
            "queue_depth",
            "Tasks waiting to be claimed",
            queue_depth.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            tasks,
            queue_depth,
        })
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

impl Metrics {
    /// Counts one answered request by its route template, method and status.
    pub fn count_request(&self, route: Option<&MatchedPath>, method: &Method, status: StatusCode) {
        let route = route.map_or(RouteLabel::Unmatched, |path| {
            RouteLabel::Matched(path.clone())
        });
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method: MethodLabel::of(method),
                status: status.as_u16(),
            })
            .inc();
    }
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Requests by route and status, tasks by model and status, queue depth", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 500, description = "50000 internal error", body = super::openapi::schemas::Error500),
    ),
)]
pub(super) async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let counts: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT model, status, COUNT(*) FROM tasks GROUP BY model, status")
            .fetch_all(&state.db.read)
            .await?;
    state.metrics.tasks.clear();
    let mut queued = 0;
    for (model, status, count) in counts {
        if status == "queued" {
            queued += count;
        }
        state
            .metrics
            .tasks
            .get_or_create(&TaskLabels { model, status })
            .set(count);
    }
    state.metrics.queue_depth.set(queued);
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &state.metrics.registry)
        .map_err(ApiError::internal)?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        let metrics = Metrics::new();
        for method in ["FOO", "BAR", "GET"] {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            metrics.count_request(None, &method, StatusCode::METHOD_NOT_ALLOWED);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).expect("encode");
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("reelay_http_requests_total"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("method=\"other\"") && l.ends_with(" 2")),
            "{text}"
        );
        assert!(lines.iter().any(|l| l.contains("method=\"GET\"")), "{text}");
    }
}
