//! `DsChunk`: one unit of data from a read, with the position after it.

use std::ffi::{CString, c_char};

use durable_streams_core::Chunk;

use crate::handles::{self, Live};
use crate::strings::{cstring, ptr_or_null};
use ffi_support::guard::catch;

/// One chunk of data read from a stream, with the position after it. Opaque.
///
/// Owned by the receiver of a `DsChunkCallback`; free it with `ds_chunk_free`. Every pointer the
/// accessors return is borrowed from the chunk and valid until it is freed. A chunk may be read
/// from any thread (and from several at once), but not while it is being freed.
pub struct DsChunk {
    pub(crate) chunk: Chunk,
    offset: CString,
    cursor: Option<CString>,
    _live: Live,
}

impl DsChunk {
    pub(crate) fn new(chunk: Chunk) -> DsChunk {
        DsChunk {
            offset: cstring(chunk.offset().as_str()),
            cursor: chunk.cursor().map(cstring),
            chunk,
            _live: Live::new(),
        }
    }
}

/// Where a zero-length buffer points, so that no accessor returns a dangling pointer.
static EMPTY: [u8; 1] = [0];

/// Lends `bytes`, writing their length through `len`.
///
/// # Safety
/// `len` must be NULL or writable.
unsafe fn lend(bytes: &[u8], len: *mut usize) -> *const u8 {
    // SAFETY: forwarded to the caller.
    unsafe { handles::write_out(len, bytes.len()) };
    if bytes.is_empty() {
        EMPTY.as_ptr()
    } else {
        bytes.as_ptr()
    }
}

/// Borrows a chunk argument.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
unsafe fn read<'a>(chunk: *const DsChunk) -> Option<&'a DsChunk> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::borrow(chunk) }
}

/// The chunk's bytes (for JSON streams: the JSON array text the messages came in). Writes the
/// length to `*len` (when `len` is not NULL). Never NULL for a chunk, even when the length is 0;
/// NULL (and length 0) for a NULL chunk. Borrowed until `ds_chunk_free`.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`; `len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_data(chunk: *const DsChunk, len: *mut usize) -> *const u8 {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        match unsafe { read(chunk) } {
            // SAFETY: `len` is NULL or writable per the contract.
            Some(chunk) => unsafe { lend(chunk.chunk.data(), len) },
            None => {
                // SAFETY: as above.
                unsafe { handles::write_out(len, 0) };
                std::ptr::null()
            }
        }
    })
}

/// Where a later read resumes: the offset just past this chunk, or for a partial chunk
/// (`ds_chunk_partial`) where its response began, to be used with `ds_chunk_resume_skip`. Never
/// NULL for a chunk (NULL for a NULL chunk). Borrowed until `ds_chunk_free`.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_offset(chunk: *const DsChunk) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.map_or(std::ptr::null(), |c| c.offset.as_ptr())
    })
}

/// The server's cursor at this point (save it with the offset), or NULL if the server has not
/// sent one. Borrowed until `ds_chunk_free`.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_cursor(chunk: *const DsChunk) -> *const c_char {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.map_or(std::ptr::null(), |c| ptr_or_null(c.cursor.as_ref()))
    })
}

/// Whether this chunk reached the tail of the stream when it was served. False for NULL.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_up_to_date(chunk: *const DsChunk) -> bool {
    catch(false, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.is_some_and(|c| c.chunk.up_to_date())
    })
}

/// Whether the stream is closed and this chunk is its end (the next read reports the end).
/// False for NULL.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_closed(chunk: *const DsChunk) -> bool {
    catch(false, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.is_some_and(|c| c.chunk.closed())
    })
}

/// The HTTP status of the response the chunk came from: 200, or 204 for a long-poll that ended
/// without new data (the chunk then only reports up-to-date or closed); SSE chunks are 200.
/// 0 for NULL.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_status(chunk: *const DsChunk) -> u16 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.map_or(0, |c| c.chunk.transport_status())
    })
}

/// Whether more of the same response follows this chunk (only with
/// `ds_reader_set_max_chunk_bytes`): its offset is then where the response began (the server
/// mints offsets, so there is none inside a response) and `ds_chunk_resume_skip` counts the
/// bytes from there delivered so far. Resuming from the offset alone reads the response again;
/// resume exactly after the piece by also passing `ds_chunk_resume_skip` to
/// `ds_reader_set_skip_bytes` (for a JSON stream, whose pieces hold whole messages,
/// `ds_chunk_resume_skip_messages` to `ds_reader_set_skip_messages`). False for NULL.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_partial(chunk: *const DsChunk) -> bool {
    catch(false, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.is_some_and(|c| c.chunk.partial())
    })
}

