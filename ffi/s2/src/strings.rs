//! C strings and byte buffers in (the shared checks, as `S2Error`s).

use std::ffi::c_char;

pub(crate) use ffi_support::strings::cstring;

use crate::error::FfiResult;

/// A required string argument (errors are `S2_ERROR_INVALID_ARGUMENT` naming `name`).
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

/// A JSON document argument of type `T`; NULL gives `T::default()`.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn json<T: serde::de::DeserializeOwned + Default>(
    ptr: *const c_char,
    name: &str,
) -> FfiResult<T> {
    // SAFETY: forwarded to the caller.
    match unsafe { optional(ptr, name) }? {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ffi_support::ArgError::new(name, format!("is not valid JSON for this call: {e}")).into()
        }),
    }
}

/// A required JSON document argument of type `T`.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn required_json<T: serde::de::DeserializeOwned>(
    ptr: *const c_char,
    name: &str,
) -> FfiResult<T> {
    // SAFETY: forwarded to the caller.
    let text = unsafe { required(ptr, name) }?;
    serde_json::from_str(text).map_err(|e| {
        ffi_support::ArgError::new(name, format!("is not valid JSON for this call: {e}")).into()
    })
}
