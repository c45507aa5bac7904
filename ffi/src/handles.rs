//! Live-handle accounting, so binding tests can prove that every handle they created was freed.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

static LIVE: AtomicU64 = AtomicU64::new(0);

/// A token embedded in every handle object: counts one live handle from creation to drop.
#[derive(Debug)]
pub(crate) struct Live(());

impl Live {
    pub(crate) fn new() -> Live {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Live(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Moves a handle object to the heap and hands it to C.
pub(crate) fn into_raw<T>(object: T) -> *mut T {
    Box::into_raw(Box::new(object))
}

/// Frees a handle created by [`into_raw`]; NULL is ignored.
///
/// # Safety
/// `handle` must be NULL or a pointer returned by [`into_raw`] for the same `T` that has not been
/// freed yet.
pub(crate) unsafe fn free<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: the caller guarantees the pointer came from `Box::into_raw` and is freed once.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// Borrows a handle passed in by C, or `None` when it is NULL.
///
/// # Safety
/// `handle` must be NULL or point to a live object of type `T` that stays alive for `'a`.
pub(crate) unsafe fn borrow<'a, T>(handle: *const T) -> Option<&'a T> {
    // SAFETY: forwarded to the caller.
    unsafe { handle.as_ref() }
}

/// Writes `value` through an out-parameter that may be NULL.
///
/// # Safety
/// `out` must be NULL or valid for writes of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and valid for writes per the caller's contract.
        unsafe { out.write(value) };
    }
}

/// A user-data pointer that is carried to another thread (a callback on a runtime worker).
///
/// The library never dereferences it; making it usable from any thread is part of the caller's
/// contract, documented in the header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the pointer is opaque to Rust and only handed back to the caller's own callbacks, which
// the header requires to accept it on any thread.
unsafe impl Send for UserData {}
// SAFETY: as above; Rust never reads through it.
unsafe impl Sync for UserData {}

/// Number of live `DsClient`, `DsStream`, `DsReader`, `DsChunk`, `DsProducer`, `DsError`,
/// `DsCancel` and `DsDecoration` objects in the process.
///
/// Each object counts from the call that creates it until the call that frees it (or, for the
/// objects the library frees itself, until it does so). Intended for leak checks in binding
/// tests: take the value at the start of a test and compare at the end, once every callback has
/// run. Thread-safe; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn ds_live_handles() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

/// Borrows a required handle argument: NULL is an invalid-argument error naming `name`.
///
/// # Safety
/// `handle` must be NULL or point to a live object of type `T` that stays alive for `'a`.
pub(crate) unsafe fn required<'a, T>(
    handle: *const T,
    name: &str,
) -> crate::error::FfiResult<&'a T> {
    // SAFETY: forwarded to the caller.
    unsafe { borrow(handle) }.ok_or_else(|| {
        durable_streams_core::Error::invalid_argument(name, "must not be NULL").into()
    })
}
