//! `DsWebhookVerifier` and `DsWebhookWake`: verifying signed webhook deliveries (the key chosen
//! by `kid` from the server's JWKS, the timestamp window, replays) and answering a wake with
//! its callback token.

use std::ffi::{CString, c_char, c_void};
use std::time::Duration;

use durable_streams_core::{
    Ack, Error, LinkType, Offset, WebhookCallback, WebhookVerifier, WebhookWake,
};
use serde_json::{Value, json};

use crate::callback::{Callback, Done, DsDoneCallback, Once, UserData};
use crate::cancel::{self, DsCancel};
use crate::claim::{AckReply, DsAck, DsAckCallback};
use crate::client::DsClient;
use crate::error::{DsError, FfiResult};
use crate::handles::{self, Live};
use crate::runtime::start;
use crate::strings::{self, cstring};
use ffi_support::guard::{catch, catch_error};

/// Verifies the webhook deliveries of one server. Opaque; create it with
/// `ds_webhook_verifier_new`, free it with `ds_webhook_verifier_free`. Thread-safe: any number
/// of verifications may run on one verifier at once; they share its key cache and its replay
/// cache.
pub struct DsWebhookVerifier {
    verifier: WebhookVerifier,
    _live: Live,
}

/// A verified webhook wake. Opaque; free it with `ds_webhook_wake_free`.
pub struct DsWebhookWake {
    wake: WebhookWake,
    json: CString,
    token: CString,
    url: CString,
    wake_id: CString,
    _live: Live,
}

/// Completion of `ds_webhook_verify`: on success `error` is NULL and `wake` is owned by the
/// callee (free with `ds_webhook_wake_free`); on failure `error` is owned by the callee and
/// `wake` is NULL. A rejected delivery is `DS_ERROR_UNAUTHORIZED` (answer it 401).
pub type DsWebhookWakeCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, wake: *mut DsWebhookWake),
>;

/// A [`DsWebhookWakeCallback`] with its user data.
///
/// cbindgen:ignore
struct WakeReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, *mut DsWebhookWake),
    user_data: UserData,
}

impl Callback for WakeReply {
    type Error = DsError;
    type Value = WebhookWake;

    fn invoke(&self, result: FfiResult<WebhookWake>) {
        let (error, wake) = match result {
            Ok(wake) => (std::ptr::null_mut(), handles::into_raw(wake_handle(wake))),
            Err(error) => (Box::into_raw(error), std::ptr::null_mut()),
        };
        // SAFETY: the caller's callback and user data; error and wake are handed over as
        // owned, as documented.
        unsafe { (self.function)(self.user_data.0, error, wake) }
    }
}

fn wake_handle(wake: WebhookWake) -> DsWebhookWake {
    DsWebhookWake {
        json: cstring(&wake_json(&wake).to_string()),
        token: cstring(&wake.callback.token),
        url: cstring(wake.callback.url.as_str()),
        wake_id: cstring(wake.wake_id()),
        wake,
        _live: Live::new(),
    }
}

/// `{"subscription_id", "wake_id", "generation", "callback_url", "signed_at", "key_id",
/// "streams": [{"path", "link_type", "acked_offset", "tail_offset", "has_pending"}]}`. The
/// callback token is not in it (see `ds_webhook_wake_callback_token`).
fn wake_json(wake: &WebhookWake) -> Value {
    let streams: Vec<Value> = wake
        .streams
        .iter()
        .map(|stream| {
            json!({
                "path": stream.path,
                "link_type": match stream.link_type {
                    LinkType::Glob => "glob",
                    LinkType::Explicit => "explicit",
                },
                "acked_offset": stream.acked_offset.as_str(),
                "tail_offset": stream.tail_offset.as_str(),
                "has_pending": stream.has_pending,
            })
        })
        .collect();
    json!({
        "subscription_id": wake.subscription_id,
        "wake_id": wake.wake_id(),
        "generation": wake.generation(),
        "callback_url": wake.callback.url.as_str(),
        "signed_at": wake.signed_at,
        "key_id": wake.key_id,
        "streams": streams,
    })
}

