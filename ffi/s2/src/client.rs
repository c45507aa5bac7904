//! `S2Client` and the control plane: basins, streams and access tokens, as JSON documents
//! (metrics and locations are in `metrics`).

use std::ffi::{c_char, c_void};

use ffi_support::guard::{catch, catch_error};
use s2_streamstore_core::model::{
    AccessTokenRequest, BasinConfig, BasinReconfiguration, ListRequest, StreamConfig,
    StreamReconfiguration,
};
use s2_streamstore_core::{
    ClientOptions, Context, S2Client as CoreClient, S2Error as CoreError, names,
};
use serde::Serialize;

use crate::callback::{Json, S2JsonCallback};
use crate::cancel::{S2Cancel, token};
use crate::error::{FfiResult, S2Error};
use crate::handles::{self, Live};
use crate::runtime::{runtime, start};
use crate::strings;

/// A client of one S2 account (its endpoints, access token, timeouts and retries). Opaque;
/// thread-safe; free it with `s2_client_free` (streams opened from it stay usable).
pub struct S2Client {
    pub(crate) client: CoreClient,
    _live: Live,
}

/// Creates a client from `options_json`, a JSON object with the fields:
/// - `access_token` (string, required; any non-empty value for `s2 lite`);
/// - `endpoint` (string: one endpoint for both APIs, e.g. `"http://127.0.0.1:4566"`), or
///   `account_endpoint` and `basin_endpoint` (a leading `{basin}.` in the basin endpoint's
///   host routes per basin); S2 cloud when none is given;
/// - `connect_timeout_ms`, `request_timeout_ms` (numbers; SDK defaults 3000 and 5000);
/// - `retry`: `{"max_attempts": 3, "min_base_delay_ms": 100, "max_base_delay_ms": 1000,
///   "append_retry_policy": "all" | "no_side_effects"}`;
/// - `compression`: `"none"`, `"gzip"` or `"zstd"`.
///
/// Unknown fields are refused. Nothing is sent: a wrong endpoint shows on the first call.
///
/// # Safety
/// `options_json` must be NULL or a NUL-terminated string; `out` NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_client_new(
    options_json: *const c_char,
    out: *mut *mut S2Client,
) -> *mut S2Error {
    // SAFETY: `out` is NULL or writable per the caller's contract.
    unsafe { handles::write_out(out, std::ptr::null_mut()) };
    catch_error("s2_client_new", || {
        if out.is_null() {
            return Err(ffi_support::ArgError::new("out", "must not be NULL").into());
        }
        // SAFETY: forwarded to the caller.
        let options: ClientOptions = unsafe { strings::json(options_json, "options_json") }?;
        let _context = runtime()?.enter();
        let client = CoreClient::new(&options)?;
        // SAFETY: checked non-NULL above; writable per the caller's contract.
        unsafe {
            handles::write_out(
                out,
                handles::into_raw(S2Client {
                    client,
                    _live: Live::new(),
                }),
            )
        };
        Ok(())
    })
}

/// Frees the client. NULL is ignored.
///
/// # Safety
/// `client` must be NULL or a live `S2Client` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_client_free(client: *mut S2Client) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(client) });
}

fn to_json<T: Serialize>(value: &T) -> Result<String, CoreError> {
    serde_json::to_string(value).map_err(|e| {
        CoreError::new(
            s2_streamstore_core::ErrorKind::Internal,
            s2_streamstore_core::Context::account("encode the result"),
            e,
        )
    })
}

/// Starts a control-plane call: `prepare` checks the arguments on the calling thread and
/// returns the future, whose value is sent to `callback` as JSON.
pub(crate) fn control<T, F>(
    operation: &'static str,
    callback: S2JsonCallback,
    user_data: *mut c_void,
    cancel: *const S2Cancel,
    prepare: impl FnOnce() -> FfiResult<F>,
) where
    T: Serialize,
    F: std::future::Future<Output = Result<T, CoreError>> + Send + 'static,
{
    let Some(once) = Json::new(callback, user_data) else {
        return;
    };
    // SAFETY: `cancel` is NULL or live per every caller's contract (documented on each export).
    let cancel = unsafe { token(cancel) };
    start(
        operation,
        once,
        cancel,
        prepare().map(|future| async move { to_json(&future.await?) }),
    );
}

/// Borrows the client argument.
///
/// # Safety
/// `client` must be NULL or a live `S2Client`.
pub(crate) unsafe fn client_of<'a>(client: *const S2Client) -> FfiResult<&'a CoreClient> {
    // SAFETY: forwarded to the caller.
    Ok(&unsafe { handles::required(client, "client") }?.client)
}

/// Lists basins. `request_json` (NULL for all): `{"prefix": "...", "start_after": "...",
/// "limit": 100}`. Result: `{"items": [{"name", "location"?, "created_at", "deleted_at"?}],
/// "has_more": bool}`.
///
/// # Safety
/// Pointers must be NULL or valid: `client` a live `S2Client`, strings NUL-terminated,
/// `cancel` a live `S2Cancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_basins_list(
    client: *const S2Client,
    request_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("list basins", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            // SAFETY: forwarded to the caller.
            let request: ListRequest = unsafe { strings::json(request_json, "request_json") }?;
            Ok(async move { client.list_basins(&request).await })
        })
    });
}

