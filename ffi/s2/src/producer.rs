//! `S2Producer`: one record at a time, batched by linger and size, acknowledged per record.

use std::ffi::{c_char, c_void};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use ffi_support::guard::{catch, catch_error};
use s2_streamstore_core::records::to_append_record;
use s2_streamstore_core::{
    Acknowledgement, AppendRecord, Producer, ProducerOptions, S2Error as CoreError, TrySubmit,
};
use serde::Deserialize;

use crate::callback::{
    Done, Once, ProducerAck, RecordsAcked, S2CountedAckCallback, S2DoneCallback,
    S2RecordAckCallback,
};
use crate::copies::{CopyBlock, PRODUCER_BLOCK};
use crate::error::{FfiResult, S2Error};
use crate::handles::{self, Live};
use crate::pipeline::{Borrowed, Pipeline, Sink, Tried, reject, with_pipeline};
use crate::stream::{S2NewRecord, S2Stream, copy_record, stream_of};
use crate::strings;

/// A producer. Opaque; thread-safe. Free it with `s2_producer_free` after `s2_producer_close`
/// has completed (freeing it earlier abandons unacknowledged records: their acknowledgements
/// report `S2_ERROR_CLOSED`).
pub struct S2Producer {
    pipeline: Pipeline<ProducerSink>,
    // Names the basin and stream in errors about submitted records.
    stream: s2_streamstore_core::StreamClient,
    // Where record bodies are copied (locked only for the copy).
    copies: Mutex<CopyBlock>,
    _live: Live,
}

impl S2Producer {
    /// Copies and checks the record argument of a submission.
    ///
    /// # Safety
    /// `record` must be NULL or valid as documented on `S2NewRecord`.
    unsafe fn prepare(&self, record: *const S2NewRecord) -> FfiResult<AppendRecord> {
        // SAFETY: forwarded to the caller.
        let record = unsafe { handles::required(record, "record") }?;
        // SAFETY: forwarded to the caller.
        let record = unsafe {
            copy_record(
                0,
                record,
                &mut self.copies.lock().unwrap_or_else(PoisonError::into_inner),
            )
        }?;
        Ok(to_append_record(self.stream.context("append"), 0, record)?)
    }
}

struct ProducerSink(Producer);

impl Sink for ProducerSink {
    type Item = AppendRecord;
    type Ack = ProducerAck;
    type Pending = RecordAckFuture;

    fn submit(&self, record: AppendRecord) -> Borrowed<'_, RecordAckFuture> {
        Box::pin(async move { Ok(RecordAckFuture(self.0.submit(record).await?)) })
    }

    fn try_submit(
        &self,
        record: AppendRecord,
    ) -> Result<Result<RecordAckFuture, AppendRecord>, CoreError> {
        Ok(match self.0.try_submit(record)? {
            TrySubmit::Submitted(ack) => Ok(RecordAckFuture(ack)),
            TrySubmit::Full(record) => Err(record),
        })
    }

    fn flush(&self) -> Option<Borrowed<'_, ()>> {
        Some(Box::pin(self.0.flush()))
    }

    fn close(&self) -> Borrowed<'_, ()> {
        Box::pin(self.0.close())
    }
}

/// A record's acknowledgement as its C callback takes it: not boxed, since there is one per
/// record in flight.
struct RecordAckFuture(Acknowledgement);

