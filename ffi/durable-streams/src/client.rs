//! `DsClient`: configuration, the connection pool, and the factory of stream handles.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use durable_streams_core::{Client, Error};

use crate::callback::{DsFreeCallback, OwnedUserData};
use crate::decorate::{DsDecorateCallback, FfiDecorator};
use crate::error::DsError;
use crate::handles::{self, Live};
use crate::options;
use crate::strings::optional;
use ffi_support::guard::{catch, catch_error};

/// A client: configuration plus a shared HTTP connection pool. Opaque.
///
/// Create one per process (or per server) with `ds_client_new` and share it between threads;
/// free it with `ds_client_free`. Streams made from it keep what they need alive, so the client
/// may be freed before them.
pub struct DsClient {
    pub(crate) client: Client,
    _live: Live,
}

/// Creates a client.
///
/// `options_json` may be NULL (defaults) or a JSON object with any of:
/// - `"base_url"`: string; relative stream URLs are appended to it (no control characters)
/// - `"headers"`: object of string values, sent with every request; names must be HTTP tokens,
///   values printable ASCII (no CR, LF or other control characters) of at most 8192 bytes
/// - `"request_timeout_ms"` (default 30000), `"connect_timeout_ms"` (10000),
///   `"live_timeout_ms"` (75000, must exceed the server's long-poll timeout): integers from 1 to
///   86400000 (24 hours)
/// - `"retry"`: object with `"max_retries"` (5), `"initial_delay_ms"` (100),
///   `"max_delay_ms"` (30000; also caps a server's `Retry-After`), `"multiplier"` (2.0, >= 1);
///   delays from 0 to 86400000 (24 hours), `initial_delay_ms <= max_delay_ms`
/// - `"append_retry"`: when plain appends are retried (with the `"retry"` policy): `"never"`
///   (default; at-most-once), `"when_not_stored"` (only failures that prove the server did not
///   store it: connection refused, 429, 503) or `"at_least_once"` (every transient failure; a
///   retry after a lost answer may store the data twice)
/// - `"user_agent"`: string, printable ASCII of at most 8192 bytes
///
/// Unknown keys, wrong types and invalid values fail with `DS_ERROR_INVALID_ARGUMENT` naming the
/// key; a member set to `null` counts as absent.
///
/// `decorate` (may be NULL) supplies dynamic headers per request; see `DsDecorateCallback`.
/// Ownership of `decorate_user_data` passes to the library with this call: `free_user_data`
/// (may be NULL) is called with it exactly once, on an unspecified thread: when no `decorate`
/// call can happen any more (after the client and every stream, reader and producer made from
/// it are freed and their operations have finished), or before this function returns if it
/// fails or `decorate` is NULL.
///
/// On success writes a new client (free it with `ds_client_free`) to `*out` and returns NULL;
/// on failure writes NULL to `*out` (when `out` is not NULL) and returns an owned error.
/// No I/O happens here.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated; `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_client_new(
    options_json: *const c_char,
    decorate: DsDecorateCallback,
    decorate_user_data: *mut c_void,
    free_user_data: DsFreeCallback,
    out: *mut *mut DsClient,
) -> *mut DsError {
    // Owned from the start, so that every exit (including a panic) releases it exactly once.
    let user_data = OwnedUserData::new(decorate_user_data, free_user_data);
    catch_error("ds_client_new", move || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: NULL or NUL-terminated per the contract.
        let json = unsafe { optional(options_json, "options_json") }?;
        let mut builder = options::client_builder(json)?;
        match decorate {
            Some(function) => {
                builder = builder.decorator(Arc::new(FfiDecorator::new(function, user_data)));
            }
            None => drop(user_data),
        }
        let client = builder.build()?;
        let handle = handles::into_raw(DsClient {
            client,
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a client. NULL is ignored. Streams, readers and producers made from it stay usable.
///
/// # Safety
/// `client` must be NULL or a live `DsClient` not freed yet, and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_client_free(client: *mut DsClient) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(client) });
}
