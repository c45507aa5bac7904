//! `DsPullWorker`: runs a pull-wake worker whose handler is the caller's code, one `DsBatch`
//! at a time, completed whenever the caller is done with it (on any thread).

use std::ffi::{CString, c_char, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use durable_streams_core::{Error, PullWorker, StreamBatch};
use tokio::sync::oneshot;

use crate::callback::{Done, DsDoneCallback, UserData};
use crate::cancel::{self, DsCancel};
use crate::chunk::DsChunk;
use crate::error::DsError;
use crate::handles::{self, Live};
use crate::runtime::start;
use crate::strings::{self, cstring};
use crate::subscription::{DsSubscription, subscription_arg};
use ffi_support::guard::{catch, catch_error};

/// A worker of one pull-wake subscription. Opaque; free it with `ds_pull_worker_free`.
/// Thread-safe; freeing it does not stop a `ds_pull_worker_run` in progress (cancel that).
pub struct DsPullWorker {
    worker: PullWorker,
    _live: Live,
}

/// Settings of `ds_pull_worker_new`. A zeroed struct (or a NULL pointer) means the defaults.
/// Fields may be added at the end in later versions: initialize it with zeros.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DsPullWorkerArgs {
    /// How often to heartbeat while a batch is outstanding; 0: a third of the claim's lease.
    pub heartbeat_interval_ms: u64,
    /// How long to wait after a failed wake before claiming again; 0: 1000 ms.
    pub failure_backoff_ms: u64,
}

/// What a worker has done so far (`ds_pull_worker_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DsWorkerStats {
    /// Claim requests sent.
    pub claim_attempts: u64,
    /// Claims won.
    pub claims: u64,
    /// Claims refused because another worker held the lease.
    pub already_claimed: u64,
    /// Claims answered "no pending work".
    pub no_pending_work: u64,
    /// Heartbeats the server accepted.
    pub heartbeats: u64,
    /// Batches completed successfully.
    pub batches: u64,
    /// Wakes finished with an ack with `done`.
    pub wakes_completed: u64,
    /// Wakes given up because the lease was lost (fenced, or not renewed in time).
    pub leases_lost: u64,
    /// Wakes released because a batch failed (or reading a linked stream did).
    pub handler_failures: u64,
}

/// The messages of one linked stream that a running worker hands to the caller. Opaque.
///
/// Owned by the receiver of the `DsBatchCallback`. Report the outcome with
/// `ds_batch_complete` (success, or a failure message), then free it with `ds_batch_free`, in
/// that order, from any thread. Freeing it without completing it counts as a failure. Every
/// pointer the accessors return is borrowed until `ds_batch_free`.
pub struct DsBatch {
    id: u64,
    stream: CString,
    chunk: DsChunk,
    generation: u64,
    outcome: Mutex<Option<oneshot::Sender<Result<(), String>>>>,
    _live: Live,
}

/// Receives each batch of a running worker (owned: see `DsBatch`). Called on a library
/// thread, one batch at a time: the worker waits for the batch's completion before it reads
/// on, while it keeps the lease alive with heartbeats.
pub type DsBatchCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, batch: *mut DsBatch)>;

/// Told that the batch `batch_id` no longer counts: the lease was lost (fenced, or not renewed
/// in time) or the run was cancelled before the batch was completed. Completing it afterwards
/// is harmless and changes nothing; another worker processes its messages again.
pub type DsBatchLostCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, batch_id: u64)>;

