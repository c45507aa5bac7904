//! `DsSubscription`: a handle to one subscription and its control API (create / re-confirm,
//! read, delete, explicit streams).

use std::ffi::{CString, c_char, c_void};

use durable_streams_core::{Error, Subscription};

use crate::callback::{Callback, Done, DsDoneCallback, Once, UserData};
use crate::cancel::{self, DsCancel};
use crate::client::DsClient;
use crate::error::{DsError, FfiResult};
use crate::handles::{self, Live};
use crate::runtime::start;
use crate::strings::{self, cstring};
use crate::subscription_json::{create_result_json, info_json, subscription_config};
use ffi_support::guard::{catch, catch_error};

/// A handle to one subscription of a server (its id and control URL). Opaque. Creating one
/// does no I/O; free it with `ds_subscription_free`. Thread-safe: any number of operations may
/// run on one handle at once, and workers made from it keep working after it is freed.
pub struct DsSubscription {
    pub(crate) subscription: Subscription,
    id: CString,
    url: CString,
    _live: Live,
}

/// Borrows the `subscription` argument of an export.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`.
pub(crate) unsafe fn subscription_arg<'a>(
    subscription: *const DsSubscription,
) -> FfiResult<&'a Subscription> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::required(subscription, "subscription") }.map(|s| &s.subscription)
}

/// Completion carrying a JSON document: on success `error` is NULL and `json` is a
/// NUL-terminated UTF-8 document borrowed for the call; on failure `error` is owned by the
/// callee (free with `ds_error_free`) and `json` is NULL.
pub type DsJsonCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, json: *const c_char)>;

/// A [`DsJsonCallback`] with its user data.
///
/// cbindgen:ignore
pub(crate) struct JsonReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, *const c_char),
    user_data: UserData,
}

impl JsonReply {
    pub(crate) fn once(
        function: DsJsonCallback,
        user_data: *mut c_void,
    ) -> Option<Once<JsonReply>> {
        function.map(|function| {
            Once::new(JsonReply {
                function,
                user_data: UserData(user_data),
            })
        })
    }
}

impl Callback for JsonReply {
    type Error = DsError;
    type Value = serde_json::Value;

    fn invoke(&self, result: FfiResult<serde_json::Value>) {
        match result {
            Ok(value) => {
                let json = cstring(&value.to_string());
                // SAFETY: the caller's callback and user data; the document is borrowed for
                // the call only, as documented.
                unsafe { (self.function)(self.user_data.0, std::ptr::null_mut(), json.as_ptr()) }
            }
            // SAFETY: as above; the error is handed over as owned.
            Err(error) => unsafe {
                (self.function)(self.user_data.0, Box::into_raw(error), std::ptr::null())
            },
        }
    }
}

/// A handle to the subscription `id` (1 to 200 of `A-Z a-z 0-9 - _ . ~`) under the stream root
/// `stream_root`: an absolute URL, a path relative to the client's `base_url`, or NULL for the
/// `base_url` itself (for example `http://127.0.0.1:4437/v1/stream`). No I/O happens here.
///
/// On success writes a new handle (free it with `ds_subscription_free`) to `*out` and returns
/// NULL; on failure (`DS_ERROR_INVALID_ARGUMENT` naming the argument) writes NULL to `*out` when
/// `out` is not NULL and returns an owned error.
///
/// # Safety
/// `client` must be NULL or a live `DsClient`; `stream_root` and `id` NULL or NUL-terminated;
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_new(
    client: *const DsClient,
    stream_root: *const c_char,
    id: *const c_char,
    out: *mut *mut DsSubscription,
) -> *mut DsError {
    catch_error("ds_subscription_new", || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let client = unsafe { handles::required(client, "client") }?;
        // SAFETY: as above.
        let stream_root = unsafe { strings::optional(stream_root, "stream_root") }?;
        // SAFETY: as above.
        let id = unsafe { strings::required(id, "id") }?;
        let subscription = match stream_root {
            Some(root) => client.client.subscription_at(root, id)?,
            None => client.client.subscription(id)?,
        };
        let handle = handles::into_raw(DsSubscription {
            id: cstring(subscription.id()),
            url: cstring(subscription.url()),
            subscription,
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a subscription handle. NULL is ignored. Operations already started on it, and
/// workers made from it, keep working.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription` not freed yet, and not in use by
/// another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_free(subscription: *mut DsSubscription) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(subscription) });
}

/// The subscription's id. Borrowed until `ds_subscription_free`; NULL if `subscription` is
/// NULL.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_id(subscription: *const DsSubscription) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(subscription) }.map_or(std::ptr::null(), |s| s.id.as_ptr())
    })
}

/// The subscription's control URL (`{stream root}/__ds/subscriptions/{id}`). Borrowed until
/// `ds_subscription_free`; NULL if `subscription` is NULL.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_url(subscription: *const DsSubscription) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(subscription) }.map_or(std::ptr::null(), |s| s.url.as_ptr())
    })
}

