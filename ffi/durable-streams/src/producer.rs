//! `DsProducer`: the idempotent producer (a non-blocking, copying append on the hot path;
//! flush, close, detach and restart as asynchronous calls).

use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use durable_streams_core::{
    CancellationToken, Error, Offset, Producer, ProducerError, TryAppendStatus, cancellable,
};

use crate::callback::UserData;
use crate::callback::{Callback, Done, DsDoneCallback, DsFreeCallback, Once, OwnedUserData};
use crate::cancel::{self, DsCancel};
use crate::error::{DsError, FfiResult};
use crate::handles::{self, Live};
use crate::options;
use crate::runtime::{runtime, start};
use crate::stream::{DsStream, stream_arg};
use crate::strings::{self, cstring};
use ffi_support::guard::{catch, catch_error, panic_error};

/// `ds_producer_try_append` accepted the message.
pub const DS_APPEND_OK: i32 = 0;
/// `ds_producer_try_append` found the buffer full: nothing was copied; retry later, or use
/// `ds_producer_append`, which waits for room.
pub const DS_APPEND_FULL: i32 = 1;
/// `ds_producer_try_append` failed; the error is in `*error_out`.
pub const DS_APPEND_ERROR: i32 = 2;

/// An idempotent producer writing to one stream with exactly-once delivery. Opaque.
///
/// Appends copy the message into a bounded buffer and return; a background task on the
/// library's runtime batches, pipelines and retries them under (producer id, epoch, sequence).
/// Background errors arrive through the `DsProducerErrorCallback` and the next flush. All
/// functions are thread-safe. Free it with `ds_producer_free`.
pub struct DsProducer {
    producer: Arc<Producer>,
    /// Cancelled when the handle is freed: ends in-flight calls, which drop their references so
    /// the producer (and its background task) stops.
    freed: CancellationToken,
    _live: Live,
}

impl Drop for DsProducer {
    fn drop(&mut self) {
        self.freed.cancel();
    }
}

/// Reports an error of the producer's background work (a batch that failed for good, or a
/// fencing by a newer epoch): `error` is borrowed for the call (do not free it); the affected
/// batches were sent under `epoch` with sequence numbers `first_seq..=last_seq` (both -1 if
/// none was sent); `message_count` messages were not written.
///
/// Called on a runtime worker thread; it must return quickly and must not wait for other
/// producer calls to complete. After a failure the producer refuses appends
/// (`DS_APPEND_ERROR`) until `ds_producer_restart`.
///
/// A server that lost this producer's state (restarted without it) is reported once, as
/// `DS_ERROR_PRODUCER_STATE_LOST` with a message saying so and `message_count` 0: without `auto_claim`
/// the unacknowledged messages are kept, appends fail with that error, and
/// `ds_producer_restart` sends the kept messages under a new epoch. With `auto_claim` the
/// producer moves to a new epoch by itself: nothing reaches this callback (an `epoch_claimed`
/// event with `reason` `state_lost` is emitted). Either way the batches in flight when the
/// server lost its state may be stored twice.
pub type DsProducerErrorCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        error: *const DsError,
        epoch: u64,
        first_seq: i64,
        last_seq: i64,
        message_count: u64,
    ),
>;

/// Completion of `ds_producer_flush` and `ds_producer_close`: on success `error` is NULL and
/// `offset` is the stream offset after the last acknowledged batch (NULL if none was
/// acknowledged yet), borrowed for the call; on failure `error` is owned by the callee (free it
/// with `ds_error_free`) and `offset` is NULL.
pub type DsOffsetCallback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, offset: *const c_char),
>;

/// Completion of `ds_producer_restart`: on success `error` is NULL and `epoch` is the new
/// epoch; on failure `error` is owned by the callee and `epoch` is 0.
pub type DsEpochCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, epoch: u64)>;

pub(crate) struct OffsetReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, *const c_char),
    user_data: UserData,
}

impl Callback for OffsetReply {
    type Error = DsError;
    type Value = Option<Offset>;

    fn invoke(&self, result: FfiResult<Option<Offset>>) {
        let (error, offset) = match result {
            Ok(offset) => (std::ptr::null_mut(), offset.map(|o| cstring(o.as_str()))),
            Err(error) => (Box::into_raw(error), None),
        };
        let offset_ptr = strings::ptr_or_null(offset.as_ref());
        // SAFETY: the caller's callback and user data; the offset is borrowed for the call, the
        // error handed over as owned.
        unsafe { (self.function)(self.user_data.0, error, offset_ptr) }
    }
}

pub(crate) fn offset_once(
    callback: DsOffsetCallback,
    user_data: *mut c_void,
) -> Option<Once<OffsetReply>> {
    callback.map(|function| {
        Once::new(OffsetReply {
            function,
            user_data: UserData(user_data),
        })
    })
}

