//! `DsReader`: a pull-based read session; each `ds_reader_next` delivers one chunk.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use durable_streams_core::{
    CancellationToken, Chunk, Error, LiveMode, Offset, ReadOptions, ReadSession, cancellable,
};

use crate::callback::UserData;
use crate::callback::{Callback, Once};
use crate::cancel::{self, DsCancel, with_token};
use crate::chunk::DsChunk;
use crate::error::{DsError, FfiResult};
use crate::handles::{self, Live};
use crate::headers::{DsHeader, header_pairs};
use crate::runtime::runtime;
use crate::stream::{DsStream, stream_arg};
use crate::strings;
use ffi_support::guard::{catch, catch_error, catch_panics};

/// How a read continues once it has caught up with the tail of the stream. Passed to
/// `ds_reader_open` as an `int32_t`.
///
/// cbindgen:rename-all=prefix:DS_LIVE_
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsLiveMode {
    /// Catch-up only: the read ends once it is up to date.
    OFF = 0,
    /// Catch up, then wait for new data with long-poll requests.
    LONG_POLL = 1,
    /// Server-Sent Events from the start offset.
    SSE = 2,
    /// Catch up, then tail: SSE for JSON streams, long-poll for everything else (and whenever
    /// the server refuses SSE).
    AUTO = 3,
}

pub(crate) fn to_live_mode(value: i32) -> FfiResult<LiveMode> {
    match value {
        0 => Ok(LiveMode::Off),
        1 => Ok(LiveMode::LongPoll),
        2 => Ok(LiveMode::Sse),
        3 => Ok(LiveMode::Auto),
        other => Err(Error::invalid_argument(
            "live_mode",
            format!(
                "must be DS_LIVE_OFF (0), DS_LIVE_LONG_POLL (1), DS_LIVE_SSE (2) or DS_LIVE_AUTO (3), got {other}"
            ),
        )
        .into()),
    }
}

/// A read session on one stream. Opaque.
///
/// Pull chunks with `ds_reader_next`; nothing is read ahead of the caller. Free it with
/// `ds_reader_free`. `ds_reader_offset`/`ds_reader_cursor` may be called from any thread at
/// any time; at most one `ds_reader_next` may be in flight per reader.
pub struct DsReader {
    shared: Arc<ReaderShared>,
    _live: Live,
}

/// What the reader handle and its in-flight `next` task share.
struct ReaderShared {
    /// The session while idle; `None` while a `next` owns it (or after a failed start).
    session: Mutex<Option<Box<ReadSession>>>,
    /// The position after the last delivered chunk, readable while a `next` is running.
    position: Mutex<Position>,
    /// Cancelled when the reader is freed, ending an in-flight `next`.
    freed: CancellationToken,
}

struct Position {
    offset: Offset,
    cursor: Option<String>,
    /// Bytes from `offset` already delivered (or to be skipped): `ReadSession::resume_skip`.
    skip: u64,
    /// The same in messages, for JSON streams: `ReadSession::resume_skip_messages`.
    skip_messages: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked: recover it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for DsReader {
    fn drop(&mut self) {
        self.shared.freed.cancel();
    }
}

/// Completion of `ds_reader_next`.
///
/// - a chunk: `error` is NULL and `chunk` is owned by the callee (free it with
///   `ds_chunk_free`);
/// - the end of the stream: both are NULL (a catch-up read that is up to date, or a closed
///   stream that was read to its end; later calls report the end again);
/// - a failure: `error` is owned by the callee and `chunk` is NULL. After
///   `DS_ERROR_CANCELLED` the reader stays usable and resumes where it was; after other errors
///   the session has ended and later calls report the end.
pub type DsChunkCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError, chunk: *mut DsChunk)>;

struct ChunkReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, *mut DsChunk),
    user_data: UserData,
}

impl Callback for ChunkReply {
    type Error = DsError;
    type Value = Option<Chunk>;

    fn invoke(&self, result: FfiResult<Option<Chunk>>) {
        let (error, chunk) = match result {
            Ok(Some(chunk)) => (std::ptr::null_mut(), handles::into_raw(DsChunk::new(chunk))),
            Ok(None) => (std::ptr::null_mut(), std::ptr::null_mut()),
            Err(error) => (Box::into_raw(error), std::ptr::null_mut()),
        };
        // SAFETY: the caller's callback and user data; the error and chunk are handed over as
        // owned, as documented.
        unsafe { (self.function)(self.user_data.0, error, chunk) }
    }
}

