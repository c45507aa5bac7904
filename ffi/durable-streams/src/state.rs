//! The State Protocol over the C ABI: `DsMaterializedState` (keyed state applied from a JSON
//! stream, saved and restored with its offset) and `ds_state_write` / `ds_state_write_all` /
//! `ds_state_validate` (checked change and control messages), and `DsStateWatch` (the durable,
//! resumable watch of a key prefix). Values cross as JSON text.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use durable_streams_core::state::{
    StateEvent, StateSnapshot, WatchCheckpoint, WatchOptions, WatchedChange,
};
use durable_streams_core::{
    CancellationToken, Error, LiveMode, MaterializedState, StateWatch, StateWriter, cancellable,
};
use serde_json::Value;

use crate::callback::{Callback, Done, DsDoneCallback, Once, UserData};
use crate::cancel::{self, DsCancel, with_token};
use crate::chunk::DsChunk;
use crate::error::{DsError, FfiResult};
use crate::handles::{self, Live};
use crate::producer::{DsOffsetCallback, offset_once};
use crate::reader::to_live_mode;
use crate::runtime::{runtime, start};
use crate::stream::{DsStream, stream_arg};
use crate::strings;
use ffi_support::guard::{catch, catch_error, catch_panics};

/// The keyed state a State Protocol stream describes (entities by type and key, plus the
/// offset they are complete up to), applied with the rules of `@durable-streams/state` 0.3.1:
/// insert, update and upsert store `value` at `type`/`key`, delete removes the key, `reset`
/// clears everything, `snapshot-start` / `snapshot-end` change no entity. Opaque.
///
/// Create it with `ds_state_new` (or `ds_state_restore` from a saved `ds_state_snapshot`), feed
/// it with `ds_state_apply_chunk` (chunks read with `ds_reader_next`) or `ds_state_catch_up`,
/// read it with `ds_state_get`, `ds_state_count`, `ds_state_keys`, `ds_state_types` and
/// `ds_state_json`. Free it with `ds_state_free`.
///
/// Thread-safe: every function may be called from any thread, also from callbacks, while a
/// catch-up runs (readers then see the state after each applied chunk). At most one
/// `ds_state_catch_up` is in flight per state, and `ds_state_apply_chunk` is refused meanwhile,
/// so that chunks are applied in stream order.
pub struct DsMaterializedState {
    shared: Arc<StateShared>,
    _live: Live,
}

/// What the handle and an in-flight catch-up share.
struct StateShared {
    state: Mutex<MaterializedState>,
    /// Set while a `ds_state_catch_up` runs.
    catching_up: AtomicBool,
}

/// Clears `catching_up` when the catch-up ends, however it ends (also when cancelled).
struct CatchUpGuard(Arc<StateShared>);

impl Drop for CatchUpGuard {
    fn drop(&mut self) {
        self.0.catching_up.store(false, Ordering::Release);
    }
}

fn lock(shared: &StateShared) -> MutexGuard<'_, MaterializedState> {
    // Applying a chunk is all or nothing, so the state stays consistent if a holder panicked.
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_handle(state: MaterializedState) -> *mut DsMaterializedState {
    handles::into_raw(DsMaterializedState {
        shared: Arc::new(StateShared {
            state: Mutex::new(state),
            catching_up: AtomicBool::new(false),
        }),
        _live: Live::new(),
    })
}

/// Borrows the `state` argument of an export.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`.
unsafe fn state_arg<'a>(state: *const DsMaterializedState) -> FfiResult<&'a StateShared> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::required(state, "state") }.map(|s| &*s.shared)
}

/// Writes `state` to `*out` after checking `out`.
///
/// # Safety
/// `out` must be NULL or writable.
unsafe fn write_state(
    out: *mut *mut DsMaterializedState,
    make: impl FnOnce() -> FfiResult<MaterializedState>,
) -> FfiResult<()> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::write_out(out, std::ptr::null_mut()) };
    if out.is_null() {
        return Err(Error::invalid_argument("out", "must not be NULL").into());
    }
    let handle = new_handle(make()?);
    // SAFETY: checked non-NULL above; writable per the contract.
    unsafe { out.write(handle) };
    Ok(())
}