struct EpochReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, u64),
    user_data: UserData,
}

impl Callback for EpochReply {
    type Error = DsError;
    type Value = u64;

    fn invoke(&self, result: FfiResult<u64>) {
        let (error, epoch) = match result {
            Ok(epoch) => (std::ptr::null_mut(), epoch),
            Err(error) => (Box::into_raw(error), 0),
        };
        // SAFETY: the caller's callback and user data; the error is handed over as owned.
        unsafe { (self.function)(self.user_data.0, error, epoch) }
    }
}

/// Forwards background errors to C. Dropped with the producer's background task, which is when
/// the caller's `free_user_data` runs.
struct ErrorSink {
    function: unsafe extern "C" fn(*mut c_void, *const DsError, u64, i64, i64, u64),
    user_data: OwnedUserData,
}

impl ErrorSink {
    fn report(&self, failure: &ProducerError) {
        let error = DsError::from_core(&failure.error);
        let (first, last) = failure.seq_range.map_or((-1, -1), |(first, last)| {
            (
                i64::try_from(first).unwrap_or(i64::MAX),
                i64::try_from(last).unwrap_or(i64::MAX),
            )
        });
        // SAFETY: the caller's callback and user data; the error is borrowed for the call.
        unsafe {
            (self.function)(
                self.user_data.get(),
                &*error,
                failure.epoch,
                first,
                last,
                failure.message_count,
            )
        }
    }
}

/// Creates an idempotent producer writing to `stream` as `producer_id` (1 to 1024 bytes, without
/// control characters such as CR, LF or tab, and without leading or trailing spaces) and starts
/// its background task. No I/O happens until the first batch.
///
/// `options_json` may be NULL or a JSON object with any of:
/// - `"epoch"` (default 0): the epoch to start at; bump it when a new instance takes over
/// - `"auto_claim"` (false): on a stale epoch, take the server's epoch + 1 and resend (only
///   when no two live instances share the producer id); also, when the server lost this
///   producer's state, move to epoch + 1 and resend instead of stopping (see
///   `DsProducerErrorCallback`)
/// - `"max_batch_bytes"` (1 MiB), `"max_batch_items"` (unlimited): when a batch is sent
/// - `"linger_ms"` (5): how long a batch's first message may wait for company
/// - `"max_in_flight"` (1): batches sent concurrently (order is preserved; see the README on
///   raising it)
/// - `"max_buffered_messages"` (1000000), `"max_buffered_bytes"` (64 MiB): buffer limits
///   (appended and not yet acknowledged)
/// - `"delivery_timeout_ms"` (120000): how long a batch is retried before the producer gives up
/// - `"content_type"`: the stream's content type (learned with one `HEAD` if absent; at most
///   1024 bytes, without control characters or leading or trailing spaces)
///
/// Sizes must be positive integers; invalid or unknown options fail with
/// `DS_ERROR_INVALID_ARGUMENT` naming the key.
///
/// `on_error` (may be NULL) receives background errors; see `DsProducerErrorCallback`.
/// Ownership of `user_data` passes to the library with this call: `free_user_data` (may be
/// NULL) is called with it exactly once, on an unspecified thread: after the last possible
/// `on_error` call (once the producer is freed and its background task has stopped), or
/// before this function returns if it fails or `on_error` is NULL.
///
/// On success writes a new producer (free it with `ds_producer_free`) to `*out` and returns
/// NULL; otherwise writes NULL to `*out` (when `out` is not NULL) and returns an owned error.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; strings NULL or NUL-terminated; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_new(
    stream: *const DsStream,
    producer_id: *const c_char,
    options_json: *const c_char,
    on_error: DsProducerErrorCallback,
    user_data: *mut c_void,
    free_user_data: DsFreeCallback,
    out: *mut *mut DsProducer,
) -> *mut DsError {
    // Owned from the start, so that every exit (including a panic) releases it exactly once.
    let user_data = OwnedUserData::new(user_data, free_user_data);
    catch_error("ds_producer_new", move || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let stream = unsafe { stream_arg(stream) }?;
        // SAFETY: as above.
        let producer_id = unsafe { strings::required(producer_id, "producer_id") }?;
        // SAFETY: as above.
        let json = unsafe { strings::optional(options_json, "options_json") }?;
        let mut options = options::producer_options(json)?;
        match on_error {
            Some(function) => {
                let sink = ErrorSink {
                    function,
                    user_data,
                };
                options.on_error = Some(Arc::new(move |failure: &ProducerError| {
                    sink.report(failure)
                }));
            }
            None => drop(user_data),
        }
        // The background task is spawned on the runtime that is current here.
        let _entered = runtime()?.enter();
        let producer = stream.producer(producer_id, options)?;
        let handle = handles::into_raw(DsProducer {
            producer: Arc::new(producer),
            freed: CancellationToken::new(),
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Borrows the producer argument of an export.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`.
unsafe fn producer_arg<'a>(producer: *const DsProducer) -> FfiResult<&'a DsProducer> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::required(producer, "producer") }
}

/// Copies `data` (`len` bytes; NULL only when `len` is 0) into the producer's buffer as one
/// message, without waiting. The hot path: no allocation unless a new batch starts.
///
/// Returns `DS_APPEND_OK` (accepted), `DS_APPEND_FULL` (the buffer limits are reached: nothing
/// was copied; retry later or use `ds_producer_append`) or `DS_APPEND_ERROR`: the producer is
/// closed or detached (`DS_ERROR_PRODUCER_CLOSED`), has failed (the background error, e.g.
/// `DS_ERROR_STALE_EPOCH`, until `ds_producer_restart`), or an argument is invalid. Only for
/// `DS_APPEND_ERROR`, and only when `error_out` is not NULL, an owned error is written to
/// `*error_out`; it is left untouched otherwise.
///
/// Messages appended from one thread are delivered in the order of the calls.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`; `data` readable for `len` bytes when not
/// NULL; `error_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_try_append(
    producer: *const DsProducer,
    data: *const u8,
    len: usize,
    error_out: *mut *mut DsError,
) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> FfiResult<i32> {
        // SAFETY: arguments are NULL or valid per the contract.
        let producer = unsafe { producer_arg(producer) }?;
        // SAFETY: as above.
        let data = unsafe { strings::bytes(data, len, "data") }?;
        // The status form: a full buffer is reported without building an error.
        match producer.producer.try_append_status(data)? {
            TryAppendStatus::Appended => Ok(DS_APPEND_OK),
            TryAppendStatus::Full => Ok(DS_APPEND_FULL),
        }
    }));
    let error = match outcome {
        Ok(Ok(status)) => return status,
        Ok(Err(error)) => error,
        Err(payload) => panic_error("ds_producer_try_append", payload.as_ref()),
    };
    if error_out.is_null() {
        drop(error);
    } else {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { error_out.write(Box::into_raw(error)) };
    }
    DS_APPEND_ERROR
}

