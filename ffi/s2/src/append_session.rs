//! `S2AppendSession`: pipelined batches with bounded unacknowledged bytes, acknowledged in
//! submission order.

use std::ffi::{c_char, c_void};

use ffi_support::guard::{catch, catch_error};
use s2_streamstore_core::{AppendSession, AppendSessionOptions, PreparedAppend};
use serde::Deserialize;

use crate::callback::{Append, Done, S2AppendCallback, S2DoneCallback};
use crate::error::S2Error;
use crate::handles::{self, Live};
use crate::pipeline::{Borrowed, Pending, Pipeline, Sink, reject, with_pipeline};
use crate::stream::{
    S2AppendAck, S2AppendConditions, S2NewRecord, S2Stream, copy_conditions, copy_records,
    stream_of,
};
use crate::strings;

/// An append session. Opaque; thread-safe. Free it with `s2_append_session_free` after
/// `s2_append_session_close` has completed (freeing it earlier abandons what is not yet
/// acknowledged: those acknowledgements report `S2_ERROR_CLOSED`).
pub struct S2AppendSession {
    pipeline: Pipeline<SessionSink>,
    // Names the basin and stream in errors about submitted records.
    stream: s2_streamstore_core::StreamClient,
    _live: Live,
}

struct SessionSink(AppendSession);

impl Sink for SessionSink {
    type Item = PreparedAppend;
    type Ack = Append;
    type Pending = Pending<S2AppendAck>;

    fn submit(&self, prepared: Self::Item) -> Borrowed<'_, Pending<S2AppendAck>> {
        Box::pin(async move {
            let ticket = self.0.submit_prepared(prepared).await?;
            let ack: Pending<S2AppendAck> = Box::pin(async move { ticket.await.map(Into::into) });
            Ok(ack)
        })
    }

    fn flush(&self) -> Option<Borrowed<'_, ()>> {
        None
    }

    fn close(&self) -> Borrowed<'_, ()> {
        Box::pin(self.0.close())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SessionOptions {
    #[serde(default)]
    max_unacked_bytes: Option<u32>,
    #[serde(default)]
    max_unacked_batches: Option<u32>,
}

/// Opens an append session on `stream`. `options_json` (NULL for defaults):
/// `{"max_unacked_bytes": n}` (at least 1 MiB, default 5 MiB) and `{"max_unacked_batches": n}`
/// (default: no limit): submissions wait for room beyond these.
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream`; `options_json` NULL or NUL-terminated; `out`
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_append_session_open(
    stream: *const S2Stream,
    options_json: *const c_char,
    out: *mut *mut S2AppendSession,
) -> *mut S2Error {
    // SAFETY: `out` is NULL or writable per the caller's contract.
    unsafe { handles::write_out(out, std::ptr::null_mut()) };
    catch_error("s2_append_session_open", || {
        if out.is_null() {
            return Err(ffi_support::ArgError::new("out", "must not be NULL").into());
        }
        // SAFETY: forwarded to the caller.
        let stream = unsafe { stream_of(stream) }?.clone();
        // SAFETY: forwarded to the caller.
        let options: SessionOptions = unsafe { strings::json(options_json, "options_json") }?;
        let options = AppendSessionOptions {
            max_unacked_bytes: options.max_unacked_bytes,
            max_unacked_batches: options.max_unacked_batches,
        };
        let pipeline = Pipeline::start(&stream, "append session", || {
            stream.append_session(&options).map(SessionSink)
        })?;
        let stream = stream.clone();
        // SAFETY: checked non-NULL above.
        unsafe {
            handles::write_out(
                out,
                handles::into_raw(S2AppendSession {
                    pipeline,
                    stream,
                    _live: Live::new(),
                }),
            )
        };
        Ok(())
    })
}

/// Submits `count` records (1-1000, at most 1 MiB metered) as one batch, after every batch
/// submitted before it. `accepted` fires once the session had room for it (submit the next
/// batch after it to keep memory bounded by the session's limits); `ack` fires with its
/// positions once stored, in submission order. Either callback may be NULL. A batch that
/// fails its checks reports the error to both at once.
///
/// # Safety
/// `session` must be NULL or a live `S2AppendSession`; `records`, `conditions` as for
/// `s2_stream_append`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the C signature: the batch, its conditions, two callbacks
pub unsafe extern "C" fn s2_append_session_submit(
    session: *const S2AppendSession,
    records: *const S2NewRecord,
    count: usize,
    conditions: *const S2AppendConditions,
    accepted: S2DoneCallback,
    ack: S2AppendCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let accepted = Done::new(accepted, user_data);
        let ack = Append::new(ack, user_data);
        // SAFETY: forwarded to the caller.
        let session = match unsafe { handles::required(session, "session") } {
            Ok(session) => session,
            Err(error) => return reject(error, accepted, ack),
        };
        let prepared = (|| {
            // SAFETY: forwarded to the caller.
            let records =
                unsafe { copy_records(session.stream.context("append"), records, count) }?;
            // SAFETY: forwarded to the caller.
            let conditions = unsafe { copy_conditions(conditions) }?;
            Ok(session.stream.prepare_append(records, &conditions)?)
        })();
        session.pipeline.submit_checked(prepared, accepted, ack);
    });
}

/// Waits for every submitted batch to be acknowledged, then closes the session; `done`
/// reports the first failure, if any. Later submissions report `S2_ERROR_CLOSED`.
///
/// # Safety
/// `session` must be NULL or a live `S2AppendSession`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_append_session_close(
    session: *const S2AppendSession,
    done: S2DoneCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(done) = Done::new(done, user_data) else {
            return;
        };
        // SAFETY: forwarded to the caller.
        let session = unsafe { handles::required(session, "session") };
        with_pipeline(session.map(|s| &s.pipeline), done, Pipeline::close);
    });
}

/// Frees the session (see `S2AppendSession` for what happens to pending batches). NULL is
/// ignored.
///
/// # Safety
/// `session` must be NULL or a live `S2AppendSession` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_append_session_free(session: *mut S2AppendSession) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(session) });
}
