//! Handles handed to C (the shared machinery) and the live-handle test hook.

pub(crate) use ffi_support::handles::{Live, borrow, free, into_raw, write_out};

use crate::error::FfiResult;

/// Borrows a required handle argument: NULL is a `DS_ERROR_INVALID_ARGUMENT` naming `name`.
///
/// # Safety
/// `handle` must be NULL or point to a live object of type `T` that stays alive for `'a`.
pub(crate) unsafe fn required<'a, T>(handle: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: forwarded to the caller.
    unsafe { ffi_support::handles::required(handle, name) }.map_err(Into::into)
}

/// Test hook, not for applications: the number of live handles of this library in the process
/// (every opaque object with a `_free` function, plus `DsDecoration`s).
///
/// Each object counts from the call that creates it until the call that frees it (or, for the
/// objects the library frees itself, until it does so). Binding test suites take the value at
/// the start of a test and compare at the end, once every callback has run, to prove that
/// nothing leaked. Thread-safe; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn ds_test_live_handles() -> u64 {
    ffi_support::handles::live_handles()
}
