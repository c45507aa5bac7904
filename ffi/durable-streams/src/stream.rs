//! `DsStream`: a handle to one stream URL and its one-shot operations (create/fork, head,
//! delete, append, close).

use std::ffi::{CString, c_char, c_void};

use bytes::Bytes;
use durable_streams_core::{AppendOptions, AppendResult, CreateResult, Error, Stream, StreamInfo};

use crate::callback::UserData;
use crate::callback::{Callback, Done, DsDoneCallback, Once};
use crate::cancel::{self, DsCancel};
use crate::client::DsClient;
use crate::error::{DsError, FfiResult};
use crate::handles::{self, Live};
use crate::headers::{DsHeader, header_pairs};
use crate::options;
use crate::runtime::start;
use crate::strings::{self, cstring, ptr_or_null};
use ffi_support::guard::{catch, catch_error};

/// A handle to one stream (its URL plus what has been learned about it, such as the content
/// type). Opaque. Creating one does no I/O; free it with `ds_stream_free`. Thread-safe: any
/// number of operations may run on one stream handle at once.
pub struct DsStream {
    pub(crate) stream: Stream,
    _live: Live,
}

/// Borrows the `stream` argument of an export.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`.
pub(crate) unsafe fn stream_arg<'a>(stream: *const DsStream) -> FfiResult<&'a Stream> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::required(stream, "stream") }.map(|s| &s.stream)
}

/// The result of `ds_stream_create`. Borrowed for the duration of the callback.
#[repr(C)]
pub struct DsCreateResult {
    /// True when the server created the stream; false when an identical stream already existed.
    pub created: bool,
    /// The tail offset after any initial content; NULL if the server did not say.
    pub next_offset: *const c_char,
    /// The stream's content type; NULL if unknown.
    pub content_type: *const c_char,
    /// Whether the stream is closed.
    pub closed: bool,
}

/// Stream metadata from `ds_stream_head`. Borrowed for the duration of the callback.
#[repr(C)]
pub struct DsStreamInfo {
    /// The tail offset. Never NULL.
    pub next_offset: *const c_char,
    /// The content type; NULL if the server did not send one.
    pub content_type: *const c_char,
    /// Whether the stream is closed.
    pub closed: bool,
    /// The sliding time-to-live in seconds; -1 if none.
    pub ttl_seconds: i64,
    /// The absolute expiry (RFC 3339); NULL if none.
    pub expires_at: *const c_char,
    /// The response's `ETag`; NULL if the server sent none. (Added in ABI 3.)
    pub etag: *const c_char,
    /// The response's `Cache-Control`; NULL if the server sent none. (Added in ABI 3.)
    pub cache_control: *const c_char,
}

/// The result of `ds_stream_append` and `ds_stream_close`. Borrowed for the duration of the
/// callback.
#[repr(C)]
pub struct DsAppendResult {
    /// The tail offset after the operation. Never NULL.
    pub next_offset: *const c_char,
    /// Whether the stream is now closed.
    pub closed: bool,
}

/// Completion of `ds_stream_create`: on success `error` is NULL and `result` is borrowed for
/// the call; on failure `error` is owned by the callee (free with `ds_error_free`) and `result`
/// is NULL.
pub type DsCreateCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        error: *mut DsError,
        result: *const DsCreateResult,
    ),
>;

/// Completion of `ds_stream_head`: on success `error` is NULL and `info` is borrowed for the
/// call; on failure `error` is owned by the callee and `info` is NULL.
pub type DsHeadCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, info: *const DsStreamInfo),
>;

/// Completion of `ds_stream_append` and `ds_stream_close`: on success `error` is NULL and
/// `result` is borrowed for the call; on failure `error` is owned by the callee and `result` is
/// NULL.
pub type DsAppendCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        error: *mut DsError,
        result: *const DsAppendResult,
    ),
>;

