//! `DsError`: an owned error object with its kind, HTTP status, messages, URL and producer
//! details, all converted to C once so that accessors only lend pointers.

use std::ffi::{CStr, CString, c_char};

use durable_streams_core::{Error, ErrorKind};
use ffi_support::guard::catch;
use ffi_support::{ArgError, BoundaryError};

use crate::handles::{self, Live};
use crate::strings::cstring;

/// The result type of the library's internal functions: the error is already in its C form.
pub(crate) type FfiResult<T> = Result<T, Box<DsError>>;

/// What went wrong, coarsely enough to branch on. Returned by `ds_error_kind`.
///
/// Values are stable across versions; new kinds may be added at the end, so treat unknown
/// values like `DS_ERROR_INTERNAL`. Each name is `DS_ERROR_` followed by the code that
/// `ds_error_code` returns for it.
///
/// cbindgen:rename-all=prefix:DS_ERROR_
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsErrorKind {
    /// The stream (or a fork's source stream) does not exist (HTTP 404).
    NOT_FOUND = 1,
    /// The stream was deleted but is retained for its forks (410), or the offset is older than
    /// the server retains.
    GONE,
    /// The stream exists with a different configuration, or the content type does not match
    /// (409).
    CONFLICT,
    /// A `seq` append option was not greater than the last one the server accepted (409).
    SEQUENCE_CONFLICT,
    /// The stream is closed and accepts no more appends (409).
    STREAM_CLOSED,
    /// Another producer claimed a newer epoch for this producer id (403); see
    /// `ds_error_current_epoch`.
    STALE_EPOCH,
    /// The server expected a different producer sequence number (409); see
    /// `ds_error_expected_seq` and `ds_error_received_seq`.
    SEQUENCE_GAP,
    /// The offset is malformed or was rejected by the server.
    INVALID_OFFSET,
    /// The server rejected the request as malformed (400).
    BAD_REQUEST,
    /// Authentication is missing or wrong (401).
    UNAUTHORIZED,
    /// The server refused the request (403).
    FORBIDDEN,
    /// The request body is larger than the server accepts (413).
    PAYLOAD_TOO_LARGE,
    /// The server asked the client to slow down (429) and retries were exhausted.
    RATE_LIMITED,
    /// The server failed (5xx) and retries, if allowed, were exhausted.
    SERVER_ERROR,
    /// The server answered with a status the client does not expect for the operation.
    UNEXPECTED_STATUS,
    /// An argument or option supplied by the caller is invalid (NULL pointer, invalid UTF-8,
    /// bad JSON, out-of-range value...); the message names the parameter or field.
    INVALID_ARGUMENT,
    /// A response body, header or SSE event could not be parsed.
    PARSE_ERROR,
    /// The connection failed or broke.
    NETWORK_ERROR,
    /// The operation did not finish within its time limit.
    TIMEOUT,
    /// The operation was cancelled through its `DsCancel`, or because its reader or producer
    /// was freed.
    CANCELLED,
    /// The producer's buffer limits are reached (only from non-blocking appends).
    BUFFER_FULL,
    /// The producer was closed, detached or failed and accepts no more messages.
    PRODUCER_CLOSED,
    /// A bug: the library panicked. The operation did not complete; the library stays usable.
    PANIC,
    /// A bug or an unexpected condition inside the library (for example an operation that
    /// ended without reporting a result).
    INTERNAL,
    /// The server lost the producer's state (it restarted without it): it expects sequence 0
    /// again in the same epoch. Without `"auto_claim"` the producer stops, keeping undelivered
    /// messages for `ds_producer_restart`, and refuses appends with this error.
    PRODUCER_STATE_LOST,
    /// A subscription with this id exists with a different configuration (409).
    SUBSCRIPTION_CONFLICT,
    /// Another worker holds the subscription's lease (409 `ALREADY_CLAIMED`); the message
    /// names the holder.
    ALREADY_CLAIMED,
    /// The wake this request belongs to is no longer current (409 `FENCED`): its lease
    /// expired or another wake replaced it. Nothing was applied.
    FENCED,
    /// The server does not implement the protocol's subscription APIs.
    SUBSCRIPTIONS_NOT_SUPPORTED,
}

