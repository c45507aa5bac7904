//! The producer's append buffer: the open batch, sealed batches waiting to be sent, and the
//! memory budget. Appends copy into it under a short lock; the sender task takes batches out.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};

/// Messages of one batch, concatenated, with each message's length.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) data: Bytes,
    pub(crate) lengths: Vec<u32>,
}

impl Batch {
    pub(crate) fn message_count(&self) -> u64 {
        self.lengths.len() as u64
    }

    /// The request body of a JSON stream: one array of the messages, written into `out`.
    pub(crate) fn json_array(&self, mut out: BytesMut) -> Bytes {
        out.reserve(self.data.len() + self.lengths.len() + 2);
        out.extend_from_slice(b"[");
        let mut start = 0usize;
        for (index, length) in self.lengths.iter().enumerate() {
            if index > 0 {
                out.extend_from_slice(b",");
            }
            let end = start + *length as usize;
            out.extend_from_slice(&self.data[start..end]);
            start = end;
        }
        out.extend_from_slice(b"]");
        out.freeze()
    }
}

/// The batch being filled.
#[derive(Debug, Default)]
struct OpenBatch {
    data: BytesMut,
    lengths: Vec<u32>,
    /// When the first message arrived (for `linger`).
    started: Option<Instant>,
}

impl OpenBatch {
    fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    fn seal(&mut self) -> Batch {
        let open = std::mem::take(self);
        Batch {
            data: open.data.freeze(),
            lengths: open.lengths,
        }
    }
}

/// Why the buffer no longer accepts messages.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Closed, detached or dropped.
    Closed,
    /// Failed; `restart` reopens it.
    Failed(Error),
}

/// Batching limits, copied from the options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_batch_bytes: usize,
    pub(crate) max_batch_items: usize,
    pub(crate) max_buffered_messages: usize,
    pub(crate) max_buffered_bytes: usize,
    pub(crate) linger: Duration,
    /// How many emptied batch buffers to keep for reuse.
    pub(crate) spare_buffers: usize,
}

/// What an append asks of the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing: the sender already knows about the open batch.
    No,
    /// A batch started or was sealed.
    Yes,
}

/// The outcome of [`Buffer::try_push`] when the producer accepts messages at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Copied in.
    Accepted(Wake),
    /// Not copied: the limits are reached. A plain status rather than an [`Error`], because
    /// callers retry it in hot loops. `Wake::Yes` when this attempt sealed the open batch.
    Full(Wake),
}

/// Everything behind the producer's lock.
#[derive(Debug)]
pub(crate) struct Buffer {
    limits: Limits,
    open: OpenBatch,
    sealed: VecDeque<Batch>,
    /// Allocations of acknowledged batches, emptied, for the next batches: reusing them keeps
    /// the memory of a busy producer at what it holds, where a fresh buffer per batch left the
    /// allocator with tens of MiB of freed, fragmented batches.
    spare: Vec<BytesMut>,
    /// Messages accepted so far (the index the next message gets).
    appended: u64,
    /// Messages accepted but not handed to the sender yet.
    unsent: u64,
    /// Messages and payload bytes accepted and not yet settled (acknowledged or failed).
    buffered_messages: usize,
    buffered_bytes: usize,
    /// Messages with an index below this are to be sent without waiting for `linger`.
    urgent_below: u64,
    refusal: Option<Refusal>,
}

impl Buffer {
    pub(crate) fn new(limits: Limits) -> Buffer {
        Buffer {
            limits,
            open: OpenBatch::default(),
            sealed: VecDeque::new(),
            spare: Vec::new(),
            appended: 0,
            unsent: 0,
            buffered_messages: 0,
            buffered_bytes: 0,
            urgent_below: 0,
            refusal: None,
        }
    }