/// A new, empty state at the beginning of the stream. No I/O happens here.
///
/// On success writes a new handle (free it with `ds_state_free`) to `*out` and returns NULL;
/// returns an owned `DS_ERROR_INVALID_ARGUMENT` error when `out` is NULL.
///
/// # Safety
/// `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_new(out: *mut *mut DsMaterializedState) -> *mut DsError {
    catch_error("ds_state_new", || {
        // SAFETY: forwarded to the caller.
        unsafe { write_state(out, || Ok(MaterializedState::new())) }
    })
}

/// Restores a state saved with `ds_state_snapshot`: its entities, whether a snapshot was
/// open, and the offset reading resumes from (so `ds_state_catch_up`, or a reader opened at
/// `ds_state_offset`, reads only what followed). `{"offset": "<offset>", "entities": {}}`
/// starts an empty state at an offset.
///
/// `snapshot_json` is `{"offset": string, "in_snapshot": bool (optional), "entities": {type:
/// {key: value}}}`. On success writes a new handle to `*out` and returns NULL; otherwise
/// writes NULL to `*out` (when not NULL) and returns an owned error:
/// `DS_ERROR_INVALID_ARGUMENT` naming `snapshot_json` for a document of another shape,
/// `DS_ERROR_INVALID_OFFSET` for a corrupted offset.
///
/// # Safety
/// `snapshot_json` must be NULL or NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_restore(
    snapshot_json: *const c_char,
    out: *mut *mut DsMaterializedState,
) -> *mut DsError {
    catch_error("ds_state_restore", || {
        // SAFETY: forwarded to the caller.
        unsafe {
            write_state(out, || {
                let text = strings::required(snapshot_json, "snapshot_json")?;
                let snapshot: StateSnapshot = serde_json::from_str(text)
                    .map_err(|e| Error::invalid_argument("snapshot_json", e))?;
                Ok(MaterializedState::from_snapshot(snapshot)?)
            })
        }
    })
}

/// Frees a state. NULL is ignored. A catch-up already started keeps running on its own copy
/// of the handle's reference (its callback still fires once).
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState` not freed yet, and not in use by
/// another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_free(state: *mut DsMaterializedState) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(state) });
}

/// Applies every message of `chunk` (read from a JSON stream with `ds_reader_next`), in order,
/// and moves the state's offset past it. Writes how many messages were applied to
/// `*out_applied` (when not NULL; 0 on failure).
///
/// All messages are parsed before any is applied: a malformed one fails with
/// `DS_ERROR_PARSE_ERROR`, naming its position, the chunk's start offset and the field (for
/// example ``message 1 of the chunk read from offset -1: malformed state event: field
/// `headers.operation` is "merge", not one of insert, update, delete, upsert``), and leaves
/// the state untouched. A chunk of a
/// non-JSON stream, a NULL argument, or a call while `ds_state_catch_up` runs is
/// `DS_ERROR_INVALID_ARGUMENT`. The chunk stays owned by the caller.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`; `chunk` NULL or a live `DsChunk`;
/// `out_applied` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_apply_chunk(
    state: *const DsMaterializedState,
    chunk: *const DsChunk,
    out_applied: *mut usize,
) -> *mut DsError {
    catch_error("ds_state_apply_chunk", || {
        // SAFETY: `out_applied` is NULL or writable per the contract.
        unsafe { handles::write_out(out_applied, 0) };
        // SAFETY: arguments are NULL or valid per the contract.
        let shared = unsafe { state_arg(state) }?;
        if shared.catching_up.load(Ordering::Acquire) {
            return Err(Error::invalid_argument("state", "a catch-up is in progress").into());
        }
        // SAFETY: as above.
        let chunk = unsafe { handles::required(chunk, "chunk") }?;
        let applied = lock(shared).apply_chunk(&chunk.chunk)?;
        // SAFETY: as above.
        unsafe { handles::write_out(out_applied, applied) };
        Ok(())
    })
}

