//! `S2Error`: an owned error object with its kind, HTTP status, S2 code, messages, basin,
//! stream and conflict values, converted to C once so that accessors only lend pointers.

use std::ffi::{CString, c_char};

use ffi_support::guard::catch;
use ffi_support::{ArgError, BoundaryError};
use s2_streamstore_core::{Context, ErrorKind, S2Error as CoreError};

use crate::handles::{self, Live};
use crate::strings::cstring;

/// The result type of the library's internal functions: the error is already in its C form.
pub(crate) type FfiResult<T> = Result<T, Box<S2Error>>;

/// What went wrong. Returned by `s2_error_kind`; the values are the core's error kinds, stable
/// across versions (new kinds are appended: treat unknown values like `S2_ERROR_INTERNAL`).
///
/// cbindgen:rename-all=prefix:S2_ERROR_
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S2ErrorKind {
    /// An argument is invalid; the message names it. Nothing was sent.
    INVALID_ARGUMENT = 0,
    /// The basin does not exist.
    BASIN_NOT_FOUND = 1,
    /// The stream does not exist.
    STREAM_NOT_FOUND = 2,
    /// The basin or stream already exists.
    ALREADY_EXISTS = 3,
    /// `match_seq_num` did not match; see `s2_error_expected_seq_num`.
    SEQ_NUM_MISMATCH = 4,
    /// The fencing token did not match; see `s2_error_expected_fencing_token`.
    FENCING_TOKEN_MISMATCH = 5,
    /// A read started past the tail; see `s2_error_tail`.
    READ_UNWRITTEN = 6,
    /// The server asked the client to slow down and retries were exhausted.
    RATE_LIMITED = 7,
    /// The server does not implement the operation (e.g. access tokens on `s2 lite`).
    NOT_SUPPORTED = 8,
    /// The access token is missing or invalid.
    UNAUTHORIZED = 9,
    /// The access token does not permit the operation.
    PERMISSION_DENIED = 10,
    /// The basin or stream is being deleted.
    DELETION_PENDING = 11,
    /// The server rejected the request as invalid.
    BAD_REQUEST = 12,
    /// The server failed and retries were exhausted.
    SERVER_ERROR = 13,
    /// The operation or an acknowledgement did not arrive in time.
    TIMEOUT = 14,
    /// The connection could not be made or broke.
    NETWORK = 15,
    /// A response or session message could not be decoded.
    PROTOCOL = 16,
    /// An append may or may not have been stored (an earlier attempt may have taken effect).
    APPEND_OUTCOME_UNKNOWN = 17,
    /// The session or producer is closed.
    CLOSED = 18,
    /// Cancelled through an `S2Cancel`, or because its session was freed.
    CANCELLED = 19,
    /// An unexpected condition inside the library.
    INTERNAL = 20,
    /// A bug: the library panicked. The library stays usable.
    PANIC = 21,
}

/// Every C kind in value order; a test keeps it equal to the core's list.
const C_KINDS: [S2ErrorKind; 22] = [
    S2ErrorKind::INVALID_ARGUMENT,
    S2ErrorKind::BASIN_NOT_FOUND,
    S2ErrorKind::STREAM_NOT_FOUND,
    S2ErrorKind::ALREADY_EXISTS,
    S2ErrorKind::SEQ_NUM_MISMATCH,
    S2ErrorKind::FENCING_TOKEN_MISMATCH,
    S2ErrorKind::READ_UNWRITTEN,
    S2ErrorKind::RATE_LIMITED,
    S2ErrorKind::NOT_SUPPORTED,
    S2ErrorKind::UNAUTHORIZED,
    S2ErrorKind::PERMISSION_DENIED,
    S2ErrorKind::DELETION_PENDING,
    S2ErrorKind::BAD_REQUEST,
    S2ErrorKind::SERVER_ERROR,
    S2ErrorKind::TIMEOUT,
    S2ErrorKind::NETWORK,
    S2ErrorKind::PROTOCOL,
    S2ErrorKind::APPEND_OUTCOME_UNKNOWN,
    S2ErrorKind::CLOSED,
    S2ErrorKind::CANCELLED,
    S2ErrorKind::INTERNAL,
    S2ErrorKind::PANIC,
];

