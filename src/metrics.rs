//! The process's Prometheus metrics (API.md §8): HTTP requests by route, method and status;
//! tasks by model and status and the queue depth (read from the database at scrape time, so
//! they are right whichever replica did the work); upstream calls and errors by channel; local
//! render seconds. Counters are per process: each replica serving `/metrics` reports its own,
//! and Prometheus sums them.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::http::{Method, StatusCode};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    channel: String,
    call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    channel: String,
    call: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RenderLabels {
    model: String,
}

/// Upper bounds (seconds) of the render-time histogram's buckets.
const RENDER_BUCKETS: [f64; 10] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0, 120.0, 300.0];

/// The process's metrics: one per process, shared by the API, the channels and the worker.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    tasks: Family<TaskLabels, Gauge>,
    queue_depth: Gauge,
    upstream_calls: Family<CallLabels, Counter>,
    upstream_errors: Family<ErrorLabels, Counter>,
    render_seconds: Family<RenderLabels, Histogram>,
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
        let upstream_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "upstream_calls",
            "Calls to upstream channels by channel and call",
            upstream_calls.clone(),
        );
        let upstream_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Failed upstream calls by channel, call and kind",
            upstream_errors.clone(),
        );
        let render_seconds = Family::<RenderLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(RENDER_BUCKETS)
        });
        registry.register(
            "render_seconds",
            "Seconds the local renderer took per task, by model",
            render_seconds.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            tasks,
            queue_depth,
            upstream_calls,
            upstream_errors,
            render_seconds,
        })
    }

    /// Counts one answered request by its route template, method and status.
    pub(crate) fn count_request(
        &self,
        route: Option<&MatchedPath>,
        method: &Method,
        status: StatusCode,
    ) {
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

    /// Replaces the task counts with `(model, status, count)` rows; the queue depth is the
    /// queued ones.
    pub(crate) fn set_task_counts(&self, counts: Vec<(String, String, i64)>) {
        self.tasks.clear();
        let mut queued = 0;
        for (model, status, count) in counts {
            if status == "queued" {
                queued += count;
            }
            self.tasks
                .get_or_create(&TaskLabels { model, status })
                .set(count);
        }
        self.queue_depth.set(queued);
    }

    /// Counts one call to a channel's provider (`call`: run, submit, find, statuses, cancel)
    /// and, when it failed, the error by kind (`not_accepted`, `channel_down`, `rejected`,
    /// `ambiguous`; a local run's `failed`).
    pub(crate) fn upstream_call(
        &self,
        channel: &str,
        call: &'static str,
        error: Option<&'static str>,
    ) {
        self.upstream_calls
            .get_or_create(&CallLabels {
                channel: channel.to_string(),
                call,
            })
            .inc();
        if let Some(kind) = error {
            self.upstream_errors
                .get_or_create(&ErrorLabels {
                    channel: channel.to_string(),
                    call,
                    kind,
                })
                .inc();
        }
    }

    /// Records one finished local render of `model` that took `seconds`.
    pub(crate) fn render_finished(&self, model: &str, seconds: f64) {
        self.render_seconds
            .get_or_create(&RenderLabels {
                model: model.to_string(),
            })
            .observe(seconds);
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &self.registry)?;
        Ok(body)
    }
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
        let text = metrics.encode().expect("encode");
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
