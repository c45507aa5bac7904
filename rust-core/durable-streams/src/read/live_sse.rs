//! The SSE session: opening `live=sse` connections, turning their data and control events into
//! chunks, and reconnecting (with backoff) when a connection drops or the server ends it.

use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use reqwest::Method;
use serde::Deserialize;

use crate::decorate::Operation;
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;
use crate::offset::Offset;
use crate::protocol::{ResponseHeaders, STREAM_SSE_DATA_ENCODING};
use crate::transport::{ErrorContext, Request, error_fields, network_error};

use super::Chunk;
use super::json;
use super::options::LiveMode;
use super::session::{Phase, ReadSession};
use super::sse::SseParser;

/// An open SSE response and the parse state of its body.
pub(super) struct SseConnection {
    response: reqwest::Response,
    parser: SseParser,
    base64: bool,
    /// Data events not yet confirmed by a control event; dropped if the connection breaks,
    /// since their offset is unknown and the reconnect replays them.
    pending: Vec<Bytes>,
    /// Whether a control event arrived on this connection (a later end is then routine).
    progressed: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ControlEvent {
    stream_next_offset: String,
    #[serde(default)]
    stream_cursor: Option<String>,
    #[serde(default)]
    up_to_date: bool,
    #[serde(default)]
    stream_closed: bool,
}

impl ReadSession {
    /// Reads SSE events until a control event completes a chunk worth returning.
    pub(super) async fn next_sse_chunk(&mut self) -> Result<Option<Chunk>> {
        if self.sse.is_none() {
            match self.open_sse().await {
                Ok(connection) => self.sse = Some(connection),
                Err(e)
                    if self.live == LiveMode::Auto && e.kind() == ErrorKind::UnexpectedStatus =>
                {
                    // The server does not do SSE here; long-poll works everywhere.
                    self.phase = Phase::LongPoll;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        let live_timeout = self.stream.client.inner.config.live_timeout;
        loop {
            let Some(connection) = self.sse.as_mut() else {
                return Ok(None);
            };
            if let Some(event) = connection.parser.next_event() {
                match event.event.as_str() {
                    "data" => {
                        let data = if connection.base64 {
                            match decode_base64(&event.data) {
                                Ok(data) => data,
                                Err(problem) => return Err(self.parse_error(problem)),
                            }
                        } else {
                            event.data
                        };
                        connection.pending.push(data);
                    }
                    "control" => {
                        connection.progressed = true;
                        let pending = std::mem::take(&mut connection.pending);
                        if let Some(chunk) = self.apply_control(&event.data, pending)? {
                            return Ok(Some(chunk));
                        }
                        if self.finished {
                            return Ok(None);
                        }
                    }
                    // Unknown event types are reserved for extensions: skip them.
                    _ => {}
                }
                continue;
            }
            let outcome = tokio::time::timeout(live_timeout, connection.response.chunk()).await;
            let progressed = connection.progressed;
            let failure = match outcome {
                Ok(Ok(Some(bytes))) => match connection.parser.push(&bytes) {
                    Ok(()) => continue,
                    Err(problem) => return Err(self.parse_error(problem)),
                },
                // The server ends SSE responses periodically; resume from the last offset.
                Ok(Ok(None)) if progressed => None,
                Ok(Ok(None)) => Some(self.stream.error(
                    ErrorKind::Network,
                    "the server ended the SSE response without sending a control event",
                )),
                Ok(Err(e)) => Some(network_error(e, self.stream.url())),
                Err(_) => Some(self.stream.error(
                    ErrorKind::Timeout,
                    format!("no SSE event within {live_timeout:?}"),
                )),
            };
            self.sse = None;
            match failure {
                Some(error) => {
                    self.sse_failures += 1;
                    self.report_dropped(&error);
                    self.check_sse_failures(error)?;
                    self.reconnecting = Some(DROPPED);
                }
                None => self.reconnecting = Some(SERVER_ENDED),
            }
            return Ok(None);
        }
    }

    fn report_dropped(&self, error: &Error) {
        let offset = self.offset.as_str();
        let failures = self.sse_failures;
        self.stream.client.inner.events.emit(
            EventKind::ConnectionDropped,
            self.stream.url(),
            || {
                let mut fields = vec![
                    ("mode", "sse".to_owned()),
                    ("offset", offset.to_owned()),
                    ("failures", failures.to_string()),
                ];
                error_fields(error, &mut fields);
                let message = format!(
                    "SSE connection lost at offset {offset} ({}): {}",
                    error.kind(),
                    error.message()
                );
                (message, fields)
            },
        );
    }

    fn check_sse_failures(&self, error: Error) -> Result<()> {
        if self.sse_failures > self.stream.client.retry_policy().max_retries {
            return Err(error);
        }
        Ok(())
    }

    fn parse_error(&self, problem: String) -> Error {
        self.stream.error(ErrorKind::Parse, problem)
    }

    /// Applies a control event to the position; returns the chunk it completes, if worth
    /// returning.
    fn apply_control(&mut self, raw: &[u8], pending: Vec<Bytes>) -> Result<Option<Chunk>> {
        let control: ControlEvent = serde_json::from_slice(raw).map_err(|e| {
            let shown: String = String::from_utf8_lossy(raw).chars().take(200).collect();
            self.parse_error(format!("malformed SSE control event {shown:?}: {e}"))
        })?;
        let offset = Offset::from_server(&control.stream_next_offset)
            .map_err(|e| e.with_url(self.stream.url()))?;
        self.sse_failures = 0;
        let (data, messages) = self.assemble(pending)?;
        // The data events of one control event are the stream's bytes from the current offset.
        let at_tail = control.up_to_date || control.stream_closed;
        let (data, messages) = match messages {
            Some(messages) => {
                let (data, messages) = self.skip_response_messages(data, messages, 0, at_tail)?;
                (data, Some(messages))
            }
            None => (self.skip_response_data(data, 0, at_tail)?, None),
        };
        self.offset = offset.clone();
        if let Some(cursor) = control.stream_cursor.filter(|c| !c.is_empty()) {
            self.cursor = Some(cursor);
        }
        let up_to_date = control.up_to_date || control.stream_closed;
        let became_up_to_date = up_to_date && !self.up_to_date;
        self.up_to_date = up_to_date;
        if control.stream_closed {
            self.closed = true;
            self.finished = true;
            self.sse = None;
        }
        let chunk = Chunk::with_ranges(
            data,
            messages,
            offset,
            self.cursor.clone(),
            up_to_date,
            control.stream_closed,
        );
        Ok((chunk.has_data() || became_up_to_date || chunk.closed()).then_some(chunk))
    }

    /// Joins the data events a control event confirms into one chunk body.
    fn assemble(&self, pending: Vec<Bytes>) -> Result<(Bytes, Option<json::MessageRanges>)> {
        if !self.is_json() {
            let data = match pending.len() {
                0 => Bytes::new(),
                1 => pending.into_iter().next().unwrap_or_default(),
                _ => pending
                    .iter()
                    .fold(BytesMut::new(), |mut acc, d| {
                        acc.extend_from_slice(d);
                        acc
                    })
                    .freeze(),
            };
            return Ok((data, None));
        }
        let mut split = Vec::with_capacity(pending.len());
        for data in &pending {
            split.push(json::split_ranges(data).map_err(|p| self.parse_error(p))?);
        }
        let (data, messages) = match (pending.len(), split.pop()) {
            (0, _) | (_, None) => (Bytes::new(), Vec::new()),
            (1, Some(ranges)) => (pending.into_iter().next().unwrap_or_default(), ranges),
            (_, Some(last)) => {
                // Several arrays make one: rebuild the text so `data` stays valid JSON.
                split.push(last);
                json::join_messages(
                    pending
                        .iter()
                        .zip(&split)
                        .flat_map(|(data, ranges)| ranges.iter().map(|&(s, e)| &data[s..e])),
                )
            }
        };
        let messages = Some(messages);
        Ok((data, messages))
    }

    async fn open_sse(&mut self) -> Result<SseConnection> {
        if self.content_type.is_none() {
            // SSE responses do not carry the stream's content type; JSON mode must be known.
            let headers = &self.user_headers;
            if let Some(content_type) = self.stream.resolve_content_type_with(headers).await? {
                self.learn_content_type(&content_type);
            }
        }
        if let Some(reconnect) = self.reconnecting.take() {
            let backoff = if self.sse_failures > 0 {
                let policy = self.stream.client.retry_policy();
                policy.delay(self.sse_failures - 1, None)
            } else {
                Duration::ZERO
            };
            let offset = self.offset.as_str().to_owned();
            self.stream
                .client
                .inner
                .events
                .emit(EventKind::Reconnect, self.stream.url(), || {
                    let message = format!(
                        "SSE {reconnect}; reconnecting from offset {offset} in {} ms",
                        backoff.as_millis()
                    );
                    let reason = if reconnect == DROPPED {
                        "dropped"
                    } else {
                        "server_ended"
                    };
                    let fields = vec![
                        ("mode", "sse".to_owned()),
                        ("offset", offset),
                        ("backoff_ms", backoff.as_millis().to_string()),
                        ("reason", reason.to_owned()),
                    ];
                    (message, fields)
                });
            tokio::time::sleep(backoff).await;
        }
        let client = self.stream.client.clone();
        let mut request = Request::new(
            Operation::Read,
            Method::GET,
            &self.stream.shared.url,
            client.inner.config.request_timeout,
        );
        request
            .params
            .push(("offset", self.offset.as_str().to_owned()));
        request.params.push(("live", "sse".to_owned()));
        request.user_headers = self.user_headers.clone();
        if let Some(cursor) = &self.cursor {
            request.params.push(("cursor", cursor.clone()));
        }
        let context = ErrorContext {
            is_read: true,
            ..ErrorContext::default()
        };
        let response = client.open_with_retries(&request, context).await?;
        let headers = ResponseHeaders(response.headers());
        let is_event_stream = headers
            .content_type()
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/event-stream"));
        if !is_event_stream {
            return Err(self
                .stream
                .error(
                    ErrorKind::UnexpectedStatus,
                    format!(
                        "asked for SSE but the server answered with content type {:?}",
                        headers.content_type().unwrap_or("")
                    ),
                )
                .with_status(response.status().as_u16()));
        }
        let base64 = headers
            .text(STREAM_SSE_DATA_ENCODING)
            .is_some_and(|v| v.eq_ignore_ascii_case("base64"));
        Ok(SseConnection {
            response,
            parser: SseParser::new(),
            base64,
            pending: Vec::new(),
            progressed: false,
        })
    }
}

/// Why an SSE connection is reopened (the reconnect event's message and `reason` field).
const DROPPED: &str = "connection dropped";
const SERVER_ENDED: &str = "response ended by the server";

/// Decodes a base64 data event; the line breaks between its `data:` lines are not part of the
/// encoding.
fn decode_base64(text: &[u8]) -> std::result::Result<Bytes, String> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map(Bytes::from)
        .map_err(|e| format!("an SSE data event is not valid base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lines_are_joined_before_decoding() {
        assert_eq!(
            decode_base64(b"AQIDBAUG\nBwgJCg==").unwrap().as_ref(),
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        );
        assert!(decode_base64(b"").unwrap().is_empty());
        assert!(decode_base64(b"not base64!").is_err());
    }

    #[test]
    fn several_json_arrays_join_into_one() {
        let (joined, ranges) = json::join_messages([&b"1"[..], b"{\"a\":2}"]);
        assert_eq!(joined.as_ref(), b"[1,{\"a\":2}]");
        assert_eq!(&joined[ranges[0].0..ranges[0].1], b"1");
        assert_eq!(&joined[ranges[1].0..ranges[1].1], b"{\"a\":2}");
    }
}