/// Creates a basin. `config_json` (NULL for defaults): `{"default_stream_config": {...},
/// "stream_cipher": "aegis-256" | "aes-256-gcm", "create_stream_on_append": bool,
/// "create_stream_on_read": bool}`; a stream config is `{"storage_class": "standard" |
/// "express", "retention_policy": {"age": secs} | {"infinite": {}}, "timestamping": {"mode":
/// "client-prefer" | "client-require" | "arrival", "uncapped": bool}, "delete_on_empty":
/// {"min_age_secs": n}}`. Result: the basin's info. An existing basin is
/// `S2_ERROR_ALREADY_EXISTS`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_basin_create(
    client: *const S2Client,
    basin: *const c_char,
    config_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("create basin", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, config) =
                unsafe { basin_args("create basin", client, basin, config_json) }?;
            Ok(async move { client.create_basin(&basin, config.as_ref()).await })
        })
    });
}

/// Declares a basin: creates it, or makes an existing basin's configuration `config_json` (NULL
/// is the defaults, so an existing basin's settings are reset). Result: its info plus `"created"`
/// and `"config_updated"`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_basin_ensure(
    client: *const S2Client,
    basin: *const c_char,
    config_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("ensure basin", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, config) =
                unsafe { basin_args("ensure basin", client, basin, config_json) }?;
            Ok(async move { client.ensure_basin(&basin, config.as_ref()).await })
        })
    });
}

/// The client, basin name and optional basin configuration of a basin call.
///
/// # Safety
/// As for `s2_basins_list`.
unsafe fn basin_args(
    operation: &'static str,
    client: *const S2Client,
    basin: *const c_char,
    config_json: *const c_char,
) -> FfiResult<(CoreClient, String, Option<BasinConfig>)> {
    // SAFETY: forwarded to the caller.
    let client = unsafe { client_of(client) }?.clone();
    // SAFETY: forwarded to the caller.
    let basin = unsafe { strings::required(basin, "basin") }?.to_owned();
    names::check_basin(Context::basin(operation, &basin), &basin)?;
    // SAFETY: forwarded to the caller.
    let config = match unsafe { strings::optional(config_json, "config_json") }? {
        None => None,
        // SAFETY: forwarded to the caller.
        Some(_) => Some(unsafe { strings::json::<BasinConfig>(config_json, "config_json") }?),
    };
    Ok((client, basin, config))
}

/// The basin's configuration (JSON as for `s2_basin_create`).
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_basin_get_config(
    client: *const S2Client,
    basin: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("get basin config", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, _) =
                unsafe { basin_args("get basin config", client, basin, std::ptr::null()) }?;
            Ok(async move { client.basin_config(&basin).await })
        })
    });
}

/// Changes the basin's configuration. `change_json` has the fields of a basin config: an
/// absent field stays, `null` resets it to the default, a value sets it. Result: the new
/// configuration.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_basin_reconfigure(
    client: *const S2Client,
    basin: *const c_char,
    change_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("reconfigure basin", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, _) =
                unsafe { basin_args("reconfigure basin", client, basin, std::ptr::null()) }?;
            // SAFETY: forwarded to the caller.
            let change: BasinReconfiguration =
                unsafe { strings::json(change_json, "change_json") }?;
            Ok(async move { client.reconfigure_basin(&basin, &change).await })
        })
    });
}

/// Deletes the basin (completes in the background). With `ignore_not_found` a missing basin
/// is not an error. Result: `null`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_basin_delete(
    client: *const S2Client,
    basin: *const c_char,
    ignore_not_found: bool,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("delete basin", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, _) =
                unsafe { basin_args("delete basin", client, basin, std::ptr::null()) }?;
            Ok(async move { client.delete_basin(&basin, ignore_not_found).await })
        })
    });
}

/// The client, basin and stream names of a stream call.
///
/// # Safety
/// As for `s2_basins_list`.
unsafe fn stream_args(
    operation: &'static str,
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
) -> FfiResult<(CoreClient, String, String)> {
    // SAFETY: forwarded to the caller.
    let client = unsafe { client_of(client) }?.clone();
    // SAFETY: forwarded to the caller.
    let basin = unsafe { strings::required(basin, "basin") }?.to_owned();
    // SAFETY: forwarded to the caller.
    let stream = unsafe { strings::required(stream, "stream") }?.to_owned();
    let context = Context::stream(operation, &basin, &stream);
    names::check_basin(context, &basin)?;
    names::check_stream(context, &stream)?;
    Ok((client, basin, stream))
}

/// An optional stream configuration argument.
///
/// # Safety
/// `config_json` must be NULL or NUL-terminated.
unsafe fn stream_config(config_json: *const c_char) -> FfiResult<Option<StreamConfig>> {
    // SAFETY: forwarded to the caller.
    Ok(
        match unsafe { strings::optional(config_json, "config_json") }? {
            None => None,
            // SAFETY: forwarded to the caller.
            Some(_) => Some(unsafe { strings::json::<StreamConfig>(config_json, "config_json") }?),
        },
    )
}

