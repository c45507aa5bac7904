//! `S2Stream` and its unary calls: tail, append (records, fence, trim) and read; the record
//! structs shared with sessions and producers.

use std::ffi::{c_char, c_void};

use bytes::Bytes;
use ffi_support::guard::{catch, catch_error};
use s2_streamstore_core::records::{self, MAX_BATCH_BYTES, NewRecord};
use s2_streamstore_core::{
    AppendAck, AppendConditions, AppendRecord, Context, Position, ReadRequest, ReadStart,
    StreamClient,
};

use crate::batch::S2ReadBatch;
use crate::callback::{Append, Batch, S2AppendCallback, S2BatchCallback, S2PositionCallback};
use crate::cancel::{S2Cancel, token};
use crate::client::S2Client;
use crate::copies::CopyBlock;
use crate::error::{FfiResult, S2Error};
use crate::handles::{self, Live};
use crate::runtime::start;
use crate::strings;

/// A position in a stream: a record's sequence number (or the next one, for a tail) and its
/// timestamp in milliseconds.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct S2Position {
    /// The sequence number.
    pub seq_num: u64,
    /// The timestamp, in milliseconds since the Unix epoch.
    pub timestamp: u64,
}

impl From<Position> for S2Position {
    fn from(position: Position) -> S2Position {
        S2Position {
            seq_num: position.seq_num,
            timestamp: position.timestamp,
        }
    }
}

/// The positions of an acknowledged append.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct S2AppendAck {
    /// The first record's position.
    pub start: S2Position,
    /// One past the last record (`end.seq_num - start.seq_num` records).
    pub end: S2Position,
    /// The stream's tail when the append was acknowledged.
    pub tail: S2Position,
}

impl From<AppendAck> for S2AppendAck {
    fn from(ack: AppendAck) -> S2AppendAck {
        S2AppendAck {
            start: ack.start.into(),
            end: ack.end.into(),
            tail: ack.tail.into(),
        }
    }
}

/// A record header: a name (never empty: an empty name marks a command record) and a value,
/// both arbitrary bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct S2Header {
    /// The name's bytes.
    pub name: *const u8,
    /// The name's length.
    pub name_len: usize,
    /// The value's bytes.
    pub value: *const u8,
    /// The value's length.
    pub value_len: usize,
}

/// A record to append. Its bytes are copied before the call returns.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct S2NewRecord {
    /// The body (NULL with `body_len` 0 for an empty body).
    pub body: *const u8,
    /// The body's length.
    pub body_len: usize,
    /// `header_count` headers (NULL when 0).
    pub headers: *const S2Header,
    /// The number of headers.
    pub header_count: usize,
    /// Whether `timestamp` is set.
    pub has_timestamp: bool,
    /// A client timestamp in milliseconds (used as the stream's timestamping mode says).
    pub timestamp: u64,
}

/// Conditions on an append; pass NULL for none.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct S2AppendConditions {
    /// Whether `match_seq_num` is set.
    pub has_match_seq_num: bool,
    /// The append succeeds only if the stream's next sequence number is this one (else
    /// `S2_ERROR_SEQ_NUM_MISMATCH` with the expected value).
    pub match_seq_num: u64,
    /// The append succeeds only if the stream's fencing token is this one (NULL: no check;
    /// else `S2_ERROR_FENCING_TOKEN_MISMATCH` with the current token).
    pub fencing_token: *const c_char,
}

/// Where a read starts.
///
/// cbindgen:rename-all=prefix:S2_READ_FROM_
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S2ReadStartKind {
    /// `start` is a sequence number.
    SEQ_NUM = 0,
    /// `start` is a timestamp in milliseconds.
    TIMESTAMP = 1,
    /// `start` records before the tail.
    TAIL_OFFSET = 2,
}

/// What to read.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct S2ReadArgs {
    /// An `S2ReadStartKind` value.
    pub start_kind: i32,
    /// The start, as `start_kind` says.
    pub start: u64,
    /// Start at the tail instead of failing with `S2_ERROR_READ_UNWRITTEN` when `start` is
    /// past it.
    pub clamp_to_tail: bool,
    /// At most this many records (0: no limit of the caller's; a unary read returns at most
    /// 1000).
    pub count: u64,
    /// At most this many metered bytes (0: no limit of the caller's; a unary read returns at
    /// most 1 MiB).
    pub bytes: u64,
    /// Whether `until_timestamp` is set.
    pub has_until: bool,
    /// Stop before the first record with a timestamp at or after this one.
    pub until_timestamp: u64,
    /// Seconds to wait for new records at the tail; -1 for the default (a unary read: 0, at
    /// most 60; a session: forever unless a limit is set).
    pub wait_secs: i32,
    /// Leave out command records (fence, trim).
    pub ignore_command_records: bool,
}

