//! C strings in and out (the shared checks) and `ds_string_free`.

use std::ffi::c_char;

pub(crate) use ffi_support::strings::{cstring, owned, ptr_or_null};

use crate::error::FfiResult;

/// A required string argument (errors are `DS_ERROR_INVALID_ARGUMENT` naming `name`).
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn required<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded to the caller.
    unsafe { ffi_support::strings::required(ptr, name) }.map_err(Into::into)
}

/// An optional (nullable) string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn optional<'a>(ptr: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    // SAFETY: forwarded to the caller.
    unsafe { ffi_support::strings::optional(ptr, name) }.map_err(Into::into)
}

/// A byte-buffer argument: `(NULL, 0)` is the empty buffer, `(NULL, n > 0)` an error.
///
/// # Safety
/// When non-NULL, `ptr` must be valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> FfiResult<&'a [u8]> {
    // SAFETY: forwarded to the caller.
    unsafe { ffi_support::strings::bytes(ptr, len, name) }.map_err(Into::into)
}

/// Frees a string returned by this library (every `char*` return value or out-parameter that
/// the documentation calls "owned"). NULL is ignored. Never pass strings that the library
/// lends (`const char*` results): those are freed with the object that owns them.
///
/// Thread-safe.
///
/// # Safety
/// `string` must be NULL or a string returned as owned by this library that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_string_free(string: *mut c_char) {
    // SAFETY: forwarded to the caller.
    ffi_support::guard::catch((), || unsafe { ffi_support::strings::free_owned(string) });
}