/// Reads `stream` from the state's offset to its current tail (a catch-up read) and applies
/// every chunk as it arrives, then completes through `callback` exactly once (see
/// `DsDoneCallback`). On failure the chunks applied before it stay applied and the offset is
/// after the last of them, so calling it again resumes. A malformed message fails with
/// `DS_ERROR_PARSE_ERROR` naming the stream, the offset and the field.
///
/// A second call while one is in flight completes at once with `DS_ERROR_INVALID_ARGUMENT`
/// ("a catch-up is already in progress"), as do NULL arguments (synchronously, before
/// returning). `cancel` (may be NULL) ends it with `DS_ERROR_CANCELLED`. A NULL `callback` makes
/// the call do nothing. The stream and state handles may be freed once the call has started.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`; `stream` NULL or a live `DsStream`;
/// `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_catch_up(
    state: *const DsMaterializedState,
    stream: *const DsStream,
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
            let handle = unsafe { handles::required(state, "state") }?;
            // SAFETY: as above.
            let stream = unsafe { stream_arg(stream) }?.clone();
            if handle.shared.catching_up.swap(true, Ordering::AcqRel) {
                return Err(
                    Error::invalid_argument("state", "a catch-up is already in progress").into(),
                );
            }
            Ok((CatchUpGuard(handle.shared.clone()), stream))
        })();
        let operation = prepared.map(|(guard, stream)| async move {
            let options = lock(&guard.0).read_options(LiveMode::Off);
            let mut session = stream.read(options);
            while let Some(chunk) = session.next_chunk().await? {
                lock(&guard.0)
                    .apply_chunk(&chunk)
                    .map_err(|e| e.with_url(stream.url()))?;
            }
            drop(guard);
            Ok(())
        });
        // SAFETY: `cancel` is NULL or live per the contract.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Runs `read` on the state, or returns `fallback` for a NULL state.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`.
unsafe fn with_state<R>(
    state: *const DsMaterializedState,
    fallback: R,
    read: impl FnOnce(&MaterializedState) -> R,
) -> R {
    // SAFETY: forwarded to the caller.
    match unsafe { handles::borrow(state) } {
        Some(handle) => read(&lock(&handle.shared)),
        None => fallback,
    }
}

/// An optional string argument of an accessor; `Err` (the accessor's fallback) when invalid.
///
/// # Safety
/// `text` must be NULL or NUL-terminated.
unsafe fn accessor_str<'a>(text: *const c_char) -> Result<Option<&'a str>, ()> {
    // SAFETY: forwarded to the caller.
    unsafe { strings::optional(text, "") }.map_err(|_| ())
}

fn owned_json(value: &Value) -> *mut c_char {
    strings::owned(&value.to_string())
}

/// The value at `type`/`key` as JSON text, or NULL when there is none (and for NULL or
/// invalid arguments). Owned: free with `ds_string_free`.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`; `type` and `key` NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_get(
    state: *const DsMaterializedState,
    r#type: *const c_char,
    key: *const c_char,
) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: NULL or NUL-terminated per the contract.
        let (Ok(Some(entity_type)), Ok(Some(key))) = (unsafe { accessor_str(r#type) }, unsafe {
            accessor_str(key)
        }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: NULL or live per the contract.
        unsafe {
            with_state(state, std::ptr::null_mut(), |s| {
                s.get(entity_type, key)
                    .map_or(std::ptr::null_mut(), owned_json)
            })
        }
    })
}

/// How many entities of `type` there are; with a NULL `type`, over all types. 0 for a NULL
/// state or invalid UTF-8.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`; `type` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_count(
    state: *const DsMaterializedState,
    r#type: *const c_char,
) -> usize {
    catch(0, || {
        // SAFETY: NULL or NUL-terminated per the contract.
        let Ok(entity_type) = (unsafe { accessor_str(r#type) }) else {
            return 0;
        };
        // SAFETY: NULL or live per the contract.
        unsafe {
            with_state(state, 0, |s| match entity_type {
                Some(entity_type) => s.entities(entity_type).count(),
                None => s.len(),
            })
        }
    })
}

/// The keys of `type`, in key order, as a JSON array of strings (`[]` when there is none).
/// Owned: free with `ds_string_free`. NULL for a NULL state or NULL or invalid `type`.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`; `type` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_keys(
    state: *const DsMaterializedState,
    r#type: *const c_char,
) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: NULL or NUL-terminated per the contract.
        let Ok(Some(entity_type)) = (unsafe { accessor_str(r#type) }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: NULL or live per the contract.
        unsafe {
            with_state(state, std::ptr::null_mut(), |s| {
                let keys = s
                    .entities(entity_type)
                    .map(|(key, _)| Value::String(key.to_owned()))
                    .collect();
                owned_json(&Value::Array(keys))
            })
        }
    })
}

/// The types that have at least one entity, in order, as a JSON array of strings. Owned: free
/// with `ds_string_free`. NULL for a NULL state.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_types(state: *const DsMaterializedState) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: NULL or live per the contract.
        unsafe {
            with_state(state, std::ptr::null_mut(), |s| {
                let types = s.types().map(|t| Value::String(t.to_owned())).collect();
                owned_json(&Value::Array(types))
            })
        }
    })
}

