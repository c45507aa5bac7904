//! Delivering one batch: the request with producer headers, retried with the same epoch and
//! sequence after transient failures until it is acknowledged or the delivery deadline passes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use tokio::time::Instant;

use crate::decorate::Operation;
use crate::error::{Error, ErrorKind};
use crate::events::{EventHub, EventKind};
use crate::offset::Offset;
use crate::protocol::{PRODUCER_EPOCH, PRODUCER_ID, PRODUCER_SEQ, STREAM_CLOSED};
use crate::stream::Stream;
use crate::transport::{ErrorContext, Request, error_fields};

/// What every delivery of one producer shares.
pub(crate) struct DeliveryContext {
    pub(crate) stream: Stream,
    pub(crate) producer_id: String,
    pub(crate) content_type: Option<Arc<str>>,
    pub(crate) delivery_timeout: Duration,
}

/// A batch ready to go on the wire, independent of the epoch and sequence it is sent under.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) body: Bytes,
    /// Messages it settles in the buffer's accounting (the final message of a close counts 0).
    pub(crate) messages: u64,
    /// Payload bytes it holds in the buffer's budget.
    pub(crate) payload_bytes: usize,
    /// Whether this request closes the stream.
    pub(crate) close: bool,
}

/// How a delivery ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Stored (or already stored: a duplicate acknowledgement is success).
    Acked { offset: Option<Offset> },
    /// The server expects an earlier sequence number first.
    Gap(Error),
    /// Another producer holds a newer epoch.
    StaleEpoch(Error),
    /// Will not succeed by repeating.
    Failed(Error),
}

/// Sends `batch` as `(epoch, seq)` until an outcome other than a transient failure, or until
/// the delivery deadline.
pub(crate) async fn deliver(
    context: Arc<DeliveryContext>,
    batch: Arc<Outgoing>,
    epoch: u64,
    seq: u64,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + context.delivery_timeout;
    let client = context.stream.client.clone();
    let policy = client.retry_policy().clone();
    let mut attempt: u32 = 0;
    loop {
        match send_once(&context, &batch, epoch, seq).await {
            Ok((offset, duplicate)) => {
                context.report_sent(
                    &batch,
                    epoch,
                    seq,
                    attempt.saturating_add(1),
                    started,
                    duplicate,
                );
                return Outcome::Acked { offset };
            }
            Err(error) => match error.kind() {
                ErrorKind::StaleEpoch => return Outcome::StaleEpoch(error),
                ErrorKind::SequenceGap => return Outcome::Gap(error),
                kind if kind.is_transient() => {
                    let hint = error.detail().retry_after_ms.map(Duration::from_millis);
                    let delay = policy.delay(attempt, hint);
                    attempt = attempt.saturating_add(1);
                    if Instant::now() + delay >= deadline {
                        let message = format!(
                            "batch (epoch {epoch}, seq {seq}) not acknowledged within the delivery timeout of {:?} after {attempt} attempts; last error: {}",
                            context.delivery_timeout,
                            error.message()
                        );
                        let mut given_up = Error::new(error.kind(), message)
                            .with_url(context.stream.url())
                            .with_detail(*error.detail());
                        if let Some(status) = error.status() {
                            given_up = given_up.with_status(status);
                        }
                        return Outcome::Failed(given_up.with_source(error));
                    }
                    context.report_retry(epoch, seq, attempt, delay, &error);
                    tokio::time::sleep(delay).await;
                }
                _ => return Outcome::Failed(error),
            },
        }
    }
}

impl DeliveryContext {
    fn events(&self) -> &EventHub {
        &self.stream.client.inner.events
    }

    fn report_sent(
        &self,
        batch: &Outgoing,
        epoch: u64,
        seq: u64,
        attempts: u32,
        started: Instant,
        duplicate: bool,
    ) {
        self.events()
            .emit(EventKind::BatchSent, self.stream.url(), || {
                let elapsed = started.elapsed();
                let message = format!(
                    "batch (epoch {epoch}, seq {seq}) of {} messages, {} bytes acknowledged{} after {attempts} attempt(s) in {:.3} ms",
                    batch.messages,
                    batch.body.len(),
                    if duplicate { " as a duplicate" } else { "" },
                    elapsed.as_secs_f64() * 1e3
                );
                let fields = vec![
                    ("producer_id", self.producer_id.clone()),
                    ("epoch", epoch.to_string()),
                    ("seq", seq.to_string()),
                    ("messages", batch.messages.to_string()),
                    ("bytes", batch.body.len().to_string()),
                    ("attempts", attempts.to_string()),
                    ("duration_ms", format!("{:.3}", elapsed.as_secs_f64() * 1e3)),
                    ("duplicate", duplicate.to_string()),
                ];
                (message, fields)
            });
    }

    fn report_retry(&self, epoch: u64, seq: u64, attempt: u32, backoff: Duration, error: &Error) {
        self.events()
            .emit(EventKind::BatchRetry, self.stream.url(), || {
                let message = format!(
                    "batch (epoch {epoch}, seq {seq}) failed ({}); resending in {} ms",
                    error.kind(),
                    backoff.as_millis()
                );
                let mut fields = vec![
                    ("producer_id", self.producer_id.clone()),
                    ("epoch", epoch.to_string()),
                    ("seq", seq.to_string()),
                    ("attempt", attempt.to_string()),
                    ("backoff_ms", backoff.as_millis().to_string()),
                    ("reason", "transient".to_owned()),
                ];
                error_fields(error, &mut fields);
                (message, fields)
            });
    }
}

/// One attempt; on success the offset and whether the server reported a duplicate (204).
async fn send_once(
    context: &DeliveryContext,
    batch: &Outgoing,
    epoch: u64,
    seq: u64,
) -> Result<(Option<Offset>, bool), Error> {
    let stream = &context.stream;
    let client = &stream.client;
    let mut request = Request::new(
        Operation::ProducerBatch,
        Method::POST,
        &stream.shared.url,
        client.inner.config.request_timeout,
    );
    if !batch.body.is_empty() {
        if let Some(content_type) = &context.content_type {
            request.header("content-type", content_type)?;
        }
    }
    request.header(PRODUCER_ID, &context.producer_id)?;
    request.header(PRODUCER_EPOCH, &epoch.to_string())?;
    request.header(PRODUCER_SEQ, &seq.to_string())?;
    if batch.close {
        request.header(STREAM_CLOSED, "true")?;
    }
    request.body = Some(batch.body.clone());
    // Decorated per attempt: a retry sequence can outlive a short-lived token.
    let decorations = client
        .decorations(request.operation, &request.method, request.url)
        .await?;
    let reply = client
        .execute(&request, decorations.as_ref(), ErrorContext::default())
        .await?;
    let headers = reply.headers();
    let offset = headers
        .next_offset()
        .map_err(|e| e.with_url(stream.url()))?;
    Ok((offset, reply.status == StatusCode::NO_CONTENT))
}