/// A handle on one stream of one basin. Opaque; thread-safe; free it with `s2_stream_free`.
pub struct S2Stream {
    pub(crate) stream: StreamClient,
    _live: Live,
}

/// Opens a handle on `stream` in `basin`, checking both names against S2's rules (basins:
/// 8-48 lowercase letters, digits and hyphens, not starting or ending with a hyphen; streams:
/// 1-512 bytes without NUL). Nothing is sent.
///
/// # Safety
/// `client` must be NULL or a live `S2Client`; strings NULL or NUL-terminated; `out` NULL or
/// valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_open(
    client: *const S2Client,
    basin: *const c_char,
    stream: *const c_char,
    out: *mut *mut S2Stream,
) -> *mut S2Error {
    // SAFETY: `out` is NULL or writable per the caller's contract.
    unsafe { handles::write_out(out, std::ptr::null_mut()) };
    catch_error("s2_stream_open", || {
        if out.is_null() {
            return Err(ffi_support::ArgError::new("out", "must not be NULL").into());
        }
        // SAFETY: forwarded to the caller.
        let client = unsafe { handles::required(client, "client") }?;
        // SAFETY: forwarded to the caller.
        let basin = unsafe { strings::required(basin, "basin") }?;
        // SAFETY: forwarded to the caller.
        let stream = unsafe { strings::required(stream, "stream") }?;
        let stream = client.client.stream(basin, stream)?;
        // SAFETY: checked non-NULL above.
        unsafe {
            handles::write_out(
                out,
                handles::into_raw(S2Stream {
                    stream,
                    _live: Live::new(),
                }),
            )
        };
        Ok(())
    })
}

/// Frees the stream handle. NULL is ignored.
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_free(stream: *mut S2Stream) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(stream) });
}