/// A verifier for the webhook deliveries of the server `client` talks to. No I/O happens here:
/// the server's keys are fetched on the first `ds_webhook_verify`.
///
/// - `jwks_url`: the server's JWK Set (the `jwks_url` of a webhook subscription's signing
///   metadata); NULL for `{client base_url}/__ds/jwks.json`.
/// - `tolerance_ms`: the accepted distance between a signature's timestamp and the clock,
///   either way; 0 for the default of 300000 (5 minutes); else 1000 to 3600000.
/// - `subscription_id`: NULL to accept wakes of any subscription, or the one subscription this
///   receiver serves (others are rejected).
///
/// An unknown `kid` refetches the keys at most once every 30 seconds. The last 100,000 accepted
/// signatures are remembered to refuse replays.
///
/// On success writes a new verifier to `*out` and returns NULL; on failure
/// (`DS_ERROR_INVALID_ARGUMENT` naming the argument) writes NULL to `*out` when `out` is not
/// NULL and returns an owned error.
///
/// # Safety
/// `client` must be NULL or a live `DsClient`; `jwks_url` and `subscription_id` NULL or
/// NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_verifier_new(
    client: *const DsClient,
    jwks_url: *const c_char,
    tolerance_ms: u64,
    subscription_id: *const c_char,
    out: *mut *mut DsWebhookVerifier,
) -> *mut DsError {
    catch_error("ds_webhook_verifier_new", || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let client = unsafe { handles::required(client, "client") }?;
        // SAFETY: as above.
        let jwks_url = unsafe { strings::optional(jwks_url, "jwks_url") }?;
        // SAFETY: as above.
        let subscription_id = unsafe { strings::optional(subscription_id, "subscription_id") }?;
        let mut builder = WebhookVerifier::builder(&client.client);
        if let Some(url) = jwks_url {
            builder = builder.jwks_url(url);
        }
        if tolerance_ms != 0 {
            builder = builder.tolerance(Duration::from_millis(tolerance_ms));
        }
        if let Some(id) = subscription_id {
            builder = builder.subscription(id);
        }
        let verifier = builder
            .build()
            .map_err(|e| renamed(e, "tolerance", "tolerance_ms"))
            .map_err(|e| renamed(e, "subscription", "subscription_id"))?;
        let handle = handles::into_raw(DsWebhookVerifier {
            verifier,
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a verifier. NULL is ignored. Verifications already started keep working.
///
/// # Safety
/// `verifier` must be NULL or a live `DsWebhookVerifier` not freed yet, and not in use by
/// another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_verifier_free(verifier: *mut DsWebhookVerifier) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(verifier) });
}

/// Verifies one delivery: `signature_header` is the value of its `Webhook-Signature` header,
/// `(body, body_len)` the exact request body bytes (both copied before the call returns).
/// Fetches the server's keys when none are cached or the `kid` is unknown.
///
/// Completes through `callback` with the wake, or with `DS_ERROR_UNAUTHORIZED` when the
/// delivery must be rejected (malformed header, timestamp outside the window, unknown key,
/// signature not matching the body, a replay, another subscription; the message says which):
/// answer 401 and run no application code. A correctly signed body that is not a wake is
/// `DS_ERROR_PARSE`. `cancel` may be NULL; a NULL `callback` makes the call do nothing.
///
/// # Safety
/// `verifier` must be NULL or a live `DsWebhookVerifier`; `signature_header` NULL or
/// NUL-terminated; `body` NULL (with `body_len` 0) or valid for reads of `body_len` bytes;
/// `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_verify(
    verifier: *const DsWebhookVerifier,
    signature_header: *const c_char,
    body: *const u8,
    body_len: usize,
    cancel: *const DsCancel,
    callback: DsWebhookWakeCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(function) = callback else {
            return;
        };
        let once = Once::new(WakeReply {
            function,
            user_data: UserData(user_data),
        });
        let operation = (|| {
            // SAFETY: arguments are NULL or valid per the contract.
            let verifier = unsafe { handles::required(verifier, "verifier") }?
                .verifier
                .clone();
            // SAFETY: as above.
            let header =
                unsafe { strings::required(signature_header, "signature_header") }?.to_owned();
            // SAFETY: as above.
            let body = unsafe { strings::bytes(body, body_len, "body") }?.to_vec();
            FfiResult::Ok(async move { verifier.verify(&header, &body).await })
        })();
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Verifies one delivery like `ds_webhook_verify`, synchronously and with the cached keys only
/// (no I/O): a `kid` not cached yet is rejected with `DS_ERROR_UNAUTHORIZED`. Use it after a
/// `ds_webhook_verify` or `ds_webhook_verifier_refresh_keys` has loaded the keys.
///
/// On success writes an owned wake to `*out` and returns NULL; on failure writes NULL to
/// `*out` (when `out` is not NULL) and returns an owned error.
///
/// # Safety
/// As `ds_webhook_verify`; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_verify_cached(
    verifier: *const DsWebhookVerifier,
    signature_header: *const c_char,
    body: *const u8,
    body_len: usize,
    out: *mut *mut DsWebhookWake,
) -> *mut DsError {
    catch_error("ds_webhook_verify_cached", || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let verifier = unsafe { handles::required(verifier, "verifier") }?;
        // SAFETY: as above.
        let header = unsafe { strings::required(signature_header, "signature_header") }?;
        // SAFETY: as above.
        let body = unsafe { strings::bytes(body, body_len, "body") }?;
        let wake = verifier.verifier.verify_cached(header, body)?;
        let handle = handles::into_raw(wake_handle(wake));
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Fetches the server's JWK Set now and replaces the cached keys (not rate limited).
/// Completes through `callback` exactly once; `cancel` may be NULL.
///
/// # Safety
/// `verifier` must be NULL or a live `DsWebhookVerifier`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_verifier_refresh_keys(
    verifier: *const DsWebhookVerifier,
    cancel: *const DsCancel,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        let operation = (|| {
            // SAFETY: arguments are NULL or valid per the contract.
            let verifier = unsafe { handles::required(verifier, "verifier") }?
                .verifier
                .clone();
            FfiResult::Ok(async move { verifier.refresh_keys().await })
        })();
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// The wake as JSON: `{"subscription_id", "wake_id", "generation", "callback_url",
/// "signed_at" (Unix seconds), "key_id", "streams": [{"path", "link_type", "acked_offset",
/// "tail_offset", "has_pending"}]}` (the callback token is not in it). Borrowed until
/// `ds_webhook_wake_free`; NULL for NULL.
///
/// # Safety
/// `wake` must be NULL or a live `DsWebhookWake`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_wake_json(wake: *const DsWebhookWake) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(wake) }.map_or(std::ptr::null(), |w| w.json.as_ptr())
    })
}

/// The wake's callback token, for a receiver that stores the wake to answer it later with
/// `ds_webhook_callback`. A secret: never log it. Borrowed until `ds_webhook_wake_free`; NULL
/// for NULL.
///
/// # Safety
/// `wake` must be NULL or a live `DsWebhookWake`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_wake_callback_token(
    wake: *const DsWebhookWake,
) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(wake) }.map_or(std::ptr::null(), |w| w.token.as_ptr())
    })
}

