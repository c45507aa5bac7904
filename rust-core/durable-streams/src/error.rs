//! The one error type of the crate.
//!
//! Every error carries a [`ErrorKind`], the stream URL it concerns (when there is one), the HTTP
//! status (when the server answered) and the server's message, so that a log line or an exception
//! built from it says what failed, where and why.

use std::borrow::Cow;
use std::fmt;

use crate::redact;

/// What went wrong, coarsely enough to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The stream (or a fork's source stream) does not exist (404).
    NotFound,
    /// The stream was deleted but is retained for its forks (410), or the offset is older than
    /// the server retains.
    Gone,
    /// The stream exists with a different configuration, or the content type does not match (409).
    Conflict,
    /// A `Stream-Seq` was not greater than the last one the server accepted (409).
    SequenceConflict,
    /// The stream is closed and accepts no more appends (409 with `Stream-Closed: true`).
    StreamClosed,
    /// Another producer claimed a newer epoch for this producer id (403).
    StaleEpoch,
    /// The server expected a different producer sequence number (409).
    SequenceGap,
    /// The offset is malformed or rejected by the server (400 on a read).
    InvalidOffset,
    /// The server rejected the request as malformed (400).
    BadRequest,
    /// Authentication is missing or wrong (401).
    Unauthorized,
    /// The server refused the request (403 without producer context).
    Forbidden,
    /// The request body is larger than the server accepts (413).
    PayloadTooLarge,
    /// The server asked us to slow down (429) and retries were exhausted.
    RateLimited,
    /// The server failed (5xx) and retries, if allowed, were exhausted.
    ServerError,
    /// The server answered with a status this client does not expect for the operation.
    UnexpectedStatus,
    /// An argument or option supplied by the caller is invalid; the message names it.
    InvalidArgument,
    /// A response body, header or SSE event could not be parsed.
    Parse,
    /// The connection failed or broke.
    Network,
    /// The operation did not finish within its time limit.
    Timeout,
    /// The caller cancelled the operation.
    Cancelled,
    /// The producer's buffer limits are reached (only from non-blocking appends).
    BufferFull,
    /// The producer was closed, detached or failed and accepts no more messages.
    ProducerClosed,
    /// The server lost this producer's state (it restarted without it, or the state expired):
    /// it expects sequence 0 again in the same epoch. Without `auto_claim` the producer stops,
    /// keeping its undelivered messages for `restart`.
    ProducerStateLost,
    /// A subscription with this id exists with a different configuration (409
    /// `SUBSCRIPTION_ALREADY_EXISTS`).
    SubscriptionConflict,
    /// Another worker holds the subscription's lease (409 `ALREADY_CLAIMED`); the message
    /// names the holder and [`Error::generation`] gives the wake's generation.
    AlreadyClaimed,
    /// The wake this request belongs to is no longer current (409 `FENCED`): its lease expired
    /// or another wake replaced it. Nothing was applied.
    Fenced,
    /// The server does not implement the protocol's subscription APIs.
    SubscriptionsNotSupported,
}