/// `operation` on a producer, ending with `DS_ERROR_CANCELLED` if the producer is freed first.
fn on_producer<T, F, Fut>(
    producer: &DsProducer,
    operation: F,
) -> impl Future<Output = durable_streams_core::Result<T>> + Send + 'static + use<T, F, Fut>
where
    T: Send + 'static,
    F: FnOnce(Arc<Producer>) -> Fut,
    Fut: Future<Output = durable_streams_core::Result<T>> + Send + 'static,
{
    let freed = producer.freed.clone();
    let work = operation(producer.producer.clone());
    async move { cancellable(&freed, work).await }
}

/// Copies `data` (`len` bytes, copied before returning) into the buffer as one message, waiting
/// for room if the buffer is full. Completes through `callback` exactly once (see
/// `DsDoneCallback`) once the message is buffered (not yet delivered: use `ds_producer_flush`
/// for that), or with the errors of `ds_producer_try_append`. `cancel` may be NULL. Calls in
/// flight at the same time may buffer their messages in any order. A NULL `callback` makes the
/// call do nothing.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`; `data` readable for `len` bytes when not
/// NULL; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_append(
    producer: *const DsProducer,
    data: *const u8,
    len: usize,
    cancel: *const DsCancel,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        let prepared = (|| -> FfiResult<_> {
            // SAFETY: arguments are NULL or valid per the contract.
            let producer = unsafe { producer_arg(producer) }?;
            // SAFETY: as above.
            let data = unsafe { strings::bytes(data, len, "data") }?.to_vec();
            Ok((producer, data))
        })();
        let operation = prepared.map(|(producer, data)| {
            on_producer(producer, |p| async move { p.append(&data).await })
        });
        // SAFETY: `cancel` is NULL or live per the contract.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Sends everything buffered now (without waiting for `linger`) and completes through
