//! C strings in and out: argument checks (NULL, UTF-8) and owned strings handed to C.

use std::ffi::{CStr, CString, c_char};

use durable_streams_core::Error;

use crate::error::FfiResult;

/// A C string with the same text; interior NUL bytes (never expected from the protocol) are
/// dropped rather than failing.
pub(crate) fn cstring(text: &str) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// An owned copy of `text` for C, freed with [`ds_string_free`].
pub(crate) fn owned(text: &str) -> *mut c_char {
    cstring(text).into_raw()
}

/// A pointer to `text`, or NULL.
pub(crate) fn ptr_or_null(text: Option<&CString>) -> *const c_char {
    text.map_or(std::ptr::null(), |s| s.as_ptr())
}

/// A required string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn required<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded to the caller.
    match unsafe { optional(ptr, name) }? {
        Some(text) => Ok(text),
        None => Err(Error::invalid_argument(name, "must not be NULL").into()),
    }
}

/// An optional (nullable) string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn optional<'a>(ptr: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|e| Error::invalid_argument(name, format!("is not valid UTF-8 ({e})")).into())
}

/// A byte-buffer argument: `(NULL, 0)` is the empty buffer, `(NULL, n > 0)` an error.
///
/// # Safety
/// When non-NULL, `ptr` must be valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> FfiResult<&'a [u8]> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(
            Error::invalid_argument(name, format!("is NULL but its length is {len}")).into(),
        );
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid_argument(name, format!("length {len} is too large")).into());
    }
    // SAFETY: non-NULL, `len` fits `isize`, and the caller guarantees `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
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
    crate::guard::catch((), || {
        if !string.is_null() {
            // SAFETY: the caller guarantees the string came from `CString::into_raw` here.
            drop(unsafe { CString::from_raw(string) });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interior_nuls_are_dropped() {
        assert_eq!(cstring("a\0b").as_bytes(), b"ab");
        assert_eq!(cstring("plain").as_bytes(), b"plain");
    }

    #[test]
    fn null_and_bad_utf8_are_invalid_arguments() {
        // SAFETY: NULL and a NUL-terminated literal.
        unsafe {
            let err = required(std::ptr::null(), "url").unwrap_err();
            assert_eq!(err.kind, crate::error::DsErrorKind::INVALID_ARGUMENT);
            assert!(err.server_message.to_str().unwrap().starts_with("url:"));
            assert_eq!(optional(std::ptr::null(), "x").unwrap(), None);
            let bad = c"\xff\xfe";
            let err = required(bad.as_ptr(), "producer_id").unwrap_err();
            assert!(err.server_message.to_str().unwrap().contains("UTF-8"));
        }
    }

    #[test]
    fn null_bytes_are_only_valid_when_empty() {
        // SAFETY: NULL pointers with the lengths under test; a real slice otherwise.
        unsafe {
            assert_eq!(bytes(std::ptr::null(), 0, "data").unwrap(), b"");
            assert!(bytes(std::ptr::null(), 3, "data").is_err());
            let data = [1u8, 2, 3];
            assert_eq!(bytes(data.as_ptr(), 3, "data").unwrap(), &data);
        }
    }
}