/// A pull worker of `subscription` named `name` (the name the server reports as the lease
/// holder: 1 to 200 bytes, no control characters). `args` may be NULL. No I/O happens here.
///
/// On success writes a new handle (free it with `ds_pull_worker_free`) to `*out` and returns
/// NULL; on failure (`DS_ERROR_INVALID_ARGUMENT` naming the argument) writes NULL to `*out`
/// when `out` is not NULL and returns an owned error.
///
/// # Safety
/// `subscription` must be NULL or a live `DsSubscription`; `name` NULL or NUL-terminated;
/// `args` NULL or readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_pull_worker_new(
    subscription: *const DsSubscription,
    name: *const c_char,
    args: *const DsPullWorkerArgs,
    out: *mut *mut DsPullWorker,
) -> *mut DsError {
    catch_error("ds_pull_worker_new", || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let subscription = unsafe { subscription_arg(subscription) }?;
        // SAFETY: as above.
        let name = unsafe { strings::required(name, "name") }?;
        // SAFETY: as above.
        let args = unsafe { handles::borrow(args) }
            .copied()
            .unwrap_or_default();
        let mut worker = subscription.pull_worker(name)?;
        if args.heartbeat_interval_ms > 0 {
            worker =
                worker.heartbeat_interval(Duration::from_millis(args.heartbeat_interval_ms))?;
        }
        if args.failure_backoff_ms > 0 {
            worker = worker.failure_backoff(Duration::from_millis(args.failure_backoff_ms));
        }
        let handle = handles::into_raw(DsPullWorker {
            worker,
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a worker handle. NULL is ignored. A run in progress keeps running until cancelled.
///
/// # Safety
/// `worker` must be NULL or a live `DsPullWorker` not freed yet, and not in use by another
/// thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_pull_worker_free(worker: *mut DsPullWorker) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(worker) });
}

/// Runs the worker: follows the subscription's wake stream and, for each wake, claims it
/// (waiting for the next wake event when another worker holds it, never polling), reads each
/// linked stream with pending data from its cursor to its tail and hands every chunk to
/// `on_batch`, heartbeating while a batch is outstanding. A batch's offset is acked only once
/// it completed successfully; a failed batch makes the worker ack what succeeded, release the
/// wake and wait the failure backoff; a lost lease (`DS_ERROR_FENCED`, or no heartbeat
/// accepted within the lease) abandons the wake at once (`on_lost` tells which batch).
/// Delivery is therefore at least once.
///
/// Completes through `callback` exactly once, after the last `on_batch` / `on_lost` call:
/// with NULL when the wake stream was closed; `DS_ERROR_CANCELLED` when `cancel` fired (the
/// wake in progress is abandoned and another worker gets it when its lease expires); or the
/// failure that retrying cannot cure (not a pull-wake subscription, it or its wake stream does
/// not exist, `DS_ERROR_SUBSCRIPTIONS_NOT_SUPPORTED`). `on_batch` is required (NULL fails with
/// `DS_ERROR_INVALID_ARGUMENT`); `on_lost` and `cancel` may be NULL; a NULL `callback` makes the
/// call do nothing. `user_data` is passed to all three and must stay valid until `callback`.
///
/// # Safety
/// `worker` must be NULL or a live `DsPullWorker`; `cancel` NULL or a live `DsCancel`; the
/// callbacks must accept being called on any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_pull_worker_run(
    worker: *const DsPullWorker,
    cancel: *const DsCancel,
    on_batch: DsBatchCallback,
    on_lost: DsBatchLostCallback,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { handles::required(worker, "worker") }.and_then(|worker| {
            let on_batch = on_batch.ok_or_else(|| {
                Box::<DsError>::from(Error::invalid_argument("on_batch", "must not be NULL"))
            })?;
            let worker = worker.worker.clone();
            let handler = BatchHandler {
                on_batch,
                on_lost,
                user_data: UserData(user_data),
                next_id: AtomicU64::new(1),
            };
            Ok(async move { worker.run(|batch| handler.hand_over(batch)).await })
        });
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// The caller's callbacks, as the core worker's handler.
struct BatchHandler {
    on_batch: unsafe extern "C" fn(*mut c_void, *mut DsBatch),
    on_lost: DsBatchLostCallback,
    user_data: UserData,
    next_id: AtomicU64,
}

impl BatchHandler {
    /// Hands `batch` to the caller; the returned future ends with the caller's outcome.
    fn hand_over(
        &self,
        batch: StreamBatch,
    ) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, outcome) = oneshot::channel();
        // Armed before the caller sees the batch: if the worker drops this future before the
        // caller completes the batch, the caller learns it no longer counts.
        let lost = LostGuard {
            on_lost: self.on_lost,
            user_data: UserData(self.user_data.0),
            batch_id: id,
        };
        let handle = handles::into_raw(DsBatch {
            id,
            stream: cstring(batch.stream()),
            chunk: DsChunk::new(batch.chunk().clone()),
            generation: batch.generation(),
            outcome: Mutex::new(Some(sender)),
            _live: Live::new(),
        });
        // SAFETY: the caller's callback and user data (valid until the run's completion, per
        // the contract of ds_pull_worker_run); the batch is handed over as owned.
        unsafe { (self.on_batch)(self.user_data.0, handle) };
        async move {
            let outcome = outcome.await;
            lost.disarm();
            match outcome {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "batch {id} was freed without ds_batch_complete reporting its outcome"
                )),
            }
        }
    }
}

/// Calls `on_lost` when dropped armed.
struct LostGuard {
    on_lost: DsBatchLostCallback,
    user_data: UserData,
    batch_id: u64,
}

