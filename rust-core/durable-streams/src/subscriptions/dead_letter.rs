//! Dead letters: a message that keeps failing is moved to a dead-letter stream with where it
//! came from, so that one poisoned message cannot stall its subscription.

use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};

use super::batch::StreamBatch;
use super::worker::HandlerError;
use crate::error::{Error, Result};
use crate::stream::Stream;

/// Per-message handling with retries and a dead-letter stream, for [`crate::PullWorker::run`]:
///
/// ```no_run
/// # async fn demo(worker: durable_streams_core::PullWorker, dead: durable_streams_core::Stream) -> durable_streams_core::Result<()> {
/// use durable_streams_core::{DeadLetters, HandlerError, StreamBatch};
/// let dead_letters = DeadLetters::new(dead).max_attempts(3)?;
/// worker
///     .run(|batch: StreamBatch| {
///         let dead_letters = dead_letters.clone();
///         async move {
///             dead_letters
///                 .handle(&batch, |message| async move {
///                     println!("{}", String::from_utf8_lossy(&message));
///                     Ok::<(), HandlerError>(())
///                 })
///                 .await
///         }
///     })
///     .await
/// # }
/// ```
///
/// Each message of the batch is given to the handler in order, up to `max_attempts` times in a
/// row; one that still fails is appended to the dead-letter stream (a JSON stream) as
/// `{"source_stream", "source_offset", "index", "attempts", "error", "message"}` (`message` is
/// the JSON message itself on a JSON stream; `message_base64` holds the bytes otherwise), and
/// handling goes on with the next. The batch succeeds once each message was handled or
/// dead-lettered; when the dead-letter append fails the batch fails, so it is delivered again
/// and nothing is lost. A crash between a dead-letter append and the ack can write the same dead
/// letter twice: `source_stream`, `source_offset` (the offset after the batch) and `index` (the
/// message's position in it) identify it.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    stream: Stream,
    max_attempts: u32,
    retry_delay: Duration,
}

impl DeadLetters {
    /// Dead letters go to `stream`; 3 attempts per message, 100 ms apart, by default.
    pub fn new(stream: Stream) -> DeadLetters {
        DeadLetters {
            stream,
            max_attempts: 3,
            retry_delay: Duration::from_millis(100),
        }
    }

    /// How many times a message is tried before it is dead-lettered (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Result<DeadLetters> {
        if attempts == 0 {
            return Err(Error::invalid_argument(
                "max_attempts",
                "must be at least 1",
            ));
        }
        self.max_attempts = attempts;
        Ok(self)
    }

    /// The pause between two attempts at one message.
    pub fn retry_delay(mut self, delay: Duration) -> DeadLetters {
        self.retry_delay = delay;
        self
    }

    /// Handles every message of `batch` with `handler` (see the type's documentation).
    pub async fn handle<F, Fut, E>(
        &self,
        batch: &StreamBatch,
        handler: F,
    ) -> std::result::Result<(), HandlerError>
    where
        F: Fn(Bytes) -> Fut,
        Fut: Future<Output = std::result::Result<(), E>>,
        E: Into<HandlerError>,
    {
        let whole = [batch.data().clone()];
        let messages = batch.messages().unwrap_or(&whole);
        for (index, message) in messages.iter().enumerate() {
            let mut attempt = 1;
            loop {
                match handler(message.clone()).await {
                    Ok(()) => break,
                    Err(error) if attempt >= self.max_attempts => {
                        let letter = dead_letter(batch, index, attempt, &error.into(), message);
                        self.stream.append_json(&letter).await?;
                        break;
                    }
                    Err(_) => {
                        attempt += 1;
                        tokio::time::sleep(self.retry_delay).await;
                    }
                }
            }
        }
        Ok(())
    }
}

fn dead_letter(
    batch: &StreamBatch,
    index: usize,
    attempts: u32,
    error: &HandlerError,
    message: &Bytes,
) -> Value {
    let mut letter = json!({
        "source_stream": batch.stream(),
        "source_offset": batch.offset().as_str(),
        "index": index,
        "attempts": attempts,
        "error": error.to_string(),
    });
    let json = batch
        .messages()
        .and_then(|_| serde_json::from_slice::<Value>(message).ok());
    match json {
        Some(value) => letter["message"] = value,
        None => letter["message_base64"] = Value::String(STANDARD.encode(message)),
    }
    letter
}