/// Borrows the stream argument.
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream`.
pub(crate) unsafe fn stream_of<'a>(stream: *const S2Stream) -> FfiResult<&'a StreamClient> {
    // SAFETY: forwarded to the caller.
    Ok(&unsafe { handles::required(stream, "stream") }?.stream)
}

/// Copies and checks `count` records.
///
/// # Safety
/// `records` must be NULL or valid for `count` reads, with the pointers inside valid as
/// documented on `S2NewRecord`.
pub(crate) unsafe fn copy_records(
    context: Context<'_>,
    records: *const S2NewRecord,
    count: usize,
) -> FfiResult<Vec<AppendRecord>> {
    // SAFETY: forwarded to the caller.
    let records = unsafe { ffi_support::strings::slice(records, count, "records") }
        .map_err(Box::<S2Error>::from)?;
    // Every body of the batch in one allocation (capped: a larger batch is refused anyway).
    let bodies = records
        .iter()
        .fold(0usize, |total, r| total.saturating_add(r.body_len))
        .min(MAX_BATCH_BYTES);
    let mut block = CopyBlock::sized(bodies);
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            // SAFETY: forwarded to the caller.
            let record = unsafe { copy_record(i, record, &mut block) }?;
            Ok(records::to_append_record(context, i, record)?)
        })
        .collect()
}

/// Copies one record, its body into `block`.
///
/// # Safety
/// The pointers in `record` must be valid as documented on `S2NewRecord`.
pub(crate) unsafe fn copy_record(
    index: usize,
    record: &S2NewRecord,
    block: &mut CopyBlock,
) -> FfiResult<NewRecord> {
    let name = |field: &str| format!("records[{index}].{field}");
    // SAFETY: forwarded to the caller.
    let body = unsafe { named_slice(record.body, record.body_len, || name("body")) }?;
    // SAFETY: forwarded to the caller.
    let headers = unsafe { named_slice(record.headers, record.header_count, || name("headers")) }?;
    let headers = headers
        .iter()
        .enumerate()
        .map(|(h, header)| {
            // SAFETY: forwarded to the caller.
            let key = unsafe {
                named_slice(header.name, header.name_len, || {
                    name(&format!("headers[{h}].name"))
                })
            }?;
            // SAFETY: forwarded to the caller.
            let value = unsafe {
                named_slice(header.value, header.value_len, || {
                    name(&format!("headers[{h}].value"))
                })
            }?;
            Ok((Bytes::copy_from_slice(key), Bytes::copy_from_slice(value)))
        })
        .collect::<FfiResult<Vec<_>>>()?;
    Ok(NewRecord {
        body: block.copy(body),
        headers,
        timestamp: record.has_timestamp.then_some(record.timestamp),
    })
}

/// An array argument, its parameter name built only when it is wrong (records are copied one
/// by one on the producer's hot path).
///
/// # Safety
/// As for `ffi_support::strings::slice`.
unsafe fn named_slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: impl FnOnce() -> String,
) -> FfiResult<&'a [T]> {
    // SAFETY: forwarded to the caller.
    match unsafe { ffi_support::strings::slice(ptr, len, "") } {
        Ok(slice) => Ok(slice),
        Err(_) => {
            let name = name();
            // SAFETY: as above; the same check again, now naming the parameter.
            unsafe { ffi_support::strings::slice(ptr, len, &name) }.map_err(Box::<S2Error>::from)
        }
    }
}

/// Copies the conditions argument (NULL: none).
///
/// # Safety
/// `conditions` must be NULL or valid, its `fencing_token` NULL or NUL-terminated.
pub(crate) unsafe fn copy_conditions(
    conditions: *const S2AppendConditions,
) -> FfiResult<AppendConditions> {
    // SAFETY: forwarded to the caller.
    let Some(conditions) = (unsafe { conditions.as_ref() }) else {
        return Ok(AppendConditions::default());
    };
    // SAFETY: forwarded to the caller.
    let token = unsafe { strings::optional(conditions.fencing_token, "conditions.fencing_token") }?;
    Ok(AppendConditions {
        match_seq_num: conditions
            .has_match_seq_num
            .then_some(conditions.match_seq_num),
        fencing_token: token.map(str::to_owned),
    })
}

/// Copies the read arguments (NULL: everything from sequence number 0).
///
/// # Safety
/// `args` must be NULL or valid.
pub(crate) unsafe fn copy_read_args(args: *const S2ReadArgs) -> FfiResult<ReadRequest> {
    // SAFETY: forwarded to the caller.
    let Some(args) = (unsafe { args.as_ref() }) else {
        return Ok(ReadRequest::from(ReadStart::SeqNum(0)));
    };
    let start = match args.start_kind {
        0 => ReadStart::SeqNum(args.start),
        1 => ReadStart::Timestamp(args.start),
        2 => ReadStart::TailOffset(args.start),
        other => {
            return Err(ffi_support::ArgError::new(
                "args.start_kind",
                format!("{other} is not an S2ReadStartKind"),
            )
            .into());
        }
    };
    let wait_secs = match args.wait_secs {
        -1 => None,
        n if n >= 0 => Some(n.unsigned_abs()),
        other => {
            return Err(ffi_support::ArgError::new(
                "args.wait_secs",
                format!("{other} is negative (use -1 for the default)"),
            )
            .into());
        }
    };
    let limit = |value: u64| (value > 0).then(|| usize::try_from(value).unwrap_or(usize::MAX));
    Ok(ReadRequest {
        start,
        clamp_to_tail: args.clamp_to_tail,
        count: limit(args.count),
        bytes: limit(args.bytes),
        until_timestamp: args.has_until.then_some(args.until_timestamp),
        wait_secs,
        ignore_command_records: args.ignore_command_records,
    })
}

/// The position the next record will get.
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream`; `cancel` NULL or a live `S2Cancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_check_tail(
    stream: *const S2Stream,
    cancel: *const S2Cancel,
    callback: S2PositionCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        let Some(once) = crate::callback::Position::new(callback, user_data) else {
            return;
        };
        // SAFETY: forwarded to the caller.
        let cancel = unsafe { token(cancel) };
        // SAFETY: forwarded to the caller.
        let operation = unsafe { stream_of(stream) }.map(|stream| {
            let stream = stream.clone();
            async move { stream.check_tail().await.map(Into::into) }
        });
        start("check tail", once, cancel, operation);
    });
}

/// Starts a unary append of the records `prepare` copies; every check runs before this
/// returns, so bad input is reported on the calling thread.
fn start_append(
    stream: FfiResult<&StreamClient>,
    prepare: impl FnOnce(&StreamClient) -> FfiResult<(Vec<AppendRecord>, AppendConditions)>,
    cancel: *const S2Cancel,
    callback: S2AppendCallback,
    user_data: *mut c_void,
) {
    let Some(once) = Append::new(callback, user_data) else {
        return;
    };
    // SAFETY: `cancel` is NULL or live per every caller's contract.
    let cancel = unsafe { token(cancel) };
    let operation = stream.and_then(|stream| {
        let (records, conditions) = prepare(stream)?;
        let prepared = stream.prepare_append(records, &conditions)?;
        let stream = stream.clone();
        Ok(async move { stream.append_prepared(prepared).await.map(Into::into) })
    });
    start("append", once, cancel, operation);
}

/// Appends `count` records (1-1000, at most 1 MiB metered) as one atomic batch.
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream`; `records` valid for `count` reads (or NULL
/// with 0); `conditions` NULL or valid; `cancel` NULL or a live `S2Cancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_append(
    stream: *const S2Stream,
    records: *const S2NewRecord,
    count: usize,
    conditions: *const S2AppendConditions,
    cancel: *const S2Cancel,
    callback: S2AppendCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        start_append(
            // SAFETY: forwarded to the caller.
            unsafe { stream_of(stream) },
            |stream| {
                // SAFETY: forwarded to the caller.
                let records = unsafe { copy_records(stream.context("append"), records, count) }?;
                // SAFETY: forwarded to the caller.
                Ok((records, unsafe { copy_conditions(conditions) }?))
            },
            cancel,
            callback,
            user_data,
        );
    });
}

