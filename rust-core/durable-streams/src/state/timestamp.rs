//! RFC 3339 timestamps for `headers.timestamp`: writing the current time, and checking the
//! shape of one a caller supplies (the protocol requires RFC 3339 there).

use std::time::{SystemTime, UNIX_EPOCH};

/// `seconds` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form JavaScript's
/// `Date.prototype.toISOString` writes.
pub(crate) fn rfc3339_utc(seconds: u64, millis: u32) -> String {
    let days = seconds / 86_400;
    let in_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// The current time in the form of [`rfc3339_utc`] (the epoch if the clock is before it).
pub(crate) fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339_utc(since.as_secs(), since.subsec_millis())
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Whether `text` has the shape of an RFC 3339 date-time:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, fields in range (`T`/`Z` in either case).
pub(crate) fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = bytes.get(range)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0u32, |acc, digit| acc * 10 + u32::from(digit - b'0'))
        })
    };
    let punctuation =
        |at: usize, expected: &[u8]| bytes.get(at).is_some_and(|b| expected.contains(b));
    let date_time = (|| {
        digits(0..4)?;
        let month = digits(5..7)?;
        let day = digits(8..10)?;
        let hour = digits(11..13)?;
        let minute = digits(14..16)?;
        let second = digits(17..19)?;
        let shaped = punctuation(4, b"-")
            && punctuation(7, b"-")
            && punctuation(10, b"Tt")
            && punctuation(13, b":")
            && punctuation(16, b":");
        // 60 is a leap second.
        (shaped
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second <= 60)
            .then_some(())
    })();
    if date_time.is_none() {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') < 24
                && (m1 - b'0') * 10 + (m2 - b'0') < 60
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_like_javascripts_to_iso_string() {
        assert_eq!(rfc3339_utc(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339_utc(1_736_937_000, 250), "2025-01-15T10:30:00.250Z");
        assert_eq!(rfc3339_utc(4_133_980_799, 999), "2100-12-31T23:59:59.999Z");
        assert!(is_rfc3339(&now()));
    }

    #[test]
    fn rfc3339_shapes_are_recognised_and_others_refused() {
        for good in [
            "2025-01-15T10:30:00Z",
            "2025-01-15t10:30:00.123456z",
            "2025-01-15T10:30:00+05:30",
            "2016-12-31T23:59:60-00:00",
        ] {
            assert!(is_rfc3339(good), "{good}");
        }
        for bad in [
            "",
            "2025-01-15",
            "2025-01-15 10:30:00Z",
            "2025-13-15T10:30:00Z",
            "2025-01-15T24:00:00Z",
            "2025-01-15T10:30:00",
            "2025-01-15T10:30:00.Z",
            "2025-01-15T10:30:00+0530",
            "yesterday",
            "2025-01-15T10:30:00Zjunk",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }
}
