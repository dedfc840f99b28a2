//! Logging: human-readable by default, JSON with `LOG_FORMAT=json`; level from `RUST_LOG`.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;
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
        .with_ansi(terminal);
    if json {
        builder.json().init();
    } else if terminal {
        builder.init();
    } else {
        builder.fmt_fields(PlainFields).init();
    }
}

/// Text fields as `name=value` (`name="text"` for strings), the message bare: the default
/// formatter's output without colours, minus its styling calls per field, which cost as much as
/// the rest of a request's span (callgrind, docs/BENCHMARKS.md). Fields of `log` records
/// (`log.target`, …) are left out, as the default formatter does.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl Visit for PlainVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let gap = if self.first { "" } else { " " };
        self.first = false;
        self.result = if name == "message" {
            write!(self.writer, "{gap}{value:?}")
        } else {
            let name = name.strip_prefix("r#").unwrap_or(name);
            write!(self.writer, "{gap}{name}={value:?}")
        };
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

    /// What the plain formatter writes for a span whose fields are recorded at creation and
    /// later, and for an event inside it: the default formatter's text without colours.
    #[test]
    fn plain_fields_write_what_the_default_formatter_writes() {
        let line = |plain: bool| {
            let captured = Captured::default();
            let sink = captured.clone();
            let builder = tracing_subscriber::fmt()
                .with_ansi(false)
                .without_time()
                .with_writer(move || sink.clone());
            let run = || {
                let span = tracing::info_span!(
                    "request",
                    request_id = %"req_1",
                    path = "/a b",
                    account_id = tracing::field::Empty,
                    task_id = tracing::field::Empty,
                );
                span.record("task_id", "vid_1");
                span.in_scope(|| tracing::info!(status = 200, ok = true, "answered {}", 7));
            };
            if plain {
                tracing::subscriber::with_default(builder.fmt_fields(PlainFields).finish(), run);
            } else {
                tracing::subscriber::with_default(builder.finish(), run);
            }
            let bytes = captured.0.lock().expect("lock").clone();
            String::from_utf8(bytes).expect("utf-8")
        };
        let plain = line(true);
        assert_eq!(plain, line(false));
        assert!(
            plain.contains(
                r#"request{request_id=req_1 path="/a b" task_id="vid_1"}: reelay::telemetry::tests: answered 7 status=200 ok=true"#
            ),
            "{plain}"
        );
    }
}