/// `callback` exactly once (see `DsOffsetCallback`) when every message appended before this
/// call is acknowledged, or with the background error if any batch failed meanwhile. `cancel`
/// may be NULL (cancelling stops the wait, not the delivery). A NULL `callback` makes the call
/// do nothing.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_flush(
    producer: *const DsProducer,
    cancel: *const DsCancel,
    callback: DsOffsetCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = offset_once(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { producer_arg(producer) }
            .map(|producer| on_producer(producer, |p| async move { p.flush().await }));
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Delivers everything buffered, then closes the stream; `final_data` (`final_len` bytes,
/// copied before returning), if not NULL, is appended atomically with the close. Completes
/// through `callback` exactly once (see `DsOffsetCallback`) with the stream's final offset.
/// Idempotent: later calls report the first call's result. No appends are accepted once it has
/// been called. `cancel` may be NULL. A NULL `callback` makes the call do nothing.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`; `final_data` NULL or readable for
/// `final_len` bytes; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_close(
    producer: *const DsProducer,
    final_data: *const u8,
    final_len: usize,
    cancel: *const DsCancel,
    callback: DsOffsetCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = offset_once(callback, user_data) else {
            return;
        };
        let prepared = (|| -> FfiResult<_> {
            // SAFETY: arguments are NULL or valid per the contract.
            let producer = unsafe { producer_arg(producer) }?;
            let final_message = if final_data.is_null() {
                if final_len != 0 {
                    return Err(Error::invalid_argument(
                        "final_data",
                        format!("is NULL but final_len is {final_len}"),
                    )
                    .into());
                }
                None
            } else {
                // SAFETY: as above.
                Some(unsafe { strings::bytes(final_data, final_len, "final_data") }?.to_vec())
            };
            Ok((producer, final_message))
        })();
        let operation = prepared.map(|(producer, final_message)| {
            on_producer(producer, |p| async move {
                p.close(final_message.as_deref()).await
            })
        });
        // SAFETY: `cancel` is NULL or live per the contract.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Delivers everything buffered, then stops without closing the stream (another instance may
/// continue it with a newer epoch). No appends are accepted afterwards. Completes through
/// `callback` exactly once (see `DsDoneCallback`). `cancel` may be NULL. A NULL `callback`
/// makes the call do nothing.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_detach(
    producer: *const DsProducer,
    cancel: *const DsCancel,
    callback: DsDoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Done::new(callback, user_data) else {
            return;
        };
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { producer_arg(producer) }
            .map(|producer| on_producer(producer, |p| async move { p.detach().await }));
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Delivers what is buffered, then moves to the next epoch at sequence 0 (what a new instance
/// of the same producer does) and clears a background failure so the producer accepts messages
/// again. Completes through `callback` exactly once (see `DsEpochCallback`) with the new epoch.
/// `cancel` may be NULL. A NULL `callback` makes the call do nothing. After the server lost this
/// producer's state, the messages kept since are sent under the new epoch.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_restart(
    producer: *const DsProducer,
    cancel: *const DsCancel,
    callback: DsEpochCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(function) = callback else {
            return;
        };
        let once = Once::new(EpochReply {
            function,
            user_data: UserData(user_data),
        });
        // SAFETY: arguments are NULL or valid per the contract.
        let operation = unsafe { producer_arg(producer) }
            .map(|producer| on_producer(producer, |p| async move { p.restart().await }));
        // SAFETY: as above.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Reads a counter of a producer argument; 0 for NULL.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`.
unsafe fn counter(producer: *const DsProducer, read: impl FnOnce(&Producer) -> u64) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(producer) }.map_or(0, |p| read(&p.producer))
    })
}

/// The current epoch (0 for NULL).
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_epoch(producer: *const DsProducer) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { counter(producer, Producer::epoch) }
}

/// The sequence number the next batch will be sent with (0 for NULL).
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_next_seq(producer: *const DsProducer) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { counter(producer, Producer::next_seq) }
}

/// Messages appended but not yet handed to a request (0 for NULL).
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_pending_count(producer: *const DsProducer) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { counter(producer, Producer::pending_count) }
}

/// Batches sent and not yet acknowledged (0 for NULL).
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_in_flight_count(producer: *const DsProducer) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { counter(producer, |p| p.in_flight_count() as u64) }
}

/// The stream offset after the last acknowledged batch, or NULL if none yet (or for NULL).
/// Owned: free with `ds_string_free`.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_last_acked_offset(producer: *const DsProducer) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(producer) }
            .and_then(|p| p.producer.last_acked_offset())
            .map_or(std::ptr::null_mut(), |o| strings::owned(o.as_str()))
    })
}

/// Frees the producer and stops its background task: messages not yet delivered are dropped
/// (call `ds_producer_flush`, `ds_producer_close` or `ds_producer_detach` and wait for it
/// first), and calls in flight complete promptly with `DS_ERROR_CANCELLED`. The
/// `free_user_data` given to `ds_producer_new` runs once the background task has stopped
/// (possibly after this returns, on a runtime thread). NULL is ignored.
///
/// # Safety
/// `producer` must be NULL or a live `DsProducer` not freed yet, and not in use by another
/// thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_producer_free(producer: *mut DsProducer) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(producer) });
}
