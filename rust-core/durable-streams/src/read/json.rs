//! Splitting a JSON-mode body (a JSON array) into its messages without copying them.

use bytes::{Bytes, BytesMut};

use super::json_scan::element_ranges;

/// Each message's `(start, end)` byte range in its chunk's data.
pub(crate) type MessageRanges = Vec<(usize, usize)>;

/// Validates `body` as a JSON array and returns each element's `(start, end)` byte range.
///
/// An empty body counts as an empty array (some servers send nothing for an empty range). A body
/// that is not a complete JSON array (truncated, corrupt, or another JSON type) is an error.
pub(crate) fn split_ranges(body: &[u8]) -> Result<Vec<(usize, usize)>, String> {
    element_ranges(body).map_err(|problem| {
        format!(
            "the JSON body ({} bytes) is not a valid JSON array: {problem}",
            body.len()
        )
    })
}

/// One JSON array text holding `messages` (each a message's JSON text), for a chunk made of
/// several SSE data events or of the messages kept after a skip, and each message's range in it.
pub(crate) fn join_messages<'a>(
    messages: impl IntoIterator<Item = &'a [u8]>,
) -> (Bytes, Vec<(usize, usize)>) {
    let mut out = BytesMut::new();
    let mut ranges = Vec::new();
    out.extend_from_slice(b"[");
    for (i, message) in messages.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",");
        }
        ranges.push((out.len(), out.len() + message.len()));
        out.extend_from_slice(message);
    }
    out.extend_from_slice(b"]");
    (out.freeze(), ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Result<Vec<String>, String> {
        split_ranges(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|(start, end)| s[start..end].to_owned())
                .collect()
        })
    }

    #[test]
    fn yields_each_element_verbatim() {
        assert_eq!(
            split(r#"[{"a":1}, [1,2] ,"s\"x",3.5e2,null]"#).unwrap(),
            vec![r#"{"a":1}"#, "[1,2]", r#""s\"x""#, "3.5e2", "null"]
        );
    }

    #[test]
    fn multiline_arrays_from_sse_parse() {
        assert_eq!(
            split("[\n{\"k\":\"v\"},\n{\"k\":\"w\"}\n]").unwrap(),
            vec![r#"{"k":"v"}"#, r#"{"k":"w"}"#]
        );
    }

    #[test]
    fn empty_bodies_and_arrays_have_no_messages() {
        assert!(split("").unwrap().is_empty());
        assert!(split("[]").unwrap().is_empty());
        assert!(split(" [ ] ").unwrap().is_empty());
    }

    #[test]
    fn truncated_corrupt_and_non_array_bodies_are_errors() {
        for bad in [
            r#"[{"a":1},{"b""#,
            r#"[{"a":1}"#,
            "[1,]",
            "{\"a\":1}",
            "[1] x",
            "\u{0}",
        ] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unicode_is_preserved() {
        assert_eq!(
            split(r#"["h\u00e9", "😀"]"#).unwrap(),
            vec![r#""h\u00e9""#, r#""😀""#]
        );
    }
}
