//! Reading a stream: a pull-based session yielding chunks, in catch-up, long-poll, SSE or auto
//! mode, that resumes from the last offset after failures.

mod chunk;
mod json;
mod sse;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

pub use chunk::Chunk;

use crate::decorate::Operation;
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;
use crate::offset::Offset;
use crate::protocol::{ResponseHeaders, STREAM_SSE_DATA_ENCODING, is_json_content_type};
use crate::stream::Stream;
use crate::transport::{
    ErrorContext, Reply, Request, body_error, error_fields, network_error, next_frame, read_reply,
};
use sse::SseParser;

/// How a read continues once it has caught up with the stream's tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LiveMode {
    /// Catch-up only: the session ends at the first up-to-date (or closed) response.
    #[default]
    Off,
    /// Catch up, then wait for new data with long-poll requests.
    LongPoll,
    /// Server-Sent Events from the start offset, reconnecting as needed.
    Sse,
    /// Catch up, then tail live: SSE for JSON streams, long-poll otherwise (and whenever the
    /// server does not offer SSE).
    ///
    /// SSE is lossless for JSON (and for binary, which is base64-encoded), but text lines can
    /// lose a leading space or have `\r` rewritten by servers that write `data:` without the
    /// optional space, so text streams are tailed with long-poll, which is byte-exact.
    Auto,
}

/// Where and how to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The start position; [`Offset::BEGINNING`] by default.
    pub offset: Offset,
    /// What to do after catching up.
    pub live: LiveMode,
    /// A cursor saved with the offset (echoed on live requests for CDN collapsing).
    pub cursor: Option<String>,
    /// The most bytes one chunk of a non-JSON stream holds; `None` (the default): a chunk is one
    /// whole response, however large.
    ///
    /// A server decides how much one response holds (Electric's answers a catch-up from the
    /// start of a 1 GiB stream with one 1 GiB response). With a bound, a larger response is
    /// returned in pieces as it arrives, so memory stays bounded. Every piece but the last is
    /// [`Chunk::partial`]: its offset is where the response began (resuming from it reads the
    /// whole response again) and it never reports up-to-date or closed. JSON streams are not
    /// split (a message is never cut). Whole responses that break off are requested again under
    /// the retry policy; a response returned in pieces that breaks off ends the session with the
    /// error instead (its pieces are already delivered), and [`ReadSession::offset`] is still
    /// where that response began.
    pub max_chunk_bytes: Option<usize>,
}

impl ReadOptions {
    /// Catch-up from the beginning.
    pub fn new() -> Self {
        ReadOptions::default()
    }

    /// Sets the start offset.
    pub fn offset(mut self, offset: Offset) -> Self {
        self.offset = offset;
        self
    }

    /// Sets the live mode.
    pub fn live(mut self, live: LiveMode) -> Self {
        self.live = live;
        self
    }

    /// Sets the cursor saved with the offset.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Bounds the bytes of one chunk (see [`ReadOptions::max_chunk_bytes`]).
    pub fn max_chunk_bytes(mut self, max: usize) -> Self {
        self.max_chunk_bytes = Some(max);
        self
    }
}

/// A response being returned in pieces.
struct OpenBody {
    response: reqwest::Response,
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    /// The rest of the last frame, not yet returned.
    pending: Bytes,
    /// The longest wait for the next frame.
    idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    CatchUp,
    LongPoll,
    Sse,
}

/// An open SSE response and the parse state of its body.
struct SseConnection {
    response: reqwest::Response,
    parser: SseParser,
    base64: bool,
    /// Data events not yet confirmed by a control event; dropped if the connection breaks,
    /// since their offset is unknown and the reconnect replays them.
    pending: Vec<Bytes>,
    /// Whether a control event arrived on this connection (a later end is then routine).
    progressed: bool,
}

