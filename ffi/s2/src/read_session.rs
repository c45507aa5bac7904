//! `S2ReadSession`: batches as they come, resuming after transient failures at the next
//! sequence number.

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ffi_support::guard::catch;
use s2_streamstore_core::{ReadSession, ReadSessionOptions};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::batch::S2ReadBatch;
use crate::callback::{Batch, ReadSessionOpened, S2BatchCallback, S2ReadSessionCallback};
use crate::cancel::{S2Cancel, token};
use crate::handles::{self, Live};
use crate::runtime::{cancellable, start};
use crate::stream::{S2ReadArgs, S2Stream, copy_read_args, stream_of};

/// A read session. Opaque. At most one `s2_read_session_next` may be in flight; freeing the
/// session makes a pending one finish with `S2_ERROR_CANCELLED`.
pub struct S2ReadSession {
    session: Arc<Mutex<ReadSession>>,
    caught_up: Arc<AtomicBool>,
    next_seq_num: Arc<AtomicU64>,
    closed: CancellationToken,
    _live: Live,
}

impl Drop for S2ReadSession {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// Opens a read session (`args` as for `s2_stream_read`; without a count, byte or time limit
/// it follows the tail forever). With `retry_forever`, transient failures are retried without
/// a budget (the session survives a server restart); otherwise the client's retry settings
/// apply. The callback receives the owned session.
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream`; `args` NULL or valid; `cancel` NULL or a live
/// `S2Cancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_read_session_open(
    stream: *const S2Stream,
    args: *const S2ReadArgs,
    retry_forever: bool,
    cancel: *const S2Cancel,
    callback: S2ReadSessionCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = ReadSessionOpened::new(callback, user_data) else {
            return;
        };
        // SAFETY: forwarded to the caller.
        let cancel = unsafe { token(cancel) };
        // SAFETY: forwarded to the caller.
        let operation = unsafe { stream_of(stream) }.and_then(|stream| {
            // SAFETY: forwarded to the caller.
            let request = unsafe { copy_read_args(args) }?;
            let stream = stream.clone();
            Ok(async move {
                let session = stream
                    .read_session(&request, ReadSessionOptions { retry_forever })
                    .await?;
                Ok(Box::new(S2ReadSession {
                    next_seq_num: Arc::new(AtomicU64::new(
                        session.next_seq_num().unwrap_or(u64::MAX),
                    )),
                    caught_up: Arc::new(AtomicBool::new(session.is_caught_up())),
                    session: Arc::new(Mutex::new(session)),
                    closed: CancellationToken::new(),
                    _live: Live::new(),
                }))
            })
        });
        start("open a read session", once, cancel, operation);
    });
}

/// The next batch: an owned `S2ReadBatch`, or NULL (with a NULL error) when the session ended
/// because a limit was reached. Errors end the session.
///
/// # Safety
/// `session` must be NULL or a live `S2ReadSession`; `cancel` NULL or a live `S2Cancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_read_session_next(
    session: *const S2ReadSession,
    cancel: *const S2Cancel,
    callback: S2BatchCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = Batch::new(callback, user_data) else {
            return;
        };
        // SAFETY: forwarded to the caller.
        let cancel = unsafe { token(cancel) };
        // SAFETY: forwarded to the caller.
        let operation = unsafe { handles::required(session, "session") }.map(|session| {
            let state = Arc::clone(&session.session);
            let caught_up = Arc::clone(&session.caught_up);
            let next_seq_num = Arc::clone(&session.next_seq_num);
            let closed = session.closed.clone();
            async move {
                cancellable("read", Some(closed), async move {
                    let mut session = state.lock().await;
                    // S2 reports reaching the tail in messages without records, which the
                    // session consumes without yielding: watch for it while waiting, so that
                    // s2_read_session_is_caught_up turns true at the tail, not at the next batch.
                    let item = loop {
                        if session.is_caught_up() {
                            break session.next().await;
                        }
                        let reached = session.caught_up();
                        tokio::select! {
                            item = session.next() => break item,
                            now = reached => {
                                caught_up.store(now, Ordering::Release);
                                if !now {
                                    break session.next().await;
                                }
                            }
                        }
                    };
                    caught_up.store(session.is_caught_up(), Ordering::Release);
                    if let Some(next) = session.next_seq_num() {
                        next_seq_num.store(next, Ordering::Release);
                    }
                    match item {
                        None => Ok(None),
                        Some(batch) => Ok(Some(Box::new(S2ReadBatch::new(batch?)))),
                    }
                })
                .await
            }
        });
        start("read", once, cancel, operation);
    });
}

/// Whether every record up to the last tail the server reported has been delivered.
///
/// # Safety
/// `session` must be NULL or a live `S2ReadSession`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_read_session_is_caught_up(session: *const S2ReadSession) -> bool {
    catch(false, || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(session) }.is_some_and(|s| s.caught_up.load(Ordering::Acquire))
    })
}

/// The sequence number the session expects next (where it resumes after a failure); -1 while
/// unknown (a timestamp or tail-relative start before the first batch).
///
/// # Safety
/// `session` must be NULL or a live `S2ReadSession`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_read_session_next_seq_num(session: *const S2ReadSession) -> i64 {
    catch(-1, || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(session) }
            .map(|s| s.next_seq_num.load(Ordering::Acquire))
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(-1)
    })
}

/// Frees the session; a pending `s2_read_session_next` finishes with `S2_ERROR_CANCELLED`.
/// NULL is ignored.
///
/// # Safety
/// `session` must be NULL or a live `S2ReadSession` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_read_session_free(session: *mut S2ReadSession) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(session) });
}