    /// Copies `message` in, reports a full buffer, or explains why the producer refuses it.
    /// Never waits.
    pub(crate) fn try_push(&mut self, message: &[u8]) -> Result<Pushed> {
        if let Some(refusal) = &self.refusal {
            return Err(match refusal {
                Refusal::Closed => Error::new(
                    ErrorKind::ProducerClosed,
                    "the producer is closed or detached and accepts no more messages",
                ),
                Refusal::Failed(error) => error.clone(),
            });
        }
        let size = message.len();
        let length = u32::try_from(size)
            .ok()
            .filter(|_| size <= self.limits.max_buffered_bytes);
        let Some(length) = length else {
            return Err(Error::invalid_argument(
                "data",
                format!(
                    "a message of {size} bytes can never fit in max_buffered_bytes ({})",
                    self.limits.max_buffered_bytes
                ),
            ));
        };
        if self.buffered_messages >= self.limits.max_buffered_messages
            || self.buffered_bytes + size > self.limits.max_buffered_bytes
        {
            // Room comes only from acknowledgements: send what is waiting for linger now.
            if self.open.is_empty() {
                return Ok(Pushed::Full(Wake::No));
            }
            self.sealed.push_back(self.open.seal());
            return Ok(Pushed::Full(Wake::Yes));
        }
        let mut wake = Wake::No;
        if !self.open.is_empty() && self.open.data.len() + size > self.limits.max_batch_bytes {
            self.sealed.push_back(self.open.seal());
            wake = Wake::Yes;
        }
        if self.open.is_empty() {
            self.open.started = Some(Instant::now());
            if self.open.data.capacity() == 0 {
                self.open.data = self.take_spare();
                self.open
                    .data
                    .reserve(self.limits.max_batch_bytes.min(64 * 1024).max(size));
            }
            wake = Wake::Yes;
        }
        self.open.data.extend_from_slice(message);
        self.open.lengths.push(length);
        self.appended += 1;
        self.unsent += 1;
        self.buffered_messages += 1;
        self.buffered_bytes += size;
        if self.open.lengths.len() >= self.limits.max_batch_items
            || self.open.data.len() >= self.limits.max_batch_bytes
        {
            self.sealed.push_back(self.open.seal());
            wake = Wake::Yes;
        }
        Ok(Pushed::Accepted(wake))
    }

    /// The next batch ready to send: a sealed one, or the open one once its linger has passed,
    /// it holds flushed messages, or `force` is set.
    pub(crate) fn take_ready(&mut self, now: Instant, force: bool) -> Option<Batch> {
        let batch = match self.sealed.pop_front() {
            Some(batch) => batch,
            None if self.open_is_due(now, force) => self.open.seal(),
            None => return None,
        };
        self.unsent -= batch.message_count();
        Some(batch)
    }

    fn open_is_due(&self, now: Instant, force: bool) -> bool {
        if self.open.is_empty() {
            return false;
        }
        let first_index = self.appended - self.open.lengths.len() as u64;
        force
            || first_index < self.urgent_below
            || self
                .open
                .started
                .is_none_or(|started| now >= started + self.limits.linger)
    }

    /// When the open batch's linger ends, if it is waiting for one.
    pub(crate) fn linger_deadline(&self) -> Option<Instant> {
        if self.open.is_empty() || !self.sealed.is_empty() {
            return None;
        }
        self.open
            .started
            .map(|started| started + self.limits.linger)
    }

    /// An empty buffer for a batch or request body: a recycled one when there is one.
    pub(crate) fn take_spare(&mut self) -> BytesMut {
        self.spare.pop().unwrap_or_default()
    }

    /// Keeps the allocation behind `data` for later batches, if nothing else holds it.
    pub(crate) fn recycle(&mut self, data: Bytes) {
        if self.spare.len() >= self.limits.spare_buffers {
            return;
        }
        // Still shared (a reader of the request body lingers): let it go; never reuse memory
        // someone can still see.
        let Ok(mut buffer) = data.try_into_mut() else {
            return;
        };
        // A message larger than a batch travels alone: do not keep its size around.
        if buffer.capacity() > self.limits.max_batch_bytes.saturating_mul(2) {
            return;
        }
        buffer.clear();
        self.spare.push(buffer);
    }

    /// Marks everything appended so far as urgent; returns the count to wait for.
    pub(crate) fn request_flush(&mut self) -> u64 {
        self.urgent_below = self.appended;
        self.appended
    }

    /// Whether no message is waiting to be handed to the sender.
    pub(crate) fn is_drained(&self) -> bool {
        self.unsent == 0
    }

    /// Returns budget for settled messages.
    pub(crate) fn release(&mut self, messages: u64, bytes: usize) {
        let messages = usize::try_from(messages).unwrap_or(usize::MAX);
        self.buffered_messages = self.buffered_messages.saturating_sub(messages);
        self.buffered_bytes = self.buffered_bytes.saturating_sub(bytes);
    }

