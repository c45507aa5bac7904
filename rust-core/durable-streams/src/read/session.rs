//! The read session: its state, public accessors, and the loop that picks how the next chunk is
//! fetched (catch-up, long-poll, SSE, or the rest of a response returned in pieces).

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;
use crate::protocol::is_json_content_type;
use crate::stream::Stream;
use crate::transport::user_headers;

use super::Chunk;
use super::live_sse::SseConnection;
use super::options::{LiveMode, ReadOptions};
use super::pieces::OpenBody;

/// Which kind of request fetches the next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    CatchUp,
    LongPoll,
    Sse,
}

/// A read of one stream. Pull chunks with [`ReadSession::next_chunk`]; nothing is read ahead of
/// the caller beyond the current network buffer, so the caller sets the pace.
///
/// The session tracks the position ([`ReadSession::offset`], [`ReadSession::cursor`]) after every
/// chunk, so it can be saved and a new session started from it later. Dropping the session (or
/// the future of `next_chunk`) cancels the read.
pub struct ReadSession {
    pub(super) stream: Stream,
    pub(super) live: LiveMode,
    start_offset: Offset,
    pub(super) offset: Offset,
    pub(super) cursor: Option<String>,
    pub(super) content_type: Option<Arc<str>>,
    pub(super) up_to_date: bool,
    pub(super) closed: bool,
    pub(super) finished: bool,
    pub(super) phase: Phase,
    pub(super) sse: Option<SseConnection>,
    /// Consecutive SSE connection failures, for backoff.
    pub(super) sse_failures: u32,
    /// Why the next SSE connection is a reconnect (reported when it opens), if it is one.
    pub(super) reconnecting: Option<&'static str>,
    pub(super) max_chunk_bytes: Option<usize>,
    /// A catch-up or long-poll response being returned in pieces.
    pub(super) body: Option<OpenBody>,
    /// Bytes of the stream from `offset` that the caller already has: the rest of
    /// [`ReadOptions::skip_bytes`] still to discard, or the pieces of the open response returned
    /// so far.
    pub(super) skip: u64,
    /// [`ReadOptions::skip_bytes`] (or `skip_messages`) as asked, for error messages.
    skip_asked: u64,
    /// Whether the skip asked counts messages ([`ReadOptions::skip_messages`]) rather than bytes.
    skip_in_messages: bool,
    /// Whether `next_chunk` has been called (the skip applies to the start of the session).
    started: bool,
    /// The caller's headers, sent on every request of the session.
    pub(super) user_headers: HeaderMap,
    /// Why [`ReadOptions::headers`] were refused: reported by the first `next_chunk`, since
    /// opening a session cannot fail.
    header_error: Option<Error>,
    /// Whether both skips were asked (refused by the first `next_chunk`).
    both_skips: bool,
}

impl std::fmt::Debug for ReadSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadSession")
            .field("url", &self.stream.redacted_url())
            .field("live", &self.live)
            .field("offset", &self.offset)
            .field("up_to_date", &self.up_to_date)
            .field("closed", &self.closed)
            .finish()
    }
}

