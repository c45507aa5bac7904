//! The idempotent producer: exactly-once, batched, pipelined appends (protocol section 5.2.1).
//!
//! Appends copy the message into a bounded buffer and return. A background task cuts batches
//! (by bytes, count and linger), sends up to `max_in_flight` of them at once under
//! `(producer id, epoch, sequence)`, resends failed ones with the same numbers until they are
//! acknowledged, and settles acknowledgements in sequence order.

mod buffer;
mod delivery;
mod options;
mod sender;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot, watch};

pub use options::{
    ErrorCallback, MAX_CONTENT_TYPE_LEN, MAX_PRODUCER_ID_LEN, MAX_PROTOCOL_INTEGER, ProducerOptions,
};

use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;
use crate::stream::Stream;
use buffer::{Buffer, Limits, Pushed, Wake};

/// An error from the producer's background work, with what it affected.
#[derive(Debug, Clone)]
pub struct ProducerError {
    /// What went wrong.
    pub error: Error,
    /// The epoch the affected batches were sent under.
    pub epoch: u64,
    /// The first and last sequence numbers of the affected batches that were sent, if any were.
    pub seq_range: Option<(u64, u64)>,
    /// How many appended messages were not written because of it.
    pub message_count: u64,
}

impl std::fmt::Display for ProducerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} messages lost", self.error, self.message_count)?;
        if let Some((first, last)) = self.seq_range {
            write!(f, ", epoch {} seq {first}..={last}", self.epoch)?;
        }
        f.write_str(")")
    }
}

/// What [`Producer::try_append_status`] did with a message the producer accepts at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAppendStatus {
    /// The message was copied into the buffer.
    Appended,
    /// The buffer limits are reached: nothing was copied. Retry later, or use
    /// [`Producer::append`], which waits for room.
    Full,
}

/// Settlement progress, watched by `flush`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress {
    /// Messages acknowledged or failed, in append order.
    pub(crate) settled: u64,
    /// The offset after the last acknowledged batch.
    pub(crate) last_offset: Option<Offset>,
    /// Failures so far, and the last one.
    pub(crate) failures: u64,
    pub(crate) last_failure: Option<Error>,
    /// The background task has ended.
    pub(crate) stopped: bool,
}

