//! `DsHeader`: per-operation HTTP headers passed as a C array of name/value pairs.

use std::ffi::c_char;

use durable_streams_core::Error;

use crate::error::FfiResult;
use crate::strings;

/// One HTTP header of a single operation (`DsAppendArgs.headers`, `ds_reader_set_headers`).
/// Both strings are NUL-terminated UTF-8, neither may be NULL, and both are borrowed for the
/// call only (copied before it returns).
///
/// Names must be HTTP tokens and values printable ASCII (no CR, LF or other control
/// characters) of at most 8192 bytes, and the headers the HTTP layer sets itself for message
/// framing and the connection (`Content-Length`, `Transfer-Encoding`, `Host`, `Connection`,
/// `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Upgrade`, `Expect`) are refused, as in
/// the client's `"headers"`; otherwise the operation fails with `DS_ERROR_INVALID_ARGUMENT`
/// naming the header (its value is never quoted). A name given twice keeps the last value.
///
/// Precedence, lowest to highest: the client's `"headers"`, then dynamic headers
/// (`DsDecorateCallback`), then these, then the protocol headers the library sets for the
/// request itself (`Content-Type`, `Stream-Seq`, `Stream-Closed`, `Stream-TTL`, fork
/// headers...): a per-operation header replaces a client or dynamic header of the same name
/// but never a protocol header. A protocol header the library does not set for that request
/// (say `Stream-TTL` on a create without `"ttl_seconds"`) is sent as given.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DsHeader {
    /// The header name, e.g. `"X-Tenant"`.
    pub name: *const c_char,
    /// The header value.
    pub value: *const c_char,
}

/// Copies a `(headers, count)` array argument into name/value pairs; `(NULL, 0)` is no headers.
/// Errors are `DS_ERROR_INVALID_ARGUMENT` naming `name` (`name[i].name` for an entry).
///
/// # Safety
/// When non-NULL, `headers` must point to `count` readable `DsHeader`s whose strings are NULL or
/// NUL-terminated.
pub(crate) unsafe fn header_pairs(
    headers: *const DsHeader,
    count: usize,
    name: &str,
) -> FfiResult<Vec<(String, String)>> {
    if headers.is_null() {
        if count == 0 {
            return Ok(Vec::new());
        }
        return Err(
            Error::invalid_argument(name, format!("is NULL but its count is {count}")).into(),
        );
    }
    if count > isize::MAX as usize / size_of::<DsHeader>() {
        return Err(Error::invalid_argument(name, format!("count {count} is too large")).into());
    }
    // SAFETY: non-NULL, the byte size fits `isize`, and the caller guarantees `count` readable
    // entries for the duration of this call (they are copied below).
    let entries = unsafe { std::slice::from_raw_parts(headers, count) };
    let mut pairs = Vec::with_capacity(count);
    for (i, entry) in entries.iter().enumerate() {
        // SAFETY: NULL or NUL-terminated per the caller's contract.
        let header_name = unsafe { strings::required(entry.name, &format!("{name}[{i}].name")) }?;
        // SAFETY: as above.
        let value = unsafe { strings::required(entry.value, &format!("{name}[{i}].value")) }?;
        pairs.push((header_name.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DsErrorKind;

    fn message(result: FfiResult<Vec<(String, String)>>) -> String {
        let Err(error) = result else {
            panic!("should fail");
        };
        assert_eq!(error.kind, DsErrorKind::INVALID_ARGUMENT);
        error.server_message.to_str().unwrap().to_owned()
    }

    #[test]
    fn arrays_are_copied_and_checked() {
        let entries = [
            DsHeader {
                name: c"X-Tenant".as_ptr(),
                value: c"t1".as_ptr(),
            },
            DsHeader {
                name: c"X-Trace".as_ptr(),
                value: c"".as_ptr(),
            },
        ];
        // SAFETY: a live array of `entries.len()` headers with static strings, or NULL.
        unsafe {
            assert_eq!(
                header_pairs(entries.as_ptr(), 2, "headers").unwrap(),
                vec![
                    ("X-Tenant".to_owned(), "t1".to_owned()),
                    ("X-Trace".to_owned(), String::new())
                ]
            );
            assert!(header_pairs(std::ptr::null(), 0, "h").unwrap().is_empty());
            assert!(header_pairs(entries.as_ptr(), 0, "h").unwrap().is_empty());
            let text = message(header_pairs(std::ptr::null(), 2, "args.headers"));
            assert!(text.starts_with("args.headers:"), "{text}");
        }
        let null_name = [DsHeader {
            name: std::ptr::null(),
            value: c"S3CRET-SENTINEL".as_ptr(),
        }];
        let null_value = [
            entries[0],
            DsHeader {
                name: c"authorization".as_ptr(),
                value: std::ptr::null(),
            },
        ];
        let bad_utf8 = [DsHeader {
            name: c"x".as_ptr(),
            value: c"\xff\xfe".as_ptr(),
        }];
        // SAFETY: live one- and two-element arrays of headers with static strings or NULL.
        unsafe {
            let text = message(header_pairs(null_name.as_ptr(), 1, "headers"));
            assert!(text.starts_with("headers[0].name:"), "{text}");
            assert!(!text.contains("S3CRET-SENTINEL"), "{text}");
            let text = message(header_pairs(null_value.as_ptr(), 2, "headers"));
            assert!(text.starts_with("headers[1].value:"), "{text}");
            let text = message(header_pairs(bad_utf8.as_ptr(), 1, "headers"));
            assert!(text.starts_with("headers[0].value:"), "{text}");
        }
    }
}