impl LostGuard {
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for LostGuard {
    fn drop(&mut self) {
        if let Some(on_lost) = self.on_lost {
            // SAFETY: the caller's callback and user data, valid until the run's completion,
            // which comes after this (the run's future is dropped before it completes).
            unsafe { on_lost(self.user_data.0, self.batch_id) };
        }
    }
}

/// Copies the worker's counters to `*out` (zeros for a NULL worker). Thread-safe.
///
/// # Safety
/// `worker` must be NULL or a live `DsPullWorker`; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_pull_worker_stats(
    worker: *const DsPullWorker,
    out: *mut DsWorkerStats,
) {
    catch((), || {
        // SAFETY: forwarded to the caller.
        let stats = unsafe { handles::borrow(worker) }.map_or_else(DsWorkerStats::default, |w| {
            let s = w.worker.stats();
            DsWorkerStats {
                claim_attempts: s.claim_attempts,
                claims: s.claims,
                already_claimed: s.already_claimed,
                no_pending_work: s.no_pending_work,
                heartbeats: s.heartbeats,
                batches: s.batches,
                wakes_completed: s.wakes_completed,
                leases_lost: s.leases_lost,
                handler_failures: s.handler_failures,
            }
        });
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, stats) };
    });
}

/// The message of the worker's last failure (a failed batch, a read error, a lost lease), or
/// NULL if none. Owned: free with `ds_string_free`.
///
/// # Safety
/// `worker` must be NULL or a live `DsPullWorker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_pull_worker_last_error(worker: *const DsPullWorker) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(worker) }
            .and_then(|w| w.worker.stats().last_error)
            .map_or(std::ptr::null_mut(), |message| strings::owned(&message))
    })
}

/// Borrows a batch argument.
///
/// # Safety
/// `batch` must be NULL or a live `DsBatch`.
unsafe fn batch_ref<'a>(batch: *const DsBatch) -> Option<&'a DsBatch> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::borrow(batch) }
}

/// Reports the batch's outcome: `error_message` NULL for success (its offset will be acked),
/// otherwise why it failed (the wake is released and the batch delivered again later). Only
/// the first call counts; calls after the batch was lost change nothing. NULL `batch` is
/// ignored; a message that is not UTF-8 is still a failure.
///
/// # Safety
/// `batch` must be NULL or a live `DsBatch`; `error_message` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_batch_complete(batch: *const DsBatch, error_message: *const c_char) {
    catch((), || {
        // SAFETY: forwarded to the caller.
        let Some(batch) = (unsafe { batch_ref(batch) }) else {
            return;
        };
        let outcome = if error_message.is_null() {
            Ok(())
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract.
            let text = unsafe { std::ffi::CStr::from_ptr(error_message) };
            Err(text.to_string_lossy().into_owned())
        };
        let sender = batch
            .outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(sender) = sender {
            // The worker may have given the batch up already: then nobody listens.
            let _ = sender.send(outcome);
        }
    });
}

/// Frees a batch. NULL is ignored. A batch not completed first counts as failed.
///
/// # Safety
/// `batch` must be NULL or a live `DsBatch` not freed yet, and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_batch_free(batch: *mut DsBatch) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(batch) });
}

/// The batch's id (1, 2, ... per run), as `on_lost` reports it; 0 for NULL.
///
/// # Safety
/// `batch` must be NULL or a live `DsBatch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_batch_id(batch: *const DsBatch) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { batch_ref(batch) }.map_or(0, |b| b.id)
    })
}

/// The stream-root-relative path of the batch's stream. Borrowed until `ds_batch_free`; NULL
/// for NULL.
///
/// # Safety
/// `batch` must be NULL or a live `DsBatch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_batch_stream(batch: *const DsBatch) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { batch_ref(batch) }.map_or(std::ptr::null(), |b| b.stream.as_ptr())
    })
}

/// The batch's data as a chunk: read it with the `ds_chunk_*` accessors (`ds_chunk_data`,
/// `ds_chunk_message_count`, `ds_chunk_message`, `ds_chunk_offset`: the offset acked when the
/// batch succeeds). Borrowed until `ds_batch_free`: never pass it to `ds_chunk_free`. NULL for
/// NULL.
///
/// # Safety
/// `batch` must be NULL or a live `DsBatch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_batch_chunk(batch: *const DsBatch) -> *const DsChunk {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { batch_ref(batch) }.map_or(std::ptr::null(), |b| &b.chunk as *const DsChunk)
    })
}

/// The generation of the wake the batch belongs to; 0 for NULL.
///
/// # Safety
/// `batch` must be NULL or a live `DsBatch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_batch_generation(batch: *const DsBatch) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { batch_ref(batch) }.map_or(0, |b| b.generation)
    })
}
