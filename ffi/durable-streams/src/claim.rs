//! `DsClaim` and the pull-wake primitives (claim, ack / heartbeat, release), for callers that
//! drive a wake themselves instead of running a `DsPullWorker`.

use std::ffi::{CString, c_char, c_void};

use durable_streams_core::{Ack, Claim, Error, Offset};

use crate::callback::{Callback, Done, DsDoneCallback, Once, UserData};
use crate::cancel::{self, DsCancel};
use crate::error::{DsError, FfiResult};
use crate::handles::{self, Live};
use crate::runtime::start;
use crate::strings::{self, cstring};
use crate::subscription::{DsSubscription, subscription_arg};
use crate::subscription_json::claim_json;
use ffi_support::guard::catch;

/// A claimed wake: the lease on a subscription's pending work until it is acked with `done`,
/// released, or expires. Opaque; free it with `ds_claim_free` (freeing releases nothing).
pub struct DsClaim {
    claim: Claim,
    json: CString,
    _live: Live,
}

/// One processed position of `ds_subscription_ack`: the stream-root-relative `stream` and
/// the `offset` up to which (inclusive) its messages were processed. Borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DsAck {
    /// The stream's path.
    pub stream: *const c_char,
    /// The offset to ack (a real offset, not `-1` or `now`).
    pub offset: *const c_char,
}

/// Completion of `ds_subscription_claim`: on success `error` is NULL and `claim` is owned by
/// the callee (free with `ds_claim_free`), or NULL when there is no pending work; on failure
/// `error` is owned by the callee and `claim` is NULL.
pub type DsClaimCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, claim: *mut DsClaim)>;

/// Completion of `ds_subscription_ack`: on success `error` is NULL and `next_wake` says
/// whether (after an ack with `done`) work was still pending and a new wake was issued; on
/// failure `error` is owned by the callee.
pub type DsAckCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, next_wake: bool)>;

/// A [`DsClaimCallback`] with its user data.
///
/// cbindgen:ignore
struct ClaimReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, *mut DsClaim),
    user_data: UserData,
}

impl Callback for ClaimReply {
    type Error = DsError;
    type Value = Option<Claim>;

    fn invoke(&self, result: FfiResult<Option<Claim>>) {
        let (error, claim) = match result {
            Ok(claim) => (
                std::ptr::null_mut(),
                claim.map_or(std::ptr::null_mut(), |claim| {
                    handles::into_raw(DsClaim {
                        json: cstring(&claim_json(&claim).to_string()),
                        claim,
                        _live: Live::new(),
                    })
                }),
            ),
            Err(error) => (Box::into_raw(error), std::ptr::null_mut()),
        };
        // SAFETY: the caller's callback and user data; error and claim are handed over as
        // owned, as documented.
        unsafe { (self.function)(self.user_data.0, error, claim) }
    }
}

/// A [`DsAckCallback`] with its user data (also the completion of `ds_webhook_callback`).
///
/// cbindgen:ignore
pub(crate) struct AckReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, bool),
    user_data: UserData,
}

impl AckReply {
    /// `None` when the C function pointer is NULL (the call then does nothing).
    pub(crate) fn once(function: DsAckCallback, user_data: *mut c_void) -> Option<Once<AckReply>> {
        function.map(|function| {
            Once::new(AckReply {
                function,
                user_data: UserData(user_data),
            })
        })
    }
}

impl Callback for AckReply {
    type Error = DsError;
    type Value = bool;

    fn invoke(&self, result: FfiResult<bool>) {
        let (error, next_wake) = match result {
            Ok(next_wake) => (std::ptr::null_mut(), next_wake),
            Err(error) => (Box::into_raw(error), false),
        };
        // SAFETY: the caller's callback and user data; the error is handed over as owned.
        unsafe { (self.function)(self.user_data.0, error, next_wake) }
    }
}

