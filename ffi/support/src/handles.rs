//! Handles handed to C: boxing, borrowing back, freeing, out-parameters, and live-handle
//! counting (so binding tests can prove that every handle they created was freed).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ArgError;

static LIVE: AtomicU64 = AtomicU64::new(0);

/// A token embedded in every handle object: counts one live handle from creation to drop.
#[derive(Debug)]
pub struct Live(());

impl Live {
    /// Counts one more live handle until the token is dropped.
    #[allow(clippy::new_without_default)] // a counter, not a value with a meaningful default
    pub fn new() -> Live {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Live(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Handle objects alive in this native library (every object holding a [`Live`]).
pub fn live_handles() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

/// Moves a handle object to the heap and hands it to C.
pub fn into_raw<T>(object: T) -> *mut T {
    Box::into_raw(Box::new(object))
}

/// Frees a handle created by [`into_raw`]; NULL is ignored.
///
/// # Safety
/// `handle` must be NULL or a pointer returned by [`into_raw`] for the same `T` that has not
/// been freed yet.
pub unsafe fn free<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: the caller guarantees the pointer came from `Box::into_raw` and is freed once.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// Borrows a handle passed in by C, or `None` when it is NULL.
///
/// # Safety
/// `handle` must be NULL or point to a live object of type `T` that stays alive for `'a`.
pub unsafe fn borrow<'a, T>(handle: *const T) -> Option<&'a T> {
    // SAFETY: forwarded to the caller.
    unsafe { handle.as_ref() }
}

/// Borrows a required handle argument: NULL is an argument error naming `name`.
///
/// # Safety
/// `handle` must be NULL or point to a live object of type `T` that stays alive for `'a`.
pub unsafe fn required<'a, T>(handle: *const T, name: &str) -> Result<&'a T, ArgError> {
    // SAFETY: forwarded to the caller.
    unsafe { borrow(handle) }.ok_or_else(|| ArgError::new(name, "must not be NULL"))
}

/// Writes `value` through an out-parameter that may be NULL.
///
/// # Safety
/// `out` must be NULL or valid for writes of `T`.
pub unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and valid for writes per the caller's contract.
        unsafe { out.write(value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_count_from_creation_to_free() {
        struct Object {
            _live: Live,
        }
        let before = live_handles();
        let handle = into_raw(Object { _live: Live::new() });
        assert!(live_handles() > before);
        // SAFETY: created just above, borrowed and freed once.
        unsafe {
            assert!(required(handle.cast_const(), "object").is_ok());
            free(handle);
            free::<Object>(std::ptr::null_mut());
        }
    }

    #[test]
    fn null_required_handles_name_the_parameter() {
        // SAFETY: NULL is allowed.
        let error = unsafe { required::<u8>(std::ptr::null(), "stream") }.unwrap_err();
        assert_eq!(error.to_string(), "stream: must not be NULL");
    }
}
