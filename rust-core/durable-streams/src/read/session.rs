//! The read session: its state, public accessors, and the loop that picks how the next chunk is
//! fetched (catch-up, long-poll, SSE, or the rest of a response returned in pieces).

use std::sync::Arc;

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
    /// The caller's headers, sent on every request of the session.
    pub(super) user_headers: HeaderMap,
    /// Why [`ReadOptions::headers`] were refused: reported by the first `next_chunk`, since
    /// opening a session cannot fail.
    header_error: Option<Error>,
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
            user_headers,
            header_error,
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

    pub(super) fn is_json(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(is_json_content_type)
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