    /// Removes every unsent message (after a failure); returns the batches.
    pub(crate) fn drain_unsent(&mut self) -> Vec<Batch> {
        let mut batches: Vec<Batch> = self.sealed.drain(..).collect();
        if !self.open.is_empty() {
            batches.push(self.open.seal());
        }
        self.unsent = 0;
        batches
    }

    pub(crate) fn refuse(&mut self, refusal: Refusal) {
        self.refusal = Some(refusal);
    }

    pub(crate) fn reopen(&mut self) {
        if matches!(self.refusal, Some(Refusal::Failed(_))) {
            self.refusal = None;
        }
    }

    /// The failure the buffer refuses messages for, if it is failed (not merely closed).
    pub(crate) fn failure(&self) -> Option<Error> {
        match &self.refusal {
            Some(Refusal::Failed(error)) => Some(error.clone()),
            _ => None,
        }
    }

    pub(crate) fn is_refusing(&self) -> bool {
        self.refusal.is_some()
    }

    /// Messages accepted but not yet handed to the sender.
    pub(crate) fn unsent(&self) -> u64 {
        self.unsent
    }

    /// Messages accepted so far.
    pub(crate) fn appended(&self) -> u64 {
        self.appended
    }

    /// Messages and bytes not yet settled.
    pub(crate) fn buffered(&self) -> (usize, usize) {
        (self.buffered_messages, self.buffered_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_batch_bytes: 10,
            max_batch_items: 3,
            max_buffered_messages: 5,
            max_buffered_bytes: 20,
            linger: Duration::from_millis(5),
            spare_buffers: 2,
        }
    }

    #[test]
    fn batches_seal_by_item_count() {
        let mut b = Buffer::new(limits());
        for m in [b"a", b"b", b"c"] {
            b.try_push(m).unwrap();
        }
        let batch = b.take_ready(Instant::now(), false).unwrap();
        assert_eq!(batch.message_count(), 3);
        assert_eq!(batch.data.as_ref(), b"abc");
    }

    #[test]
    fn batches_seal_before_exceeding_bytes() {
        let mut b = Buffer::new(limits());
        b.try_push(b"123456").unwrap();
        b.try_push(b"7890ab").unwrap();
        let first = b.take_ready(Instant::now(), false).unwrap();
        assert_eq!(first.data.as_ref(), b"123456");
        assert!(
            b.take_ready(Instant::now(), false).is_none(),
            "second still lingers"
        );
        assert_eq!(
            b.take_ready(Instant::now(), true).unwrap().data.as_ref(),
            b"7890ab"
        );
    }

    #[test]
    fn a_message_larger_than_a_batch_travels_alone() {
        let mut b = Buffer::new(limits());
        b.try_push(b"x").unwrap();
        b.try_push(b"0123456789abcdef").unwrap();
        assert_eq!(
            b.take_ready(Instant::now(), false).unwrap().data.as_ref(),
            b"x"
        );
        assert_eq!(
            b.take_ready(Instant::now(), false).unwrap().data.as_ref(),
            b"0123456789abcdef"
        );
    }

    #[test]
    fn limits_refuse_with_full_until_released() {
        let mut b = Buffer::new(limits());
        for _ in 0..5 {
            b.try_push(b"m").unwrap();
        }
        assert!(matches!(b.try_push(b"m").unwrap(), Pushed::Full(_)));
        b.release(1, 1);
        assert!(matches!(b.try_push(b"m").unwrap(), Pushed::Accepted(_)));
        let mut b = Buffer::new(limits());
        b.try_push(&[0; 15]).unwrap();
        assert!(matches!(b.try_push(&[0; 6]).unwrap(), Pushed::Full(_)));
    }

    #[test]
    fn a_full_buffer_seals_the_open_batch_instead_of_waiting_for_linger() {
        let mut b = Buffer::new(Limits {
            linger: Duration::from_secs(3600),
            ..limits()
        });
        for _ in 0..5 {
            b.try_push(b"m").unwrap();
        }
        let now = Instant::now();
        assert!(b.take_ready(now, false).is_some(), "3 sealed by count");
        assert!(b.take_ready(now, false).is_none(), "2 wait for linger");
        assert_eq!(b.try_push(b"m").unwrap(), Pushed::Full(Wake::Yes));
        assert_eq!(b.take_ready(now, false).unwrap().message_count(), 2);
    }