impl S2ErrorKind {
    fn from_core(kind: ErrorKind) -> S2ErrorKind {
        C_KINDS
            .get(kind as usize)
            .copied()
            .unwrap_or(S2ErrorKind::INTERNAL)
    }
}

/// An error: what went wrong, where and why. Opaque.
///
/// Owned by whoever receives it and released with `s2_error_free`. All accessors accept NULL
/// and then return a safe default; strings they return are borrowed from the error and stay
/// valid until it is freed.
#[derive(Debug)]
pub struct S2Error {
    pub(crate) kind: S2ErrorKind,
    status: u16,
    code: Option<CString>,
    kind_code: CString,
    pub(crate) message: CString,
    server_message: CString,
    basin: Option<CString>,
    stream: Option<CString>,
    expected_seq_num: i64,
    expected_fencing_token: Option<CString>,
    tail: Option<crate::stream::S2Position>,
    retryable: bool,
    _live: Live,
}

impl S2Error {
    /// The C form of a core error.
    pub(crate) fn from_core(error: &CoreError) -> Box<S2Error> {
        Box::new(S2Error {
            kind: S2ErrorKind::from_core(error.kind()),
            status: error.status().unwrap_or(0),
            code: error.code().map(cstring),
            kind_code: cstring(error.kind().code()),
            message: cstring(error.message()),
            server_message: cstring(error.server_message().unwrap_or(error.message())),
            basin: error.basin().map(cstring),
            stream: error.stream().map(cstring),
            expected_seq_num: error
                .expected_seq_num()
                .and_then(|v| i64::try_from(v).ok())
                .unwrap_or(-1),
            expected_fencing_token: error.expected_fencing_token().map(cstring),
            tail: error.tail().map(Into::into),
            retryable: error.is_retryable(),
            _live: Live::new(),
        })
    }

    /// An independent copy (its own live-handle count), for reporting one failure to two
    /// callbacks.
    pub(crate) fn clone_of(error: &S2Error) -> S2Error {
        S2Error {
            kind: error.kind,
            status: error.status,
            code: error.code.clone(),
            kind_code: error.kind_code.clone(),
            message: error.message.clone(),
            server_message: error.server_message.clone(),
            basin: error.basin.clone(),
            stream: error.stream.clone(),
            expected_seq_num: error.expected_seq_num,
            expected_fencing_token: error.expected_fencing_token.clone(),
            tail: error.tail,
            retryable: error.retryable,
            _live: Live::new(),
        }
    }

    fn library(kind: ErrorKind, detail: &str) -> Box<S2Error> {
        S2Error::from_core(&CoreError::new(
            kind,
            Context::account("libs2_streamstore"),
            detail,
        ))
    }
}

impl From<CoreError> for Box<S2Error> {
    fn from(error: CoreError) -> Self {
        S2Error::from_core(&error)
    }
}

impl From<ArgError> for Box<S2Error> {
    fn from(error: ArgError) -> Self {
        S2Error::from_core(&CoreError::argument(&error.name, error.problem))
    }
}

impl BoundaryError for S2Error {
    fn panic(detail: &str) -> Box<Self> {
        S2Error::library(ErrorKind::Panic, &format!("internal panic: {detail}"))
    }
    fn internal(detail: &str) -> Box<Self> {
        S2Error::library(ErrorKind::Internal, &format!("internal error: {detail}"))
    }
    fn invalid_argument(error: ArgError) -> Box<Self> {
        error.into()
    }
}

/// Borrows an error argument.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
unsafe fn read<'a>(error: *const S2Error) -> Option<&'a S2Error> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::borrow(error) }
}

fn text(value: Option<&CString>) -> *const c_char {
    value.map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The error's kind. `S2_ERROR_INTERNAL` for NULL.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_kind(error: *const S2Error) -> S2ErrorKind {
    // SAFETY: forwarded to the caller.
    catch(S2ErrorKind::INTERNAL, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(S2ErrorKind::INTERNAL, |e| e.kind)
    })
}