/// Opens a read session on `stream`. No I/O happens here.
///
/// `offset`: where to start, NULL or `"-1"` for the beginning, `"now"` for only what is
/// appended from now on, or an offset saved from `ds_chunk_offset`/`ds_reader_offset`
/// (malformed offsets fail with `DS_ERROR_INVALID_OFFSET`). `live_mode`: a `DsLiveMode` value
/// (others fail with `DS_ERROR_INVALID_ARGUMENT`). `cursor`: the cursor saved with the offset,
/// or NULL.
///
/// On success writes a new reader (free it with `ds_reader_free`) to `*out` and returns NULL;
/// otherwise writes NULL to `*out` (when `out` is not NULL) and returns an owned error.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; strings NULL or NUL-terminated; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_open(
    stream: *const DsStream,
    offset: *const c_char,
    live_mode: i32,
    cursor: *const c_char,
    out: *mut *mut DsReader,
) -> *mut DsError {
    catch_error("ds_reader_open", || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let stream = unsafe { stream_arg(stream) }?;
        // SAFETY: as above.
        let offset = match unsafe { strings::optional(offset, "offset") }? {
            Some(text) => Offset::parse(text)?,
            None => Offset::BEGINNING,
        };
        let live = to_live_mode(live_mode)?;
        // SAFETY: as above.
        let cursor = unsafe { strings::optional(cursor, "cursor") }?.map(str::to_owned);
        let session = stream.read(ReadOptions {
            offset: offset.clone(),
            live,
            cursor: cursor.clone(),
            ..ReadOptions::default()
        });
        let handle = handles::into_raw(DsReader {
            shared: Arc::new(ReaderShared {
                session: Mutex::new(Some(Box::new(session))),
                position: Mutex::new(Position {
                    offset,
                    cursor,
                    skip: 0,
                    skip_messages: 0,
                }),
                freed: CancellationToken::new(),
            }),
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Reads the next chunk and completes through `callback` exactly once (see `DsChunkCallback`).
///
/// Catch-up reads deliver data chunks and end once up to date; live reads also deliver a chunk
/// when they first become up to date and then wait for new data (a long-poll timeout with
/// nothing new is not reported). Transient failures are retried per the client's retry policy.
///
/// At most one call may be in flight per reader: a second one completes at once with
/// `DS_ERROR_INVALID_ARGUMENT` ("a read is already in progress"). `cancel` (may be NULL) ends a
/// pending call promptly with `DS_ERROR_CANCELLED`, as does freeing the reader. A NULL
/// `callback` makes the call do nothing.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_next(
    reader: *mut DsReader,
    cancel: *const DsCancel,
    callback: DsChunkCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(function) = callback else {
            return;
        };
        let once = Once::new(ChunkReply {
            function,
            user_data: UserData(user_data),
        });
        // SAFETY: arguments are NULL or valid per the contract.
        let shared = match unsafe { handles::required(reader.cast_const(), "reader") } {
            Ok(reader) => reader.shared.clone(),
            Err(error) => return once.finish(Err(error)),
        };
        // SAFETY: as above.
        let token = unsafe { cancel::token(cancel) };
        let runtime = match runtime() {
            Ok(runtime) => runtime,
            Err(error) => return once.finish(Err(error)),
        };
        let Some(mut session) = lock(&shared.session).take() else {
            let busy = Error::invalid_argument("reader", "a read is already in progress");
            return once.finish(Err(busy.into()));
        };
        runtime.spawn(async move {
            let next = with_token(token.as_ref(), session.next_chunk());
            let result = catch_panics(cancellable(&shared.freed, next)).await;
            {
                let mut position = lock(&shared.position);
                position.offset = session.offset().clone();
                position.cursor = session.cursor().map(str::to_owned);
                position.skip = session.resume_skip();
                position.skip_messages = session.resume_skip_messages();
            }
            // Back before the callback, so that it may call ds_reader_next again.
            *lock(&shared.session) = Some(session);
            once.finish(result.and_then(|r| r.map_err(Into::into)));
        });
    });
}

/// Bounds the bytes of one chunk, from the next response on; 0 (the default) returns each
/// response whole, however large (a server may answer a catch-up of a 1 GiB stream with one
/// 1 GiB response). A larger response then arrives in pieces as it is received; all but the
/// last are partial (`ds_chunk_partial`): their offset is where the response began,
/// `ds_chunk_resume_skip` counts the bytes from there delivered so far (resume exactly after a
/// piece with `ds_reader_set_skip_bytes`), and they never report up-to-date or closed. JSON
/// streams are cut between messages, never inside one: each piece's data is a JSON array of
/// whole messages (one message larger than the bound is a piece of its own), and it counts
/// messages instead (`ds_chunk_resume_skip_messages`, `ds_reader_set_skip_messages`).
///
/// Returns NULL, or an owned `DS_ERROR_INVALID_ARGUMENT` error for a NULL reader or while a
/// `ds_reader_next` is in flight.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_set_max_chunk_bytes(
    reader: *const DsReader,
    max_chunk_bytes: usize,
) -> *mut DsError {
    catch_error("ds_reader_set_max_chunk_bytes", || {
        // SAFETY: NULL or a live reader per the contract.
        let reader = unsafe { handles::required(reader, "reader") }?;
        let mut session = lock(&reader.shared.session);
        let Some(session) = session.as_mut() else {
            return Err(Error::invalid_argument("reader", "a read is in progress").into());
        };
        session.set_max_chunk_bytes((max_chunk_bytes > 0).then_some(max_chunk_bytes));
        Ok(())
    })
}

