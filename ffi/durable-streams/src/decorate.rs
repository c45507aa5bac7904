//! Dynamic headers: the client's `RequestDecorator` calls a C callback, which completes a
//! `DsDecoration` now or later, from any thread.

use std::ffi::{c_char, c_void};

use durable_streams_core::{
    DecorateFuture, Decorations, Error, ErrorKind, RequestDecorator, RequestInfo,
};
use tokio::sync::oneshot;

use crate::callback::OwnedUserData;
use crate::handles::{self, Live};
use crate::options;
use crate::strings::{cstring, optional};
use ffi_support::guard::catch;

/// What a dynamic-header provider is asked to decorate. All strings are borrowed for the
/// duration of the `DsDecorateCallback` call only (copy them to keep them).
#[repr(C)]
pub struct DsRequestInfo {
    /// The protocol operation: `create`, `head`, `delete`, `append`, `close`, `read` or
    /// `producer-batch` (more may be added).
    pub operation: *const c_char,
    /// The HTTP method: `PUT`, `HEAD`, `DELETE`, `POST` or `GET`.
    pub method: *const c_char,
    /// The stream URL, without the query parameters the client adds.
    pub url: *const c_char,
}

/// A pending decoration of one request. Opaque.
///
/// Handed to a `DsDecorateCallback`, which must eventually call `ds_decoration_complete` on it
/// exactly once (that call frees it), from any thread, before or after returning. The request
/// waits until then; if its operation is cancelled meanwhile, completing later is still
/// allowed and simply has no effect.
pub struct DsDecoration {
    reply: oneshot::Sender<Result<Decorations, Error>>,
    _live: Live,
}

/// Computes per-request headers and query parameters (rotating auth tokens, tracing ids).
///
/// Called once per operation (retries reuse the result), once per request of a read session
/// and once per producer batch, on a runtime worker thread. It must return quickly: to do slow
/// work (fetching a token), start it and call `ds_decoration_complete` later from any thread.
/// `info` is borrowed for the call; `decoration` must be completed exactly once.
pub type DsDecorateCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        info: *const DsRequestInfo,
        decoration: *mut DsDecoration,
    ),
>;

/// The client's decorator: forwards each request to the C callback.
pub(crate) struct FfiDecorator {
    function: unsafe extern "C" fn(*mut c_void, *const DsRequestInfo, *mut DsDecoration),
    user_data: OwnedUserData,
}

impl FfiDecorator {
    pub(crate) fn new(
        function: unsafe extern "C" fn(*mut c_void, *const DsRequestInfo, *mut DsDecoration),
        user_data: OwnedUserData,
    ) -> FfiDecorator {
        FfiDecorator {
            function,
            user_data,
        }
    }
}

impl RequestDecorator for FfiDecorator {
    fn decorate(&self, info: &RequestInfo) -> DecorateFuture {
        let (reply, response) = oneshot::channel();
        let operation = cstring(info.operation.name());
        let method = cstring(info.method);
        let url = cstring(&info.url);
        let request = DsRequestInfo {
            operation: operation.as_ptr(),
            method: method.as_ptr(),
            url: url.as_ptr(),
        };
        let decoration = handles::into_raw(DsDecoration {
            reply,
            _live: Live::new(),
        });
        // SAFETY: the caller's callback with its own user data; `request` and its strings live
        // until the call returns; ownership of `decoration` passes to the callee.
        unsafe { (self.function)(self.user_data.get(), &request, decoration) };
        Box::pin(async move {
            response.await.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "dynamic header provider: the decoration was dropped without being completed",
                ))
            })
        })
    }
}

/// Completes a decoration and frees it. Call exactly once per `DsDecoration`, from any thread.
///
/// - `error_message` non-NULL: the provider failed; the request is not sent and its operation
///   fails with `DS_ERROR_INVALID_ARGUMENT` and the message
///   `dynamic header provider failed: <error_message>`. `decorations_json` is ignored.
/// - otherwise `decorations_json` (NULL = nothing to add) is a JSON object
///   `{"headers": {"name": "value", ...}, "query": {"name": "value", ...}}` (both members
///   optional). Headers replace the client's default headers of the same name; protocol headers
///   always win. Invalid JSON fails the operation with `DS_ERROR_INVALID_ARGUMENT`.
///
/// Strings are copied before returning. NULL `decoration` is ignored.
///
/// # Safety
/// `decoration` must be NULL or a `DsDecoration` received by a `DsDecorateCallback` and not yet
/// completed; the strings must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_decoration_complete(
    decoration: *mut DsDecoration,
    decorations_json: *const c_char,
    error_message: *const c_char,
) {
    catch((), || {
        if decoration.is_null() {
            return;
        }
        // SAFETY: a decoration handed out by `FfiDecorator::decorate`, completed once.
        let decoration = unsafe { Box::from_raw(decoration) };
        let result = if error_message.is_null() {
            // SAFETY: NULL or NUL-terminated per the contract.
            unsafe { optional(decorations_json, "decorations_json") }
                .and_then(|json| json.map_or(Ok(Decorations::default()), options::decorations))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "dynamic header provider returned invalid decorations: {}",
                            e.server_message.to_string_lossy()
                        ),
                    )
                })
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract.
            let message = unsafe { std::ffi::CStr::from_ptr(error_message) }.to_string_lossy();
            Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("dynamic header provider failed: {message}"),
            ))
        };
        // The operation may be gone (cancelled); then there is nobody to tell.
        let _ = decoration.reply.send(result);
    });
}
