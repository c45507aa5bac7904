//! C strings and byte buffers in and out: argument checks (NULL, UTF-8, lengths) and owned
//! strings handed to C.

use std::ffi::{CStr, CString, c_char};

use crate::error::ArgError;

/// A C string with the same text; interior NUL bytes are dropped rather than failing (only
/// for text the library produces itself, such as messages).
pub fn cstring(text: &str) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// An owned copy of `text` for C, released with [`free_owned`].
pub fn owned(text: &str) -> *mut c_char {
    cstring(text).into_raw()
}

/// Releases a string made by [`owned`]; NULL is ignored.
///
/// # Safety
/// `string` must be NULL or a string returned by [`owned`] that has not been released.
pub unsafe fn free_owned(string: *mut c_char) {
    if !string.is_null() {
        // SAFETY: the caller guarantees the string came from `CString::into_raw` here.
        drop(unsafe { CString::from_raw(string) });
    }
}

/// A pointer to `text`, or NULL.
pub fn ptr_or_null(text: Option<&CString>) -> *const c_char {
    text.map_or(std::ptr::null(), |s| s.as_ptr())
}

/// A required string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn required<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, ArgError> {
    // SAFETY: forwarded to the caller.
    match unsafe { optional(ptr, name) }? {
        Some(text) => Ok(text),
        None => Err(ArgError::new(name, "must not be NULL")),
    }
}

/// An optional (nullable) string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn optional<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, ArgError> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|e| ArgError::new(name, format!("is not valid UTF-8 ({e})")))
}

/// A byte-buffer argument: `(NULL, 0)` is the empty buffer, `(NULL, n > 0)` an error.
///
/// # Safety
/// When non-NULL, `ptr` must be valid for reads of `len` bytes for `'a`.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], ArgError> {
    // SAFETY: forwarded to the caller.
    unsafe { slice(ptr, len, name) }
}

/// An array argument of `len` elements: `(NULL, 0)` is the empty array, `(NULL, n > 0)` an
/// error.
///
/// # Safety
/// When non-NULL, `ptr` must be valid (and aligned) for reads of `len` elements for `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T], ArgError> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(ArgError::new(
            name,
            format!("is NULL but its length is {len}"),
        ));
    }
    if len
        .checked_mul(std::mem::size_of::<T>().max(1))
        .is_none_or(|n| n > isize::MAX as usize)
    {
        return Err(ArgError::new(name, format!("length {len} is too large")));
    }
    // SAFETY: non-NULL, the size fits `isize`, and the caller guarantees `len` readable
    // elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
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
    fn null_and_bad_utf8_are_argument_errors_naming_the_parameter() {
        // SAFETY: NULL and NUL-terminated literals.
        unsafe {
            let error = required(std::ptr::null(), "url").unwrap_err();
            assert_eq!(error.name, "url");
            assert_eq!(optional(std::ptr::null(), "x"), Ok(None));
            let bad = c"\xff\xfe";
            let error = required(bad.as_ptr(), "producer_id").unwrap_err();
            assert_eq!(error.name, "producer_id");
            assert!(error.problem.contains("UTF-8"));
        }
    }

    #[test]
    fn null_bytes_are_only_valid_when_empty() {
        // SAFETY: NULL pointers with the lengths under test; a real slice otherwise.
        unsafe {
            assert_eq!(bytes(std::ptr::null(), 0, "data"), Ok(&[][..]));
            assert!(bytes(std::ptr::null(), 3, "data").is_err());
            let data = [1u8, 2, 3];
            assert_eq!(bytes(data.as_ptr(), 3, "data"), Ok(&data[..]));
        }
    }

    #[test]
    fn owned_strings_round_trip() {
        let string = owned("hello");
        // SAFETY: just made by `owned`, read then released once.
        unsafe {
            assert_eq!(CStr::from_ptr(string), c"hello");
            free_owned(string);
            free_owned(std::ptr::null_mut());
        }
    }
}