impl ReadSession {
    pub(crate) fn new(stream: Stream, options: ReadOptions) -> ReadSession {
        let content_type = stream.content_type();
        let (user_headers, header_error) = match user_headers(&options.headers, &stream.shared.url)
        {
            Ok(headers) => (headers, None),
            Err(e) => (HeaderMap::new(), Some(e)),
        };
        let skip_in_messages = options.skip_messages > 0;
        let both_skips = skip_in_messages && options.skip_bytes > 0;
        let skip = if skip_in_messages {
            options.skip_messages
        } else {
            options.skip_bytes
        };
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
            skip,
            skip_asked: skip,
            skip_in_messages,
            started: false,
            user_headers,
            header_error,
            both_skips,
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

    /// The offset to resume from: just past the last chunk returned (while a response is being
    /// returned in pieces, where that response began; see [`ReadSession::resume_skip`]).
    pub fn offset(&self) -> &Offset {
        &self.offset
    }

    /// The bytes from [`ReadSession::offset`] the caller already has: pass it to
    /// [`ReadOptions::skip_bytes`] with the offset and cursor to resume exactly where this session
    /// is. Non-zero while a response of a non-JSON stream is being returned in pieces (the last
    /// piece's [`Chunk::resume_skip`]), and while the session is still skipping
    /// [`ReadOptions::skip_bytes`] across responses; 0 otherwise.
    pub fn resume_skip(&self) -> u64 {
        if self.skip_counts_messages() {
            0
        } else {
            self.skip
        }
    }

    /// What [`ReadSession::resume_skip`] is for other streams, for a JSON stream: the messages
    /// from [`ReadSession::offset`] the caller already has (pass it to
    /// [`ReadOptions::skip_messages`]). Non-zero while a JSON response is being returned in
    /// pieces and while the session is still skipping [`ReadOptions::skip_messages`]; 0
    /// otherwise.
    pub fn resume_skip_messages(&self) -> u64 {
        if self.skip_counts_messages() {
            self.skip
        } else {
            0
        }
    }

    /// Whether `skip` counts messages: on JSON streams, or when the caller asked for a message
    /// skip before the content type is known.
    fn skip_counts_messages(&self) -> bool {
        self.skip_in_messages || self.is_json()
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

    /// Sets [`ReadOptions::skip_bytes`]. It applies to the start of the session, so it fails with
    /// [`ErrorKind::InvalidArgument`] (naming `skip_bytes`) once [`ReadSession::next_chunk`] has
    /// been called, leaving the session as it was.
    pub fn set_skip_bytes(&mut self, skip: u64) -> Result<()> {
        self.set_skip(skip, false)
    }

    /// Sets [`ReadOptions::skip_messages`] (replacing a byte skip). Like
    /// [`ReadSession::set_skip_bytes`], it fails with [`ErrorKind::InvalidArgument`] (naming
    /// `skip_messages`) once [`ReadSession::next_chunk`] has been called.
    pub fn set_skip_messages(&mut self, skip: u64) -> Result<()> {
        self.set_skip(skip, true)
    }

    /// The one skip of the session, in bytes or messages (it replaces both options' values).
    fn set_skip(&mut self, skip: u64, in_messages: bool) -> Result<()> {
        if self.started {
            return Err(Error::invalid_argument(
                if in_messages {
                    "skip_messages"
                } else {
                    "skip_bytes"
                },
                "can only be set before the first read (it applies to the start of the session)",
            ));
        }
        self.skip = skip;
        self.skip_asked = skip;
        self.skip_in_messages = in_messages && skip > 0;
        self.both_skips = false;
        Ok(())
    }

    /// Replaces [`ReadOptions::headers`] from the next request on (an open SSE connection keeps
    /// the headers it was opened with; its reconnects send the new ones). Checked here: an
    /// invalid header fails with [`ErrorKind::InvalidArgument`] naming it (never quoting its
    /// value) and leaves the headers as they were.
    pub fn set_headers(&mut self, headers: &[(String, String)]) -> Result<()> {
        self.user_headers = user_headers(headers, &self.stream.shared.url)?;
        self.header_error = None;
        Ok(())
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
        self.started = true;
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

    async fn advance(&mut self) -> Result<Option<Chunk>> {
        if let Some(error) = self.header_error.take() {
            return Err(error);
        }
        if self.both_skips {
            return Err(self.stream.error(
                ErrorKind::InvalidArgument,
                "skip_messages: cannot be combined with skip_bytes (JSON streams count messages, other streams bytes)",
            ));
        }
        if self.max_chunk_bytes == Some(0) {
            return Err(self.stream.error(
                ErrorKind::InvalidArgument,
                "max_chunk_bytes: must be at least 1",
            ));
        }
        if self.skip > 0 && self.body.is_none() {
            self.check_skip_allowed()?;
            if self.offset.is_now() {
                let (name, unit) = self.skip_names();
                return Err(self.stream.error(
                    ErrorKind::InvalidArgument,
                    format!("{name}: cannot be used with offset \"now\" (it counts {unit} from a saved offset)"),
                ));
            }
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

    pub(super) fn is_json(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(is_json_content_type)
    }

    /// The option the skip was asked with, and its unit.
    fn skip_names(&self) -> (&'static str, &'static str) {
        if self.skip_in_messages {
            ("skip_messages", "messages")
        } else {
            ("skip_bytes", "bytes")
        }
    }

    /// Fails when the skip's unit does not suit the stream: JSON streams count messages (a byte
    /// position could fall inside one), other streams bytes. A skip the session set itself,
    /// while returning a response in pieces, always has the stream's unit.
    pub(super) fn check_skip_allowed(&self) -> Result<()> {
        if self.content_type.is_none() {
            return Ok(());
        }
        match (self.is_json(), self.skip_in_messages) {
            (true, false) => Err(self.stream.error(
                ErrorKind::InvalidArgument,
                format!(
                    "skip_bytes: JSON streams cannot skip bytes (asked for {}), since a byte position may fall inside a message; resume with skip_messages (a JSON chunk's resume_skip_messages)",
                    self.skip_asked
                ),
            )),
            (false, true) => Err(self.stream.error(
                ErrorKind::InvalidArgument,
                format!(
                    "skip_messages: only JSON streams have messages to skip (asked for {}); resume a {} stream with skip_bytes",
                    self.skip_asked,
                    self.content_type.as_deref().unwrap_or("non-JSON")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// What [`ReadSession::skip_response_data`] does for bytes, for the messages of a JSON
    /// response: drops the first ones the caller already has and returns the rest, with a data
    /// text holding just them. `start` counts the messages of the response already skipped or
    /// returned in pieces.
    pub(super) fn skip_response_messages(
        &mut self,
        data: Bytes,
        messages: Vec<(usize, usize)>,
        start: u64,
        at_tail: bool,
    ) -> Result<(Bytes, Vec<(usize, usize)>)> {
        let discard = self.take_skip(messages.len() as u64, start, at_tail)?;
        if discard == 0 {
            return Ok((data, messages));
        }
        let kept = &messages[usize::try_from(discard).unwrap_or(messages.len())..];
        // Rare (a resume point): rebuilding the text of the messages kept is cheap enough.
        Ok(super::json::join_messages(
            kept.iter().map(|&(s, e)| &data[s..e]),
        ))
    }

    /// Drops the bytes of a response that the caller already has; returns the rest.
    ///
    /// `data` is the response's bytes from position `start` (its earlier bytes were already
    /// skipped or returned in pieces); `at_tail` says the response reached the tail (up to date
    /// or closed). Afterwards `skip` counts from the offset after the response, which the caller
    /// moves to. A skip the stream's data cannot satisfy fails with
    /// [`ErrorKind::InvalidOffset`] once the tail is reached, rather than waiting for more data.
    pub(super) fn skip_response_data(
        &mut self,
        data: Bytes,
        start: u64,
        at_tail: bool,
    ) -> Result<Bytes> {
        let discard = self.take_skip(data.len() as u64, start, at_tail)?;
        Ok(data.slice(usize::try_from(discard).unwrap_or(data.len())..))
    }

    /// How many of the `available` units (bytes, or messages for JSON) of a response from
    /// position `start` on the skip drops; `skip` then counts from the offset after the response.
    /// A skip the stream cannot satisfy fails once the response reached the tail (`at_tail`).
    fn take_skip(&mut self, available: u64, start: u64, at_tail: bool) -> Result<u64> {
        if self.skip <= start {
            self.skip = 0;
            return Ok(0);
        }
        self.check_skip_allowed()?;
        let discard = (self.skip - start).min(available);
        let leftover = self.skip - start - discard;
        if leftover > 0 && at_tail {
            let (name, unit) = self.skip_names();
            let held = self.skip_asked.saturating_sub(leftover);
            return Err(self.stream.error(
                ErrorKind::InvalidOffset,
                format!(
                    "the resume point is past the data: {name} is {} from offset {}, but the stream has only {held} {unit} from there",
                    self.skip_asked, self.start_offset
                ),
            ));
        }
        self.skip = leftover;
        Ok(discard)
    }

    pub(super) fn learn_content_type(&mut self, content_type: &str) {
        if self.content_type.as_deref() != Some(content_type) {
            self.stream.set_content_type(content_type);
            self.content_type = Some(Arc::from(content_type));
        }
    }
}

/// The phase a read in `mode` tails the stream with once caught up.
pub(super) fn live_phase(mode: LiveMode, content_type: Option<&str>) -> Phase {
    match mode {
        LiveMode::Sse => Phase::Sse,
        LiveMode::Auto if content_type.is_some_and(is_json_content_type) => Phase::Sse,
        _ => Phase::LongPoll,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