/// Skips the first `skip` bytes of the stream from the reader's start offset before
/// delivering any data (0, the default: none). Pass a saved `ds_chunk_resume_skip` (opening the
/// reader at that chunk's offset and cursor) to resume exactly after a partial chunk: no byte
/// twice, none missed. Stream data is immutable, so the skip may span several responses; chunks
/// whose data is skipped entirely are not delivered, but up-to-date and closed are reported as
/// without the skip.
///
/// Only for non-JSON streams (JSON streams count messages: `ds_reader_set_skip_messages`): on a
/// JSON stream or from offset `"now"`, a non-zero skip makes the first `ds_reader_next` fail with
/// `DS_ERROR_INVALID_ARGUMENT`. If the stream holds fewer bytes from the offset than the skip
/// when the read reaches its tail, `ds_reader_next` fails with `DS_ERROR_INVALID_OFFSET` ("the
/// resume point is past the data"), in live modes too (it does not wait for more data).
///
/// Call it before the first `ds_reader_next` (the skip applies to the start of the read).
/// Returns NULL, or an owned `DS_ERROR_INVALID_ARGUMENT` error for a NULL reader, while a
/// `ds_reader_next` is in flight, or once a `ds_reader_next` has been called.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_set_skip_bytes(
    reader: *const DsReader,
    skip: u64,
) -> *mut DsError {
    catch_error("ds_reader_set_skip_bytes", || {
        // SAFETY: NULL or a live reader per the contract.
        let reader = unsafe { handles::required(reader, "reader") }?;
        set_skip(reader, skip, false)
    })
}

/// What `ds_reader_set_skip_bytes` is for other streams, for a JSON stream: skips its first
/// `skip` messages from the reader's start offset (replacing a byte skip). Pass a saved
/// `ds_chunk_resume_skip_messages` (opening the reader at that chunk's offset and cursor) to
/// resume exactly after a partial chunk of a JSON response: no message twice, none missed. The
/// skip may span several responses. On a non-JSON stream or from offset `"now"`, a non-zero
/// skip makes the first `ds_reader_next` fail with `DS_ERROR_INVALID_ARGUMENT`; a skip past the
/// stream's messages fails it with `DS_ERROR_INVALID_OFFSET` once the read reaches the tail.
///
/// Call it before the first `ds_reader_next`. Returns NULL, or an owned
/// `DS_ERROR_INVALID_ARGUMENT` error for a NULL reader, while a `ds_reader_next` is in flight,
/// or once a `ds_reader_next` has been called.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_set_skip_messages(
    reader: *const DsReader,
    skip: u64,
) -> *mut DsError {
    catch_error("ds_reader_set_skip_messages", || {
        // SAFETY: NULL or a live reader per the contract.
        let reader = unsafe { handles::required(reader, "reader") }?;
        set_skip(reader, skip, true)
    })
}