/// State shared by the handle and the background task.
pub(crate) struct Shared {
    pub(crate) buffer: Mutex<Buffer>,
    /// Wakes the sender: a batch started or was sealed, or a flush was requested.
    pub(crate) work: Notify,
    /// Wakes appenders waiting for room.
    pub(crate) space: Notify,
    pub(crate) progress: watch::Sender<Progress>,
    pub(crate) epoch: AtomicU64,
    pub(crate) next_seq: AtomicU64,
    pub(crate) in_flight: AtomicUsize,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Buffer> {
        // Nothing panics while holding the lock; recover the data if something ever does.
        self.buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Requests from the handle to the background task.
pub(crate) enum Command {
    Restart(oneshot::Sender<Result<u64>>),
    Close(Option<Bytes>, oneshot::Sender<Result<Option<Offset>>>),
    Detach(oneshot::Sender<Result<()>>),
}

/// An idempotent producer for one stream. Create it with [`Stream::producer`].
///
/// Appends are fire-and-forget: they return once the message is in the buffer, and errors of
/// the background work arrive through [`ProducerOptions::on_error`] and the next
/// [`Producer::flush`]. Dropping the producer stops its background task at once; call
/// [`Producer::flush`], [`Producer::close`] or [`Producer::detach`] first to deliver what is
/// buffered.
///
/// Exactly once holds as long as the server keeps the producer's state. A server that loses it
/// (restarted without it, or expired it) answers the next batch with "expected sequence 0":
/// the producer then reports that condition once and, with [`ProducerOptions::auto_claim`],
/// moves to a new epoch and resends what is unacknowledged, or else stops, keeping those
/// messages for [`Producer::restart`]. Either way, the batches in flight when the server lost
/// its state may be stored twice.
pub struct Producer {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
    producer_id: String,
    stream: Stream,
    /// Serialises `close`, `detach` and `restart`; holds the result of the first close.
    lifecycle: tokio::sync::Mutex<Option<Result<Option<Offset>>>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("url", &self.stream.redacted_url())
            .field("producer_id", &self.producer_id)
            .field("epoch", &self.epoch())
            .field("next_seq", &self.next_seq())
            .finish()
    }
}

impl Stream {
    /// Starts an idempotent producer writing to this stream as `producer_id`.
    ///
    /// `producer_id` must be 1 to 1024 bytes without control characters (CR, LF, NUL, tab, ...)
    /// or leading or trailing spaces: it travels in a header of every request, and is checked
    /// here rather than by the first request.
    ///
    /// Must be called within a Tokio runtime (the background task is spawned on it). Fails with
    /// [`ErrorKind::InvalidArgument`] naming the parameter (`producer_id`, or the option) when
    /// one is invalid.
    pub fn producer(
        &self,
        producer_id: impl Into<String>,
        options: ProducerOptions,
    ) -> Result<Producer> {
        let producer_id = producer_id.into();
        options::validate_producer_id(&producer_id).map_err(|e| e.with_url(self.url()))?;
        options.validate().map_err(|e| e.with_url(self.url()))?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                "a producer must be created inside a Tokio runtime",
            )
            .with_url(self.url())
        })?;
        let limits = Limits {
            max_batch_bytes: options.max_batch_bytes,
            max_batch_items: options.max_batch_items,
            max_buffered_messages: options.max_buffered_messages,
            max_buffered_bytes: options.max_buffered_bytes,
            linger: options.linger,
            spare_buffers: spare_buffers(&options),
        };
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Buffer::new(limits)),
            work: Notify::new(),
            space: Notify::new(),
            progress: watch::Sender::new(Progress::default()),
            epoch: AtomicU64::new(options.epoch),
            next_seq: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        });
        let (commands, command_rx) = mpsc::unbounded_channel();
        let task = runtime.spawn(sender::run(
            shared.clone(),
            command_rx,
            self.clone(),
            producer_id.clone(),
            options,
        ));
        Ok(Producer {
            shared,
            commands,
            task,
            producer_id,
            stream: self.clone(),
            lifecycle: tokio::sync::Mutex::new(None),
        })
    }
}

impl Producer {
    /// Copies `data` into the buffer as one message, without waiting.
    ///
    /// Fails with [`ErrorKind::BufferFull`] when the buffer limits are reached (retry later or use
    /// [`Producer::append`]), [`ErrorKind::ProducerClosed`] after close or detach, and with the
    /// background failure (for example [`ErrorKind::StaleEpoch`], or the
    /// [`ErrorKind::ProducerStateLost`]) after one,
    /// until [`Producer::restart`]. Callers that retry a full buffer in a loop should prefer
    /// [`Producer::try_append_status`], which reports it without building an error.
    pub fn try_append(&self, data: &[u8]) -> Result<()> {
        match self.try_append_status(data)? {
            TryAppendStatus::Appended => Ok(()),
            TryAppendStatus::Full => Err(Error::new(
                ErrorKind::BufferFull,
                "the producer buffer is full (max_buffered_messages or max_buffered_bytes reached)",
            )),
        }
    }

    /// Like [`Producer::try_append`], but a full buffer is the status
    /// [`TryAppendStatus::Full`] instead of an error: the cheap path for polling loops (no
    /// allocation, and the background task is not woken again for a batch it already has).
    ///
    /// Errors are those of `try_append` other than [`ErrorKind::BufferFull`].
    pub fn try_append_status(&self, data: &[u8]) -> Result<TryAppendStatus> {
        let pushed = self.shared.lock().try_push(data)?;
        let (status, wake) = match pushed {
            Pushed::Accepted(wake) => (TryAppendStatus::Appended, wake),
            Pushed::Full(wake) => (TryAppendStatus::Full, wake),
        };
        // Only a batch that started or was sealed is news to the sender (a full buffer seals
        // its open batch on the first refused attempt, and only then).
        if wake == Wake::Yes {
            self.shared.work.notify_one();
        }
        Ok(status)
    }