impl DsErrorKind {
    fn from_core(kind: ErrorKind) -> DsErrorKind {
        match kind {
            ErrorKind::NotFound => DsErrorKind::NOT_FOUND,
            ErrorKind::Gone => DsErrorKind::GONE,
            ErrorKind::Conflict => DsErrorKind::CONFLICT,
            ErrorKind::SequenceConflict => DsErrorKind::SEQUENCE_CONFLICT,
            ErrorKind::StreamClosed => DsErrorKind::STREAM_CLOSED,
            ErrorKind::StaleEpoch => DsErrorKind::STALE_EPOCH,
            ErrorKind::SequenceGap => DsErrorKind::SEQUENCE_GAP,
            ErrorKind::InvalidOffset => DsErrorKind::INVALID_OFFSET,
            ErrorKind::BadRequest => DsErrorKind::BAD_REQUEST,
            ErrorKind::Unauthorized => DsErrorKind::UNAUTHORIZED,
            ErrorKind::Forbidden => DsErrorKind::FORBIDDEN,
            ErrorKind::PayloadTooLarge => DsErrorKind::PAYLOAD_TOO_LARGE,
            ErrorKind::RateLimited => DsErrorKind::RATE_LIMITED,
            ErrorKind::ServerError => DsErrorKind::SERVER_ERROR,
            ErrorKind::UnexpectedStatus => DsErrorKind::UNEXPECTED_STATUS,
            ErrorKind::InvalidArgument => DsErrorKind::INVALID_ARGUMENT,
            ErrorKind::Parse => DsErrorKind::PARSE_ERROR,
            ErrorKind::Network => DsErrorKind::NETWORK_ERROR,
            ErrorKind::Timeout => DsErrorKind::TIMEOUT,
            ErrorKind::Cancelled => DsErrorKind::CANCELLED,
            ErrorKind::BufferFull => DsErrorKind::BUFFER_FULL,
            ErrorKind::ProducerClosed => DsErrorKind::PRODUCER_CLOSED,
            ErrorKind::ProducerStateLost => DsErrorKind::PRODUCER_STATE_LOST,
            ErrorKind::SubscriptionConflict => DsErrorKind::SUBSCRIPTION_CONFLICT,
            ErrorKind::AlreadyClaimed => DsErrorKind::ALREADY_CLAIMED,
            ErrorKind::Fenced => DsErrorKind::FENCED,
            ErrorKind::SubscriptionsNotSupported => DsErrorKind::SUBSCRIPTIONS_NOT_SUPPORTED,
            // The core may grow kinds; until this library learns them they are internal.
            _ => DsErrorKind::INTERNAL,
        }
    }

    /// The kind's code: the core's code string, plus `PANIC` and `INTERNAL` for the two kinds
    /// only this library raises.
    fn code(self) -> &'static CStr {
        match self {
            DsErrorKind::PANIC => c"PANIC",
            DsErrorKind::INTERNAL => c"INTERNAL",
            kind => core_kind(kind).map_or(c"INTERNAL", code_cstr),
        }
    }
}

/// The core kind a C kind stands for (`None` for PANIC and INTERNAL).
fn core_kind(kind: DsErrorKind) -> Option<ErrorKind> {
    CORE_KINDS
        .iter()
        .copied()
        .find(|core| DsErrorKind::from_core(*core) == kind)
}

/// Every core kind, in C-value order (`DS_ERROR_NOT_FOUND` = 1 ...; PANIC and INTERNAL, 23 and
/// 24, come from this library; kinds added later follow them).
const CORE_KINDS: [ErrorKind; 27] = [
    ErrorKind::NotFound,
    ErrorKind::Gone,
    ErrorKind::Conflict,
    ErrorKind::SequenceConflict,
    ErrorKind::StreamClosed,
    ErrorKind::StaleEpoch,
    ErrorKind::SequenceGap,
    ErrorKind::InvalidOffset,
    ErrorKind::BadRequest,
    ErrorKind::Unauthorized,
    ErrorKind::Forbidden,
    ErrorKind::PayloadTooLarge,
    ErrorKind::RateLimited,
    ErrorKind::ServerError,
    ErrorKind::UnexpectedStatus,
    ErrorKind::InvalidArgument,
    ErrorKind::Parse,
    ErrorKind::Network,
    ErrorKind::Timeout,
    ErrorKind::Cancelled,
    ErrorKind::BufferFull,
    ErrorKind::ProducerClosed,
    ErrorKind::ProducerStateLost,
    ErrorKind::SubscriptionConflict,
    ErrorKind::AlreadyClaimed,
    ErrorKind::Fenced,
    ErrorKind::SubscriptionsNotSupported,
];

