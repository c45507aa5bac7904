//! One error type for every S2 operation: a stable kind, the HTTP status and S2 error code when
//! the server answered, the server's message, and the basin and stream the operation was about.

use std::fmt;

use s2_sdk::error::{
    AppendConditionFailed, AppendError, AppendSessionError, ClientError, ErrorCode, ProducerError,
    ReadError, ReadSessionError, RequestError, ServerError,
};
use s2_sdk::types::ValidationError;

use crate::model::Position;

/// What went wrong, as a stable list shared by Rust, C (`S2ErrorKind`) and .NET.
///
/// The numbering is part of the C ABI: new kinds are only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorKind {
    /// An argument or option is invalid; the message names it. Nothing was sent.
    InvalidArgument = 0,
    /// The basin does not exist (404 `basin_not_found`).
    BasinNotFound = 1,
    /// The stream does not exist (404 `stream_not_found`).
    StreamNotFound = 2,
    /// The basin or stream already exists (409 `resource_already_exists`).
    AlreadyExists = 3,
    /// `match_seq_num` did not match the stream's tail; [`S2Error::expected_seq_num`] has it.
    SeqNumMismatch = 4,
    /// The fencing token did not match; [`S2Error::expected_fencing_token`] has the current one.
    FencingTokenMismatch = 5,
    /// A read started past the tail; [`S2Error::tail`] has the tail.
    ReadUnwritten = 6,
    /// The server asked the client to slow down (429) and retries were exhausted.
    RateLimited = 7,
    /// The server does not implement the operation (501, e.g. access tokens on `s2 lite`).
    NotSupported = 8,
    /// The access token is missing or invalid (401).
    Unauthorized = 9,
    /// The access token does not permit the operation (403).
    PermissionDenied = 10,
    /// The basin or stream is being deleted (409 `*_deletion_pending`).
    DeletionPending = 11,
    /// The server rejected the request as invalid (other 4xx).
    BadRequest = 12,
    /// The server failed (5xx or an unknown code) and retries, if allowed, were exhausted.
    ServerError = 13,
    /// The operation or an acknowledgement did not arrive in time.
    Timeout = 14,
    /// The connection could not be made or broke.
    Network = 15,
    /// A response or session message could not be decoded.
    Protocol = 16,
    /// An append may or may not have been stored: an earlier attempt may have taken effect and
    /// the last one failed. Read the stream (or use `match_seq_num`) to find out.
    AppendOutcomeUnknown = 17,
    /// The session or producer is closed, closing or was dropped.
    Closed = 18,
    /// The caller cancelled the operation.
    Cancelled = 19,
    /// An unexpected internal condition.
    Internal = 20,
    /// A panic was caught at the native boundary.
    Panic = 21,
}

impl ErrorKind {
    /// Every kind, in numbering order (tests keep the C and .NET lists equal to this one).
    pub const ALL: [ErrorKind; 22] = [
        ErrorKind::InvalidArgument,
        ErrorKind::BasinNotFound,
        ErrorKind::StreamNotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::SeqNumMismatch,
        ErrorKind::FencingTokenMismatch,
        ErrorKind::ReadUnwritten,
        ErrorKind::RateLimited,
        ErrorKind::NotSupported,
        ErrorKind::Unauthorized,
        ErrorKind::PermissionDenied,
        ErrorKind::DeletionPending,
        ErrorKind::BadRequest,
        ErrorKind::ServerError,
        ErrorKind::Timeout,
        ErrorKind::Network,
        ErrorKind::Protocol,
        ErrorKind::AppendOutcomeUnknown,
        ErrorKind::Closed,
        ErrorKind::Cancelled,
        ErrorKind::Internal,
        ErrorKind::Panic,
    ];

    /// A short, stable, upper-snake-case name.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::BasinNotFound => "BASIN_NOT_FOUND",
            ErrorKind::StreamNotFound => "STREAM_NOT_FOUND",
            ErrorKind::AlreadyExists => "ALREADY_EXISTS",
            ErrorKind::SeqNumMismatch => "SEQ_NUM_MISMATCH",
            ErrorKind::FencingTokenMismatch => "FENCING_TOKEN_MISMATCH",
            ErrorKind::ReadUnwritten => "READ_UNWRITTEN",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::NotSupported => "NOT_SUPPORTED",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::DeletionPending => "DELETION_PENDING",
            ErrorKind::BadRequest => "BAD_REQUEST",
            ErrorKind::ServerError => "SERVER_ERROR",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Network => "NETWORK",
            ErrorKind::Protocol => "PROTOCOL",
            ErrorKind::AppendOutcomeUnknown => "APPEND_OUTCOME_UNKNOWN",
            ErrorKind::Closed => "CLOSED",
            ErrorKind::Cancelled => "CANCELLED",
            ErrorKind::Internal => "INTERNAL",
            ErrorKind::Panic => "PANIC",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Which operation on which resource failed: the context every error message starts with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// What was being done, e.g. "append" or "create basin".
    pub operation: &'a str,
    /// The basin, when the operation concerns one.
    pub basin: Option<&'a str>,
    /// The stream, when the operation concerns one.
    pub stream: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// An account-level operation.
    pub fn account(operation: &'a str) -> Context<'a> {
        Context {
            operation,
            basin: None,
            stream: None,
        }
    }

    /// An operation on `basin`.
    pub fn basin(operation: &'a str, basin: &'a str) -> Context<'a> {
        Context {
            operation,
            basin: Some(basin),
            stream: None,
        }
    }

