//! `S2ReadBatch`: records read, lent to C as one array of views into the batch's own buffers.

use ffi_support::guard::catch;
use s2_streamstore_core::{ReadBatch, SequencedRecord};

use crate::handles::{self, Live};
use crate::stream::{S2Header, S2Position};

/// A record that was read, as a view into its `S2ReadBatch` (valid until `s2_batch_free`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct S2Record {
    /// Its sequence number.
    pub seq_num: u64,
    /// Its timestamp in milliseconds.
    pub timestamp: u64,
    /// The body (may be NULL when `body_len` is 0).
    pub body: *const u8,
    /// The body's length.
    pub body_len: usize,
    /// `header_count` headers.
    pub headers: *const S2Header,
    /// The number of headers.
    pub header_count: usize,
    /// Whether it is a command record (fence or trim: one header with an empty name).
    pub is_command: bool,
}

/// Records read, in order, and the tail when the server reported it. Opaque; owned by whoever
/// received it; free it with `s2_batch_free`. Reading it from several threads is safe.
pub struct S2ReadBatch {
    views: Vec<S2Record>,
    // The views point into these buffers; neither is touched after construction.
    _headers: Vec<S2Header>,
    _records: Vec<SequencedRecord>,
    tail: Option<S2Position>,
    _live: Live,
}

// SAFETY: the raw pointers in `views` and `_headers` point into the `Bytes` buffers of
// `_records`, which the batch owns and never mutates, so the batch may move between threads.
unsafe impl Send for S2ReadBatch {}
// SAFETY: as above: shared access only reads immutable data.
unsafe impl Sync for S2ReadBatch {}

impl S2ReadBatch {
    pub(crate) fn new(batch: ReadBatch) -> S2ReadBatch {
        let header_total = batch.records.iter().map(|r| r.headers.len()).sum();
        let mut headers = Vec::with_capacity(header_total);
        for record in &batch.records {
            headers.extend(record.headers.iter().map(|h| S2Header {
                name: h.name.as_ptr(),
                name_len: h.name.len(),
                value: h.value.as_ptr(),
                value_len: h.value.len(),
            }));
        }
        let mut next_header = 0;
        let views = batch
            .records
            .iter()
            .map(|record| {
                let count = record.headers.len();
                let view = S2Record {
                    seq_num: record.seq_num,
                    timestamp: record.timestamp,
                    body: record.body.as_ptr(),
                    body_len: record.body.len(),
                    // `headers` is never resized after this, so the pointer stays valid.
                    headers: headers[next_header..].as_ptr(),
                    header_count: count,
                    is_command: record.is_command_record(),
                };
                next_header += count;
                view
            })
            .collect();
        S2ReadBatch {
            views,
            _headers: headers,
            _records: batch.records,
            tail: batch.tail.map(Into::into),
            _live: Live::new(),
        }
    }
}

/// The batch's records as an array of `*count` views (NULL and 0 for NULL or an empty batch).
/// Borrowed: valid until `s2_batch_free`.
///
/// # Safety
/// `batch` must be NULL or a live `S2ReadBatch`; `count` NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_batch_records(
    batch: *const S2ReadBatch,
    count: *mut usize,
) -> *const S2Record {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        let batch = unsafe { handles::borrow(batch) };
        let views = batch.map_or(&[][..], |b| b.views.as_slice());
        // SAFETY: forwarded to the caller.
        unsafe { handles::write_out(count, views.len()) };
        if views.is_empty() {
            std::ptr::null()
        } else {
            views.as_ptr()
        }
    })
}

/// Writes the stream's tail to `out` and returns true when the server reported it with this
/// batch (reads that reach recent records); false otherwise.
///
/// # Safety
/// `batch` must be NULL or a live `S2ReadBatch`; `out` NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_batch_tail(batch: *const S2ReadBatch, out: *mut S2Position) -> bool {
    catch(false, || {
        // SAFETY: forwarded to the caller.
        match unsafe { handles::borrow(batch) }.and_then(|b| b.tail) {
            Some(tail) => {
                // SAFETY: forwarded to the caller.
                unsafe { handles::write_out(out, tail) };
                true
            }
            None => false,
        }
    })
}

/// Frees the batch and every view into it. NULL is ignored.
///
/// # Safety
/// `batch` must be NULL or an owned `S2ReadBatch` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_batch_free(batch: *mut S2ReadBatch) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(batch) });
}