/// The core's code as a static C string (the codes are ASCII without NUL; computed once).
fn code_cstr(kind: ErrorKind) -> &'static CStr {
    static CODES: std::sync::LazyLock<Vec<(ErrorKind, CString)>> = std::sync::LazyLock::new(|| {
        CORE_KINDS
            .iter()
            .map(|kind| (*kind, cstring(kind.code())))
            .collect()
    });
    CODES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(c"INTERNAL", |(_, code)| code.as_c_str())
}

/// An error: what went wrong, where and why. Opaque.
///
/// Owned by whoever receives it (a `DsError*` return value, or the `error` argument of a
/// callback unless documented as borrowed) and released with `ds_error_free`. All accessors
/// accept NULL and then return a safe default; strings they return are borrowed from the error
/// and stay valid until it is freed. An error may be read from any thread, but not freed while
/// another thread still reads it.
#[derive(Debug)]
pub struct DsError {
    pub(crate) kind: DsErrorKind,
    status: u16,
    pub(crate) message: CString,
    pub(crate) server_message: CString,
    url: Option<CString>,
    current_epoch: i64,
    expected_seq: i64,
    received_seq: i64,
    _live: Live,
}

impl DsError {
    fn build(kind: DsErrorKind, message: String, server_message: &str) -> Box<DsError> {
        Box::new(DsError {
            kind,
            status: 0,
            message: cstring(&message),
            server_message: cstring(server_message),
            url: None,
            current_epoch: -1,
            expected_seq: -1,
            received_seq: -1,
            _live: Live::new(),
        })
    }

    /// The C form of a core error.
    pub(crate) fn from_core(error: &Error) -> Box<DsError> {
        let mut converted = DsError::build(
            DsErrorKind::from_core(error.kind()),
            error.to_string(),
            error.message(),
        );
        converted.status = error.status().unwrap_or(0);
        converted.url = error.url().map(cstring);
        converted.current_epoch = to_i64(error.current_epoch());
        converted.expected_seq = to_i64(error.expected_seq());
        converted.received_seq = to_i64(error.received_seq());
        converted
    }

    /// A `DS_ERROR_PANIC` error.
    pub(crate) fn panic(detail: &str) -> Box<DsError> {
        DsError::build(
            DsErrorKind::PANIC,
            format!("internal panic: {detail}"),
            detail,
        )
    }

    /// A `DS_ERROR_INTERNAL` error.
    pub(crate) fn internal(detail: &str) -> Box<DsError> {
        DsError::build(
            DsErrorKind::INTERNAL,
            format!("internal error: {detail}"),
            detail,
        )
    }
}

impl From<Error> for Box<DsError> {
    fn from(error: Error) -> Self {
        DsError::from_core(&error)
    }
}

impl From<ArgError> for Box<DsError> {
    fn from(error: ArgError) -> Self {
        DsError::from_core(&Error::invalid_argument(&error.name, error.problem))
    }
}

impl BoundaryError for DsError {
    fn panic(detail: &str) -> Box<Self> {
        DsError::panic(detail)
    }

    fn internal(detail: &str) -> Box<Self> {
        DsError::internal(detail)
    }

    fn invalid_argument(error: ArgError) -> Box<Self> {
        error.into()
    }
}

fn to_i64(value: Option<u64>) -> i64 {
    value.and_then(|v| i64::try_from(v).ok()).unwrap_or(-1)
}

/// Borrows an error argument.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
unsafe fn read<'a>(error: *const DsError) -> Option<&'a DsError> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::borrow(error) }
}

/// The error's kind. `DS_ERROR_INTERNAL` for NULL.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_kind(error: *const DsError) -> DsErrorKind {
    catch(DsErrorKind::INTERNAL, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(DsErrorKind::INTERNAL, |e| e.kind)
    })
}

