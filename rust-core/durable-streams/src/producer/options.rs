//! Producer configuration and its validation.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

use super::ProducerError;

/// The largest epoch or sequence number the protocol allows (2^53 - 1, for JavaScript peers).
pub const MAX_PROTOCOL_INTEGER: u64 = (1 << 53) - 1;

/// The longest producer id accepted, in bytes. Every request carries it in a header, and servers
/// reset connections whose headers are too large; 1 KiB is far more than any id needs.
pub const MAX_PRODUCER_ID_LEN: usize = 1024;

/// The longest content type accepted, in bytes.
pub const MAX_CONTENT_TYPE_LEN: usize = 1024;

/// A callback receiving errors that happen in the producer's background task.
pub type ErrorCallback = Arc<dyn Fn(&ProducerError) + Send + Sync>;

/// How an idempotent producer batches, pipelines, buffers and retries.
#[derive(Clone)]
pub struct ProducerOptions {
    /// The epoch to start at. Bump it (or call `restart`) when a new instance takes over.
    pub epoch: u64,
    /// On a stale epoch (403), take the server's epoch + 1 and resend, instead of failing.
    /// Use only when no two live instances share the producer id.
    ///
    /// Also decides what happens when the server lost this producer's state (it restarted
    /// without it, or let it expire, and answers a later batch with "expected sequence 0"): with
    /// `auto_claim` the producer moves to epoch + 1 and sends the unacknowledged batches again
    /// under it; the batches in flight when the server lost its state may then be stored twice
    /// (a server that forgot cannot recognise them; the protocol cannot prevent this). Without
    /// it the producer stops with one [`ErrorKind::SequenceGap`](crate::ErrorKind::SequenceGap)
    /// error saying so, keeps the unacknowledged messages, and refuses appends with that error
    /// until `restart`, which sends them under a new epoch (with the same possible duplicates).
    pub auto_claim: bool,
    /// A batch is sent once its payload reaches this size. A single larger message is sent
    /// alone.
    pub max_batch_bytes: usize,
    /// A batch is sent once it holds this many messages.
    pub max_batch_items: usize,
    /// How long the first message of a batch may wait for company before the batch is sent.
    pub linger: Duration,
    /// Batches sent concurrently. Order is preserved whatever the value. Default 1: concurrent
    /// requests of one producer reach the server out of order often enough that most later
    /// batches are refused (409) and uploaded again (measured: ~95 of ~97 batches at 5, with
    /// lower throughput than 1); raise it for high-latency links, and watch the `batch_retry`
    /// events with `reason` = `overtaken`.
    pub max_in_flight: usize,
    /// Messages appended but not yet acknowledged, at most.
    pub max_buffered_messages: usize,
    /// Payload bytes appended but not yet acknowledged, at most.
    pub max_buffered_bytes: usize,
    /// How long a batch is retried after transient failures before the producer gives up.
    pub delivery_timeout: Duration,
    /// The stream's content type; learned from the stream (one `HEAD`) when unset. At most
    /// 1024 bytes, without control characters (CR, LF, ...) or leading or trailing spaces.
    pub content_type: Option<String>,
    /// Receives every error of the background task (with the affected sequence range).
    pub on_error: Option<ErrorCallback>,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            epoch: 0,
            auto_claim: false,
            max_batch_bytes: 1024 * 1024,
            max_batch_items: usize::MAX,
            linger: Duration::from_millis(5),
            max_in_flight: 1,
            max_buffered_messages: 1_000_000,
            max_buffered_bytes: 64 * 1024 * 1024,
            delivery_timeout: Duration::from_secs(120),
            content_type: None,
            on_error: None,
        }
    }
}

impl std::fmt::Debug for ProducerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerOptions")
            .field("epoch", &self.epoch)
            .field("auto_claim", &self.auto_claim)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("max_batch_items", &self.max_batch_items)
            .field("linger", &self.linger)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_buffered_messages", &self.max_buffered_messages)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("delivery_timeout", &self.delivery_timeout)
            .field("content_type", &self.content_type)
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

impl ProducerOptions {
    /// Checks every field, naming the first invalid one.
    pub fn validate(&self) -> Result<()> {
        if self.epoch > MAX_PROTOCOL_INTEGER {
            return Err(Error::invalid_argument(
                "epoch",
                format!("must be at most 2^53-1, got {}", self.epoch),
            ));
        }
        for (name, value) in [
            ("max_batch_bytes", self.max_batch_bytes),
            ("max_batch_items", self.max_batch_items),
            ("max_in_flight", self.max_in_flight),
            ("max_buffered_messages", self.max_buffered_messages),
            ("max_buffered_bytes", self.max_buffered_bytes),
        ] {
            if value == 0 {
                return Err(Error::invalid_argument(name, "must be at least 1"));
            }
        }
        if self.delivery_timeout.is_zero() {
            return Err(Error::invalid_argument(
                "delivery_timeout",
                "must be greater than zero",
            ));
        }
        if let Some(content_type) = &self.content_type {
            if content_type.trim().is_empty() {
                return Err(Error::invalid_argument("content_type", "cannot be empty"));
            }
            check_header_text("content_type", content_type, MAX_CONTENT_TYPE_LEN)?;
        }
        Ok(())
    }
}

