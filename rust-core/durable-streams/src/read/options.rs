//! What a read is asked for: the live mode and the read options.

use crate::offset::Offset;

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

/// Where and how to read. Its `Debug` output shows header names only: the values may be
/// credentials.
#[derive(Clone, Default)]
pub struct ReadOptions {
    /// The start position; [`Offset::BEGINNING`] by default.
    pub offset: Offset,
    /// What to do after catching up.
    pub live: LiveMode,
    /// A cursor saved with the offset (echoed on live requests for CDN collapsing).
    pub cursor: Option<String>,
    /// The most bytes one chunk holds; `None` (the default): a chunk is one whole response,
    /// however large.
    ///
    /// A server decides how much one response holds (Electric's answers a catch-up from the
    /// start of a 1 GiB stream with one 1 GiB response). With a bound, a larger response is
    /// returned in pieces as it arrives, so memory stays bounded. Every piece but the last is
    /// [`Chunk::partial`]: its offset is where the response began and it never reports
    /// up-to-date or closed; resume exactly after it with its [`Chunk::resume_skip`] as
    /// [`ReadOptions::skip_bytes`] (the offset alone reads the whole response again).
    ///
    /// JSON streams are cut between messages, never inside one: each piece is a JSON array of
    /// whole messages of at least `max_chunk_bytes` (one message larger than that is a piece of
    /// its own), and resumes with [`Chunk::resume_skip_messages`] as
    /// [`ReadOptions::skip_messages`]. Whole responses that break off are
    /// requested again under the retry policy; a response returned in pieces that breaks off
    /// ends the session with the error instead (its pieces are already delivered), and
    /// [`ReadSession::offset`] is still where that response began, with
    /// [`ReadSession::resume_skip`] the bytes delivered from there.
    ///
    /// [`Chunk::partial`]: crate::Chunk::partial
    /// [`Chunk::resume_skip`]: crate::Chunk::resume_skip
    /// [`Chunk::resume_skip_messages`]: crate::Chunk::resume_skip_messages
    /// [`ReadSession::offset`]: crate::ReadSession::offset
    /// [`ReadSession::resume_skip`]: crate::ReadSession::resume_skip
    pub max_chunk_bytes: Option<usize>,
    /// Bytes of the stream from [`ReadOptions::offset`] that the caller already has and the
    /// session discards before returning any data; 0 by default. Set it to a saved
    /// [`Chunk::resume_skip`] (with that chunk's offset and cursor) to resume exactly after a
    /// [`Chunk::partial`] piece.
    ///
    /// Stream data is immutable, so the bytes from an offset are always the same, however the
    /// server cuts its responses; the skip may span several responses. Chunks whose data is
    /// skipped entirely are not returned, but up-to-date and closed are reported as without the
    /// skip. If the stream has fewer bytes from the offset than the skip when the read reaches
    /// its tail, the session fails with [`ErrorKind::InvalidOffset`] ("the resume point is past
    /// the data"), also in live modes (it does not wait for more data). Only for non-JSON
    /// streams (JSON streams count messages: [`ReadOptions::skip_messages`]): a non-zero skip on
    /// a JSON stream, or from [`Offset::NOW`], fails the first [`ReadSession::next_chunk`] with
    /// [`ErrorKind::InvalidArgument`] naming `skip_bytes`.
    ///
    /// [`Chunk::partial`]: crate::Chunk::partial
    /// [`Chunk::resume_skip`]: crate::Chunk::resume_skip
    /// [`ErrorKind::InvalidOffset`]: crate::ErrorKind::InvalidOffset
    /// [`ErrorKind::InvalidArgument`]: crate::ErrorKind::InvalidArgument
    /// [`ReadSession::next_chunk`]: crate::ReadSession::next_chunk
    pub skip_bytes: u64,
    /// For JSON streams, what [`ReadOptions::skip_bytes`] is for other streams: the messages of
    /// the stream from [`ReadOptions::offset`] that the caller already has, discarded before any
    /// data is returned; 0 by default. Set it to a saved [`Chunk::resume_skip_messages`] (with
    /// that chunk's offset and cursor) to resume exactly after a [`Chunk::partial`] piece of a
    /// JSON response. The same rules as `skip_bytes` apply, counted in messages: it may span
    /// responses, and a skip past the stream's messages fails with
    /// [`ErrorKind::InvalidOffset`] once the read reaches the tail. On a non-JSON stream, from
    /// [`Offset::NOW`], or together with `skip_bytes`, the first [`ReadSession::next_chunk`]
    /// fails with [`ErrorKind::InvalidArgument`] naming `skip_messages`.
    ///
    /// [`Chunk::partial`]: crate::Chunk::partial
    /// [`Chunk::resume_skip_messages`]: crate::Chunk::resume_skip_messages
    /// [`ErrorKind::InvalidOffset`]: crate::ErrorKind::InvalidOffset
    /// [`ErrorKind::InvalidArgument`]: crate::ErrorKind::InvalidArgument
    /// [`ReadSession::next_chunk`]: crate::ReadSession::next_chunk
    pub skip_messages: u64,
    /// Extra HTTP headers sent on every request of the session: the catch-up requests, each
    /// long-poll and every SSE (re)connection. Same precedence and checks as
    /// [`AppendOptions::headers`](crate::AppendOptions::headers); an invalid header fails the
    /// first [`ReadSession::next_chunk`](crate::ReadSession::next_chunk).
    pub headers: Vec<(String, String)>,
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

    /// Skips the first `skip` bytes from the start offset (see [`ReadOptions::skip_bytes`]).
    pub fn skip_bytes(mut self, skip: u64) -> Self {
        self.skip_bytes = skip;
        self
    }

    /// Skips the first `skip` messages of a JSON stream from the start offset (see
    /// [`ReadOptions::skip_messages`]).
    pub fn skip_messages(mut self, skip: u64) -> Self {
        self.skip_messages = skip;
        self
    }

    /// Adds a header sent on every request of the session (see [`ReadOptions::headers`]).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl std::fmt::Debug for ReadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOptions")
            .field("offset", &self.offset)
            .field("live", &self.live)
            .field("cursor", &self.cursor)
            .field("max_chunk_bytes", &self.max_chunk_bytes)
            .field("skip_bytes", &self.skip_bytes)
            .field("skip_messages", &self.skip_messages)
            .field("headers", &crate::model::HeaderNames(&self.headers))
            .finish()
    }
}