/// The entities as one JSON object: with a NULL `type` every entity, `{type: {key: value}}`;
/// with a `type` that type's, `{key: value}` (`{}` when it has none). Keys are in order.
/// Owned: free with `ds_string_free`. NULL for a NULL state or invalid `type`.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`; `type` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_json(
    state: *const DsMaterializedState,
    r#type: *const c_char,
) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: NULL or NUL-terminated per the contract.
        let Ok(entity_type) = (unsafe { accessor_str(r#type) }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: NULL or live per the contract.
        unsafe {
            with_state(state, std::ptr::null_mut(), |s| match entity_type {
                None => owned_json(&s.to_json()),
                Some(entity_type) => {
                    let entities = s
                        .entities(entity_type)
                        .map(|(key, value)| (key.to_owned(), value.clone()))
                        .collect();
                    owned_json(&Value::Object(entities))
                }
            })
        }
    })
}

/// The offset everything before has been applied from: where reading resumes (open a reader
/// there, or call `ds_state_catch_up`). `"-1"` for a new state. Owned: free with
/// `ds_string_free`. NULL for a NULL state.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_offset(state: *const DsMaterializedState) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: NULL or live per the contract.
        unsafe {
            with_state(state, std::ptr::null_mut(), |s| {
                strings::owned(s.offset().as_str())
            })
        }
    })
}

/// Whether a `snapshot-start` has been applied without its `snapshot-end`. False for NULL.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_in_snapshot(state: *const DsMaterializedState) -> bool {
    catch(false, || {
        // SAFETY: NULL or live per the contract.
        unsafe { with_state(state, false, MaterializedState::in_snapshot) }
    })
}

/// The state saved as JSON, `{"offset": string, "in_snapshot": bool, "entities": {type: {key:
/// value}}}`, to store and restore later with `ds_state_restore` (which then resumes after
/// `offset`). Owned: free with `ds_string_free`. NULL for a NULL state.
///
/// # Safety
/// `state` must be NULL or a live `DsMaterializedState`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_snapshot(state: *const DsMaterializedState) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: NULL or live per the contract.
        unsafe {
            with_state(state, std::ptr::null_mut(), |s| {
                serde_json::to_string(&s.snapshot())
                    .map_or(std::ptr::null_mut(), |text| strings::owned(&text))
            })
        }
    })
}

/// Parses and checks one State Protocol message; errors are `DS_ERROR_INVALID_ARGUMENT`
/// naming `name` and the field.
fn parse_event(json: &[u8], name: &str) -> FfiResult<StateEvent> {
    let event = StateEvent::from_json_bytes(json)
        .map_err(|e| Error::invalid_argument(name, e.message()))?;
    event
        .validate()
        .map_err(|e| Error::invalid_argument(name, e.message()))?;
    Ok(event)
}