/// The kind's stable name, e.g. `"SEQ_NUM_MISMATCH"` (the suffix of its `S2_ERROR_` constant).
/// Never NULL. Borrowed: valid until `s2_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_kind_name(error: *const S2Error) -> *const c_char {
    catch(c"INTERNAL".as_ptr(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(c"INTERNAL".as_ptr(), |e| e.kind_code.as_ptr())
    })
}

/// The HTTP status of the server's answer; 0 when there was none.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_status(error: *const S2Error) -> u16 {
    // SAFETY: forwarded to the caller.
    catch(0, || unsafe { read(error) }.map_or(0, |e| e.status))
}

/// S2's error code (`"stream_not_found"`, `"rate_limited"`...), or NULL when the server gave
/// none. Borrowed: valid until `s2_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_code(error: *const S2Error) -> *const c_char {
    // SAFETY: forwarded to the caller.
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(std::ptr::null(), |e| text(e.code.as_ref()))
    })
}

/// The full description: operation, basin and stream, HTTP status, S2 code and the server's
/// message. Never NULL. Borrowed: valid until `s2_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_message(error: *const S2Error) -> *const c_char {
    catch(c"".as_ptr(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(c"".as_ptr(), |e| e.message.as_ptr())
    })
}

/// The server's own message (or the library's description when the server did not answer).
/// Never NULL. Borrowed: valid until `s2_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_server_message(error: *const S2Error) -> *const c_char {
    catch(c"".as_ptr(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(c"".as_ptr(), |e| e.server_message.as_ptr())
    })
}

/// The basin the operation concerned, or NULL. Borrowed: valid until `s2_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_basin(error: *const S2Error) -> *const c_char {
    // SAFETY: forwarded to the caller.
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(std::ptr::null(), |e| text(e.basin.as_ref()))
    })
}

/// The stream the operation concerned, or NULL. Borrowed: valid until `s2_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_stream(error: *const S2Error) -> *const c_char {
    // SAFETY: forwarded to the caller.
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(std::ptr::null(), |e| text(e.stream.as_ref()))
    })
}

/// For `S2_ERROR_SEQ_NUM_MISMATCH`: the sequence number the stream expected; -1 otherwise.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_expected_seq_num(error: *const S2Error) -> i64 {
    // SAFETY: forwarded to the caller.
    catch(-1, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(-1, |e| e.expected_seq_num)
    })
}

/// For `S2_ERROR_FENCING_TOKEN_MISMATCH`: the stream's current fencing token; NULL otherwise.
/// Borrowed: valid until `s2_error_free`.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_expected_fencing_token(error: *const S2Error) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.map_or(std::ptr::null(), |e| {
            text(e.expected_fencing_token.as_ref())
        })
    })
}

/// For `S2_ERROR_READ_UNWRITTEN`: writes the stream's tail to `out` and returns true; false
/// (and `out` untouched) otherwise.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`; `out` NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_tail(
    error: *const S2Error,
    out: *mut crate::stream::S2Position,
) -> bool {
    catch(false, || {
        // SAFETY: forwarded to the caller.
        match unsafe { read(error) }.and_then(|e| e.tail) {
            Some(tail) => {
                // SAFETY: forwarded to the caller.
                unsafe { handles::write_out(out, tail) };
                true
            }
            None => false,
        }
    })
}

/// Whether trying again later may succeed.
///
/// # Safety
/// `error` must be NULL or a live `S2Error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_is_retryable(error: *const S2Error) -> bool {
    // SAFETY: forwarded to the caller.
    catch(false, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(error) }.is_some_and(|e| e.retryable)
    })
}

/// Frees the error. NULL is ignored.
///
/// # Safety
/// `error` must be NULL or an owned `S2Error` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_error_free(error: *mut S2Error) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(error) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_kinds_are_the_core_kinds_in_the_same_order() {
        assert_eq!(C_KINDS.len(), ErrorKind::ALL.len());
        for (c, core) in C_KINDS.iter().zip(ErrorKind::ALL) {
            assert_eq!(*c as u32, core as u32, "{core}");
            assert_eq!(S2ErrorKind::from_core(core), *c);
            assert_eq!(format!("{c:?}"), core.code(), "names match");
        }
    }
}
