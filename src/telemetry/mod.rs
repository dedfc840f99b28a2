//! Logging: human-readable by default, JSON with `LOG_FORMAT=json`; level from `RUST_LOG`.

mod format;
pub mod request;

pub use format::{Json, PlainFields, Text};
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once, from `main`).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(false);
    // Colour codes only for a person at a terminal, not in files or a log collector.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal && !json);
    if json {
        builder
            .fmt_fields(JsonFields::new())
            .event_format(Json)
            .init();
    } else {
        builder
            .fmt_fields(PlainFields)
            .event_format(Text::default())
            .init();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A line written by `subscriber` for an event inside a span `upstream` inside a request
    /// that knows its account and task: through [`request::Request`] when `as_span` is false,
    /// through a real `request` span with the same fields (as reelay had until 2026-12) when true.
    fn line_of<S>(subscriber: S, as_span: bool)
    where
        S: tracing::Subscriber + Send + Sync + 'static,
    {
        let event = || {
            let upstream = tracing::info_span!("upstream", task_id = %"vid_1", channel = "ark");
            upstream.in_scope(|| tracing::info!(status = 200, ok = true, "answered {}", 7));
        };
        tracing::subscriber::with_default(subscriber, || {
            if as_span {
                let span = tracing::info_span!(
                    "request",
                    request_id = %"req_1",
                    method = %"GET",
                    path = %"/v1/videos/vid_1",
                    account_id = tracing::field::Empty,
                    task_id = tracing::field::Empty,
                );
                span.record("account_id", "acc_1");
                span.record("task_id", "vid_1");
                span.in_scope(event);
            } else {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime");
                let request = request::Request::new(
                    "req_1".to_string(),
                    axum::http::Method::GET,
                    axum::http::Uri::from_static("/v1/videos/vid_1?x=1"),
                );
                runtime.block_on(request.scope(async {
                    request::record_account("acc_1");
                    request::record_task("vid_1");
                    event();
                }));
            }
        });
    }

    /// reelay's text format (without timestamps) writing into `captured`.
    fn text_into(captured: &Captured) -> impl tracing::Subscriber + Send + Sync + 'static {
        let sink = captured.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .fmt_fields(PlainFields)
            .event_format(Text { without_time: true })
            .finish()
    }

    fn captured_text(captured: &Captured) -> String {
        let bytes = captured.0.lock().expect("lock").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    /// The text format writes what `tracing_subscriber`'s default format writes for the same
    /// request as a span, and what it wrote before the request's context left the spans.
    #[test]
    fn text_lines_are_the_default_formats() {
        let ours = Captured::default();
        line_of(text_into(&ours), false);
        let default = Captured::default();
        let sink = default.clone();
        line_of(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .without_time()
                .with_writer(move || sink.clone())
                .finish(),
            true,
        );
        let line = captured_text(&ours);
        assert_eq!(line, captured_text(&default));
        assert_eq!(
            line,
            " INFO request{request_id=req_1 method=GET path=/v1/videos/vid_1 account_id=\"acc_1\" task_id=\"vid_1\"}:upstream{task_id=vid_1 channel=\"ark\"}: reelay::telemetry::tests: answered 7 status=200 ok=true\n"
        );
    }

    /// The JSON format writes what `tracing_subscriber`'s JSON format writes for the same request
    /// as a span (the same keys and values; the timestamps differ).
    #[test]
    fn json_lines_are_the_json_formats() {
        let parse = |captured: &Captured| {
            let mut line: serde_json::Value =
                serde_json::from_str(&captured_text(captured)).expect("one JSON line");
            let timestamp = line["timestamp"].take();
            assert!(
                timestamp.as_str().is_some_and(|t| t.ends_with('Z')),
                "{timestamp}"
            );
            line
        };
        let ours = Captured::default();
        let sink = ours.clone();
        line_of(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .fmt_fields(JsonFields::new())
                .event_format(Json)
                .finish(),
            false,
        );
        let default = Captured::default();
        let sink = default.clone();
        line_of(
            tracing_subscriber::fmt()
                .json()
                .with_writer(move || sink.clone())
                .finish(),
            true,
        );
        let line = parse(&ours);
        assert_eq!(line, parse(&default));
        assert_eq!(line["span"]["channel"], "ark", "{line}");
        assert_eq!(line["spans"][0]["name"], "request", "{line}");
        assert_eq!(line["spans"][0]["request_id"], "req_1", "{line}");
        assert_eq!(line["spans"][0]["account_id"], "acc_1", "{line}");
        assert_eq!(line["fields"]["message"], "answered 7", "{line}");
        assert_eq!(line["fields"]["status"], 200, "{line}");
    }

    /// Outside a request a line has no `request` span.
    #[test]
    fn lines_outside_a_request_have_no_request_span() {
        let ours = Captured::default();
        tracing::subscriber::with_default(text_into(&ours), || {
            request::record_task("vid_1");
            tracing::warn!(attempt = 2, "retrying");
        });
        assert_eq!(
            captured_text(&ours),
            " WARN reelay::telemetry::tests: retrying attempt=2\n"
        );
    }
}