    #[test]
    fn only_the_full_attempt_that_seals_a_batch_wakes_the_sender() {
        let mut b = Buffer::new(Limits {
            linger: Duration::from_secs(3600),
            ..limits()
        });
        for _ in 0..5 {
            b.try_push(b"m").unwrap();
        }
        assert_eq!(b.try_push(b"m").unwrap(), Pushed::Full(Wake::Yes));
        // The sender already has that batch: retries must not wake it for nothing.
        for _ in 0..3 {
            assert_eq!(b.try_push(b"m").unwrap(), Pushed::Full(Wake::No));
        }
        assert_eq!(b.buffered(), (5, 5), "refused attempts copy nothing");
        assert_eq!(b.appended(), 5);
    }

    #[test]
    fn a_message_that_can_never_fit_is_an_invalid_argument() {
        let mut b = Buffer::new(limits());
        assert_eq!(
            b.try_push(&[0; 21]).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn open_batch_waits_for_linger_unless_flushed() {
        let mut b = Buffer::new(limits());
        let t0 = Instant::now();
        b.try_push(b"a").unwrap();
        assert!(b.take_ready(t0, false).is_none());
        assert!(b.linger_deadline().is_some());
        assert!(b.take_ready(t0 + Duration::from_millis(6), false).is_some());
        b.try_push(b"b").unwrap();
        assert_eq!(b.request_flush(), 2);
        assert!(b.take_ready(t0, false).is_some());
        assert!(b.is_drained());
    }

    #[test]
    fn acknowledged_batches_lend_their_memory_to_later_batches() {
        let mut b = Buffer::new(limits());
        let now = Instant::now();
        b.try_push(b"abc").unwrap();
        let first = b.take_ready(now, true).unwrap();
        let memory = first.data.as_ptr();
        b.recycle(first.data);
        b.try_push(b"def").unwrap();
        let second = b.take_ready(now, true).unwrap();
        assert_eq!(second.data.as_ptr(), memory, "the allocation is reused");
        assert_eq!(second.data.as_ref(), b"def");
    }

    #[test]
    fn memory_someone_still_holds_is_never_reused() {
        let mut b = Buffer::new(limits());
        let now = Instant::now();
        b.try_push(b"abc").unwrap();
        let first = b.take_ready(now, true).unwrap();
        let held = first.data.clone();
        b.recycle(first.data);
        assert!(b.spare.is_empty());
        b.try_push(b"def").unwrap();
        let second = b.take_ready(now, true).unwrap();
        assert_ne!(second.data.as_ptr(), held.as_ptr());
        assert_eq!(held.as_ref(), b"abc");
        assert_eq!(second.data.as_ref(), b"def");
    }

    #[test]
    fn spare_buffers_are_bounded_in_count_and_size() {
        let mut b = Buffer::new(limits());
        for _ in 0..3 {
            b.recycle(Bytes::from(vec![1; 10]));
        }
        assert_eq!(b.spare.len(), 2, "spare_buffers");
        let mut b = Buffer::new(limits());
        b.recycle(Bytes::from(vec![0; 21]));
        assert!(b.spare.is_empty(), "over twice max_batch_bytes: not kept");
        b.recycle(Bytes::from(vec![7; 20]));
        assert_eq!(b.take_spare().len(), 0, "kept buffers are emptied");
    }

    #[test]
    fn json_bodies_are_one_array() {
        let batch = Batch {
            data: Bytes::from_static(b"{\"a\":1}[2]3"),
            lengths: vec![7, 3, 1],
        };
        assert_eq!(
            batch.json_array(BytesMut::new()).as_ref(),
            b"[{\"a\":1},[2],3]"
        );
    }

    #[test]
    fn refusals_report_their_reason() {
        let mut b = Buffer::new(limits());
        b.refuse(Refusal::Closed);
        assert_eq!(
            b.try_push(b"x").unwrap_err().kind(),
            ErrorKind::ProducerClosed
        );
        b.refuse(Refusal::Failed(Error::new(ErrorKind::StaleEpoch, "fenced")));
        assert_eq!(b.try_push(b"x").unwrap_err().kind(), ErrorKind::StaleEpoch);
        b.reopen();
        assert!(b.try_push(b"x").is_ok());
    }
}