/// The wake's callback URL. Borrowed until `ds_webhook_wake_free`; NULL for NULL.
///
/// # Safety
/// `wake` must be NULL or a live `DsWebhookWake`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_wake_callback_url(wake: *const DsWebhookWake) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(wake) }.map_or(std::ptr::null(), |w| w.url.as_ptr())
    })
}

/// The wake's id. Borrowed until `ds_webhook_wake_free`; NULL for NULL.
///
/// # Safety
/// `wake` must be NULL or a live `DsWebhookWake`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_wake_id(wake: *const DsWebhookWake) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(wake) }.map_or(std::ptr::null(), |w| w.wake_id.as_ptr())
    })
}

/// The wake's generation; 0 for NULL.
///
/// # Safety
/// `wake` must be NULL or a live `DsWebhookWake`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_wake_generation(wake: *const DsWebhookWake) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(wake) }.map_or(0, |w| w.wake.generation())
    })
}

/// Frees a wake. NULL is ignored. The wake is not answered by this.
///
/// # Safety
/// `wake` must be NULL or a live `DsWebhookWake` not freed yet, and not in use by another
/// thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_wake_free(wake: *mut DsWebhookWake) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(wake) });
}

/// Answers a webhook wake (`POST callback_url` with `Authorization: Bearer <token>`): applies
/// the `count` entries of `acks` (copied and checked before the call returns; `(NULL, 0)`
/// acks nothing) and, with `done`, releases the wake; without `done` it extends the lease.
/// `callback_url`, `wake_id`, `generation` and `token` come from the wake (see
/// `ds_webhook_wake_callback_url`, `ds_webhook_wake_id`, `ds_webhook_wake_generation`,
/// `ds_webhook_wake_callback_token`), possibly saved across a restart.
///
/// Completes through `callback`: `next_wake` says whether (after `done`) work was still pending
/// and a new wake was issued. A wake that is no longer current fails with `DS_ERROR_FENCED`
/// and applies nothing; a wrong token with `DS_ERROR_UNAUTHORIZED`; an offset behind the
/// cursor or past the tail with `DS_ERROR_INVALID_OFFSET`. `cancel` may be NULL; a NULL
/// `callback` makes the call do nothing.
///
/// # Safety
/// `client` must be NULL or a live `DsClient`; the strings NULL or NUL-terminated; `acks` NULL
/// or valid for reads of `count` entries whose strings are NULL or NUL-terminated; `cancel`
/// NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_webhook_callback(
    client: *const DsClient,
    callback_url: *const c_char,
    wake_id: *const c_char,
    generation: u64,
    token: *const c_char,
    acks: *const DsAck,
    count: usize,
    done: bool,
    cancel: *const DsCancel,
    callback: DsAckCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = AckReply::once(callback, user_data) else {
            return;
        };
        let operation = (|| {
            // SAFETY: arguments are NULL or valid per the contract.
            let client = unsafe { handles::required(client, "client") }?
                .client
                .clone();
            // SAFETY: as above.
            let url = unsafe { strings::required(callback_url, "callback_url") }?;
            // SAFETY: as above.
            let wake_id = unsafe { strings::required(wake_id, "wake_id") }?;
            // SAFETY: as above.
            let token = unsafe { strings::required(token, "token") }?;
            let target = WebhookCallback::new(url, wake_id, generation, token)
                .map_err(|e| renamed(e, "url", "callback_url"))?;
            // SAFETY: as above.
            let acks = unsafe { ack_entries(acks, count) }?;
            FfiResult::Ok(async move {
                let outcome = client.webhook_callback(&target, &acks, done).await?;
                Ok(outcome.next_wake)
            })
        })();
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// An argument error of the core naming `from` (`"{from}: problem"`), renamed to the C
/// parameter `to`; other errors unchanged.
fn renamed(error: Error, from: &str, to: &str) -> Error {
    match error
        .message()
        .strip_prefix(from)
        .and_then(|m| m.strip_prefix(": "))
    {
        Some(problem) if error.kind() == durable_streams_core::ErrorKind::InvalidArgument => {
            Error::invalid_argument(to, problem)
        }
        _ => error,
    }
}

/// Copies the ack entries of `ds_webhook_callback`, naming the malformed one.
///
/// # Safety
/// `acks` must be NULL or valid for reads of `count` entries whose strings are NULL or
/// NUL-terminated.
unsafe fn ack_entries(acks: *const DsAck, count: usize) -> FfiResult<Vec<Ack>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if acks.is_null() {
        return Err(Error::invalid_argument("acks", "is NULL but its count is not 0").into());
    }
    // SAFETY: non-NULL and valid for `count` reads per the contract.
    let entries = unsafe { std::slice::from_raw_parts(acks, count) };
    let mut list = Vec::with_capacity(count);
    for (index, entry) in entries.iter().enumerate() {
        // SAFETY: NULL or NUL-terminated per the contract.
        let stream = unsafe { strings::required(entry.stream, &format!("acks[{index}].stream")) }?;
        // SAFETY: as above.
        let offset = unsafe { strings::required(entry.offset, &format!("acks[{index}].offset")) }?;
        let offset = Offset::parse(offset)
            .map_err(|e| Error::invalid_argument(&format!("acks[{index}].offset"), e.message()))?;
        list.push(Ack::new(stream, offset));
    }
    Ok(list)
}
