//! Options and results of the stream operations.

use std::time::Duration;

use bytes::Bytes;

use crate::offset::Offset;

/// Options for creating (or forking) a stream with `PUT`. Its `Debug` output shows header
/// names only: the values may be credentials.
#[derive(Clone, Default)]
pub struct CreateOptions {
    /// The stream's content type; the server's default (usually `application/octet-stream`) if
    /// unset. `application/json` selects JSON mode.
    pub content_type: Option<String>,
    /// Sliding time-to-live, reset by every read and write. Whole seconds.
    pub ttl: Option<Duration>,
    /// Absolute expiry, as an RFC 3339 timestamp. Exclusive with `ttl`.
    pub expires_at: Option<String>,
    /// Initial content.
    pub body: Option<Bytes>,
    /// Create the stream already closed (`body`, if any, is its whole content).
    pub closed: bool,
    /// Create a fork of another stream instead of an empty stream.
    pub fork: Option<ForkFrom>,
    /// Extra HTTP headers for this create only (see [`AppendOptions::headers`] for precedence
    /// and validation). Also sent on the `HEAD` a refused create makes to explain the conflict.
    pub headers: Vec<(String, String)>,
}

impl CreateOptions {
    /// Default options.
    pub fn new() -> Self {
        CreateOptions::default()
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets a sliding time-to-live (whole seconds).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets an absolute expiry (RFC 3339).
    pub fn expires_at(mut self, at: impl Into<String>) -> Self {
        self.expires_at = Some(at.into());
        self
    }

    /// Sets the initial content.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Creates the stream in the closed state.
    pub fn closed(mut self, closed: bool) -> Self {
        self.closed = closed;
        self
    }

    /// Makes this a fork of `source`.
    pub fn fork(mut self, source: ForkFrom) -> Self {
        self.fork = Some(source);
        self
    }

    /// Adds a header sent with this create only (see [`CreateOptions::headers`]).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The source of a fork: the stream it branches from and where.
#[derive(Debug, Clone)]
pub struct ForkFrom {
    /// The source stream's URL or URL path (same server as the fork).
    pub source: String,
    /// Divergence point: the fork inherits the source's data before this offset. The source's
    /// tail when unset.
    pub offset: Option<Offset>,
    /// Refines the divergence point past `offset`: JSON messages for JSON streams, bytes
    /// otherwise.
    pub sub_offset: Option<u64>,
}

impl ForkFrom {
    /// A fork of `source` (URL or path) at its current tail.
    pub fn new(source: impl Into<String>) -> Self {
        ForkFrom {
            source: source.into(),
            offset: None,
            sub_offset: None,
        }
    }

    /// Forks at `offset` instead of the tail.
    pub fn at(mut self, offset: Offset) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Refines the divergence point past the offset.
    pub fn sub_offset(mut self, sub_offset: u64) -> Self {
        self.sub_offset = Some(sub_offset);
        self
    }
}

/// The result of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateResult {
    /// `true` when the server created the stream (201); `false` when an identical stream already
    /// existed (200).
    pub created: bool,
    /// The tail offset after any initial content.
    pub next_offset: Option<Offset>,
    /// The stream's content type as the server reports it.
    pub content_type: Option<String>,
    /// Whether the stream is closed.
    pub closed: bool,
}

/// Stream metadata from `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The tail offset.
    pub next_offset: Offset,
    /// The content type.
    pub content_type: Option<String>,
    /// Whether the stream is closed.
    pub closed: bool,
    /// The sliding time-to-live, if set.
    pub ttl: Option<Duration>,
    /// The absolute expiry (RFC 3339), if set.
    pub expires_at: Option<String>,
    /// The response's `ETag`, if the server sent one (identifies this state of the stream).
    pub etag: Option<String>,
    /// The response's `Cache-Control`, if the server sent one.
    pub cache_control: Option<String>,
}

/// Options for a plain append. Its `Debug` output shows header names only: the values may be
/// credentials.
#[derive(Clone, Default)]
pub struct AppendOptions {
    /// `Stream-Seq`: a writer sequence the server requires to increase strictly
    /// (lexicographically).
    pub seq: Option<String>,
    /// Content type to send; the stream's (learned once per handle) when unset.
    pub content_type: Option<String>,
    /// Close the stream atomically with this append.
    pub close: bool,
    /// Extra HTTP headers for this append only (tenant ids, per-call auth, tracing).
    ///
    /// Precedence, lowest to highest: the client's default headers, then its decorator's
    /// headers, then these, then the protocol headers the client sets for the request itself
    /// (`Content-Type`, `Stream-Seq`, `Stream-Closed`, ...): a header here replaces a default or
    /// decorated header of the same name but never a protocol header (one the client does not
    /// set for this request, such as `Stream-Seq` without [`AppendOptions::seq`], is sent as
    /// given). They are checked when
    /// the operation starts: an invalid name or value (control characters, non-ASCII, a value
    /// over [`MAX_HEADER_VALUE_LEN`](crate::MAX_HEADER_VALUE_LEN) bytes) fails it with
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) naming the header,
    /// never quoting its value. Also sent on the `HEAD` an append may make to learn the
    /// stream's content type. A repeated name keeps the last value.
    pub headers: Vec<(String, String)>,
}

impl AppendOptions {
    /// Default options.
    pub fn new() -> Self {
        AppendOptions::default()
    }

    /// Sets `Stream-Seq`.
    pub fn seq(mut self, seq: impl Into<String>) -> Self {
        self.seq = Some(seq.into());
        self
    }

    /// Sets the content type explicitly.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Closes the stream with this append.
    pub fn close(mut self, close: bool) -> Self {
        self.close = close;
        self
    }

    /// Adds a header sent with this append only (see [`AppendOptions::headers`]).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The result of an append or close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// The tail offset after the append.
    pub next_offset: Offset,
    /// Whether the stream is now closed.
    pub closed: bool,
}

/// Shows the names of caller-supplied headers, never their values (often credentials).
pub(crate) struct HeaderNames<'a>(pub(crate) &'a [(String, String)]);

impl std::fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl std::fmt::Debug for CreateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateOptions")
            .field("content_type", &self.content_type)
            .field("ttl", &self.ttl)
            .field("expires_at", &self.expires_at)
            .field("body", &self.body)
            .field("closed", &self.closed)
            .field("fork", &self.fork)
            .field("headers", &HeaderNames(&self.headers))
            .finish()
    }
}

impl std::fmt::Debug for AppendOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendOptions")
            .field("seq", &self.seq)
            .field("content_type", &self.content_type)
            .field("close", &self.close)
            .field("headers", &HeaderNames(&self.headers))
            .finish()
    }
}