    /// Copies `data` into the buffer as one message, waiting for room if the buffer is full.
    pub async fn append(&self, data: &[u8]) -> Result<()> {
        // The common case has room: skip registering a waiter.
        if self.try_append_status(data)? == TryAppendStatus::Appended {
            return Ok(());
        }
        loop {
            let room = self.shared.space.notified();
            tokio::pin!(room);
            // Register before trying, so a release between the try and the wait is not missed.
            room.as_mut().enable();
            match self.try_append_status(data)? {
                TryAppendStatus::Appended => return Ok(()),
                TryAppendStatus::Full => room.await,
            }
        }
    }

    /// Serialises `value` as one JSON message and appends it without waiting.
    pub fn try_append_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.try_append(&to_json(value)?)
    }

    /// Serialises `value` as one JSON message and appends it, waiting for room.
    pub async fn append_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.append(&to_json(value)?).await
    }

    /// Waits until every message appended before this call is acknowledged (no polling), and
    /// returns the offset after the last acknowledged batch.
    ///
    /// Fails with the background error if any batch failed meanwhile, or if the producer is in
    /// a failed state (a failure since the last `restart`, even one before this call).
    pub async fn flush(&self) -> Result<Option<Offset>> {
        let failures_before = self.shared.progress.borrow().failures;
        let target = {
            let mut buffer = self.shared.lock();
            // Messages appended before this call already failed: nothing to wait for.
            if let Some(failure) = buffer.failure() {
                return Err(failure);
            }
            buffer.request_flush()
        };
        self.shared.work.notify_one();
        let mut progress = self.shared.progress.subscribe();
        let (settled, failure, last_offset) = {
            // A failure ends the wait even when it settles nothing: a producer that stopped
            // after the server lost its state keeps its messages for `restart`.
            let done = progress
                .wait_for(|p| p.settled >= target || p.stopped || p.failures > failures_before)
                .await
                .map_err(|_| self.stopped_error())?;
            let failure = (done.failures > failures_before)
                .then(|| done.last_failure.clone())
                .flatten();
            (done.settled, failure, done.last_offset.clone())
        };
        if let Some(failure) = failure.or_else(|| self.shared.lock().failure()) {
            return Err(failure);
        }
        if settled < target {
            return Err(self.stopped_error());
        }
        Ok(last_offset)
    }

    fn stopped_error(&self) -> Error {
        Error::new(
            ErrorKind::ProducerClosed,
            "the producer stopped before delivering every message",
        )
        .with_url(self.stream.url())
    }

    /// Delivers everything buffered, then closes the stream, with `final_message` (if any)
    /// appended atomically with the close. Returns the stream's final offset.
    ///
    /// Idempotent: later calls return the first call's result. No appends are accepted once
    /// `close` has been called.
    pub async fn close(&self, final_message: Option<&[u8]>) -> Result<Option<Offset>> {
        let mut lifecycle = self.lifecycle.lock().await;
        if let Some(result) = lifecycle.as_ref() {
            return result.clone();
        }
        let (reply, response) = oneshot::channel();
        let final_message = final_message.map(Bytes::copy_from_slice);
        let result = match self.commands.send(Command::Close(final_message, reply)) {
            Ok(()) => response.await.unwrap_or_else(|_| Err(self.stopped_error())),
            Err(_) => Err(self.stopped_error()),
        };
        *lifecycle = Some(result.clone());
        result
    }

    /// Delivers everything buffered, then stops without closing the stream (another producer
    /// instance may continue it). No appends are accepted afterwards.
    pub async fn detach(&self) -> Result<()> {
        let _lifecycle = self.lifecycle.lock().await;
        let (reply, response) = oneshot::channel();
        match self.commands.send(Command::Detach(reply)) {
            Ok(()) => response.await.unwrap_or_else(|_| Err(self.stopped_error())),
            Err(_) => Err(self.stopped_error()),
        }
    }

    /// Delivers what is buffered, then moves to the next epoch with sequence 0 (what a new
    /// instance of the same producer does). Also clears a background failure so the producer
    /// accepts messages again. Returns the new epoch.
    ///
    /// After the server lost this producer's state (without `auto_claim`), the messages kept
    /// since are sent under the new epoch, in order; those that were in flight when the server
    /// lost its state may be stored twice. After any other failure they were dropped and
    /// reported.
    ///
    /// After being fenced (a stale epoch), the new epoch is above the one that fenced it. A
    /// restart assumes no other live instance writes with this producer id: an epoch someone else
    /// already uses would make the server take this producer's batches for duplicates.
    pub async fn restart(&self) -> Result<u64> {
        let _lifecycle = self.lifecycle.lock().await;
        // A failure is expected here (it is often why we restart); the epoch change clears it.
        let _ = self.flush().await;
        let (reply, response) = oneshot::channel();
        match self.commands.send(Command::Restart(reply)) {
            Ok(()) => response.await.unwrap_or_else(|_| Err(self.stopped_error())),
            Err(_) => Err(self.stopped_error()),
        }
    }

    /// The producer id.
    pub fn producer_id(&self) -> &str {
        &self.producer_id
    }

    /// The stream written to.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.shared.epoch.load(Ordering::Acquire)
    }

    /// The sequence number the next batch will be sent with.
    pub fn next_seq(&self) -> u64 {
        self.shared.next_seq.load(Ordering::Acquire)
    }

    /// Messages appended but not yet handed to a request.
    pub fn pending_count(&self) -> u64 {
        self.shared.lock().unsent()
    }

    /// Batches sent and not yet settled.
    pub fn in_flight_count(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Messages and payload bytes held (appended and not yet acknowledged).
    pub fn buffered(&self) -> (usize, usize) {
        self.shared.lock().buffered()
    }

    /// Messages appended since the producer started.
    pub fn appended_count(&self) -> u64 {
        self.shared.lock().appended()
    }

    /// The offset after the last acknowledged batch.
    pub fn last_acked_offset(&self) -> Option<Offset> {
        self.shared.progress.borrow().last_offset.clone()
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How many emptied batch buffers a producer keeps: enough for the acknowledgements of a full
/// window arriving together, and never more than the buffer limit could hold in batches.
fn spare_buffers(options: &ProducerOptions) -> usize {
    let batches = options.max_buffered_bytes / options.max_batch_bytes.max(1);
    (options.max_in_flight + 1)
        .min(SPARE_BUFFERS_MAX)
        .min(batches.max(1))
}

/// Bounds the memory an idle producer keeps (with the default 1 MiB batches, 8 MiB).
const SPARE_BUFFERS_MAX: usize = 8;

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Error::invalid_argument("value", format!("cannot be serialized as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Waker};
    use std::time::Duration;

    use super::*;

    /// Whether the sender has a wake-up waiting for it (consumes it).
    fn take_wake(producer: &Producer) -> bool {
        let mut notified = pin!(producer.shared.work.notified());
        notified
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready()
    }

    #[test]
    fn a_full_buffer_wakes_the_sender_once_not_on_every_attempt() {
        // Never driven: the sender task does not run, so its wake-ups stay observable.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let stream = crate::Client::new()
            .unwrap()
            .stream("http://127.0.0.1:9/never")
            .unwrap();
        let options = ProducerOptions {
            max_buffered_messages: 2,
            linger: Duration::from_secs(3600),
            ..ProducerOptions::default()
        };
        let producer = stream.producer("p", options).unwrap();
        use TryAppendStatus::{Appended, Full};
        assert_eq!(producer.try_append_status(b"a").unwrap(), Appended);
        assert!(take_wake(&producer), "a new batch wakes the sender");
        assert_eq!(producer.try_append_status(b"b").unwrap(), Appended);
        assert!(!take_wake(&producer), "joining the open batch does not");
        assert_eq!(producer.try_append_status(b"c").unwrap(), Full);
        assert!(
            take_wake(&producer),
            "the full buffer sealed the open batch"
        );
        for _ in 0..3 {
            assert_eq!(producer.try_append_status(b"c").unwrap(), Full);
            assert!(!take_wake(&producer), "nothing new for the sender");
        }
        let full = producer.try_append(b"c").unwrap_err();
        assert_eq!(full.kind(), ErrorKind::BufferFull);
        assert!(!take_wake(&producer));
        assert_eq!(producer.buffered(), (2, 2));
    }
}
