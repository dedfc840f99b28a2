//! The two log line formats: text (the layout of `tracing_subscriber`'s default format) and JSON
//! (the layout of its JSON format), each with the request being served (`super::request`) as
//! the outermost span, named `request`.

use std::fmt;

use serde::ser::{SerializeMap, Serializer as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::request;

/// The name the request's context takes among the spans of a line.
const REQUEST_SPAN: &str = "request";

/// `2026-12-02T09:18:42.123456Z  INFO request{request_id=req_… method=GET path=/…}: target: message k=v`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Text {
    /// Leave the timestamp out (tests compare lines).
    pub without_time: bool,
}

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let ansi = writer.has_ansi_escapes();
        if !self.without_time {
            if SystemTime.format_time(&mut writer).is_err() {
                writer.write_str("<unknown time>")?;
            }
            writer.write_char(' ')?;
        }
        write_level(&mut writer, meta.level(), ansi)?;
        writer.write_char(' ')?;

        let mut spans = false;
        if let Some(result) = request::with_fields(|fields| {
            write!(writer, "{REQUEST_SPAN}{{")?;
            for (i, (name, value, quoted)) in fields.iter().enumerate() {
                let gap = if i == 0 { "" } else { " " };
                if *quoted {
                    write!(writer, "{gap}{name}={value:?}")?;
                } else {
                    write!(writer, "{gap}{name}={value}")?;
                }
            }
            writer.write_str("}:")
        }) {
            result?;
            spans = true;
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>() {
                    if !fields.is_empty() {
                        write!(writer, "{{{fields}}}")?;
                    }
                }
                writer.write_char(':')?;
                spans = true;
            }
        }
        if spans {
            writer.write_char(' ')?;
        }
        write!(writer, "{}: ", meta.target())?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

fn write_level(writer: &mut Writer<'_>, level: &Level, ansi: bool) -> fmt::Result {
    // Padded to five characters, coloured like the default format's at a terminal.
    let (text, colour) = match *level {
        Level::TRACE => ("TRACE", "35"),
        Level::DEBUG => ("DEBUG", "34"),
        Level::INFO => (" INFO", "32"),
        Level::WARN => (" WARN", "33"),
        Level::ERROR => ("ERROR", "31"),
    };
    if ansi {
        write!(writer, "\x1b[{colour}m{text}\x1b[0m")
    } else {
        writer.write_str(text)
    }
}

/// One JSON object per line: `timestamp`, `level`, `fields` (the event's, with `message`),
/// `target`, `span` (the innermost, with its `name`) and `spans` (from the outermost), the
/// request being served first.
#[derive(Debug, Default, Clone, Copy)]
pub struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut timestamp = String::new();
        if SystemTime
            .format_time(&mut Writer::new(&mut timestamp))
            .is_err()
        {
            timestamp = "<unknown time>".to_string();
        }

        // The spans as JSON objects, outermost first: the request, then the open spans, whose
        // fields `JsonFields` already wrote as a JSON object.
        let mut spans: Vec<serde_json::Map<String, serde_json::Value>> = Vec::new();
        if let Some(object) = request::with_fields(|fields| {
            let mut object: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(name, value, _)| ((*name).to_string(), (*value).into()))
                .collect();
            object.insert("name".to_string(), REQUEST_SPAN.into());
            object
        }) {
            spans.push(object);
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let mut object: serde_json::Map<String, serde_json::Value> = extensions
                    .get::<FormattedFields<N>>()
                    .and_then(|fields| serde_json::from_str(fields).ok())
                    .unwrap_or_default();
                object.insert("name".to_string(), span.metadata().name().into());
                spans.push(object);
            }
        }

        let mut line = Vec::with_capacity(256);
        let mut serializer = serde_json::Serializer::new(&mut line);
        let mut map = serializer.serialize_map(None).map_err(|_| fmt::Error)?;
        let mut entries = || -> Result<(), serde_json::Error> {
            map.serialize_entry("timestamp", &timestamp)?;
            map.serialize_entry("level", meta.level().as_str())?;
            map.serialize_entry("fields", &EventFields(event))?;
            map.serialize_entry("target", meta.target())?;
            if let Some(innermost) = spans.last() {
                map.serialize_entry("span", innermost)?;
                map.serialize_entry("spans", &spans)?;
            }
            Ok(())
        };
        entries().map_err(|_| fmt::Error)?;
        map.end().map_err(|_| fmt::Error)?;
        let line = String::from_utf8(line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

/// An event's fields as a JSON object (typed numbers and booleans, everything else as text),
/// without the `log.*` fields of records that came from the `log` crate.
struct EventFields<'a, 'b>(&'a Event<'b>);

impl serde::Serialize for EventFields<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut visitor = JsonVisitor(serde_json::Map::new());
        self.0.record(&mut visitor);
        serde::Serialize::serialize(&visitor.0, serializer)
    }
}

struct JsonVisitor(serde_json::Map<String, serde_json::Value>);

impl JsonVisitor {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        let name = field.name();
        if !name.starts_with("log.") {
            let name = name.strip_prefix("r#").unwrap_or(name);
            self.0.insert(name.to_string(), value);
        }
    }
}

impl Visit for JsonVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
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