/// Claims the subscription's current wake for `worker` (see `ds_pull_worker_new` for names).
/// Completes through `callback`: a claim, NULL when there is no pending work, or
/// `DS_ERROR_ALREADY_CLAIMED` when another worker holds the lease (the message names it).
/// `cancel` may be NULL; a NULL `callback` makes the call do nothing.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `worker` NULL or NUL-terminated;
/// `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_claim(
    subscription: *const DsSubscription,
    worker: *const c_char,
    cancel: *const DsCancel,
    callback: DsClaimCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(function) = callback else {
            return;
        };
        let once = Once::new(ClaimReply {
            function,
            user_data: UserData(user_data),
        });
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { subscription_arg(subscription) }.and_then(|subscription| {
            // SAFETY: as above.
            let worker = unsafe { strings::required(worker, "worker") }?.to_owned();
            let subscription = subscription.clone();
            Ok(async move { subscription.claim(&worker).await })
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// The claim as JSON: `{"wake_id", "generation", "lease_ttl_ms", "streams": [{"path",
/// "link_type", "acked_offset", "tail_offset", "has_pending"}]}` (the claim token is never
/// shown). Borrowed until `ds_claim_free`; NULL for NULL.
///
/// # Safety
/// `claim` must be NULL or a live `DsClaim`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_claim_json(claim: *const DsClaim) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(claim) }.map_or(std::ptr::null(), |c| c.json.as_ptr())
    })
}

/// Frees a claim. NULL is ignored. The lease is not released (see `ds_subscription_release`).
///
/// # Safety
/// `claim` must be NULL or a live `DsClaim` not freed yet, and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_claim_free(claim: *mut DsClaim) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(claim) });
}

/// Acks processed offsets (`count` entries of `acks`, copied and checked before the call
/// returns; `(NULL, 0)` acks nothing). With `done` the acks are applied and the lease is
/// released; without, the lease is extended too (a heartbeat). A claim that is no longer
/// current fails with `DS_ERROR_FENCED` and applies nothing; an offset behind the cursor or
/// past the tail with `DS_ERROR_INVALID_OFFSET`. `cancel` may be NULL; a NULL `callback` makes
/// the call do nothing.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `claim` NULL or a live `DsClaim`;
/// `acks` NULL or valid for reads of `count` entries whose strings are NULL or
/// NUL-terminated; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_ack(
    subscription: *const DsSubscription,
    claim: *const DsClaim,
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
            let subscription = unsafe { subscription_arg(subscription) }?.clone();
            // SAFETY: as above.
            let claim = unsafe { handles::required(claim, "claim") }?.claim.clone();
            // SAFETY: as above.
            let acks = unsafe { ack_list(acks, count) }?;
            Ok(async move {
                let outcome = subscription.ack(&claim, &acks, done).await?;
                Ok(outcome.next_wake)
            })
        })();
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Gives the wake back without acking (the server issues another wake if work is pending).
/// A claim that is no longer current fails with `DS_ERROR_FENCED`. Completes through
/// `callback` exactly once; `cancel` may be NULL.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `claim` NULL or a live `DsClaim`;
/// `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_subscription_release(
    subscription: *const DsSubscription,
    claim: *const DsClaim,
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
            let subscription = unsafe { subscription_arg(subscription) }?.clone();
            // SAFETY: as above.
            let claim = unsafe { handles::required(claim, "claim") }?.claim.clone();
            FfiResult::Ok(async move { subscription.release(&claim).await })
        })();
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Copies the ack entries, naming the malformed one.
///
/// # Safety
/// `acks` must be NULL or valid for reads of `count` entries whose strings are NULL or
/// NUL-terminated.
unsafe fn ack_list(acks: *const DsAck, count: usize) -> FfiResult<Vec<Ack>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if acks.is_null() {
        return Err(Error::invalid_argument("acks", "is NULL but its count is not 0").into());
    }
    // SAFETY: non-NULL and valid for `count` reads per the contract.
    let entries = unsafe { std::slice::from_raw_parts(acks, count) };
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            // SAFETY: NULL or NUL-terminated per the contract.
            let stream =
                unsafe { strings::required(entry.stream, &format!("acks[{index}].stream")) }?;
            // SAFETY: as above.
            let offset =
                unsafe { strings::required(entry.offset, &format!("acks[{index}].offset")) }?;
            let offset = Offset::parse(offset).map_err(|e| {
                Error::invalid_argument(&format!("acks[{index}].offset"), e.message())
            })?;
            Ok(Ack::new(stream, offset))
        })
        .collect()
}