/// The HTTP status of the response that caused the error; 0 when there was none (or NULL).
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_status(error: *const DsError) -> u16 {
    // SAFETY: forwarded to the caller.
    catch(0, || unsafe { read(error) }.map_or(0, |e| e.status))
}

/// The full description for logs and exception messages: kind, stream URL, HTTP status and the
/// server's message, e.g. `stream not found for stream http://h/s (HTTP 404): stream not found`.
/// URLs in it are redacted as `ds_error_url` describes. Never NULL (an empty string for a NULL
/// error). Borrowed: valid until `ds_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_message(error: *const DsError) -> *const c_char {
    catch(c"".as_ptr(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(c"".as_ptr(), |e| e.message.as_ptr())
    })
}

/// The bare message: the server's response text, or the library's description of the problem
/// (for invalid arguments it starts with the parameter name). Never NULL (an empty string for a
/// NULL error). Borrowed: valid until `ds_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_server_message(error: *const DsError) -> *const c_char {
    catch(c"".as_ptr(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(c"".as_ptr(), |e| e.server_message.as_ptr())
    })
}

/// The URL of the stream the error concerns, or NULL if none (or for a NULL error), redacted
/// so that it may be logged: no user info, every query value (and any fragment) replaced by
/// `<redacted>`, query parameter names kept (`https://h/v1/stream/a?sig=<redacted>`). Error texts
/// never carry header values. Borrowed: valid until `ds_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_url(error: *const DsError) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(std::ptr::null(), |e| {
            crate::strings::ptr_or_null(e.url.as_ref())
        })
    })
}

/// A short, stable, upper-snake-case code for the kind: `NOT_FOUND`, `GONE`, `CONFLICT`,
/// `SEQUENCE_CONFLICT`, `STREAM_CLOSED`, `STALE_EPOCH`, `SEQUENCE_GAP`, `INVALID_OFFSET`,
/// `BAD_REQUEST`, `UNAUTHORIZED`, `FORBIDDEN`, `PAYLOAD_TOO_LARGE`, `RATE_LIMITED`,
/// `SERVER_ERROR`, `UNEXPECTED_STATUS`, `INVALID_ARGUMENT`, `PARSE_ERROR`, `NETWORK_ERROR`,
/// `TIMEOUT`, `CANCELLED`, `BUFFER_FULL`, `PRODUCER_CLOSED`, `PRODUCER_STATE_LOST`, `PANIC` or
/// `INTERNAL`.
/// A static string (never freed, valid forever); `INTERNAL` for NULL.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_code(error: *const DsError) -> *const c_char {
    catch(DsErrorKind::INTERNAL.code().as_ptr(), || {
        // SAFETY: forwarded to the caller.
        let kind = unsafe { read(error) }.map_or(DsErrorKind::INTERNAL, |e| e.kind);
        kind.code().as_ptr()
    })
}

/// For `DS_ERROR_STALE_EPOCH`: the epoch the server currently holds; -1 when unknown.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_current_epoch(error: *const DsError) -> i64 {
    catch(-1, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(-1, |e| e.current_epoch)
    })
}

/// For `DS_ERROR_SEQUENCE_GAP`: the sequence number the server expected; -1 when unknown.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_expected_seq(error: *const DsError) -> i64 {
    // SAFETY: forwarded to the caller.
    catch(-1, || unsafe { read(error) }.map_or(-1, |e| e.expected_seq))
}

/// For `DS_ERROR_SEQUENCE_GAP`: the sequence number the server received; -1 when unknown.
///
/// # Safety
/// `error` must be NULL or a live `DsError`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_received_seq(error: *const DsError) -> i64 {
    // SAFETY: forwarded to the caller.
    catch(-1, || unsafe { read(error) }.map_or(-1, |e| e.received_seq))
}