/// The shared body of the two skip setters: the session's skip, and the position readable while
/// a read runs.
fn set_skip(reader: &DsReader, skip: u64, in_messages: bool) -> FfiResult<()> {
    let mut session = lock(&reader.shared.session);
    let Some(session) = session.as_mut() else {
        return Err(Error::invalid_argument("reader", "a read is in progress").into());
    };
    if in_messages {
        session.set_skip_messages(skip)?;
    } else {
        session.set_skip_bytes(skip)?;
    }
    let mut position = lock(&reader.shared.position);
    (position.skip, position.skip_messages) = if in_messages { (0, skip) } else { (skip, 0) };
    Ok(())
}

/// The bytes from `ds_reader_offset` already delivered: pass it to `ds_reader_set_skip_bytes`
/// (with the offset and cursor) to resume exactly where this reader is. Non-zero while a large
/// response is being delivered in pieces (the last partial chunk's `ds_chunk_resume_skip`, also
/// when the read then failed) and while the reader is still skipping the bytes asked with
/// `ds_reader_set_skip_bytes`; 0 otherwise and for a NULL reader. Safe to call while a
/// `ds_reader_next` is in flight.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_resume_skip(reader: *const DsReader) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(reader) }.map_or(0, |r| lock(&r.shared.position).skip)
    })
}

/// For a JSON stream, the messages from `ds_reader_offset` already delivered: pass it to
/// `ds_reader_set_skip_messages` (with the offset and cursor) to resume exactly where this
/// reader is. Non-zero while a JSON response is being delivered in pieces (the last partial
/// chunk's `ds_chunk_resume_skip_messages`, also when the read then failed) and while the reader
/// is still skipping the messages asked with `ds_reader_set_skip_messages`; 0 otherwise and for
/// a NULL reader. Safe to call while a `ds_reader_next` is in flight.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_resume_skip_messages(reader: *const DsReader) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(reader) }.map_or(0, |r| lock(&r.shared.position).skip_messages)
    })
}

/// Sets extra HTTP headers sent on every request of the read from the next one on: catch-up
/// requests, each long-poll and every SSE (re)connection (an SSE connection already open
/// keeps the headers it was opened with). Replaces the headers set before; `count` 0 clears
/// them. `headers` (`count` entries, NULL when `count` is 0) is copied before this returns;
/// see `DsHeader` for the checks and precedence.
///
/// Call it before the first `ds_reader_next` or between two. Returns NULL, or an owned
/// `DS_ERROR_INVALID_ARGUMENT` error for a NULL reader, while a `ds_reader_next` is in flight,
/// for a NULL `headers` with a non-zero `count`, a NULL or non-UTF-8 name or value, or an
/// invalid header (named, its value never quoted); the reader's headers are then unchanged.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`; `headers` NULL or valid for `count` entries
/// whose strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_set_headers(
    reader: *const DsReader,
    headers: *const DsHeader,
    count: usize,
) -> *mut DsError {
    catch_error("ds_reader_set_headers", || {
        // SAFETY: NULL or a live reader per the contract.
        let reader = unsafe { handles::required(reader, "reader") }?;
        // SAFETY: NULL or valid for `count` entries per the contract.
        let pairs = unsafe { header_pairs(headers, count, "headers") }?;
        let mut session = lock(&reader.shared.session);
        let Some(session) = session.as_mut() else {
            return Err(Error::invalid_argument("reader", "a read is in progress").into());
        };
        session.set_headers(&pairs)?;
        Ok(())
    })
}

/// The offset after the last chunk delivered (the start offset before any): save it, with
/// `ds_reader_resume_skip`, to resume later. Owned: free with `ds_string_free`. NULL for a NULL
/// reader. Safe to call while a `ds_reader_next` is in flight.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_offset(reader: *const DsReader) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(reader) }.map_or(std::ptr::null_mut(), |r| {
            strings::owned(lock(&r.shared.position).offset.as_str())
        })
    })
}

/// The last cursor the server sent (or the one the reader was opened with); NULL if none or
/// for a NULL reader. Owned: free with `ds_string_free`. Safe to call while a
/// `ds_reader_next` is in flight.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_cursor(reader: *const DsReader) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(reader) }
            .and_then(|r| {
                lock(&r.shared.position)
                    .cursor
                    .as_deref()
                    .map(strings::owned)
            })
            .unwrap_or(std::ptr::null_mut())
    })
}