impl Future for RecordAckFuture {
    type Output = Result<RecordsAcked, CoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_ok(|ack| RecordsAcked {
            seq_num: ack.seq_num,
            batch: ack.batch.into(),
            count: 1,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    max_unacked_bytes: Option<u32>,
    #[serde(default)]
    linger_ms: Option<u64>,
    #[serde(default)]
    max_batch_records: Option<usize>,
    #[serde(default)]
    max_batch_bytes: Option<usize>,
    #[serde(default)]
    fencing_token: Option<String>,
    #[serde(default)]
    match_seq_num: Option<u64>,
}

/// Opens a producer on `stream`. `options_json` (NULL for defaults): `max_unacked_bytes` (at
/// least 1 MiB, default 5 MiB), `linger_ms` (default 5), `max_batch_records` (1-1000),
/// `max_batch_bytes` (8 B - 1 MiB), `fencing_token` (every batch carries it) and
/// `match_seq_num` (the first batch must land there, later ones follow on: a batch the server
/// already stored is refused instead of stored twice).
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream`; `options_json` NULL or NUL-terminated; `out`
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_open(
    stream: *const S2Stream,
    options_json: *const c_char,
    out: *mut *mut S2Producer,
) -> *mut S2Error {
    // SAFETY: `out` is NULL or writable per the caller's contract.
    unsafe { handles::write_out(out, std::ptr::null_mut()) };
    catch_error("s2_producer_open", || {
        if out.is_null() {
            return Err(ffi_support::ArgError::new("out", "must not be NULL").into());
        }
        // SAFETY: forwarded to the caller.
        let stream = unsafe { stream_of(stream) }?.clone();
        // SAFETY: forwarded to the caller.
        let options: Options = unsafe { strings::json(options_json, "options_json") }?;
        let options = ProducerOptions {
            max_unacked_bytes: options.max_unacked_bytes,
            linger: options.linger_ms.map(Duration::from_millis),
            max_batch_records: options.max_batch_records,
            max_batch_bytes: options.max_batch_bytes,
            fencing_token: options.fencing_token,
            match_seq_num: options.match_seq_num,
        };
        let pipeline = Pipeline::start(&stream, "producer", || {
            stream.producer(&options).map(ProducerSink)
        })?;
        // SAFETY: checked non-NULL above.
        unsafe {
            handles::write_out(
                out,
                handles::into_raw(S2Producer {
                    pipeline,
                    stream,
                    copies: Mutex::new(CopyBlock::new(PRODUCER_BLOCK)),
                    _live: Live::new(),
                }),
            )
        };
        Ok(())
    })
}

/// Submits one record after every record submitted before it. `accepted` fires once the
/// producer had room for it (submit the next after it to keep memory bounded); `ack` fires
/// with its sequence number and its batch's positions once stored, in submission order.
/// Either callback may be NULL.
///
/// # Safety
/// `producer` must be NULL or a live `S2Producer`; `record` NULL or valid as documented on
/// `S2NewRecord`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_submit(
    producer: *const S2Producer,
    record: *const S2NewRecord,
    accepted: S2DoneCallback,
    ack: S2RecordAckCallback,
    user_data: *mut c_void,
) {
    // SAFETY: forwarded to the caller.
    unsafe {
        submit(producer, record, accepted, user_data, || {
            ProducerAck::record(ack, user_data)
        })
    }
}

/// `s2_producer_submit` with an acknowledgement per run: `ack` fires once for each run of
/// consecutive records acknowledged together that were submitted (by this function or
/// `s2_producer_try_submit_counted`) with the same `ack` and `user_data`, with the first
/// record's sequence number and the run's length; a record that fails is reported alone. Every
/// record is covered by exactly one call, and the calls come in submission order. For callers
/// that count acknowledgements rather than track records: one call per batch instead of one per
/// record.
///
/// # Safety
/// As for `s2_producer_submit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_submit_counted(
    producer: *const S2Producer,
    record: *const S2NewRecord,
    accepted: S2DoneCallback,
    ack: S2CountedAckCallback,
    user_data: *mut c_void,
) {
    // SAFETY: forwarded to the caller.
    unsafe {
        submit(producer, record, accepted, user_data, || {
            ProducerAck::counted(ack, user_data)
        })
    }
}

/// The shared body of the submit exports.
///
/// # Safety
/// As for `s2_producer_submit`.
unsafe fn submit(
    producer: *const S2Producer,
    record: *const S2NewRecord,
    accepted: S2DoneCallback,
    user_data: *mut c_void,
    ack: impl FnOnce() -> Option<Once<ProducerAck>>,
) {
    catch((), || {
        let accepted = Done::new(accepted, user_data);
        let ack = ack();
        // SAFETY: forwarded to the caller.
        let producer = match unsafe { handles::required(producer, "producer") } {
            Ok(producer) => producer,
            Err(error) => return reject(error, accepted, ack),
        };
        // SAFETY: forwarded to the caller.
        let prepared = unsafe { producer.prepare(record) };
        producer.pipeline.submit_checked(prepared, accepted, ack);
    });
}

/// `s2_producer_try_submit` took the record: its `ack` will fire.
pub const S2_SUBMIT_OK: i32 = 0;
/// `s2_producer_try_submit` found no room now, or earlier submissions still queued: nothing
/// was taken and `ack` will not fire; submit it with `s2_producer_submit`, which waits.
pub const S2_SUBMIT_FULL: i32 = 1;
/// `s2_producer_try_submit` failed (bad record, closed producer): the error is in
/// `*error_out`, and `ack` will not fire.
pub const S2_SUBMIT_ERROR: i32 = -1;

/// Submits one record on the calling thread, without waiting: if the producer has room now
/// and no earlier `s2_producer_submit` is still queued, the record is copied and taken, in
/// order with every other submission, and `ack` fires with its sequence number once stored
/// (as for `s2_producer_submit`; there is no `accepted` callback). Otherwise it returns
/// `S2_SUBMIT_FULL` (nothing taken) or `S2_SUBMIT_ERROR` (`*error_out` set), and `ack` does
/// not fire. The fast path for a thread producing records in a loop: try, and on FULL call
/// `s2_producer_submit`, then try again after its `accepted` fired.
///
/// # Safety
/// `producer` must be NULL or a live `S2Producer`; `record` NULL or valid as documented on
/// `S2NewRecord`; `error_out` NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_try_submit(
    producer: *const S2Producer,
    record: *const S2NewRecord,
    ack: S2RecordAckCallback,
    user_data: *mut c_void,
    error_out: *mut *mut S2Error,
) -> i32 {
    // SAFETY: forwarded to the caller.
    unsafe {
        try_submit(
            producer,
            record,
            || ProducerAck::record(ack, user_data),
            error_out,
        )
    }
}

/// `s2_producer_try_submit` with an acknowledgement per run, as `s2_producer_submit_counted`
/// delivers it (runs may span records submitted by both functions with the same `ack` and
/// `user_data`).
///
/// # Safety
/// As for `s2_producer_try_submit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_try_submit_counted(
    producer: *const S2Producer,
    record: *const S2NewRecord,
    ack: S2CountedAckCallback,
    user_data: *mut c_void,
    error_out: *mut *mut S2Error,
) -> i32 {
    // SAFETY: forwarded to the caller.
    unsafe {
        try_submit(
            producer,
            record,
            || ProducerAck::counted(ack, user_data),
            error_out,
        )
    }
}

