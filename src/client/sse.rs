//! A minimal Server-Sent Events reader: turns a byte stream into `(event, id, data)` records.

/// One event of a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Accumulates bytes and yields complete events.
#[derive(Default)]
pub struct SseParser {
    buffer: String,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete (comments and keep-alives are dropped).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer
            .push_str(&String::from_utf8_lossy(bytes).replace("\r\n", "\n"));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = SseEvent {
                event: "message".into(),
                ..SseEvent::default()
            };
            let mut data_lines = Vec::new();
            for line in block.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event.event = value.to_string(),
                    "id" => event.id = Some(value.to_string()),
                    "data" => data_lines.push(value.to_string()),
                    _ => {}
                }
            }
            if !data_lines.is_empty() {
                event.data = data_lines.join("\n");
                events.push(event);
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_across_chunks_and_skips_comments() {
        let mut parser = SseParser::default();
        assert!(parser
            .push(b": keep-alive\n\nevent: task\nid: 7\nda")
            .is_empty());
        let events = parser.push(b"ta: {\"a\":1}\n\n");
        assert_eq!(
            events,
            vec![SseEvent {
                event: "task".into(),
                id: Some("7".into()),
                data: "{\"a\":1}".into()
            }]
        );
    }
}