/// Checks a State Protocol message without sending it (for example before a
/// `ds_producer_append` of it): `event_json` is a change, `{"type", "key", "value"?,
/// "old_value"?, "headers": {"operation": "insert" | "update" | "delete" | "upsert", "txid"?,
/// "timestamp"?, ...}}`, or a control message, `{"headers": {"control": "snapshot-start" |
/// "snapshot-end" | "reset", "offset"?}}`.
///
/// Returns NULL when it is well formed, otherwise an owned `DS_ERROR_INVALID_ARGUMENT` error
/// naming the field, e.g. ``event_json: malformed state event: field `headers.operation` is
/// "merge", not one of insert, update, delete, upsert`` or ``event_json: malformed state event:
/// field `value` is missing (required for insert)`` (also a missing or empty `type`, `key` or
/// `txid`, and a `timestamp` that is not RFC 3339).
///
/// # Safety
/// `event_json` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_validate(event_json: *const c_char) -> *mut DsError {
    catch_error("ds_state_validate", || {
        // SAFETY: NULL or NUL-terminated per the contract.
        let text = unsafe { strings::required(event_json, "event_json") }?;
        parse_event(text.as_bytes(), "event_json").map(|_| ())
    })
}

/// Writes one State Protocol message (see `ds_state_validate` for its shape) to the JSON
/// stream `stream` as one append, and completes through `callback` exactly once (see
/// `DsOffsetCallback`) with the offset after it.
///
/// The message is checked before anything is sent: a malformed one completes at once, on the
/// calling thread, with `DS_ERROR_INVALID_ARGUMENT` naming the field (as do NULL arguments).
/// It is sent as the core's writer serialises it (the npm package's field names; unknown
/// top-level fields are dropped). A plain append is sent once unless the client's
/// `"append_retry"` allows retries; for exactly-once writes, check messages with
/// `ds_state_validate` and append them with a producer. `cancel` may be NULL. A NULL `callback`
/// makes the call do nothing.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; `event_json` NULL or NUL-terminated; `cancel`
/// NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_write(
    stream: *const DsStream,
    event_json: *const c_char,
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
            let stream = unsafe { stream_arg(stream) }?.clone();
            // SAFETY: as above.
            let text = unsafe { strings::required(event_json, "event_json") }?;
            Ok((stream, parse_event(text.as_bytes(), "event_json")?))
        })();
        let operation = prepared
            .map(|(stream, event)| async move { StateWriter::new(stream).write(event).await });
        // SAFETY: `cancel` is NULL or live per the contract.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// Writes several State Protocol messages, `events_json` being a JSON array of them, in one
/// append: all are stored or none. Completes as `ds_state_write` does; a malformed message
/// fails at once with `DS_ERROR_INVALID_ARGUMENT` naming it and the field (``events_json[2]:
/// malformed state event: field `key` is missing``). An empty array is `DS_ERROR_INVALID_ARGUMENT` too (a JSON append
/// needs a message).
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; `events_json` NULL or NUL-terminated; `cancel`
/// NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_write_all(
    stream: *const DsStream,
    events_json: *const c_char,
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
            let stream = unsafe { stream_arg(stream) }?.clone();
            // SAFETY: as above.
            let text = unsafe { strings::required(events_json, "events_json") }?;
            let values: Vec<Box<serde_json::value::RawValue>> = serde_json::from_str(text)
                .map_err(|e| {
                    Error::invalid_argument("events_json", format!("is not a JSON array: {e}"))
                })?;
            if values.is_empty() {
                return Err(Error::invalid_argument("events_json", "holds no message").into());
            }
            let events = values
                .iter()
                .enumerate()
                .map(|(index, raw)| {
                    parse_event(raw.get().as_bytes(), &format!("events_json[{index}]"))
                })
                .collect::<FfiResult<Vec<_>>>()?;
            Ok((stream, events))
        })();
        let operation = prepared.map(|(stream, events)| async move {
            StateWriter::new(stream).write_all(&events).await
        });
        // SAFETY: `cancel` is NULL or live per the contract.
        start(once, unsafe { cancel::token(cancel) }, operation);
    });
}

/// A durable watch of the keys with a prefix (optionally of one type): every change to them in
/// stream order, each once, resumable from a saved checkpoint. Opaque.
///
/// Open it with `ds_state_watch_open`, pull messages with `ds_state_watch_next` (at most one
/// in flight), free it with `ds_state_watch_free`. The contract: handle a message, then persist
/// its checkpoint; a watch opened from the last persisted checkpoint delivers exactly the
/// messages after it, nothing missed and nothing checkpointed twice. Control messages are
/// delivered whatever the filter (a `reset` means every watched key is gone).
/// `ds_state_watch_checkpoint` may be called from any thread at any time.
pub struct DsStateWatch {
    shared: Arc<WatchShared>,
    _live: Live,
}