/// Defines a completion callback type: a C function plus its user data, delivering a core value
/// converted by the given closure-like block.
macro_rules! result_callback {
    ($name:ident, $value:ty, $c_type:ty, |$v:ident| $convert:block) => {
        pub(crate) struct $name {
            function: unsafe extern "C" fn(*mut c_void, *mut DsError, *const $c_type),
            user_data: UserData,
        }

        impl $name {
            fn once(
                function: Option<unsafe extern "C" fn(*mut c_void, *mut DsError, *const $c_type)>,
                user_data: *mut c_void,
            ) -> Option<Once<$name>> {
                function.map(|function| {
                    Once::new($name {
                        function,
                        user_data: UserData(user_data),
                    })
                })
            }
        }

        impl Callback for $name {
            type Error = DsError;
            type Value = $value;

            fn invoke(&self, result: FfiResult<$value>) {
                match result {
                    Ok($v) => {
                        // The strings backing the struct live until the end of this arm.
                        let (_strings, c_value) = $convert;
                        // SAFETY: the caller's callback and user data; the struct is borrowed
                        // for the call only, as documented.
                        unsafe { (self.function)(self.user_data.0, std::ptr::null_mut(), &c_value) }
                    }
                    Err(error) => {
                        // SAFETY: as above; the error is handed over as owned.
                        unsafe {
                            (self.function)(
                                self.user_data.0,
                                Box::into_raw(error),
                                std::ptr::null(),
                            )
                        }
                    }
                }
            }
        }
    };
}

result_callback!(CreateReply, CreateResult, DsCreateResult, |r| {
    let next_offset = r.next_offset.as_ref().map(|o| cstring(o.as_str()));
    let content_type = r.content_type.as_deref().map(cstring);
    let c_value = DsCreateResult {
        created: r.created,
        next_offset: ptr_or_null(next_offset.as_ref()),
        content_type: ptr_or_null(content_type.as_ref()),
        closed: r.closed,
    };
    ((next_offset, content_type), c_value)
});

result_callback!(HeadReply, StreamInfo, DsStreamInfo, |info| {
    let next_offset = cstring(info.next_offset.as_str());
    let content_type = info.content_type.as_deref().map(cstring);
    let expires_at = info.expires_at.as_deref().map(cstring);
    let etag = info.etag.as_deref().map(cstring);
    let cache_control = info.cache_control.as_deref().map(cstring);
    let c_value = DsStreamInfo {
        next_offset: next_offset.as_ptr(),
        content_type: ptr_or_null(content_type.as_ref()),
        closed: info.closed,
        ttl_seconds: info
            .ttl
            .and_then(|ttl| i64::try_from(ttl.as_secs()).ok())
            .unwrap_or(-1),
        expires_at: ptr_or_null(expires_at.as_ref()),
        etag: ptr_or_null(etag.as_ref()),
        cache_control: ptr_or_null(cache_control.as_ref()),
    };
    (
        (next_offset, content_type, expires_at, etag, cache_control),
        c_value,
    )
});

result_callback!(AppendReply, AppendResult, DsAppendResult, |r| {
    let next_offset: CString = cstring(r.next_offset.as_str());
    let c_value = DsAppendResult {
        next_offset: next_offset.as_ptr(),
        closed: r.closed,
    };
    (next_offset, c_value)
});