/// Appends a fence command record: later appends must carry `fencing_token` (at most 36
/// bytes; an empty token removes the fence). The conditions apply to this append (pass the
/// current token to take over from it).
///
/// # Safety
/// As for `s2_stream_append`; `fencing_token` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_fence(
    stream: *const S2Stream,
    fencing_token: *const c_char,
    conditions: *const S2AppendConditions,
    cancel: *const S2Cancel,
    callback: S2AppendCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        start_append(
            // SAFETY: forwarded to the caller.
            unsafe { stream_of(stream) },
            |stream| {
                // SAFETY: forwarded to the caller.
                let token = unsafe { strings::required(fencing_token, "fencing_token") }?;
                let record = records::fence_record(stream.context("fence"), token)?;
                // SAFETY: forwarded to the caller.
                Ok((vec![record], unsafe { copy_conditions(conditions) }?))
            },
            cancel,
            callback,
            user_data,
        );
    });
}

/// Appends a trim command record: records before `trim_point` are deleted (eventually).
///
/// # Safety
/// As for `s2_stream_append`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_trim(
    stream: *const S2Stream,
    trim_point: u64,
    conditions: *const S2AppendConditions,
    cancel: *const S2Cancel,
    callback: S2AppendCallback,
    user_data: *mut c_void,
) {
    catch((), || {
        start_append(
            // SAFETY: forwarded to the caller.
            unsafe { stream_of(stream) },
            // SAFETY: forwarded to the caller.
            |_| {
                // SAFETY: forwarded to the caller.
                let conditions = unsafe { copy_conditions(conditions) }?;
                Ok((vec![records::trim_record(trim_point)], conditions))
            },
            cancel,
            callback,
            user_data,
        );
    });
}

/// Reads one batch (`args` NULL: from sequence number 0). The callback receives an owned
/// `S2ReadBatch` (possibly empty, never NULL on success).
///
/// # Safety
/// `stream` must be NULL or a live `S2Stream`; `args` NULL or valid; `cancel` NULL or a live
/// `S2Cancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_stream_read(
    stream: *const S2Stream,
    args: *const S2ReadArgs,
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
        let operation = unsafe { stream_of(stream) }.and_then(|stream| {
            // SAFETY: forwarded to the caller.
            let request = unsafe { copy_read_args(args) }?;
            let stream = stream.clone();
            Ok(async move {
                let batch = stream.read(&request).await?;
                Ok(Some(Box::new(S2ReadBatch::new(batch))))
            })
        });
        start("read", once, cancel, operation);
    });
}