/// A read of one stream. Pull chunks with [`ReadSession::next_chunk`]; nothing is read ahead of
/// the caller beyond the current network buffer, so the caller sets the pace.
///
/// The session tracks the position ([`ReadSession::offset`], [`ReadSession::cursor`]) after every
/// chunk, so it can be saved and a new session started from it later. Dropping the session (or
/// the future of `next_chunk`) cancels the read.
pub struct ReadSession {
    stream: Stream,
    live: LiveMode,
    start_offset: Offset,
    offset: Offset,
    cursor: Option<String>,
    content_type: Option<Arc<str>>,
    up_to_date: bool,
    closed: bool,
    finished: bool,
    phase: Phase,
    sse: Option<SseConnection>,
    /// Consecutive SSE connection failures, for backoff.
    sse_failures: u32,
    /// Why the next SSE connection is a reconnect (reported when it opens), if it is one.
    reconnecting: Option<&'static str>,
    max_chunk_bytes: Option<usize>,
    /// A catch-up or long-poll response being returned in pieces.
    body: Option<OpenBody>,
}

impl std::fmt::Debug for ReadSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadSession")
            .field("url", &self.stream.url())
            .field("live", &self.live)
            .field("offset", &self.offset)
            .field("up_to_date", &self.up_to_date)
            .field("closed", &self.closed)
            .finish()
    }
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
    pub(crate) fn new(stream: Stream, options: ReadOptions) -> ReadSession {
        let content_type = stream.content_type();
        let starts_live = options.offset.is_now() && options.live != LiveMode::Off;
        let phase = match options.live {
            LiveMode::Sse => Phase::Sse,
            // Reading from `now` has nothing to catch up on: go straight to waiting.
            _ if starts_live => live_phase(options.live, content_type.as_deref()),
            _ => Phase::CatchUp,
        };
        ReadSession {
            stream,
            live: options.live,
            start_offset: options.offset.clone(),
            offset: options.offset,
            cursor: options.cursor,
            content_type,
            up_to_date: false,
            closed: false,
            finished: false,
            phase,
            sse: None,
            sse_failures: 0,
            reconnecting: None,
            max_chunk_bytes: options.max_chunk_bytes,
            body: None,
        }
    }

    /// The stream being read.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The offset the session started from.
    pub fn start_offset(&self) -> &Offset {
        &self.start_offset
    }

    /// The offset to resume from: just past the last chunk returned.
    pub fn offset(&self) -> &Offset {
        &self.offset
    }

    /// The last cursor the server sent.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Whether the last response reached the tail at the time it was generated.
    pub fn up_to_date(&self) -> bool {
        self.up_to_date
    }

    /// Whether the stream is closed and every byte has been returned (end of stream).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// The stream's content type, once known.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The live mode the session was opened with.
    pub fn live_mode(&self) -> LiveMode {
        self.live
    }

    /// Changes [`ReadOptions::max_chunk_bytes`] from the next response on (`None`: whole
    /// responses).
    pub fn set_max_chunk_bytes(&mut self, max: Option<usize>) {
        self.max_chunk_bytes = max;
    }

    /// Whether the session has ended (closed stream, catch-up complete, or a failure).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next chunk, or `None` when the session has ended.
    ///
    /// A chunk is returned when data arrives, when the reader first becomes up to date, and when
    /// the stream turns out to be closed (the last chunk). Transient failures are retried per the
    /// client's retry policy, resuming from the last offset; an error ends the session.
    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if self.finished {
            return Ok(None);
        }
        let result = self.advance().await;
        match &result {
            Err(_) | Ok(None) => {
                self.finished = true;
                self.sse = None;
                self.body = None;
            }
            Ok(Some(_)) => {}
        }
        result
    }

    /// Turns the session into a [`futures_core::Stream`] of chunks.
    pub fn into_stream(self) -> ChunkStream {
        ChunkStream {
            state: StreamState::Idle(Box::new(self)),
        }
    }

    async fn advance(&mut self) -> Result<Option<Chunk>> {
        if self.max_chunk_bytes == Some(0) {
            return Err(self.stream.error(
                ErrorKind::InvalidArgument,
                "max_chunk_bytes: must be at least 1",
            ));
        }
        loop {
            let chunk = match (&self.body, self.phase) {
                (Some(_), _) => self.next_piece().await?,
                (None, Phase::CatchUp) => self.poll_once(false).await?,
                (None, Phase::LongPoll) => self.poll_once(true).await?,
                (None, Phase::Sse) => self.next_sse_chunk().await?,
            };
            if let Some(chunk) = chunk {
                return Ok(Some(chunk));
            }
            if self.finished {
                return Ok(None);
            }
        }
    }

    fn is_json(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(is_json_content_type)
    }

    fn learn_content_type(&mut self, content_type: &str) {
        if self.content_type.as_deref() != Some(content_type) {
            self.stream.set_content_type(content_type);
            self.content_type = Some(Arc::from(content_type));
        }
    }

    /// One catch-up or long-poll request; a chunk when there is something to report.
    async fn poll_once(&mut self, live: bool) -> Result<Option<Chunk>> {
        let client = self.stream.client.clone();
        let config = &client.inner.config;
        let mut request = Request::new(
            Operation::Read,
            Method::GET,
            &self.stream.shared.url,
            if live {
                config.live_timeout
            } else {
                config.request_timeout
            },
        );
        request
            .params
            .push(("offset", self.offset.as_str().to_owned()));
        if live {
            request.params.push(("live", "long-poll".to_owned()));
            if let Some(cursor) = &self.cursor {
                request.params.push(("cursor", cursor.clone()));
            }
        }
        let context = ErrorContext {
            is_read: true,
            ..ErrorContext::default()
        };
        if self.max_chunk_bytes.is_none() || self.is_json() {
            // Whole responses: a body that breaks off is requested again under the retry policy.
            let reply = client.execute_with_retries(&request, context).await?;
            return self.finish_response(reply);
        }
        let idle = request.timeout;
        let response = client.open_with_retries(&request, context).await?;
        if let Some(content_type) = ResponseHeaders(response.headers()).content_type() {
            let content_type = content_type.to_owned();
            self.learn_content_type(&content_type);
        }
        if self.returns_in_pieces(&response) {
            self.body = Some(OpenBody {
                status: response.status(),
                headers: response.headers().clone(),
                response,
                pending: Bytes::new(),
                idle,
            });
            return self.next_piece().await;
        }
        let reply = read_reply(response, idle, self.stream.url()).await?;
        self.finish_response(reply)
    }

    /// Whether `response` is returned in pieces: a body of a non-JSON stream that may exceed
    /// `max_chunk_bytes`.
    fn returns_in_pieces(&self, response: &reqwest::Response) -> bool {
        let Some(max) = self.max_chunk_bytes else {
            return false;
        };
        response.status() != StatusCode::NO_CONTENT
            && !self.is_json()
            && response
                .content_length()
                .is_none_or(|length| length > max as u64)
    }

    /// The next piece of the open response: a partial chunk of `max_chunk_bytes`, or the rest of
    /// the response as a complete one.
    async fn next_piece(&mut self) -> Result<Option<Chunk>> {
        let max = self.max_chunk_bytes.unwrap_or(usize::MAX);
        let Some(body) = self.body.as_mut() else {
            return Ok(None);
        };
        // One frame is handed out as it is; only a piece made of several is copied.
        let mut single: Option<Bytes> = None;
        let mut joined = BytesMut::new();
        loop {
            let filled = single.as_ref().map_or(joined.len(), Bytes::len);
            if filled >= max {
                break;
            }
            if body.pending.is_empty() {
                match next_frame(&mut body.response, Some(body.idle)).await {
                    Ok(Some(frame)) => body.pending = frame,
                    Ok(None) => {
                        let data = single.unwrap_or_else(|| joined.freeze());
                        let Some(done) = self.body.take() else {
                            return Ok(None);
                        };
                        let reply = Reply {
                            status: done.status,
                            headers: done.headers,
                            body: data,
                        };
                        return self.finish_response(reply);
                    }
                    Err(e) => {
                        self.body = None;
                        return Err(body_error(e, self.stream.url()));
                    }
                }
            }
            let take = body
                .pending
                .split_to((max - filled).min(body.pending.len()));
            match single.take() {
                None if joined.is_empty() => single = Some(take),
                earlier => {
                    if let Some(earlier) = earlier {
                        joined.extend_from_slice(&earlier);
                    }
                    joined.extend_from_slice(&take);
                }
            }
        }
        let data = single.unwrap_or_else(|| joined.freeze());
        Ok(Some(Chunk::piece(
            data,
            self.offset.clone(),
            self.cursor.clone(),
        )))
    }

    /// Applies a whole catch-up or long-poll response; a chunk when there is something to report.
    fn finish_response(&mut self, reply: Reply) -> Result<Option<Chunk>> {
        if reply.status == StatusCode::NO_CONTENT {
            return self.apply_timeout_reply(&reply);
        }
        let previous_offset = self.offset.clone();
        let chunk = self.chunk_from_reply(reply)?;
        let became_up_to_date = chunk.up_to_date() && !self.up_to_date;
        self.up_to_date = chunk.up_to_date();
        if chunk.closed() {
            self.finished = true;
            return Ok(Some(chunk));
        }
        if chunk.up_to_date() && self.phase == Phase::CatchUp {
            match self.live {
                LiveMode::Off => self.finished = true,
                mode => self.phase = live_phase(mode, self.content_type.as_deref()),
            }
        }
        if chunk.has_data() || became_up_to_date || self.finished {
            return Ok(Some(chunk));
        }
        if !chunk.up_to_date() && chunk.offset() == &previous_offset {
            // Neither data nor progress nor "caught up": repeating would spin forever.
            return Err(self.stream.error(
                ErrorKind::Parse,
                format!(
                    "the server returned no data, no new offset and no Stream-Up-To-Date at offset {previous_offset}"
                ),
            ));
        }
        Ok(None)
    }

    /// A long-poll `204`: no new data before the server's timeout.
    fn apply_timeout_reply(&mut self, reply: &Reply) -> Result<Option<Chunk>> {
        let headers = reply.headers();
        if let Some(offset) = headers
            .next_offset()
            .map_err(|e| e.with_url(self.stream.url()))?
        {
            self.offset = offset;
        }
        if let Some(cursor) = headers.cursor() {
            self.cursor = Some(cursor);
        }
        let became_up_to_date = !self.up_to_date;
        self.up_to_date = true;
        if headers.closed() {
            self.closed = true;
            self.finished = true;
        }
        if self.closed || became_up_to_date {
            return Ok(Some(self.empty_chunk().with_status(reply.status.as_u16())));
        }
        Ok(None)
    }

    fn empty_chunk(&self) -> Chunk {
        Chunk::new(
            Bytes::new(),
            self.is_json().then(Vec::new),
            self.offset.clone(),
            self.cursor.clone(),
            self.up_to_date,
            self.closed,
        )
    }

    fn chunk_from_reply(&mut self, reply: Reply) -> Result<Chunk> {
        let headers = reply.headers();
        let url = self.stream.url().to_owned();
        let offset = headers
            .require_next_offset()
            .map_err(|e| e.with_url(&url).with_status(reply.status.as_u16()))?;
        let cursor = headers.cursor();
        let up_to_date = headers.up_to_date();
        let closed = headers.closed();
        if let Some(content_type) = headers.content_type().map(str::to_owned) {
            self.learn_content_type(&content_type);
        }
        let messages = if self.is_json() {
            Some(json::split_messages(&reply.body).map_err(|problem| {
                Error::new(ErrorKind::Parse, problem)
                    .with_url(&url)
                    .with_status(reply.status.as_u16())
            })?)
        } else {
            None
        };
        self.offset = offset.clone();
        if cursor.is_some() {
            self.cursor.clone_from(&cursor);
        }
        self.closed |= closed;
        let status = reply.status.as_u16();
        Ok(Chunk::new(
            reply.body,
            messages,
            offset,
            self.cursor.clone(),
            up_to_date || closed,
            closed,
        )
        .with_status(status))
    }

    /// Reads SSE events until a control event completes a chunk worth returning.
    async fn next_sse_chunk(&mut self) -> Result<Option<Chunk>> {
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
        let chunk = Chunk::new(
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
    fn assemble(&self, pending: Vec<Bytes>) -> Result<(Bytes, Option<Vec<Bytes>>)> {
        let json = self.is_json();
        let mut messages = json.then(Vec::new);
        if let Some(messages) = messages.as_mut() {
            for data in &pending {
                let split = json::split_messages(data).map_err(|p| self.parse_error(p))?;
                messages.extend(split);
            }
        }
        let data = match pending.len() {
            0 => Bytes::new(),
            1 => pending.into_iter().next().unwrap_or_default(),
            _ => match &messages {
                // Several arrays make one: rebuild the text so `data` stays valid JSON.
                Some(messages) => join_json(messages),
                None => pending
                    .iter()
                    .fold(BytesMut::new(), |mut acc, d| {
                        acc.extend_from_slice(d);
                        acc
                    })
                    .freeze(),
            },
        };
        Ok((data, messages))
    }

    async fn open_sse(&mut self) -> Result<SseConnection> {
        if self.content_type.is_none() {
            // SSE responses do not carry the stream's content type; JSON mode must be known.
            if let Some(content_type) = self.stream.resolve_content_type().await? {
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

fn live_phase(mode: LiveMode, content_type: Option<&str>) -> Phase {
    match mode {
        LiveMode::Sse => Phase::Sse,
        LiveMode::Auto if content_type.is_some_and(is_json_content_type) => Phase::Sse,
        _ => Phase::LongPoll,
    }
}

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

fn join_json(messages: &[Bytes]) -> Bytes {
    let size = messages.iter().map(|m| m.len() + 1).sum::<usize>() + 2;
    let mut out = BytesMut::with_capacity(size);
    out.extend_from_slice(b"[");
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",");
        }
        out.extend_from_slice(message);
    }
    out.extend_from_slice(b"]");
    out.freeze()
}

type NextFuture = Pin<Box<dyn Future<Output = (Box<ReadSession>, Result<Option<Chunk>>)> + Send>>;

enum StreamState {
    Idle(Box<ReadSession>),
    Busy(NextFuture),
    Done,
}

/// A [`ReadSession`] as a [`futures_core::Stream`] of `Result<Chunk>`; ends after the last chunk
/// or the first error.
pub struct ChunkStream {
    state: StreamState,
}

impl futures_core::Stream for ChunkStream {
    type Item = Result<Chunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::mem::replace(&mut self.state, StreamState::Done) {
                StreamState::Done => return Poll::Ready(None),
                StreamState::Idle(mut session) => {
                    self.state = StreamState::Busy(Box::pin(async move {
                        let result = session.next_chunk().await;
                        (session, result)
                    }));
                }
                StreamState::Busy(mut future) => match future.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = StreamState::Busy(future);
                        return Poll::Pending;
                    }
                    Poll::Ready((session, result)) => {
                        return Poll::Ready(match result {
                            Ok(Some(chunk)) => {
                                self.state = StreamState::Idle(session);
                                Some(Ok(chunk))
                            }
                            Ok(None) => None,
                            Err(e) => Some(Err(e)),
                        });
                    }
                },
            }
        }
    }
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
    fn auto_mode_picks_sse_for_json_and_long_poll_otherwise() {
        assert_eq!(
            live_phase(LiveMode::Auto, Some("text/plain")),
            Phase::LongPoll
        );
        assert_eq!(
            live_phase(LiveMode::Auto, Some("application/json")),
            Phase::Sse
        );
        assert_eq!(
            live_phase(LiveMode::Auto, Some("application/octet-stream")),
            Phase::LongPoll
        );
        assert_eq!(live_phase(LiveMode::Auto, None), Phase::LongPoll);
        assert_eq!(
            live_phase(LiveMode::LongPoll, Some("text/plain")),
            Phase::LongPoll
        );
    }

    #[test]
    fn several_json_arrays_join_into_one() {
        let joined = join_json(&[Bytes::from_static(b"1"), Bytes::from_static(b"{\"a\":2}")]);
        assert_eq!(joined.as_ref(), b"[1,{\"a\":2}]");
    }
}