/// Lists the basin's streams (request and result as for `s2_basins_list`; a stream's info is
/// `{"name", "created_at", "deleted_at"?, "cipher"?}`).
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_streams_list(
    client: *const S2Client,
    basin: *const c_char,
    request_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("list streams", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, _) =
                unsafe { basin_args("list streams", client, basin, std::ptr::null()) }?;
            // SAFETY: forwarded to the caller.
            let request: ListRequest = unsafe { strings::json(request_json, "request_json") }?;
            Ok(async move { client.list_streams(&basin, &request).await })
        })
    });
}

/// Creates a stream (`config_json` a stream config as for `s2_basin_create`, NULL for the
/// basin's defaults). Result: the stream's info. An existing stream is
/// `S2_ERROR_ALREADY_EXISTS`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_create(
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
    config_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("create stream", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, stream) =
                unsafe { stream_args("create stream", client, basin, stream) }?;
            // SAFETY: forwarded to the caller.
            let config = unsafe { stream_config(config_json) }?;
            Ok(async move { client.create_stream(&basin, &stream, config.as_ref()).await })
        })
    });
}

/// Declares a stream: creates it, or makes an existing stream's configuration `config_json`
/// (NULL is the defaults, so an existing stream's settings are reset). Result: its info plus
/// `"created"` and `"config_updated"`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_ensure(
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
    config_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("ensure stream", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, stream) =
                unsafe { stream_args("ensure stream", client, basin, stream) }?;
            // SAFETY: forwarded to the caller.
            let config = unsafe { stream_config(config_json) }?;
            Ok(async move { client.ensure_stream(&basin, &stream, config.as_ref()).await })
        })
    });
}

/// The stream's configuration (JSON as for `s2_stream_create`).
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_get_config(
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("get stream config", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, stream) =
                unsafe { stream_args("get stream config", client, basin, stream) }?;
            Ok(async move { client.stream_config(&basin, &stream).await })
        })
    });
}

/// Changes the stream's configuration (`change_json` as for `s2_basin_reconfigure`, with a
/// stream config's fields). Result: the new configuration.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_reconfigure(
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
    change_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("reconfigure stream", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, stream) =
                unsafe { stream_args("reconfigure stream", client, basin, stream) }?;
            // SAFETY: forwarded to the caller.
            let change: StreamReconfiguration =
                unsafe { strings::json(change_json, "change_json") }?;
            Ok(async move { client.reconfigure_stream(&basin, &stream, &change).await })
        })
    });
}

/// Deletes the stream. Result: `null`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_delete(
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
    ignore_not_found: bool,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("delete stream", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let (client, basin, stream) =
                unsafe { stream_args("delete stream", client, basin, stream) }?;
            Ok(async move {
                client
                    .delete_stream(&basin, &stream, ignore_not_found)
                    .await
            })
        })
    });
}

/// Issues an access token. `request_json`: `{"id": "...", "expires_at": "RFC 3339"?,
/// "auto_prefix_streams": bool, "scope": {"basins": {"exact": "..."} | {"prefix": "..."},
/// "streams": ..., "access_tokens": ..., "op_groups": {"account"|"basin"|"stream": {"read":
/// bool, "write": bool}}, "ops": ["append", "read", ...]}}`. Result: the token's secret as a
/// JSON string. `S2_ERROR_NOT_SUPPORTED` on servers without access tokens (`s2 lite`).
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_access_token_issue(
    client: *const S2Client,
    request_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("issue access token", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            // SAFETY: forwarded to the caller.
            if unsafe { strings::optional(request_json, "request_json") }?.is_none() {
                return Err(ffi_support::ArgError::new("request_json", "must not be NULL").into());
            }
            // SAFETY: forwarded to the caller.
            let request: AccessTokenRequest =
                unsafe { strings::json(request_json, "request_json") }?;
            Ok(async move { client.issue_access_token(&request).await })
        })
    });
}

/// Lists access tokens (request as for `s2_basins_list`; items `{"id", "expires_at"?,
/// "auto_prefix_streams", "scope"}`).
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_access_tokens_list(
    client: *const S2Client,
    request_json: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("list access tokens", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            // SAFETY: forwarded to the caller.
            let request: ListRequest = unsafe { strings::json(request_json, "request_json") }?;
            Ok(async move { client.list_access_tokens(&request).await })
        })
    });
}

/// Revokes the access token `id`. Result: `null`.
///
/// # Safety
/// As for `s2_basins_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_access_token_revoke(
    client: *const S2Client,
    id: *const c_char,
    cancel: *const S2Cancel,
    callback: S2JsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        control("revoke access token", callback, user_data, cancel, || {
            // SAFETY: forwarded to the caller.
            let client = unsafe { client_of(client) }?.clone();
            // SAFETY: forwarded to the caller.
            let id = unsafe { strings::required(id, "id") }?.to_owned();
            names::check_token_id(Context::account("revoke access token"), &id)?;
            Ok(async move { client.revoke_access_token(&id).await })
        })
    });
}