impl ErrorKind {
    /// A short, stable, upper-snake-case code (the same codes the conformance suite uses where
    /// they overlap).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Gone => "GONE",
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::SequenceConflict => "SEQUENCE_CONFLICT",
            ErrorKind::StreamClosed => "STREAM_CLOSED",
            ErrorKind::StaleEpoch => "STALE_EPOCH",
            ErrorKind::SequenceGap => "SEQUENCE_GAP",
            ErrorKind::InvalidOffset => "INVALID_OFFSET",
            ErrorKind::BadRequest => "BAD_REQUEST",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::Forbidden => "FORBIDDEN",
            ErrorKind::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::ServerError => "SERVER_ERROR",
            ErrorKind::UnexpectedStatus => "UNEXPECTED_STATUS",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Parse => "PARSE_ERROR",
            ErrorKind::Network => "NETWORK_ERROR",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Cancelled => "CANCELLED",
            ErrorKind::BufferFull => "BUFFER_FULL",
            ErrorKind::ProducerClosed => "PRODUCER_CLOSED",
            ErrorKind::ProducerStateLost => "PRODUCER_STATE_LOST",
            ErrorKind::SubscriptionConflict => "SUBSCRIPTION_CONFLICT",
            ErrorKind::AlreadyClaimed => "ALREADY_CLAIMED",
            ErrorKind::Fenced => "FENCED",
            ErrorKind::SubscriptionsNotSupported => "SUBSCRIPTIONS_NOT_SUPPORTED",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "stream not found",
            ErrorKind::Gone => "stream gone",
            ErrorKind::Conflict => "conflict",
            ErrorKind::SequenceConflict => "stream sequence conflict",
            ErrorKind::StreamClosed => "stream closed",
            ErrorKind::StaleEpoch => "stale producer epoch",
            ErrorKind::SequenceGap => "producer sequence gap",
            ErrorKind::InvalidOffset => "invalid offset",
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::PayloadTooLarge => "payload too large",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::ServerError => "server error",
            ErrorKind::UnexpectedStatus => "unexpected status",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Parse => "parse error",
            ErrorKind::Network => "network error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::BufferFull => "producer buffer full",
            ErrorKind::ProducerClosed => "producer closed",
            ErrorKind::ProducerStateLost => "producer state lost by the server",
            ErrorKind::SubscriptionConflict => "subscription exists with a different configuration",
            ErrorKind::AlreadyClaimed => "subscription already claimed",
            ErrorKind::Fenced => "fenced: the wake is no longer current",
            ErrorKind::SubscriptionsNotSupported => "this server does not support subscriptions",
        }
    }

    /// Whether an operation that is safe to repeat may be retried after this error.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Network
                | ErrorKind::Timeout
                | ErrorKind::ServerError
                | ErrorKind::RateLimited
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Extra facts that some kinds of error carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// For [`ErrorKind::StaleEpoch`]: the server's current epoch.
    pub current_epoch: Option<u64>,
    /// For [`ErrorKind::SequenceGap`]: the sequence number the server expected.
    pub expected_seq: Option<u64>,
    /// For [`ErrorKind::SequenceGap`]: the sequence number the server received.
    pub received_seq: Option<u64>,
    /// The server's `Retry-After` hint, in milliseconds, when it gave one.
    pub retry_after_ms: Option<u64>,
    /// For [`ErrorKind::Network`]: the connection could not be established, so the request
    /// never reached the server and repeating it cannot store anything twice.
    pub not_sent: bool,
    /// For [`ErrorKind::AlreadyClaimed`]: the generation of the wake another worker holds.
    pub generation: Option<u64>,
}

/// An error from the Durable Streams client.
///
/// Boxed inside so that `Result<T, Error>` stays one pointer wide on the happy path.
#[derive(thiserror::Error)]
#[error("{}", .0)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    url: Option<String>,
    status: Option<u16>,
    detail: ErrorDetail,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(url) = &self.url {
            write!(f, " for stream {url}")?;
        }
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("url", &self.0.url)
            .field("status", &self.0.status)
            .field("message", &self.0.message)
            .field("detail", &self.0.detail)
            .field("source", &self.0.source)
            .finish()
    }
}