/// A handle to the stream at `url`: an absolute `http(s)` URL, or a path appended to the
/// client's `base_url`. No I/O happens here.
///
/// On success writes a new handle (free it with `ds_stream_free`) to `*out` and returns NULL;
/// on failure (`DS_ERROR_INVALID_ARGUMENT` for a malformed URL, one holding CR, LF, TAB or
/// another control character, one longer than 8192 bytes, or a NULL argument) writes NULL to
/// `*out` when `out` is not NULL and returns an owned error.
///
/// # Safety
/// `client` must be NULL or a live `DsClient`; `url` NULL or NUL-terminated; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_new(
    client: *const DsClient,
    url: *const c_char,
    out: *mut *mut DsStream,
) -> *mut DsError {
    catch_error("ds_stream_new", || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let client = unsafe { handles::required(client, "client") }?;
        // SAFETY: as above.
        let url = unsafe { strings::required(url, "url") }?;
        let stream = client.client.stream(url)?;
        let handle = handles::into_raw(DsStream {
            stream,
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a stream handle. NULL is ignored. Operations already started on it, and readers and
/// producers made from it, keep working.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream` not freed yet, and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_free(stream: *mut DsStream) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(stream) });
}

/// The stream's URL. Owned: free with `ds_string_free`. NULL if `stream` is NULL.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_url(stream: *const DsStream) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(stream) }
            .map_or(std::ptr::null_mut(), |s| strings::owned(s.stream.url()))
    })
}

/// The stream's content type if the client knows it (learned by any of its handles for this URL
/// from a create, head or read, or set with `ds_stream_set_content_type`); NULL when unknown.
/// Owned: free with `ds_string_free`.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_content_type(stream: *const DsStream) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(stream) }
            .and_then(|s| s.stream.content_type())
            .map_or(std::ptr::null_mut(), |ct| strings::owned(&ct))
    })
}

/// Records the stream's content type (e.g. from saved configuration) so that appends through any
/// handle of the same client need no `HEAD` to learn it. An empty string is ignored. Returns NULL, or an owned error for NULL or
/// invalid arguments.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; `content_type` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_set_content_type(
    stream: *const DsStream,
    content_type: *const c_char,
) -> *mut DsError {
    catch_error("ds_stream_set_content_type", || {
        // SAFETY: arguments are NULL or valid per the contract.
        let stream = unsafe { stream_arg(stream) }?;
        // SAFETY: as above.
        let content_type = unsafe { strings::required(content_type, "content_type") }?;
        stream.set_content_type(content_type);
        Ok(())
    })
}

/// Creates the stream (`PUT`), or confirms that an identical one exists, or, with the `"fork"`
/// option, creates a fork of another stream.
///
/// `options_json` may be NULL or a JSON object with any of:
/// - `"content_type"`: string (`application/json` selects JSON mode; the server's default,
///   usually `application/octet-stream`, if absent)
/// - `"ttl_seconds"`: integer, sliding time-to-live; or `"expires_at"`: RFC 3339 string
/// - `"closed"`: bool, create the stream already closed (`body` is then its whole content)
/// - `"fork"`: `{"source": url-or-path, "offset": offset (default: the source's tail),
///   "sub_offset": integer}`: fork `source` (same server) at that point; the fork shares the
///   source's data before it
/// - `"headers"`: `{"Name": "value", ...}` (string values only): extra HTTP headers for this
///   create only, with the checks and precedence of `DsHeader`; also sent on the `HEAD` that
///   explains a conflict
///
/// `body` (`body_len` bytes; NULL when `body_len` is 0) is the initial content; it is copied
/// before this function returns.
///
/// Completes through `callback` exactly once (see `DsCreateCallback`): with
/// `DS_ERROR_CONFLICT` if a stream with another configuration exists, `DS_ERROR_NOT_FOUND` if a
/// fork's source does not exist, `DS_ERROR_CANCELLED` when `cancel` (may be NULL) fires, and
/// `DS_ERROR_INVALID_ARGUMENT` for bad arguments (then synchronously, before returning). A
/// NULL `callback` makes the call do nothing.
///
/// # Safety
/// Pointers must be NULL or valid for their documented use; `body` readable for `body_len`
/// bytes when not NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_create(
    stream: *const DsStream,
    options_json: *const c_char,
    body: *const u8,
    body_len: usize,
    cancel: *const DsCancel,
    callback: DsCreateCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = CreateReply::once(callback, user_data) else {
            return;
        };
        let prepared = (|| -> FfiResult<_> {
            // SAFETY: arguments are NULL or valid per the contract.
            unsafe {
                let stream = stream_arg(stream)?.clone();
                let mut options =
                    options::create_options(strings::optional(options_json, "options_json")?)?;
                let body = strings::bytes(body, body_len, "body")?;
                if !body.is_empty() {
                    options.body = Some(Bytes::copy_from_slice(body));
                }
                Ok((stream, options))
            }
        })();
        let operation =
            prepared.map(|(stream, options)| async move { stream.create(options).await });
        // SAFETY: `cancel` is NULL or live per the contract.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Reads the stream's metadata (`HEAD`): tail offset, content type, closure, TTL and expiry.
