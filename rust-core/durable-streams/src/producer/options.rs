//! Producer configuration and its validation.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

use super::ProducerError;

/// The largest epoch or sequence number the protocol allows (2^53 - 1, for JavaScript peers).
pub const MAX_PROTOCOL_INTEGER: u64 = (1 << 53) - 1;

/// A callback receiving errors that happen in the producer's background task.
pub type ErrorCallback = Arc<dyn Fn(&ProducerError) + Send + Sync>;

/// How an idempotent producer batches, pipelines, buffers and retries.
#[derive(Clone)]
pub struct ProducerOptions {
    /// The epoch to start at. Bump it (or call `restart`) when a new instance takes over.
    pub epoch: u64,
    /// On a stale epoch (403), take the server's epoch + 1 and resend, instead of failing.
    /// Use only when no two live instances share the producer id.
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
    /// The stream's content type; learned from the stream (one `HEAD`) when unset.
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
        }
        Ok(())
    }
}

/// Checks a producer id: non-empty and sendable as an HTTP header value.
pub(crate) fn validate_producer_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid_argument("producer_id", "cannot be empty"));
    }
    if reqwest::header::HeaderValue::from_str(id).is_err() {
        return Err(Error::invalid_argument(
            "producer_id",
            format!("{id:?} contains characters an HTTP header cannot carry"),
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
}