/// The shared body of the try-submit exports. The acknowledgement's guard is made only once
/// the record is handed over, so that no failure before it can fire the callback.
///
/// # Safety
/// As for `s2_producer_try_submit`.
unsafe fn try_submit(
    producer: *const S2Producer,
    record: *const S2NewRecord,
    ack: impl FnOnce() -> Option<Once<ProducerAck>>,
    error_out: *mut *mut S2Error,
) -> i32 {
    // SAFETY: `error_out` is NULL or writable per the caller's contract.
    unsafe { handles::write_out(error_out, std::ptr::null_mut()) };
    let failed = |error: Box<S2Error>| {
        if !error_out.is_null() {
            // SAFETY: as above.
            unsafe { handles::write_out(error_out, Box::into_raw(error)) };
        }
        S2_SUBMIT_ERROR
    };
    catch(S2_SUBMIT_ERROR, || {
        // SAFETY: forwarded to the caller.
        let producer = match unsafe { handles::required(producer, "producer") } {
            Ok(producer) => producer,
            Err(error) => return failed(error),
        };
        // SAFETY: forwarded to the caller.
        let prepared = unsafe { producer.prepare(record) };
        let record = match prepared {
            Ok(record) => record,
            Err(error) => return failed(error),
        };
        match producer.pipeline.try_submit(record, ack()) {
            Ok(Tried::Submitted) => S2_SUBMIT_OK,
            Ok(Tried::Full(_)) => S2_SUBMIT_FULL,
            Err(error) => failed(error),
        }
    })
}

/// Sends the current partial batch now; `done` fires once every record submitted before this
/// call is stored.
///
/// # Safety
/// `producer` must be NULL or a live `S2Producer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_flush(
    producer: *const S2Producer,
    done: S2DoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(done) = Done::new(done, user_data) else {
            return;
        };
        // SAFETY: forwarded to the caller.
        let producer = unsafe { handles::required(producer, "producer") };
        with_pipeline(producer.map(|p| &p.pipeline), done, Pipeline::flush);
    });
}

/// Flushes, waits for every acknowledgement and closes; later submissions report
/// `S2_ERROR_CLOSED`.
///
/// # Safety
/// `producer` must be NULL or a live `S2Producer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_close(
    producer: *const S2Producer,
    done: S2DoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(done) = Done::new(done, user_data) else {
            return;
        };
        // SAFETY: forwarded to the caller.
        let producer = unsafe { handles::required(producer, "producer") };
        with_pipeline(producer.map(|p| &p.pipeline), done, Pipeline::close);
    });
}

/// Frees the producer. NULL is ignored.
///
/// # Safety
/// `producer` must be NULL or a live `S2Producer` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_producer_free(producer: *mut S2Producer) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(producer) });
}