    /// An operation on `stream` in `basin`.
    pub fn stream(operation: &'a str, basin: &'a str, stream: &'a str) -> Context<'a> {
        Context {
            operation,
            basin: Some(basin),
            stream: Some(stream),
        }
    }

    fn describe(&self) -> String {
        match (self.basin, self.stream) {
            (Some(basin), Some(stream)) => {
                format!("{} (stream {stream:?} in basin {basin:?})", self.operation)
            }
            (Some(basin), None) => format!("{} (basin {basin:?})", self.operation),
            _ => self.operation.to_owned(),
        }
    }
}

/// An S2 operation failed. `Display` gives one line naming the operation, the resource, the
/// HTTP status, the server's code and its message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .0.message)]
pub struct S2Error(Box<Fields>);

/// The error's contents, boxed so that `Result<T, S2Error>` stays small.
#[derive(Debug, Clone)]
struct Fields {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    code: Option<String>,
    server_message: Option<String>,
    basin: Option<String>,
    stream: Option<String>,
    expected_seq_num: Option<u64>,
    expected_fencing_token: Option<String>,
    tail: Option<Position>,
    retryable: bool,
}

impl S2Error {
    /// An error of `kind` for `context`, with `detail` after the context in the message.
    pub fn new(kind: ErrorKind, context: Context<'_>, detail: impl fmt::Display) -> S2Error {
        S2Error(Box::new(Fields {
            kind,
            message: format!("{}: {detail}", context.describe()),
            status: None,
            code: None,
            server_message: None,
            basin: context.basin.map(str::to_owned),
            stream: context.stream.map(str::to_owned),
            expected_seq_num: None,
            expected_fencing_token: None,
            tail: None,
            retryable: false,
        }))
    }

    fn with(mut self, change: impl FnOnce(&mut Fields)) -> S2Error {
        change(&mut self.0);
        self
    }

    /// An invalid argument: `parameter` names what the caller got wrong. Nothing was sent.
    pub fn invalid_argument(
        context: Context<'_>,
        parameter: &str,
        problem: impl fmt::Display,
    ) -> S2Error {
        S2Error::new(
            ErrorKind::InvalidArgument,
            context,
            format!("invalid {parameter}: {problem}"),
        )
    }