/// Checks a producer id: non-empty, at most [`MAX_PRODUCER_ID_LEN`] bytes, and sent unchanged
/// as an HTTP header value.
pub(crate) fn validate_producer_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid_argument("producer_id", "cannot be empty"));
    }
    check_header_text("producer_id", id, MAX_PRODUCER_ID_LEN)
}

/// Checks text sent as a header value: found at creation rather than by the first request.
/// Control characters (CR, LF, NUL, tab, ...) and DEL cannot be sent; a leading or trailing
/// space would be stripped by servers (two ids would become one). Non-ASCII UTF-8 is sent as
/// its bytes, which servers keep apart.
fn check_header_text(parameter: &str, value: &str, max_len: usize) -> Result<()> {
    if value.len() > max_len {
        return Err(Error::invalid_argument(
            parameter,
            format!(
                "is {} bytes long; at most {max_len} are allowed",
                value.len()
            ),
        ));
    }
    if let Some((at, byte)) = value
        .bytes()
        .enumerate()
        .find(|(_, b)| b.is_ascii_control())
    {
        let what = match byte {
            b'\r' => "a carriage return (CR)".to_owned(),
            b'\n' => "a line feed (LF)".to_owned(),
            0 => "a NUL byte".to_owned(),
            b => format!("the control character 0x{b:02x}"),
        };
        return Err(Error::invalid_argument(
            parameter,
            format!("contains {what} at byte {at}, which an HTTP header value cannot carry"),
        ));
    }
    if value.starts_with(' ') || value.ends_with(' ') {
        return Err(Error::invalid_argument(
            parameter,
            "starts or ends with a space, which servers strip",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ProducerOptions::default().validate().unwrap();
    }

    #[test]
    fn zero_sizes_name_the_parameter() {
        type Mutation = fn(&mut ProducerOptions);
        let cases: [(&str, Mutation); 5] = [
            ("max_batch_bytes", |o| o.max_batch_bytes = 0),
            ("max_batch_items", |o| o.max_batch_items = 0),
            ("max_in_flight", |o| o.max_in_flight = 0),
            ("max_buffered_messages", |o| o.max_buffered_messages = 0),
            ("max_buffered_bytes", |o| o.max_buffered_bytes = 0),
        ];
        for (name, mutate) in cases {
            let mut options = ProducerOptions::default();
            mutate(&mut options);
            let err = options.validate().unwrap_err();
            assert!(err.message().starts_with(name), "{name}: {err}");
        }
    }

    #[test]
    fn epochs_beyond_the_protocol_limit_are_rejected() {
        let options = ProducerOptions {
            epoch: MAX_PROTOCOL_INTEGER + 1,
            ..ProducerOptions::default()
        };
        assert!(
            options
                .validate()
                .unwrap_err()
                .message()
                .starts_with("epoch")
        );
    }

    #[test]
    fn producer_ids_must_be_non_empty_header_values() {
        assert!(validate_producer_id("svc-1").is_ok());
        assert!(
            validate_producer_id("")
                .unwrap_err()
                .message()
                .starts_with("producer_id")
        );
        assert!(validate_producer_id("a\nb").is_err());
    }

    fn problem(result: Result<()>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument);
        error.message().to_owned()
    }

    #[test]
    fn producer_ids_longer_than_the_limit_are_rejected_without_echoing_them() {
        assert!(validate_producer_id(&"p".repeat(MAX_PRODUCER_ID_LEN)).is_ok());
        let long = "p".repeat(64 * 1024);
        let message = problem(validate_producer_id(&long));
        assert!(message.starts_with("producer_id"), "{message}");
        assert!(message.contains("65536 bytes"), "{message}");
        assert!(message.len() < 200, "the id is not repeated: {message}");
    }

    #[test]
    fn producer_ids_with_bytes_a_header_cannot_carry_are_rejected() {
        for (id, what) in [
            ("a\rb", "carriage return"),
            ("a\nb", "line feed"),
            ("a\0b", "NUL"),
            ("a\tb", "0x09"),
            ("a\u{7f}b", "0x7f"),
            (" padded", "space"),
            ("padded ", "space"),
        ] {
            let message = problem(validate_producer_id(id));
            assert!(message.starts_with("producer_id"), "{id:?}: {message}");
            assert!(message.contains(what), "{id:?}: {message}");
        }
        assert!(validate_producer_id("order-service-1/eu west:2").is_ok());
        assert!(
            validate_producer_id("caf\u{e9}-\u{1F600}").is_ok(),
            "UTF-8 is sent as is"
        );
    }

    #[test]
    fn content_types_with_cr_lf_or_too_long_are_rejected() {
        let with = |content_type: &str| ProducerOptions {
            content_type: Some(content_type.to_owned()),
            ..ProducerOptions::default()
        };
        assert!(with("application/json; charset=utf-8").validate().is_ok());
        for bad in [
            "text/plain\r\nX-Injected: 1",
            "text/plain\n",
            "text/plain\0",
        ] {
            let message = problem(with(bad).validate());
            assert!(message.starts_with("content_type"), "{bad:?}: {message}");
        }
        let long = format!("text/{}", "x".repeat(MAX_CONTENT_TYPE_LEN));
        assert!(problem(with(&long).validate()).starts_with("content_type"));
    }
}
