//! Protocol header names and the parsing of response headers.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;

pub(crate) const STREAM_NEXT_OFFSET: &str = "stream-next-offset";
pub(crate) const STREAM_CURSOR: &str = "stream-cursor";
pub(crate) const STREAM_UP_TO_DATE: &str = "stream-up-to-date";
pub(crate) const STREAM_CLOSED: &str = "stream-closed";
pub(crate) const STREAM_TTL: &str = "stream-ttl";
pub(crate) const STREAM_EXPIRES_AT: &str = "stream-expires-at";
pub(crate) const STREAM_SEQ: &str = "stream-seq";
pub(crate) const STREAM_FORKED_FROM: &str = "stream-forked-from";
pub(crate) const STREAM_FORK_OFFSET: &str = "stream-fork-offset";
pub(crate) const STREAM_FORK_SUB_OFFSET: &str = "stream-fork-sub-offset";
pub(crate) const STREAM_SSE_DATA_ENCODING: &str = "stream-sse-data-encoding";
pub(crate) const PRODUCER_ID: &str = "producer-id";
pub(crate) const PRODUCER_EPOCH: &str = "producer-epoch";
pub(crate) const PRODUCER_SEQ: &str = "producer-seq";
pub(crate) const PRODUCER_EXPECTED_SEQ: &str = "producer-expected-seq";
pub(crate) const PRODUCER_RECEIVED_SEQ: &str = "producer-received-seq";

/// Typed access to the protocol's response headers.
pub(crate) struct ResponseHeaders<'a>(pub(crate) &'a HeaderMap);

impl ResponseHeaders<'_> {
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    /// A protocol boolean: present only when its value is `true` (case-insensitive).
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.text(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub(crate) fn next_offset(&self) -> Result<Option<Offset>> {
        self.text(STREAM_NEXT_OFFSET)
            .map(Offset::from_server)
            .transpose()
    }

    pub(crate) fn require_next_offset(&self) -> Result<Offset> {
        self.next_offset()?.ok_or_else(|| {
            Error::new(
                ErrorKind::Parse,
                "the response has no Stream-Next-Offset header",
            )
        })
    }

    pub(crate) fn cursor(&self) -> Option<String> {
        self.text(STREAM_CURSOR)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    }

    pub(crate) fn up_to_date(&self) -> bool {
        self.flag(STREAM_UP_TO_DATE)
    }

    pub(crate) fn closed(&self) -> bool {
        self.flag(STREAM_CLOSED)
    }

    pub(crate) fn content_type(&self) -> Option<&str> {
        self.text("content-type").filter(|c| !c.is_empty())
    }

    pub(crate) fn ttl(&self) -> Result<Option<Duration>> {
        match self.text(STREAM_TTL) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Parse,
                        format!("the Stream-TTL header {v:?} is not a number of seconds"),
                    )
                }),
        }
    }

    pub(crate) fn expires_at(&self) -> Option<String> {
        self.text(STREAM_EXPIRES_AT)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// A header's text, when present and not empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<String> {
        self.text(name).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub(crate) fn number(&self, name: &str) -> Option<u64> {
        self.text(name).and_then(|v| v.parse().ok())
    }
}

/// Whether a content type denotes a JSON-mode stream (`application/json`, any parameters).
pub(crate) fn is_json_content_type(content_type: &str) -> bool {
    media_type(content_type).eq_ignore_ascii_case("application/json")
}

fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_detection_ignores_case_and_parameters() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(!is_json_content_type("application/ndjson"));
        assert!(!is_json_content_type("text/plain"));
    }

    #[test]
    fn flags_are_true_only_for_true() {
        let mut map = HeaderMap::new();
        map.insert(STREAM_CLOSED, "TRUE".parse().unwrap());
        map.insert(STREAM_UP_TO_DATE, "yes".parse().unwrap());
        let h = ResponseHeaders(&map);
        assert!(h.closed());
        assert!(!h.up_to_date());
    }
}