    /// An argument error without an operation (options checked before any call).
    pub fn argument(parameter: &str, problem: impl fmt::Display) -> S2Error {
        S2Error::invalid_argument(Context::account("configure the client"), parameter, problem)
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The full message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// S2's error code (`stream_not_found`, `rate_limited`, ...), when the server gave one.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// The server's own message, when it gave one.
    pub fn server_message(&self) -> Option<&str> {
        self.0.server_message.as_deref()
    }

    /// The basin the operation concerned.
    pub fn basin(&self) -> Option<&str> {
        self.0.basin.as_deref()
    }

    /// The stream the operation concerned.
    pub fn stream(&self) -> Option<&str> {
        self.0.stream.as_deref()
    }

    /// For [`ErrorKind::SeqNumMismatch`]: the sequence number the stream expected.
    pub fn expected_seq_num(&self) -> Option<u64> {
        self.0.expected_seq_num
    }

    /// For [`ErrorKind::FencingTokenMismatch`]: the stream's current fencing token.
    pub fn expected_fencing_token(&self) -> Option<&str> {
        self.0.expected_fencing_token.as_deref()
    }

    /// For [`ErrorKind::ReadUnwritten`]: the stream's tail.
    pub fn tail(&self) -> Option<Position> {
        self.0.tail
    }

    /// Whether trying again later may succeed (the SDK's own classification).
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// A cancelled operation.
    pub fn cancelled(context: Context<'_>) -> S2Error {
        S2Error::new(ErrorKind::Cancelled, context, "cancelled by the caller")
    }

    /// Maps a request error of the SDK.
    pub fn from_request(context: Context<'_>, error: &RequestError) -> S2Error {
        match error {
            RequestError::Server(server) => S2Error::from_server(context, server),
            RequestError::Client(client) => S2Error::from_client(context, client),
            RequestError::Validation(validation) => {
                S2Error::new(ErrorKind::InvalidArgument, context, validation)
            }
            other => S2Error::new(ErrorKind::InvalidArgument, context, other),
        }
    }

    fn from_server(context: Context<'_>, server: &ServerError) -> S2Error {
        let status = server.status.as_u16();
        let kind = match server.known_code() {
            Some(ErrorCode::BasinNotFound) => ErrorKind::BasinNotFound,
            Some(ErrorCode::StreamNotFound) => ErrorKind::StreamNotFound,
            Some(ErrorCode::ResourceAlreadyExists) => ErrorKind::AlreadyExists,
            Some(ErrorCode::BasinDeletionPending | ErrorCode::StreamDeletionPending) => {
                ErrorKind::DeletionPending
            }
            Some(ErrorCode::RateLimited) => ErrorKind::RateLimited,
            Some(ErrorCode::NotImplemented) => ErrorKind::NotSupported,
            Some(ErrorCode::Authn) => ErrorKind::Unauthorized,
            Some(ErrorCode::PermissionDenied | ErrorCode::AccessTokenNotFound) => {
                ErrorKind::PermissionDenied
            }
            Some(ErrorCode::RequestTimeout | ErrorCode::UpstreamTimeout) => ErrorKind::Timeout,
            _ => match status {
                401 => ErrorKind::Unauthorized,
                403 => ErrorKind::PermissionDenied,
                // Without a code, the resource the call was about is the one missing.
                404 if context.stream.is_some() => ErrorKind::StreamNotFound,
                404 => ErrorKind::BasinNotFound,
                429 => ErrorKind::RateLimited,
                501 => ErrorKind::NotSupported,
                400..=499 => ErrorKind::BadRequest,
                _ => ErrorKind::ServerError,
            },
        };
        let detail = if kind == ErrorKind::NotSupported {
            format!(
                "not supported by this server ({status} {}: {})",
                server.code, server.message
            )
        } else {
            format!("{status} {}: {}", server.code, server.message)
        };
        S2Error::new(kind, context, detail).with(|f| {
            f.status = Some(status);
            f.code = Some(server.code.clone());
            f.server_message = Some(server.message.clone());
            f.retryable = server.is_retryable();
        })
    }

    fn from_client(context: Context<'_>, client: &ClientError) -> S2Error {
        let kind = match client {
            ClientError::Timeout => ErrorKind::Timeout,
            ClientError::Configuration(_) | ClientError::RequestBuild(_) => {
                ErrorKind::InvalidArgument
            }
            ClientError::ResponseDecode(_)
            | ClientError::SessionProtocol(_)
            | ClientError::ResponseCompression(_) => ErrorKind::Protocol,
            _ => ErrorKind::Network,
        };
        S2Error::new(kind, context, client).with(|f| f.retryable = client.is_retryable())
    }

    /// Maps a unary read error.
    pub fn from_read(context: Context<'_>, error: &ReadError) -> S2Error {
        match error {
            ReadError::ReadUnwritten(tail) => S2Error::new(
                ErrorKind::ReadUnwritten,
                context,
                format!(
                    "the start is past the tail (next seq num {}); \
                     set clamp_to_tail to start at the tail instead",
                    tail.seq_num
                ),
            )
            .with(|f| {
                // The SDK decodes S2's 416 into the tail alone; the status is what lite and S2
                // answered.
                f.status = Some(416);
                f.tail = Some(Position::from(*tail));
            }),
            ReadError::Request(request) => S2Error::from_request(context, request),
            other => S2Error::new(ErrorKind::Internal, context, other),
        }
    }

    /// Maps a unary append error.
    pub fn from_append(context: Context<'_>, error: &AppendError) -> S2Error {
        match error {
            AppendError::Request(request) => S2Error::from_request(context, request),
            AppendError::ConditionFailed(condition) => S2Error::from_condition(context, condition),
            AppendError::IndefiniteFailure {
                final_attempt_error,
            } => S2Error::outcome_unknown(
                context,
                S2Error::from_append(context, final_attempt_error),
            ),
            other => S2Error::new(ErrorKind::Internal, context, other),
        }
    }

    fn from_condition(context: Context<'_>, condition: &AppendConditionFailed) -> S2Error {
        match condition {
            AppendConditionFailed::SeqNumMismatch(expected) => S2Error::new(
                ErrorKind::SeqNumMismatch,
                context,
                format!("match_seq_num did not match: the stream expected {expected}"),
            )
            .with(|f| {
                // The SDK decodes S2's 412 body (`{"seq_num_mismatch": n}`) into the value
                // alone; its key is S2's name for the failure.
                f.status = Some(412);
                f.code = Some("seq_num_mismatch".into());
                f.expected_seq_num = Some(*expected);
            }),
            AppendConditionFailed::FencingTokenMismatch(expected) => S2Error::new(
                ErrorKind::FencingTokenMismatch,
                context,
                format!("fencing token did not match: the stream's token is {expected:?}"),
            )
            .with(|f| {
                f.status = Some(412);
                f.code = Some("fencing_token_mismatch".into());
                f.expected_fencing_token = Some(expected.to_string());
            }),
            other => S2Error::new(ErrorKind::Internal, context, other),
        }
    }

    fn outcome_unknown(context: Context<'_>, last: S2Error) -> S2Error {
        S2Error::new(
            ErrorKind::AppendOutcomeUnknown,
            context,
            format!(
                "an earlier attempt may have been stored; the last attempt failed: {}",
                last.0.message
            ),
        )
        .with(|f| {
            f.status = last.0.status;
            f.code = last.0.code.clone();
            f.server_message = last.0.server_message.clone();
        })
    }

    /// Maps an append-session error.
    pub fn from_append_session(context: Context<'_>, error: &AppendSessionError) -> S2Error {
        match error {
            AppendSessionError::Append(append) => S2Error::from_append(context, append),
            AppendSessionError::AckTimeout => {
                S2Error::new(ErrorKind::Timeout, context, error).with(|f| f.retryable = true)
            }
            AppendSessionError::ServerDisconnected | AppendSessionError::StreamClosedEarly => {
                S2Error::new(ErrorKind::Network, context, error).with(|f| f.retryable = true)
            }
            AppendSessionError::SessionClosed
            | AppendSessionError::SessionClosing
            | AppendSessionError::SessionDropped => S2Error::new(ErrorKind::Closed, context, error),
            AppendSessionError::InvalidAck(_) => S2Error::new(ErrorKind::Protocol, context, error),
            AppendSessionError::IndefiniteFailure {
                final_attempt_error,
            } => S2Error::outcome_unknown(
                context,
                S2Error::from_append_session(context, final_attempt_error),
            ),
            other => S2Error::new(ErrorKind::Internal, context, other),
        }
    }

    /// Maps a producer error.
    pub fn from_producer(context: Context<'_>, error: &ProducerError) -> S2Error {
        match error {
            ProducerError::Append(session) => S2Error::from_append_session(context, session),
            ProducerError::Validation(validation) => {
                S2Error::invalid_argument(context, "record", validation)
            }
            ProducerError::ProducerClosed
            | ProducerError::ProducerClosing
            | ProducerError::ProducerDropped => S2Error::new(ErrorKind::Closed, context, error),
            other => S2Error::new(ErrorKind::Internal, context, other),
        }
    }

    /// Maps a read-session error.
    pub fn from_read_session(context: Context<'_>, error: &ReadSessionError) -> S2Error {
        match error {
            ReadSessionError::Read(read) => S2Error::from_read(context, read),
            ReadSessionError::HeartbeatTimeout => {
                S2Error::new(ErrorKind::Timeout, context, error).with(|f| f.retryable = true)
            }
            other => S2Error::new(ErrorKind::Internal, context, other),
        }
    }

    /// Maps an SDK validation error about `parameter`.
    pub fn from_validation(
        context: Context<'_>,
        parameter: &str,
        error: &ValidationError,
    ) -> S2Error {
        S2Error::invalid_argument(context, parameter, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_numbered_in_order_with_unique_codes() {
        let mut codes = std::collections::HashSet::new();
        for (index, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*kind as u32, index as u32, "{kind}");
            assert!(codes.insert(kind.code()), "{kind} code repeats");
        }
    }

    #[test]
    fn messages_name_the_operation_and_the_resource() {
        let error = S2Error::invalid_argument(
            Context::stream("append", "shop", "orders"),
            "records",
            "must not be empty",
        );
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            error.to_string(),
            "append (stream \"orders\" in basin \"shop\"): invalid records: must not be empty"
        );
        assert_eq!(error.basin(), Some("shop"));
        assert_eq!(error.stream(), Some("orders"));
    }

    #[test]
    fn seq_num_conflicts_carry_the_expected_value() {
        let error = S2Error::from_append(
            Context::stream("append", "b", "s"),
            &AppendError::ConditionFailed(AppendConditionFailed::SeqNumMismatch(42)),
        );
        assert_eq!(error.kind(), ErrorKind::SeqNumMismatch);
        assert_eq!(error.expected_seq_num(), Some(42));
        assert!(error.to_string().contains("expected 42"), "{error}");
    }
}