/// Frees an error. NULL is ignored. Every string borrowed from it becomes invalid.
///
/// # Safety
/// `error` must be NULL or an owned `DsError` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_error_free(error: *mut DsError) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(error) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_maps_to_its_own_kind_with_the_core_code() {
        let mut seen = Vec::new();
        for (index, kind) in CORE_KINDS.into_iter().enumerate() {
            let mapped = DsErrorKind::from_core(kind);
            assert_ne!(mapped, DsErrorKind::INTERNAL, "{kind:?}");
            // PANIC (23) and INTERNAL (24) sit between the first kinds and later additions.
            let value = if index < 22 { index + 1 } else { index + 3 };
            assert_eq!(mapped as i32, value as i32, "{kind:?} keeps its ABI value");
            assert_eq!(mapped.code().to_str().unwrap(), kind.code());
            assert!(!seen.contains(&mapped));
            seen.push(mapped);
        }
        assert_eq!(DsErrorKind::PANIC as i32, 23);
        assert_eq!(DsErrorKind::INTERNAL as i32, 24);
    }

    #[test]
    fn every_c_name_is_ds_error_followed_by_its_code() {
        let header = include_str!("../../../include/durable_streams.h");
        let start = header
            .find("typedef enum DsErrorKind")
            .expect("the enum is in the header");
        let body = &header[start..start + header[start..].find('}').expect("enum end")];
        let names: Vec<&str> = body
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("DS_ERROR_"))
            .map(|line| line.trim_end_matches(',').split(' ').next().unwrap_or(line))
            .collect();
        let mut kinds: Vec<DsErrorKind> = CORE_KINDS
            .iter()
            .map(|k| DsErrorKind::from_core(*k))
            .collect();
        kinds.extend([DsErrorKind::PANIC, DsErrorKind::INTERNAL]);
        kinds.sort_by_key(|kind| *kind as i32);
        let expected: Vec<String> = kinds
            .iter()
            .map(|kind| format!("DS_ERROR_{}", kind.code().to_str().unwrap()))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn core_errors_keep_status_url_messages_and_details() {
        let error = Error::new(ErrorKind::NotFound, "stream not found")
            .with_url("http://h/s")
            .with_status(404);
        let converted = DsError::from_core(&error);
        // SAFETY: `converted` is a live error for the whole block.
        unsafe {
            let e: *const DsError = &*converted;
            assert_eq!(ds_error_kind(e), DsErrorKind::NOT_FOUND);
            assert_eq!(ds_error_status(e), 404);
            assert_eq!(CStr::from_ptr(ds_error_code(e)), c"NOT_FOUND");
            assert_eq!(CStr::from_ptr(ds_error_url(e)), c"http://h/s");
            assert_eq!(
                CStr::from_ptr(ds_error_message(e)).to_str().unwrap(),
                error.to_string()
            );
            assert_eq!(
                CStr::from_ptr(ds_error_server_message(e)),
                c"stream not found"
            );
            assert_eq!(ds_error_current_epoch(e), -1);
        }
    }

    #[test]
    fn c_error_texts_carry_no_secret_from_the_url() {
        let error = Error::new(
            ErrorKind::Network,
            "error sending request for url (http://h/s?sig=S3CRET-SENTINEL&token=S3CRET-SENTINEL)",
        )
        .with_url("http://me:S3CRET-SENTINEL@h/s?sig=S3CRET-SENTINEL");
        let converted = DsError::from_core(&error);
        // SAFETY: `converted` is a live error for the whole block.
        unsafe {
            let e: *const DsError = &*converted;
            let url = CStr::from_ptr(ds_error_url(e)).to_str().unwrap();
            assert_eq!(url, "http://h/s?sig=<redacted>");
            for text in [
                url,
                CStr::from_ptr(ds_error_message(e)).to_str().unwrap(),
                CStr::from_ptr(ds_error_server_message(e)).to_str().unwrap(),
            ] {
                assert!(!text.contains("S3CRET-SENTINEL"), "{text}");
            }
        }
    }

    #[test]
    fn null_errors_give_safe_defaults() {
        let null = std::ptr::null();
        // SAFETY: NULL is allowed everywhere.
        unsafe {
            assert_eq!(ds_error_kind(null), DsErrorKind::INTERNAL);
            assert_eq!(ds_error_status(null), 0);
            assert_eq!(CStr::from_ptr(ds_error_message(null)), c"");
            assert_eq!(CStr::from_ptr(ds_error_server_message(null)), c"");
            assert!(ds_error_url(null).is_null());
            assert_eq!(CStr::from_ptr(ds_error_code(null)), c"INTERNAL");
            assert_eq!(ds_error_expected_seq(null), -1);
            assert_eq!(ds_error_received_seq(null), -1);
            ds_error_free(std::ptr::null_mut());
        }
    }
}