/// Frees a reader. A `ds_reader_next` in flight completes promptly with `DS_ERROR_CANCELLED`
/// (on a runtime thread, possibly after this returns). NULL is ignored.
///
/// # Safety
/// `reader` must be NULL or a live `DsReader` not freed yet, and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_reader_free(reader: *mut DsReader) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(reader) });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DsErrorKind;

    /// Takes an owned error returned by an export: its kind and message (NULL: success).
    fn outcome(error: *mut DsError) -> Option<(DsErrorKind, String)> {
        if error.is_null() {
            return None;
        }
        // SAFETY: a non-NULL error returned as owned by an export, freed once here.
        let error = unsafe { Box::from_raw(error) };
        Some((
            error.kind,
            error.server_message.to_str().unwrap().to_owned(),
        ))
    }

    /// A client and a stream handle on an address nothing listens on (no test here makes a
    /// request); free them with [`free_offline`].
    fn offline_stream() -> (*mut crate::client::DsClient, *mut crate::stream::DsStream) {
        let mut client = std::ptr::null_mut();
        let mut stream = std::ptr::null_mut();
        let options = c"{\"base_url\":\"http://127.0.0.1:1/v1/stream\"}";
        // SAFETY: valid NUL-terminated strings and writable out-pointers; the handles made here
        // are returned to the caller, who frees them once.
        unsafe {
            let none = crate::client::ds_client_new(
                options.as_ptr(),
                None,
                std::ptr::null_mut(),
                None,
                &mut client,
            );
            assert!(outcome(none).is_none());
            let made = crate::stream::ds_stream_new(client, c"s".as_ptr(), &mut stream);
            assert!(outcome(made).is_none());
        }
        (client, stream)
    }

    /// Frees what [`offline_stream`] made.
    fn free_offline(
        (client, stream): (*mut crate::client::DsClient, *mut crate::stream::DsStream),
    ) {
        // SAFETY: live handles from `offline_stream`, freed once.
        unsafe {
            crate::stream::ds_stream_free(stream);
            crate::client::ds_client_free(client);
        }
    }

    #[test]
    fn set_headers_checks_its_arguments_and_the_reader_state() {
        let secret = c"Bearer S3CRET-SENTINEL";
        let good = [DsHeader {
            name: c"X-Tenant".as_ptr(),
            value: c"t1".as_ptr(),
        }];
        let null_value = [DsHeader {
            name: c"X-Tenant".as_ptr(),
            value: std::ptr::null(),
        }];
        let bad_name = [DsHeader {
            name: c"bad name".as_ptr(),
            value: secret.as_ptr(),
        }];
        let bad_value = [DsHeader {
            name: c"authorization".as_ptr(),
            value: c"Bearer S3CRET-SENTINEL\r\nX-Injected: 1".as_ptr(),
        }];
        let handles = offline_stream();
        let stream = handles.1;
        let mut reader = std::ptr::null_mut();
        // SAFETY: every pointer is NULL, a live handle made here, or a live array of headers with
        // static strings; each handle is freed once at the end.
        unsafe {
            let opened = ds_reader_open(stream, std::ptr::null(), 0, std::ptr::null(), &mut reader);
            assert!(outcome(opened).is_none());

            assert!(outcome(ds_reader_set_headers(reader, good.as_ptr(), 1)).is_none());
            assert!(outcome(ds_reader_set_headers(reader, std::ptr::null(), 0)).is_none());
            let (kind, text) =
                outcome(ds_reader_set_headers(std::ptr::null(), good.as_ptr(), 1)).unwrap();
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(text.starts_with("reader:"), "{text}");
            let (kind, text) = outcome(ds_reader_set_headers(reader, std::ptr::null(), 2)).unwrap();
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(text.starts_with("headers:"), "{text}");
            let (kind, text) =
                outcome(ds_reader_set_headers(reader, null_value.as_ptr(), 1)).unwrap();
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(text.starts_with("headers[0].value:"), "{text}");
            for (array, named) in [
                (&bad_name, "\"bad name\""),
                (&bad_value, "\"authorization\""),
            ] {
                let (kind, text) =
                    outcome(ds_reader_set_headers(reader, array.as_ptr(), 1)).unwrap();
                assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
                assert!(
                    text.starts_with("headers:") && text.contains(named),
                    "{text}"
                );
                assert!(!text.contains("S3CRET-SENTINEL"), "{text}");
            }

            // While a `ds_reader_next` owns the session (simulated by taking it).
            let shared = &(*reader).shared;
            let session = lock(&shared.session).take();
            let (kind, text) = outcome(ds_reader_set_headers(reader, good.as_ptr(), 1)).unwrap();
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(text.contains("in progress"), "{text}");
            *lock(&shared.session) = session;
            assert!(outcome(ds_reader_set_headers(reader, good.as_ptr(), 1)).is_none());

            ds_reader_free(reader);
        }
        free_offline(handles);
    }

    /// A `DsChunkCallback` that sends the error it receives (as an address) through the boxed
    /// `Sender` that `user_data` owns (the callback takes it: a borrowed one could be dropped by
    /// the test while `send` is still returning); frees any chunk.
    unsafe extern "C" fn send_error(
        user_data: *mut c_void,
        error: *mut DsError,
        chunk: *mut DsChunk,
    ) {
        // SAFETY: `user_data` is a `Box<Sender>` leaked for this one callback, taken back here
        // exactly once; the chunk is owned by this callback.
        unsafe {
            crate::chunk::ds_chunk_free(chunk);
            let sender = Box::from_raw(user_data.cast::<std::sync::mpsc::Sender<usize>>());
            let _ = sender.send(error as usize);
        }
    }

    #[test]
    fn set_skip_bytes_checks_its_arguments_and_works_only_before_the_first_read() {
        let handles = offline_stream();
        let stream = handles.1;
        let mut reader = std::ptr::null_mut();
        let (sender, receiver) = std::sync::mpsc::channel::<usize>();
        // SAFETY: every pointer is NULL or a live handle made here, freed once at the end; the
        // callback's `user_data` is a boxed clone of `sender` that the callback takes.
        unsafe {
            let opened = ds_reader_open(
                stream,
                c"now".as_ptr(),
                DsLiveMode::LONG_POLL as i32,
                std::ptr::null(),
                &mut reader,
            );
            assert!(outcome(opened).is_none());

            assert_eq!(ds_reader_resume_skip(std::ptr::null()), 0);
            assert_eq!(ds_reader_resume_skip(reader), 0);
            let (kind, text) = outcome(ds_reader_set_skip_bytes(std::ptr::null(), 5)).unwrap();
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(text.starts_with("reader:"), "{text}");
            assert!(outcome(ds_reader_set_skip_bytes(reader, 5)).is_none());
            assert_eq!(ds_reader_resume_skip(reader), 5);

            // While a `ds_reader_next` owns the session (simulated by taking it).
            let shared = &(*reader).shared;
            let session = lock(&shared.session).take();
            let (kind, text) = outcome(ds_reader_set_skip_bytes(reader, 1)).unwrap();
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(text.contains("in progress"), "{text}");
            *lock(&shared.session) = session;
            assert!(outcome(ds_reader_set_skip_bytes(reader, 1)).is_none());

            // A skip from "now" fails the first read at once, without I/O.
            let user_data = Box::into_raw(Box::new(sender.clone())).cast::<c_void>();
            ds_reader_next(reader, std::ptr::null(), Some(send_error), user_data);
            let error = receiver
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("the read completes");
            let (kind, text) = outcome(error as *mut DsError).expect("the read fails");
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(text.starts_with("skip_bytes:"), "{text}");

            // After the first read the skip can no longer change.
            let (kind, text) = outcome(ds_reader_set_skip_bytes(reader, 0)).unwrap();
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(
                text.starts_with("skip_bytes:") && text.contains("before the first read"),
                "{text}"
            );

            ds_reader_free(reader);
        }
        free_offline(handles);
    }

    #[test]
    fn live_modes_are_validated() {
        assert_eq!(to_live_mode(DsLiveMode::OFF as i32).unwrap(), LiveMode::Off);
        assert_eq!(
            to_live_mode(DsLiveMode::LONG_POLL as i32).unwrap(),
            LiveMode::LongPoll
        );
        assert_eq!(to_live_mode(DsLiveMode::SSE as i32).unwrap(), LiveMode::Sse);
        assert_eq!(
            to_live_mode(DsLiveMode::AUTO as i32).unwrap(),
            LiveMode::Auto
        );
        for bad in [-1, 4, i32::MAX] {
            let error = to_live_mode(bad).unwrap_err();
            assert_eq!(error.kind, DsErrorKind::INVALID_ARGUMENT);
            assert!(
                error
                    .server_message
                    .to_str()
                    .unwrap()
                    .starts_with("live_mode:")
            );
        }
    }
}