/// The bytes from `ds_chunk_offset` delivered up to and including this chunk: to resume exactly
/// after it, open a reader at its offset (and cursor) and pass this to
/// `ds_reader_set_skip_bytes`. Non-zero only for a partial chunk (`ds_chunk_partial`) of a
/// non-JSON stream; 0 for a complete chunk, whose offset is already just past its data, for a
/// JSON stream's chunk and for NULL.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_resume_skip(chunk: *const DsChunk) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.map_or(0, |c| c.chunk.resume_skip())
    })
}

/// For a partial chunk (`ds_chunk_partial`) of a JSON stream, the messages from
/// `ds_chunk_offset` delivered up to and including this chunk: to resume exactly after it, open
/// a reader at its offset (and cursor) and pass this to `ds_reader_set_skip_messages`. 0 for
/// every other chunk and for NULL.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_resume_skip_messages(chunk: *const DsChunk) -> u64 {
    catch(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }.map_or(0, |c| c.chunk.resume_skip_messages())
    })
}

/// For JSON-mode streams, the number of messages in the chunk (possibly 0); -1 for other
/// content types (and for NULL).
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_message_count(chunk: *const DsChunk) -> i64 {
    catch(-1, || {
        // SAFETY: forwarded to the caller.
        unsafe { read(chunk) }
            .and_then(|c| c.chunk.message_ranges())
            .map_or(-1, |m| i64::try_from(m.len()).unwrap_or(i64::MAX))
    })
}

/// For JSON-mode streams, the JSON text of message `index` (0-based); writes its length to
/// `*len` (when `len` is not NULL). NULL (and length 0) when `index` is out of range, the
/// stream is not in JSON mode, or `chunk` is NULL. Borrowed until `ds_chunk_free`.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`; `len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_message(
    chunk: *const DsChunk,
    index: usize,
    len: *mut usize,
) -> *const u8 {
    catch(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        let message = unsafe { read(chunk) }
            .and_then(|c| c.chunk.messages())
            .and_then(|m| m.get(index));
        match message {
            // SAFETY: `len` is NULL or writable per the contract.
            Some(message) => unsafe { lend(message, len) },
            None => {
                // SAFETY: as above.
                unsafe { handles::write_out(len, 0) };
                std::ptr::null()
            }
        }
    })
}

/// For JSON-mode streams, where each message lies in `ds_chunk_data`: writes message `i`'s
/// offset from the start of the data to `bounds[2 * i]` and its length to `bounds[2 * i + 1]`,
/// for the first `capacity` messages, and returns the number of messages (as
/// `ds_chunk_message_count`; call it with `capacity` 0 to size the array). One call instead of
/// one `ds_chunk_message` per message. -1 for other content types and for NULL.
///
/// # Safety
/// `chunk` must be NULL or a live `DsChunk`; `bounds` NULL (then `capacity` must be 0) or
/// writable for `2 * capacity` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_message_bounds(
    chunk: *const DsChunk,
    bounds: *mut u64,
    capacity: usize,
) -> i64 {
    catch(-1, || {
        // SAFETY: forwarded to the caller.
        let Some(chunk) = (unsafe { read(chunk) }) else {
            return -1;
        };
        let Some(ranges) = chunk.chunk.message_ranges() else {
            return -1;
        };
        let count = ranges
            .len()
            .min(if bounds.is_null() { 0 } else { capacity });
        for (i, &(start, end)) in ranges.iter().take(count).enumerate() {
            // SAFETY: `bounds` is writable for `2 * capacity` values and `i < count <= capacity`.
            unsafe {
                bounds.add(2 * i).write(start as u64);
                bounds.add(2 * i + 1).write((end - start) as u64);
            }
        }
        i64::try_from(ranges.len()).unwrap_or(i64::MAX)
    })
}

/// Frees a chunk and everything borrowed from it. NULL is ignored.
///
/// # Safety
/// `chunk` must be NULL or an owned `DsChunk` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_chunk_free(chunk: *mut DsChunk) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(chunk) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_of_a_null_chunk_report_nothing() {
        // SAFETY: NULL is a valid argument for every accessor.
        unsafe {
            assert_eq!(ds_chunk_resume_skip(std::ptr::null()), 0);
            assert_eq!(ds_chunk_resume_skip_messages(std::ptr::null()), 0);
            assert!(!ds_chunk_partial(std::ptr::null()));
            assert!(ds_chunk_offset(std::ptr::null()).is_null());
        }
    }
}