/// Completes through `callback` exactly once (see `DsHeadCallback`); `DS_ERROR_NOT_FOUND` if
/// the stream does not exist. `cancel` may be NULL. A NULL `callback` makes the call do nothing.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_head(
    stream: *const DsStream,
    cancel: *const DsCancel,
    callback: DsHeadCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = HeadReply::once(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { stream_arg(stream) }.map(|stream| {
            let stream = stream.clone();
            async move { stream.head().await }
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Deletes the stream. Completes through `callback` exactly once (see `DsDoneCallback`);
/// `DS_ERROR_NOT_FOUND` if it does not exist. `cancel` may be NULL. A NULL `callback` makes the
/// call do nothing.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_delete(
    stream: *const DsStream,
    cancel: *const DsCancel,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { stream_arg(stream) }.map(|stream| {
            let stream = stream.clone();
            async move { stream.delete().await }
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// The per-call arguments of `ds_stream_append`. Every field is optional: a zeroed struct (or
/// a NULL `args` pointer) is a plain append. Strings and the header array are borrowed for the
/// call only. Fields may be added at the end in later versions: initialize the struct with
/// zeros (`= {0}` or designated initializers) so that they stay unset.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DsAppendArgs {
    /// `Stream-Seq`: a writer sequence the server requires to increase strictly
    /// (lexicographically), else `DS_ERROR_SEQUENCE_CONFLICT`. NULL: none.
    pub seq: *const c_char,
    /// The content type to send. NULL: the stream's, learned once per client (from a create, a
    /// head or a read through any handle of that client; one `HEAD` otherwise).
    pub content_type: *const c_char,
    /// Close the stream atomically with this append (`len` may then be 0: a close that sends
    /// `headers`, idempotent like `ds_stream_close`).
    pub close: bool,
    /// Extra HTTP headers for this append only (see `DsHeader` for checks and precedence);
    /// also sent on the `HEAD` that learns the content type when it is not known yet. NULL
    /// when `header_count` is 0.
    pub headers: *const DsHeader,
    /// The number of entries in `headers`.
    pub header_count: usize,
}

/// Appends `data` (`len` bytes, copied before returning) in one request. A plain append is sent
/// once (at-most-once) unless the client's `"append_retry"` option allows retries; use a
/// producer for exactly-once delivery.
///
/// On a JSON stream `data` must be JSON; a top-level array is stored as one message per
/// element. `args` may be NULL (a plain append) or point to a `DsAppendArgs` (sequence,
/// content type, close, headers), read before this function returns.
///
/// Completes through `callback` exactly once (see `DsAppendCallback`);
/// `DS_ERROR_STREAM_CLOSED` if the stream is closed. `cancel` may be NULL. A NULL `callback`
/// makes the call do nothing.
///
/// # Safety
/// Pointers must be NULL or valid for their documented use; `data` readable for `len` bytes
/// when not NULL; the strings in `args` NULL or NUL-terminated; `args->headers` NULL or valid
/// for `args->header_count` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_append(
    stream: *const DsStream,
    data: *const u8,
    len: usize,
    args: *const DsAppendArgs,
    cancel: *const DsCancel,
    callback: DsAppendCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = AppendReply::once(callback, user_data) else {
            return;
        };
        let prepared = (|| -> FfiResult<_> {
            // SAFETY: arguments are NULL or valid per the contract.
            unsafe {
                let stream = stream_arg(stream)?.clone();
                let data = Bytes::copy_from_slice(strings::bytes(data, len, "data")?);
                let options = append_options(handles::borrow(args))?;
                Ok((stream, data, options))
            }
        })();
        let operation = prepared
            .map(|(stream, data, options)| async move { stream.append_with(data, options).await });
        // SAFETY: `cancel` is NULL or live per the contract.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// The core's options for `args` (NULL: defaults).
///
/// # Safety
/// The strings in `args` must be NULL or NUL-terminated, and `args.headers` NULL or valid for
/// `args.header_count` entries.
unsafe fn append_options(args: Option<&DsAppendArgs>) -> FfiResult<AppendOptions> {
    let mut options = AppendOptions::new();
    let Some(args) = args else {
        return Ok(options);
    };
    // SAFETY: forwarded to the caller.
    if let Some(seq) = unsafe { strings::optional(args.seq, "args.seq") }? {
        options = options.seq(seq);
    }
    // SAFETY: forwarded to the caller.
    let content_type = unsafe { strings::optional(args.content_type, "args.content_type") }?;
    if let Some(content_type) = content_type {
        options = options.content_type(content_type);
    }
    // SAFETY: forwarded to the caller.
    options.headers = unsafe { header_pairs(args.headers, args.header_count, "args.headers") }?;
    Ok(options.close(args.close))
}

/// Closes the stream: no more appends are accepted. Idempotent (closing a closed stream
/// succeeds). Completes through `callback` exactly once (see `DsAppendCallback`) with the final
/// offset. `cancel` may be NULL. A NULL `callback` makes the call do nothing.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_stream_close(
    stream: *const DsStream,
    cancel: *const DsCancel,
    callback: DsAppendCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = AppendReply::once(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { stream_arg(stream) }.map(|stream| {
            let stream = stream.clone();
            async move { stream.close().await }
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DsErrorKind;

    #[test]
    fn append_args_carry_their_headers() {
        let headers = [
            DsHeader {
                name: c"X-Tenant".as_ptr(),
                value: c"t1".as_ptr(),
            },
            DsHeader {
                name: c"X-Trace".as_ptr(),
                value: c"abc".as_ptr(),
            },
        ];
        let args = DsAppendArgs {
            seq: c"0001".as_ptr(),
            content_type: std::ptr::null(),
            close: true,
            headers: headers.as_ptr(),
            header_count: headers.len(),
        };
        // SAFETY: the strings are static; `headers` is a live array of `header_count` entries.
        let options = unsafe { append_options(Some(&args)) }.unwrap();
        assert_eq!(
            options.headers,
            vec![
                ("X-Tenant".to_owned(), "t1".to_owned()),
                ("X-Trace".to_owned(), "abc".to_owned())
            ]
        );
        assert!(options.close);
        assert_eq!(options.seq.as_deref(), Some("0001"));

        // A zeroed struct (what a C caller's `= {0}` gives) has no headers.
        let zeroed = DsAppendArgs {
            seq: std::ptr::null(),
            content_type: std::ptr::null(),
            close: false,
            headers: std::ptr::null(),
            header_count: 0,
        };
        // SAFETY: all NULL.
        let options = unsafe { append_options(Some(&zeroed)) }.unwrap();
        assert!(options.headers.is_empty());

        let missing = DsAppendArgs {
            header_count: 1,
            ..zeroed
        };
        // SAFETY: NULL headers with a count: refused before any read.
        let Err(error) = (unsafe { append_options(Some(&missing)) }) else {
            panic!("a NULL array with a count must fail");
        };
        assert_eq!(error.kind, DsErrorKind::INVALID_ARGUMENT);
        let text = error.server_message.to_str().unwrap();
        assert!(text.starts_with("args.headers:"), "{text}");
    }
}
