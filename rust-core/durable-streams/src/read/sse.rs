//! An incremental Server-Sent Events parser working on bytes.
//!
//! It works on bytes, not text, so a multi-byte UTF-8 character split across network reads is
//! reassembled before anyone decodes it. Lines may end in `\n`, `\r\n` or `\r`, including a
//! `\r\n` split across two reads.

use bytes::{Buf, Bytes, BytesMut};

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field; `message` when absent, per the SSE specification.
    pub(crate) event: String,
    /// The `data:` lines joined with `\n`.
    pub(crate) data: Bytes,
}

/// The SSE parser's state between network reads.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buffer: BytesMut,
    event: Option<String>,
    data: BytesMut,
    has_data: bool,
    /// The previous read ended in `\r`; a `\n` starting the next one belongs to it.
    skip_line_feed: bool,
}

/// A line longer than this without a terminator means the peer is not speaking SSE.
const MAX_PENDING: usize = 256 * 1024 * 1024;

impl SseParser {
    pub(crate) fn new() -> Self {
        SseParser::default()
    }

    /// Adds bytes read from the network.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut bytes = bytes;
        if self.skip_line_feed && !bytes.is_empty() {
            self.skip_line_feed = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        if self.buffer.len() + bytes.len() > MAX_PENDING {
            return Err(format!(
                "an SSE line exceeds {MAX_PENDING} bytes; the server is not sending SSE"
            ));
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    /// The next complete event, if the buffered bytes hold one.
    pub(crate) fn next_event(&mut self) -> Option<SseEvent> {
        while let Some(end) = memchr::memchr2(b'\n', b'\r', &self.buffer) {
            let line = self.buffer.split_to(end).freeze();
            let terminator = self.buffer[0];
            self.buffer.advance(1);
            if terminator == b'\r' {
                if self.buffer.is_empty() {
                    self.skip_line_feed = true;
                } else if self.buffer[0] == b'\n' {
                    self.buffer.advance(1);
                }
            }
            if let Some(event) = self.process_line(line) {
                return Some(event);
            }
        }
        None
    }

    fn process_line(&mut self, line: Bytes) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match memchr::memchr(b':', &line) {
            Some(colon) => {
                let value_start = if line.get(colon + 1) == Some(&b' ') {
                    colon + 2
                } else {
                    colon + 1
                };
                (line.slice(..colon), line.slice(value_start..))
            }
            None => (line.clone(), Bytes::new()),
        };
        match &field[..] {
            b"event" => self.event = Some(String::from_utf8_lossy(&value).into_owned()),
            b"data" => {
                if self.has_data {
                    self.data.extend_from_slice(b"\n");
                }
                self.data.extend_from_slice(&value);
                self.has_data = true;
            }
            // `id` and `retry` have no meaning in this protocol; unknown fields are ignored.
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event: event.unwrap_or_else(|| "message".to_string()),
            data: self.data.split().freeze(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for piece in pieces {
            parser.push(piece).unwrap();
            while let Some(e) = parser.next_event() {
                events.push(e);
            }
        }
        events
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: Bytes::copy_from_slice(data.as_bytes()),
        }
    }

    #[test]
    fn parses_data_and_control_events() {
        let events = parse_all(&[
            b"event: data\ndata: [\ndata: {\"k\":\"v\"}\ndata: ]\n\nevent: control\ndata: {\"streamNextOffset\":\"1\"}\n\n",
        ]);
        assert_eq!(
            events,
            vec![
                ev("data", "[\n{\"k\":\"v\"}\n]"),
                ev("control", "{\"streamNextOffset\":\"1\"}")
            ]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let input = "event: data\r\ndata: h\u{e9}llo \u{1f600}\r\n\r\n: comment\revent: control\rdata:{}\r\r";
        let whole = parse_all(&[input.as_bytes()]);
        assert_eq!(
            whole,
            vec![ev("data", "h\u{e9}llo \u{1f600}"), ev("control", "{}")]
        );
        let bytes = input.as_bytes();
        for split in 0..bytes.len() {
            let (a, b) = bytes.split_at(split);
            assert_eq!(parse_all(&[a, b]), whole, "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_feeding_keeps_multibyte_characters_intact() {
        let input = "event: data\ndata: \u{4e2d}\u{6587}\u{1f680}\n\n";
        let pieces: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
        assert_eq!(
            parse_all(&pieces),
            vec![ev("data", "\u{4e2d}\u{6587}\u{1f680}")]
        );
    }

    #[test]
    fn only_one_leading_space_is_stripped() {
        assert_eq!(parse_all(&[b"data:  x\n\n"]), vec![ev("message", " x")]);
        assert_eq!(parse_all(&[b"data:x\n\n"]), vec![ev("message", "x")]);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        assert!(parse_all(&[b"event: control\n\n"]).is_empty());
        assert!(parse_all(&[b"id: 3\nretry: 10\n\n"]).is_empty());
    }

    #[test]
    fn empty_data_line_dispatches_an_empty_event() {
        assert_eq!(
            parse_all(&[b"event: data\ndata:\n\n"]),
            vec![ev("data", "")]
        );
    }

    #[test]
    fn incomplete_events_wait_for_more_bytes() {
        let mut parser = SseParser::new();
        parser.push(b"event: data\ndata: abc").unwrap();
        assert!(parser.next_event().is_none());
        parser.push(b"\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(ev("data", "abc")));
    }
}