struct WatchShared {
    /// The watch while idle; `None` while a `next` owns it.
    watch: Mutex<Option<Box<StateWatch>>>,
    /// The checkpoint after everything delivered (and the skipped changes that followed).
    checkpoint: Mutex<String>,
    /// Cancelled when the handle is freed, ending an in-flight `next`.
    freed: CancellationToken,
}

impl Drop for DsStateWatch {
    fn drop(&mut self) {
        self.shared.freed.cancel();
    }
}

fn lock_any<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked: recover it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Completion of `ds_state_watch_next`.
///
/// - a message: `error` is NULL, `event_json` is the message (a change of a watched key or a
///   control message) as JSON and `checkpoint` the position just after it: persist it once the
///   message is handled. Both are borrowed for the call only;
/// - the end of the watch: all three are NULL (a catch-up watch that reached the tail, or a
///   closed stream read to its end);
/// - a failure: `error` is owned by the callee (free with `ds_error_free`), the strings are
///   NULL. After `DS_ERROR_CANCELLED` the watch stays usable and resumes where it was; after
///   other errors (a malformed message is `DS_ERROR_PARSE_ERROR` naming the field, without
///   moving the checkpoint) reopen it from `ds_state_watch_checkpoint`.
pub type DsWatchCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        error: *mut DsError,
        event_json: *const c_char,
        checkpoint: *const c_char,
    ),
>;

struct WatchReply {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError, *const c_char, *const c_char),
    user_data: UserData,
}

impl Callback for WatchReply {
    type Error = DsError;
    type Value = Option<WatchedChange>;

    fn invoke(&self, result: FfiResult<Option<WatchedChange>>) {
        let (error, strings) = match result {
            Ok(Some(change)) => (
                std::ptr::null_mut(),
                Some((
                    strings::cstring(&change.event.to_json().to_string()),
                    strings::cstring(&change.checkpoint.to_string()),
                )),
            ),
            Ok(None) => (std::ptr::null_mut(), None),
            Err(error) => (Box::into_raw(error), None),
        };
        let (event, checkpoint) = strings.as_ref().map_or(
            (std::ptr::null(), std::ptr::null()),
            |(event, checkpoint)| (event.as_ptr(), checkpoint.as_ptr()),
        );
        // SAFETY: the caller's callback and user data; the strings are borrowed for the call,
        // the error handed over as owned, as documented.
        unsafe { (self.function)(self.user_data.0, error, event, checkpoint) }
    }
}

