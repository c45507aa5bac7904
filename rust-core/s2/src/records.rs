//! Records to append: checked one by one and as a batch before anything is sent, with errors
//! naming the record and header at fault.

use bytes::Bytes;
use s2_sdk::types::{self as sdk, AppendRecord, AppendRecordBatch, CommandRecord};

use crate::error::{Context, S2Error};

/// The most records one append may carry.
pub const MAX_BATCH_RECORDS: usize = 1000;
/// The most metered bytes one append may carry (1 MiB).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// A record's metered size as S2 counts it against the limits: 8 bytes, plus 2 per header,
/// plus every header name and value, plus the body.
pub fn metered_bytes(body_len: usize, headers: impl IntoIterator<Item = (usize, usize)>) -> usize {
    8 + body_len
        + headers
            .into_iter()
            .map(|(name, value)| 2 + name + value)
            .sum::<usize>()
}

/// One record as a caller gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRecord {
    /// The body.
    pub body: Bytes,
    /// Headers as (name, value); names must not be empty.
    pub headers: Vec<(Bytes, Bytes)>,
    /// A client timestamp in milliseconds (how it is used depends on the stream's
    /// timestamping mode).
    pub timestamp: Option<u64>,
}

impl NewRecord {
    /// A record with only a body.
    pub fn body(body: impl Into<Bytes>) -> NewRecord {
        NewRecord {
            body: body.into(),
            ..NewRecord::default()
        }
    }
}

/// Checks and converts the record at `index` (named `records[index]` in errors).
pub fn to_append_record(
    context: Context<'_>,
    index: usize,
    record: NewRecord,
) -> Result<AppendRecord, S2Error> {
    for (h, (name, _)) in record.headers.iter().enumerate() {
        if name.is_empty() {
            return Err(S2Error::invalid_argument(
                context,
                &format!("records[{index}].headers[{h}].name"),
                "must not be empty (an empty header name marks a command record: use fence or trim)",
            ));
        }
    }
    let size = metered_bytes(
        record.body.len(),
        record.headers.iter().map(|(n, v)| (n.len(), v.len())),
    );
    if size > MAX_BATCH_BYTES {
        return Err(S2Error::invalid_argument(
            context,
            &format!("records[{index}]"),
            format!("its metered size {size} exceeds the limit of {MAX_BATCH_BYTES} bytes"),
        ));
    }
    let invalid = |e| S2Error::invalid_argument(context, &format!("records[{index}]"), e);
    let mut converted = AppendRecord::new(record.body).map_err(invalid)?;
    // Most records have no headers: skip the SDK's conversion and second check for them.
    if !record.headers.is_empty() {
        let headers = record
            .headers
            .into_iter()
            .map(|(name, value)| sdk::Header::new(name, value));
        converted = converted.with_headers(headers).map_err(invalid)?;
    }
    if let Some(timestamp) = record.timestamp {
        converted = converted.with_timestamp(timestamp);
    }
    Ok(converted)
}

/// A fence command record: appends after it must carry `fencing_token` (1-36 bytes; empty
/// removes the fence).
pub fn fence_record(context: Context<'_>, token: &str) -> Result<AppendRecord, S2Error> {
    let token = fencing_token(context, "fencing_token", token)?;
    Ok(CommandRecord::fence(token).into())
}

/// A trim command record: records before `trim_point` are deleted (eventually).
pub fn trim_record(trim_point: u64) -> AppendRecord {
    CommandRecord::trim(trim_point).into()
}

/// A fencing token, checked (at most 36 bytes).
pub fn fencing_token(
    context: Context<'_>,
    parameter: &str,
    token: &str,
) -> Result<sdk::FencingToken, S2Error> {
    token
        .parse()
        .map_err(|e| S2Error::invalid_argument(context, parameter, e))
}

/// The batch for one append: 1 to 1000 records, at most 1 MiB metered.
pub fn to_batch(
    context: Context<'_>,
    records: Vec<AppendRecord>,
) -> Result<AppendRecordBatch, S2Error> {
    if records.is_empty() {
        return Err(S2Error::invalid_argument(
            context,
            "records",
            "must not be empty",
        ));
    }
    if records.len() > MAX_BATCH_RECORDS {
        return Err(S2Error::invalid_argument(
            context,
            "records",
            format!(
                "{} records exceed the limit of {MAX_BATCH_RECORDS} per append",
                records.len()
            ),
        ));
    }
    AppendRecordBatch::try_from_iter(records)
        .map_err(|e| S2Error::invalid_argument(context, "records", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context<'static> {
        Context::stream("append", "basin-one", "s")
    }

    #[test]
    fn empty_header_names_are_refused_naming_the_header() {
        let record = NewRecord {
            body: Bytes::from_static(b"x"),
            headers: vec![
                (Bytes::from_static(b"ok"), Bytes::new()),
                (Bytes::new(), Bytes::from_static(b"v")),
            ],
            timestamp: None,
        };
        let error = to_append_record(context(), 4, record).expect_err("empty name");
        assert!(
            error.to_string().contains("records[4].headers[1].name"),
            "{error}"
        );
    }

    #[test]
    fn batches_outside_the_limits_are_refused() {
        let one = || to_append_record(context(), 0, NewRecord::body("x")).expect("valid");
        let error = to_batch(context(), Vec::new()).expect_err("empty");
        assert!(
            error.to_string().contains("records: must not be empty"),
            "{error}"
        );
        let error = to_batch(context(), (0..1001).map(|_| one()).collect()).expect_err("too many");
        assert!(error.to_string().contains("1001 records"), "{error}");
        assert!(to_batch(context(), (0..1000).map(|_| one()).collect()).is_ok());
        let big = |n| to_append_record(context(), 0, NewRecord::body(vec![0u8; n])).expect("valid");
        let error = to_batch(context(), vec![big(600_000), big(600_000)]).expect_err("too large");
        assert!(error.to_string().contains("invalid records"), "{error}");
        let error = to_append_record(context(), 2, NewRecord::body(vec![0u8; MAX_BATCH_BYTES]))
            .expect_err("huge");
        assert!(error.to_string().contains("records[2]"), "{error}");
    }

    #[test]
    fn fencing_tokens_longer_than_36_bytes_are_refused() {
        assert!(fence_record(context(), "token-1").is_ok());
        let error = fence_record(context(), &"x".repeat(37)).expect_err("too long");
        assert!(error.to_string().contains("fencing_token"), "{error}");
    }

    #[test]
    fn metered_size_counts_headers() {
        assert_eq!(metered_bytes(10, [(3, 4)]), 8 + 10 + 2 + 3 + 4);
    }
}
