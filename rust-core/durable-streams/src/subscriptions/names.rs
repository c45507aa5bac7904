//! Checks of what callers name: subscription ids, stream-root-relative paths, glob patterns,
//! lease durations. Every error names the field at fault.

use std::time::Duration;

use crate::error::{Error, Result};

/// The longest subscription id accepted, in bytes.
pub const MAX_SUBSCRIPTION_ID_LEN: usize = 200;
/// The longest stream path or pattern accepted, in bytes.
pub const MAX_STREAM_PATH_LEN: usize = 1024;
/// The shortest lease the protocol allows.
pub const MIN_LEASE_TTL: Duration = Duration::from_secs(1);
/// The longest lease the protocol allows.
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(10 * 60);
/// The longest description accepted, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 4096;

/// The first path segment the protocol reserves for its control APIs.
const RESERVED_SEGMENT: &str = "__ds";

/// A subscription id: 1 to 200 of `A-Z a-z 0-9 - _ . ~` (URL-unreserved characters, so the id
/// is one path segment exactly as given), not `.` or `..`.
pub(crate) fn check_subscription_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid_argument(field, "cannot be empty"));
    }
    if id.len() > MAX_SUBSCRIPTION_ID_LEN {
        return Err(Error::invalid_argument(
            field,
            format!(
                "may be at most {MAX_SUBSCRIPTION_ID_LEN} bytes long, this one is {}",
                id.len()
            ),
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
    {
        return Err(Error::invalid_argument(
            field,
            format!(
                "{:?} contains {bad:?}; a subscription id may contain only letters, digits \
                 and - _ . ~",
                shorten(id)
            ),
        ));
    }
    if id == "." || id == ".." {
        return Err(Error::invalid_argument(
            field,
            format!("{id:?} is not a valid subscription id"),
        ));
    }
    Ok(())
}

/// A stream-root-relative stream path such as `events/abc`: segments separated by `/`, none
/// empty, `.` or `..`, no wildcards, not under the reserved `__ds` prefix.
pub(crate) fn check_stream_path(field: &str, path: &str) -> Result<()> {
    check_segments(field, path, false)
}

/// A glob over stream paths: like a stream path, where a segment may also be `*` (exactly one
/// segment) or `**` (zero or more segments).
pub(crate) fn check_pattern(field: &str, pattern: &str) -> Result<()> {
    check_segments(field, pattern, true)
}

fn check_segments(field: &str, path: &str, wildcards: bool) -> Result<()> {
    let invalid = |problem: String| Error::invalid_argument(field, problem);
    if path.is_empty() {
        return Err(invalid("cannot be empty".into()));
    }
    if path.len() > MAX_STREAM_PATH_LEN {
        return Err(invalid(format!(
            "may be at most {MAX_STREAM_PATH_LEN} bytes long, this one is {}",
            path.len()
        )));
    }
    if path.starts_with('/') || path.ends_with('/') {
        return Err(invalid(format!(
            "{:?} starts or ends with '/'; paths are relative to the stream root, like \
             \"events/abc\"",
            shorten(path)
        )));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| c.is_control() || matches!(c, '?' | '#' | '\\' | '%'))
    {
        return Err(invalid(format!(
            "{:?} contains {bad:?}, which a stream path cannot contain",
            shorten(path)
        )));
    }
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(invalid(format!(
                "{:?} has an empty, \".\" or \"..\" segment",
                shorten(path)
            )));
        }
        if segment.contains('*') {
            if !wildcards {
                return Err(invalid(format!(
                    "{:?} contains '*'; only a pattern may have wildcards",
                    shorten(path)
                )));
            }
            if segment != "*" && segment != "**" {
                return Err(invalid(format!(
                    "{:?}: the segment {segment:?} mixes '*' with other characters; a wildcard \
                     is a whole segment, `*` (one segment) or `**` (any number)",
                    shorten(path)
                )));
            }
        }
    }
    if path.split('/').next() == Some(RESERVED_SEGMENT) {
        return Err(invalid(format!(
            "{:?} is under the reserved \"{RESERVED_SEGMENT}\" prefix",
            shorten(path)
        )));
    }
    Ok(())
}

/// A lease duration: whole milliseconds, from 1 second to 10 minutes.
pub(crate) fn check_lease_ttl(field: &str, ttl: Duration) -> Result<u64> {
    if !(MIN_LEASE_TTL..=MAX_LEASE_TTL).contains(&ttl) {
        return Err(Error::invalid_argument(
            field,
            format!("must be from 1 second to 10 minutes, got {ttl:?}"),
        ));
    }
    if ttl.subsec_nanos() % 1_000_000 != 0 {
        return Err(Error::invalid_argument(
            field,
            format!("must be a whole number of milliseconds, got {ttl:?}"),
        ));
    }
    // At most 600,000: fits.
    Ok(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

/// A worker name sent with a claim: 1 to 200 bytes without control characters.
pub(crate) fn check_worker_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid_argument(field, "cannot be empty"));
    }
    if name.len() > MAX_SUBSCRIPTION_ID_LEN {
        return Err(Error::invalid_argument(
            field,
            format!("may be at most {MAX_SUBSCRIPTION_ID_LEN} bytes long"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_argument(
            field,
            "cannot contain control characters",
        ));
    }
    Ok(())
}

/// Long inputs are quoted by their start only.
fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(80).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn subscription_ids_are_url_safe_single_segments() {
        for good in [
            "orders",
            "sub-1",
            "a.b_c~d",
            &"x".repeat(MAX_SUBSCRIPTION_ID_LEN),
        ] {
            assert!(check_subscription_id("id", good).is_ok(), "{good}");
        }
        for bad in ["", "a/b", "a b", "é", "..", ".", "a?b", &"x".repeat(201)] {
            let err = check_subscription_id("id", bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            assert!(err.message().starts_with("id:"), "{err}");
        }
    }

    #[test]
    fn patterns_allow_whole_segment_wildcards_only() {
        for good in ["events/*", "events/**", "**", "a/*/c", "orders"] {
            assert!(check_pattern("pattern", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/events/*",
            "events/",
            "events//x",
            "ev*nts",
            "a/**b",
            "__ds/*",
            "a/../b",
            "a?b",
        ] {
            let err = check_pattern("pattern", bad).unwrap_err();
            assert!(err.message().starts_with("pattern:"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn stream_paths_have_no_wildcards() {
        assert!(check_stream_path("wake_stream", "wake/pool").is_ok());
        let err = check_stream_path("streams[0]", "events/*").unwrap_err();
        assert!(err.message().starts_with("streams[0]:"), "{err}");
    }

    #[test]
    fn lease_ttl_is_one_second_to_ten_minutes_in_milliseconds() {
        assert_eq!(check_lease_ttl("lease_ttl", MIN_LEASE_TTL).unwrap(), 1000);
        assert_eq!(
            check_lease_ttl("lease_ttl", MAX_LEASE_TTL).unwrap(),
            600_000
        );
        for bad in [
            Duration::from_millis(999),
            Duration::from_millis(600_001),
            Duration::ZERO,
            Duration::from_micros(1_500_500),
        ] {
            let err = check_lease_ttl("lease_ttl", bad).unwrap_err();
            assert!(err.message().starts_with("lease_ttl:"), "{bad:?}: {err}");
        }
    }
}