/// Opens a durable watch of `stream`. No I/O happens here.
///
/// `key_prefix`: only changes whose key starts with it (NULL or `""`: every key). `type`: only
/// changes of this entity type (NULL: every type). `checkpoint`: where to resume, a checkpoint
/// saved from a `DsWatchCallback` or `ds_state_watch_checkpoint` (`offset` or `offset,count`;
/// NULL: the beginning); a corrupted one fails with `DS_ERROR_INVALID_OFFSET`, one beyond the
/// stream's data makes `ds_state_watch_next` fail with it. `live_mode`: a `DsLiveMode`
/// (`DS_LIVE_OFF` ends the watch at the current tail; a live mode keeps waiting).
///
/// On success writes a new watch (free it with `ds_state_watch_free`) to `*out` and returns
/// NULL; otherwise writes NULL to `*out` (when not NULL) and returns an owned error.
///
/// # Safety
/// `stream` must be NULL or a live `DsStream`; strings NULL or NUL-terminated; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_watch_open(
    stream: *const DsStream,
    key_prefix: *const c_char,
    r#type: *const c_char,
    checkpoint: *const c_char,
    live_mode: i32,
    out: *mut *mut DsStateWatch,
) -> *mut DsError {
    catch_error("ds_state_watch_open", || {
        // SAFETY: `out` is NULL or writable per the contract.
        unsafe { handles::write_out(out, std::ptr::null_mut()) };
        if out.is_null() {
            return Err(Error::invalid_argument("out", "must not be NULL").into());
        }
        // SAFETY: arguments are NULL or valid per the contract.
        let stream = unsafe { stream_arg(stream) }?;
        // SAFETY: as above.
        let key_prefix = unsafe { strings::optional(key_prefix, "key_prefix") }?.unwrap_or("");
        // SAFETY: as above.
        let entity_type = unsafe { strings::optional(r#type, "type") }?;
        // SAFETY: as above.
        let from = match unsafe { strings::optional(checkpoint, "checkpoint") }? {
            Some(text) => text.parse::<WatchCheckpoint>()?,
            None => WatchCheckpoint::default(),
        };
        let mut options = WatchOptions::new(key_prefix)
            .from(from.clone())
            .live(to_live_mode(live_mode)?);
        if let Some(entity_type) = entity_type {
            options = options.entity_type(entity_type);
        }
        let watch = StateWatch::new(stream, options);
        let handle = handles::into_raw(DsStateWatch {
            shared: Arc::new(WatchShared {
                watch: Mutex::new(Some(Box::new(watch))),
                checkpoint: Mutex::new(from.to_string()),
                freed: CancellationToken::new(),
            }),
            _live: Live::new(),
        });
        // SAFETY: checked non-NULL above; writable per the contract.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Delivers the next watched message through `callback`, exactly once (see
/// `DsWatchCallback`). Changes of other keys are skipped (they still move the checkpoint).
///
/// At most one call may be in flight per watch: a second one completes at once with
/// `DS_ERROR_INVALID_ARGUMENT` ("a watch read is already in progress"). `cancel` (may be NULL)
/// ends a pending call promptly with `DS_ERROR_CANCELLED`, as does freeing the watch. A NULL
/// `callback` makes the call do nothing.
///
/// # Safety
/// `watch` must be NULL or a live `DsStateWatch`; `cancel` NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_watch_next(
    watch: *mut DsStateWatch,
    cancel: *const DsCancel,
    callback: DsWatchCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(function) = callback else {
            return;
        };
        let once = Once::new(WatchReply {
            function,
            user_data: UserData(user_data),
        });
        // SAFETY: arguments are NULL or valid per the contract.
        let shared = match unsafe { handles::required(watch.cast_const(), "watch") } {
            Ok(watch) => watch.shared.clone(),
            Err(error) => return once.finish(Err(error)),
        };
        // SAFETY: as above.
        let token = unsafe { cancel::token(cancel) };
        let runtime = match runtime() {
            Ok(runtime) => runtime,
            Err(error) => return once.finish(Err(error)),
        };
        let Some(mut watch) = lock_any(&shared.watch).take() else {
            let busy = Error::invalid_argument("watch", "a watch read is already in progress");
            return once.finish(Err(busy.into()));
        };
        runtime.spawn(async move {
            let next = with_token(token.as_ref(), watch.next());
            let result = catch_panics(cancellable(&shared.freed, next)).await;
            *lock_any(&shared.checkpoint) = watch.checkpoint().to_string();
            // Back before the callback, so that it may call ds_state_watch_next again.
            *lock_any(&shared.watch) = Some(watch);
            once.finish(result.and_then(|r| r.map_err(Into::into)));
        });
    });
}

/// The checkpoint after everything delivered so far (and the skipped changes of other keys
/// that followed): where a watch reopened with it resumes. Owned: free with
/// `ds_string_free`. NULL for a NULL watch. Safe to call while a `ds_state_watch_next` is in
/// flight (it then tells the position before that call).
///
/// # Safety
/// `watch` must be NULL or a live `DsStateWatch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_watch_checkpoint(watch: *const DsStateWatch) -> *mut c_char {
    catch(std::ptr::null_mut(), || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(watch) }.map_or(std::ptr::null_mut(), |w| {
            strings::owned(&lock_any(&w.shared.checkpoint))
        })
    })
}

/// Frees a watch. A `ds_state_watch_next` in flight completes promptly with
/// `DS_ERROR_CANCELLED` (on a runtime thread, possibly after this returns). NULL is ignored.
///
/// # Safety
/// `watch` must be NULL or a live `DsStateWatch` not freed yet, and not in use by another
/// thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_state_watch_free(watch: *mut DsStateWatch) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(watch) });
}