impl Error {
    /// A new error of `kind` with a human-readable message. URLs in the message lose their
    /// secrets (see [`Error::with_url`]).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = match redact::text(&message) {
            Cow::Borrowed(_) => message,
            Cow::Owned(clean) => clean,
        };
        Error(Box::new(Inner {
            kind,
            message,
            url: None,
            status: None,
            detail: ErrorDetail::default(),
            source: None,
        }))
    }

    /// An [`ErrorKind::InvalidArgument`] error naming the parameter at fault.
    pub fn invalid_argument(parameter: &str, problem: impl fmt::Display) -> Self {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{parameter}: {problem}"),
        )
    }

    pub(crate) fn cancelled() -> Self {
        Error::new(ErrorKind::Cancelled, "the operation was cancelled")
    }

    /// Attaches the stream URL the error concerns, without its secrets: the user info is
    /// removed and every query value (and fragment) replaced by `<redacted>`, query parameter
    /// names kept (`https://h/v1/stream/a?sig=<redacted>`). [`Error::url`], `Display` and
    /// `Debug` only ever show this form.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.0.url = Some(match redact::url(&url) {
            Cow::Borrowed(_) => url,
            Cow::Owned(clean) => clean,
        });
        self
    }

    /// Attaches the HTTP status of the response that caused the error.
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Attaches kind-specific facts.
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.0.detail = detail;
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The server's message, or this client's description of the problem.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The stream URL the error concerns, if any, without user info and query values.
    pub fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    /// The HTTP status of the response that caused the error, if the server answered.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// Kind-specific facts (epochs, sequence numbers, retry hints).
    pub fn detail(&self) -> &ErrorDetail {
        &self.0.detail
    }

    /// For [`ErrorKind::StaleEpoch`]: the epoch the server currently holds.
    pub fn current_epoch(&self) -> Option<u64> {
        self.0.detail.current_epoch
    }

    /// For [`ErrorKind::SequenceGap`]: the sequence number the server expected.
    pub fn expected_seq(&self) -> Option<u64> {
        self.0.detail.expected_seq
    }

    /// For [`ErrorKind::SequenceGap`]: the sequence number the server received.
    pub fn received_seq(&self) -> Option<u64> {
        self.0.detail.received_seq
    }

    /// For [`ErrorKind::AlreadyClaimed`]: the generation of the wake another worker holds.
    pub fn generation(&self) -> Option<u64> {
        self.0.detail.generation
    }

    /// Whether repeating a safe operation could succeed.
    pub fn is_transient(&self) -> bool {
        self.0.kind.is_transient()
    }

    pub(crate) fn retry_after_ms(&self) -> Option<u64> {
        self.0.detail.retry_after_ms
    }

    /// The same error, for handing to several observers (the source is summarised as text).
    pub(crate) fn duplicate(&self) -> Error {
        let mut copy = Error::new(self.0.kind, self.0.message.clone()).with_detail(self.0.detail);
        copy.0.url = self.0.url.clone();
        copy.0.status = self.0.status;
        if let Some(source) = &self.0.source {
            copy.0.source = Some(Box::new(SourceText(source.to_string())));
        }
        copy
    }
}

impl Clone for Error {
    fn clone(&self) -> Self {
        self.duplicate()
    }
}

#[derive(Debug)]
struct SourceText(String);

impl fmt::Display for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceText {}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_stream_status_and_message() {
        let err = Error::new(ErrorKind::NotFound, "no such stream")
            .with_url("http://h/s")
            .with_status(404);
        assert_eq!(
            err.to_string(),
            "stream not found for stream http://h/s (HTTP 404): no such stream"
        );
    }

    #[test]
    fn invalid_argument_names_the_parameter() {
        let err = Error::invalid_argument("max_in_flight", "must be at least 1");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().starts_with("max_in_flight:"));
    }

    #[test]
    fn clone_keeps_kind_status_url_and_detail() {
        let detail = ErrorDetail {
            expected_seq: Some(3),
            received_seq: Some(5),
            ..ErrorDetail::default()
        };
        let err = Error::new(ErrorKind::SequenceGap, "gap")
            .with_url("u")
            .with_status(409)
            .with_detail(detail);
        let copy = err.clone();
        assert_eq!(copy.kind(), ErrorKind::SequenceGap);
        assert_eq!(copy.url(), Some("u"));
        assert_eq!(copy.status(), Some(409));
        assert_eq!(copy.expected_seq(), Some(3));
        assert_eq!(copy.received_seq(), Some(5));
    }

    #[test]
    fn secrets_in_urls_and_messages_are_redacted() {
        let err = Error::new(
            ErrorKind::Network,
            "error sending request for url (http://h/s?sig=S3CRET-SENTINEL)",
        )
        .with_url("http://me:S3CRET-SENTINEL@h/s?sig=S3CRET-SENTINEL");
        assert_eq!(err.url(), Some("http://h/s?sig=<redacted>"));
        for text in [err.to_string(), format!("{err:?}"), err.clone().to_string()] {
            assert!(!text.contains("S3CRET-SENTINEL"), "{text}");
            assert!(text.contains("sig=<redacted>"), "{text}");
        }
    }

    #[test]
    fn result_stays_small() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