/// Creates the subscription (`PUT`), or re-confirms an identical one.
///
/// `config` is a JSON object with the protocol's field names:
/// `{"type": "pull-wake", "wake_stream": "wake/pool"}` or
/// `{"type": "webhook", "webhook": {"url": "https://..."}}`, plus `"pattern"` (a glob of
/// stream-root-relative paths: `*` one segment, `**` any number), `"streams"` (an array of
/// explicit paths), `"lease_ttl_ms"` (1000 to 600000) and `"description"`; at least a pattern
/// or one stream. Unknown fields are refused. The document is checked before the call returns
/// (an error then reaches `callback` on the calling thread).
///
/// Completes through `callback` with the subscription's document (see
/// `ds_subscription_get`) plus `"created"`: true for 201, false for 200 (an identical one
/// existed). A different configuration fails with `DS_ERROR_SUBSCRIPTION_CONFLICT`; a server
/// without subscriptions with `DS_ERROR_SUBSCRIPTIONS_NOT_SUPPORTED`. `cancel` may be NULL; a
/// NULL `callback` makes the call do nothing.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `config` NULL or NUL-terminated;
/// `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_create(
    subscription: *const DsSubscription,
    config: *const c_char,
    cancel: *const DsCancel,
    callback: DsJsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = JsonReply::once(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { subscription_arg(subscription) }.and_then(|subscription| {
            // SAFETY: as above.
            let config = subscription_config(unsafe { strings::required(config, "config") }?)?;
            config.check()?;
            let subscription = subscription.clone();
            Ok(async move {
                let created = subscription.create(&config).await?;
                Ok(create_result_json(&created))
            })
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Reads the subscription. Completes through `callback` with
/// `{"id", "type" ("pull-wake" | "webhook"), "pattern", "streams": [{"path", "link_type"
/// ("glob" | "explicit"), "acked_offset"}], "webhook": {"url", "signing": {"alg", "kid",
/// "jwks_url"}}, "wake_stream", "lease_ttl_ms", "created_at", "status" ("active" | "failed"),
/// "description"}` (absent values are null); `DS_ERROR_NOT_FOUND` when it does not exist.
/// `cancel` may be NULL; a NULL `callback` makes the call do nothing.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_get(
    subscription: *const DsSubscription,
    cancel: *const DsCancel,
    callback: DsJsonCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = JsonReply::once(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { subscription_arg(subscription) }.map(|subscription| {
            let subscription = subscription.clone();
            async move { Ok(info_json(&subscription.get().await?)) }
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Deletes the subscription. Completes through `callback` exactly once (see
/// `DsDoneCallback`); `DS_ERROR_NOT_FOUND` when it does not exist. Requests of its wakes in
/// flight fail afterwards and advance no cursor. `cancel` may be NULL.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_delete(
    subscription: *const DsSubscription,
    cancel: *const DsCancel,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { subscription_arg(subscription) }.map(|subscription| {
            let subscription = subscription.clone();
            async move { subscription.delete().await }
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Links `count` (at least 1) streams explicitly, at their current tails; linking a linked
/// stream again is harmless. The paths are copied and checked before the call returns.
/// Completes through `callback` exactly once. `cancel` may be NULL.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `paths` NULL or valid for reads of
/// `count` pointers, each NULL or NUL-terminated; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_add_streams(
    subscription: *const DsSubscription,
    paths: *const *const c_char,
    count: usize,
    cancel: *const DsCancel,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { subscription_arg(subscription) }.and_then(|subscription| {
            // SAFETY: as above.
            let paths = unsafe { string_array(paths, count, "paths") }?;
            let subscription = subscription.clone();
            Ok(async move { subscription.add_streams(&paths).await })
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Removes the explicit link of `path`; a link by the pattern stays, and removing an absent
/// link is harmless. Completes through `callback` exactly once. `cancel` may be NULL.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `path` NULL or NUL-terminated;
/// `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_remove_stream(
    subscription: *const DsSubscription,
    path: *const c_char,
    cancel: *const DsCancel,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { subscription_arg(subscription) }.and_then(|subscription| {
            // SAFETY: as above.
            let path = unsafe { strings::required(path, "path") }?.to_owned();
            let subscription = subscription.clone();
            Ok(async move { subscription.remove_stream(&path).await })
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Copies an array of C strings; `(NULL, 0)` is the empty array.
///
/// # Safety
/// `items` must be NULL or valid for reads of `count` pointers, each NULL or NUL-terminated.
pub(crate) unsafe fn string_array(
    items: *const *const c_char,
    count: usize,
    name: &str,
) -> FfiResult<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if items.is_null() {
        return Err(Error::invalid_argument(name, "is NULL but its count is not 0").into());
    }
    // SAFETY: non-NULL and valid for `count` reads per the contract.
    let pointers = unsafe { std::slice::from_raw_parts(items, count) };
    pointers
        .iter()
        .enumerate()
        .map(|(index, &item)| {
            // SAFETY: each entry is NULL or NUL-terminated per the contract.
            unsafe { strings::required(item, &format!("{name}[{index}]")) }.map(str::to_owned)
        })
        .collect()
}
