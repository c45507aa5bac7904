//! The producer's background task: cuts batches from the buffer, numbers and pipelines them,
//! and settles their outcomes in sequence order.
//!
//! Invariants:
//! - `slots` holds every numbered, unsettled batch of the current epoch, keyed by sequence.
//!   Settling pops from the front only, so acknowledgements apply in order.
//! - The first batch of an epoch travels alone: a new epoch must start at sequence 0, and a
//!   later sequence overtaking it would be refused as a bad request rather than a gap.
//! - A batch refused with a sequence gap while earlier batches are unsettled was merely
//!   overtaken on the wire: it is parked and resent once it is first in line.
//! - Epoch changes (auto-claim, restart) and failures wait until no request is on the wire, so
//!   no answer from an old epoch can arrive after the change.
//! - A gap answer expecting sequence 0 for a later batch of a confirmed epoch means the server
//!   lost this producer's state (a restart without it, or an expiry): the unsettled batches are
//!   kept and sent again under a new epoch, at once with `auto_claim`, else after `restart`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;

use super::buffer::{Batch, Refusal};
use super::delivery::{DeliveryContext, Outcome, Outgoing, deliver};
use super::options::{MAX_PROTOCOL_INTEGER, ProducerOptions};
use super::{Command, ProducerError, Shared};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{EventHub, EventKind};
use crate::offset::Offset;
use crate::protocol::is_json_content_type;
use crate::stream::Stream;
use crate::transport::error_fields;

/// Runs the sender until the producer is closed, detached or dropped.
pub(crate) async fn run(
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    stream: Stream,
    producer_id: String,
    options: ProducerOptions,
) {
    let _guard = StopGuard(shared.clone());
    let epoch = options.epoch;
    let mut sender = Sender {
        shared,
        commands,
        stream,
        producer_id,
        options,
        context: None,
        json: false,
        tasks: JoinSet::new(),
        task_seqs: HashMap::new(),
        slots: BTreeMap::new(),
        requeue: VecDeque::new(),
        epoch,
        next_seq: 0,
        epoch_confirmed: false,
        claim_epoch: None,
        fenced_by: None,
        restart: None,
        failure: None,
        state_lost: None,
        lost_state_seq: None,
        suspended: false,
        ending: None,
        close_launched: false,
        done: false,
    };
    sender.run().await;
}

/// Marks the producer stopped however the task ends (return, abort or panic), so that nobody
/// waits forever on it.
struct StopGuard(Arc<Shared>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        {
            let mut buffer = self.0.lock();
            if !buffer.is_refusing() {
                buffer.refuse(Refusal::Closed);
            }
        }
        self.0.in_flight.store(0, Ordering::Release);
        self.0.progress.send_modify(|p| p.stopped = true);
        self.0.space.notify_waiters();
    }
}

#[derive(Debug)]
enum SlotState {
    Sending,
    /// Waiting to be resent (overtaken) or renumbered (epoch change) or failed.
    Parked,
    Acked(Option<Offset>),
}

struct Slot {
    batch: Arc<Outgoing>,
    state: SlotState,
    /// The lowest unsettled sequence when this batch was last sent: a gap answer naming a
    /// sequence from here up to this batch's own means it overtook an earlier batch on the wire.
    floor: u64,
    /// The gap answer of its last attempt, while it waits to be resent after being overtaken.
    overtaken: Option<Error>,
    /// How many times it was resent after being overtaken.
    resends: u32,
}

enum Ending {
    Close(Option<Bytes>, oneshot::Sender<Result<Option<Offset>>>),
    Detach(oneshot::Sender<Result<()>>),
}

struct Sender {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    stream: Stream,
    producer_id: String,
    options: ProducerOptions,
    /// Known once the stream's content type is.
    context: Option<Arc<DeliveryContext>>,
    json: bool,
    tasks: JoinSet<(u64, Outcome)>,
    task_seqs: HashMap<Id, u64>,
    slots: BTreeMap<u64, Slot>,
    /// Batches to send before taking new ones from the buffer (renumbered after an epoch change).
    requeue: VecDeque<Arc<Outgoing>>,
    epoch: u64,
    next_seq: u64,
    /// Whether a batch of this epoch has been acknowledged (pipelining is safe from then on).
    epoch_confirmed: bool,
    claim_epoch: Option<u64>,
    /// The highest epoch a 403 said the server holds: a restart must go above it, or its
    /// sequence 0 would be taken for a duplicate of the fencing producer's and dropped.
    fenced_by: Option<u64>,
    restart: Option<oneshot::Sender<Result<u64>>>,
    failure: Option<Error>,
    /// The server lost this producer's state (without `auto_claim`): applied once no request
    /// is on the wire.
    state_lost: Option<Error>,
    /// With `auto_claim`: the batch whose answer showed the server lost this producer's state,
    /// for the report of the epoch change it causes.
    lost_state_seq: Option<u64>,
    /// Stopped after the server lost this producer's state: the unsettled batches and the
    /// unsent messages are kept, and nothing is sent until `restart`.
    suspended: bool,
    ending: Option<Ending>,
    close_launched: bool,
    done: bool,
}

impl Sender {
    async fn run(&mut self) {
        while !self.done {
            if self.context.is_none() && self.failure.is_none() && self.has_work() {
                if let Err(error) = self.resolve_context().await {
                    self.failure = Some(error);
                    self.advance_state();
                    continue;
                }
            }
            self.launch_ready();
            if self.done {
                break;
            }
            let deadline = self.linger_deadline();
            let work = self.shared.work.notified();
            tokio::select! {
                joined = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    if let Some(joined) = joined {
                        self.on_joined(joined);
                    }
                }
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    // The handle is gone: stop now (dropping the JoinSet aborts the requests).
                    None => return,
                },
                () = work => {}
                () = sleep_until(deadline), if deadline.is_some() => {}
            }
            self.advance_state();
        }
    }

    fn has_work(&self) -> bool {
        self.ending.is_some() || !self.shared.lock().is_drained()
    }

    async fn resolve_context(&mut self) -> Result<()> {
        let content_type = match &self.options.content_type {
            Some(content_type) => Some(Arc::from(content_type.as_str())),
            None => self.stream.resolve_content_type().await?,
        };
        self.json = content_type.as_deref().is_some_and(is_json_content_type);
        self.context = Some(Arc::new(DeliveryContext {
            stream: self.stream.clone(),
            producer_id: self.producer_id.clone(),
            content_type,
            delivery_timeout: self.options.delivery_timeout,
        }));
        Ok(())
    }

    fn can_launch(&self) -> bool {
        self.context.is_some()
            && self.failure.is_none()
            && !self.is_held()
            && self.claim_epoch.is_none()
            && self.restart.is_none()
            && self.slots.len() < self.options.max_in_flight
            && (self.epoch_confirmed || self.slots.is_empty())
    }

    fn linger_deadline(&self) -> Option<Instant> {
        if !self.can_launch() || !self.requeue.is_empty() {
            return None;
        }
        let now = Instant::now();
        self.shared
            .lock()
            .linger_deadline()
            .filter(|deadline| *deadline > now)
    }

    fn launch_ready(&mut self) {
        if self.context.is_none()
            || self.failure.is_some()
            || self.is_held()
            || self.claim_epoch.is_some()
            || self.restart.is_some()
        {
            return;
        }
        // A batch that was overtaken goes again once everything before it has settled.
        if let Some((&seq, slot)) = self.slots.iter_mut().next() {
            if matches!(slot.state, SlotState::Parked) {
                slot.state = SlotState::Sending;
                slot.floor = seq;
                slot.resends = slot.resends.saturating_add(1);
                let batch = slot.batch.clone();
                let (gap, resends) = (slot.overtaken.take(), slot.resends);
                if let Some(gap) = gap {
                    self.report_overtaken(seq, resends, &gap);
                }
                self.spawn(seq, batch);
            }
        }
        let now = Instant::now();
        let force = self.ending.is_some();
        while self.can_launch() {
            let batch = match self.requeue.pop_front() {
                Some(batch) => batch,
                None => {
                    let taken = self.shared.lock().take_ready(now, force);
                    match taken {
                        Some(batch) => Arc::new(self.outgoing(batch)),
                        None => break,
                    }
                }
            };
            self.launch_next(batch);
        }
        self.launch_close_if_due();
        self.publish_in_flight();
    }

    /// The close request goes last, once everything before it has settled.
    fn launch_close_if_due(&mut self) {
        let Some(Ending::Close(final_message, _)) = &self.ending else {
            return;
        };
        if self.close_launched
            || !self.slots.is_empty()
            || !self.requeue.is_empty()
            || !self.shared.lock().is_drained()
            || !self.can_launch()
        {
            return;
        }
        let body = match final_message {
            Some(message) if self.json => {
                let mut framed = Vec::with_capacity(message.len() + 2);
                framed.push(b'[');
                framed.extend_from_slice(message);
                framed.push(b']');
                Bytes::from(framed)
            }
            Some(message) => message.clone(),
            None => Bytes::new(),
        };
        self.close_launched = true;
        self.launch_next(Arc::new(Outgoing {
            body,
            messages: 0,
            payload_bytes: 0,
            close: true,
        }));
    }

    fn outgoing(&self, batch: Batch) -> Outgoing {
        let messages = batch.message_count();
        let payload_bytes = batch.data.len();
        let body = if self.json {
            // Built outside the lock; the array takes a spare buffer and gives the batch's back.
            let spare = self.shared.lock().take_spare();
            let body = batch.json_array(spare);
            self.shared.lock().recycle(batch.data);
            body
        } else {
            batch.data
        };
        Outgoing {
            body,
            messages,
            payload_bytes,
            close: false,
        }
    }

    fn launch_next(&mut self, batch: Arc<Outgoing>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.shared.next_seq.store(self.next_seq, Ordering::Release);
        let floor = self.slots.keys().next().copied().unwrap_or(seq);
        self.slots.insert(
            seq,
            Slot {
                batch: batch.clone(),
                state: SlotState::Sending,
                floor,
                overtaken: None,
                resends: 0,
            },
        );
        self.spawn(seq, batch);
    }

    fn spawn(&mut self, seq: u64, batch: Arc<Outgoing>) {
        let Some(context) = self.context.clone() else {
            return;
        };
        let epoch = self.epoch;
        let handle = self
            .tasks
            .spawn(async move { (seq, deliver(context, batch, epoch, seq).await) });
        self.task_seqs.insert(handle.id(), seq);
    }

    fn publish_in_flight(&self) {
        self.shared
            .in_flight
            .store(self.slots.len(), Ordering::Release);
    }

    fn on_joined(&mut self, joined: std::result::Result<(Id, (u64, Outcome)), JoinError>) {
        let (seq, outcome) = match joined {
            Ok((id, completion)) => {
                self.task_seqs.remove(&id);
                completion
            }
            Err(join_error) => {
                let Some(seq) = self.task_seqs.remove(&join_error.id()) else {
                    return;
                };
                let error = Error::new(
                    ErrorKind::Network,
                    format!("the request task for batch {seq} stopped unexpectedly: {join_error}"),
                )
                .with_url(self.stream.url());
                (seq, Outcome::Failed(error))
            }
        };
        self.on_outcome(seq, outcome);
    }

    fn on_outcome(&mut self, seq: u64, outcome: Outcome) {
        let Some(slot) = self.slots.get_mut(&seq) else {
            return;
        };
        // Settled or not by now, a batch that was unsettled when this one left may have arrived
        // after it: the answers of concurrent requests are processed in any order.
        let overtaken = |error: &Error| match error.expected_seq() {
            Some(expected) => expected >= slot.floor && expected < seq,
            None => slot.floor < seq,
        };
        match outcome {
            Outcome::Acked { offset } => {
                slot.state = SlotState::Acked(offset);
                self.epoch_confirmed = true;
                self.settle_front();
            }
            Outcome::Gap(error) if overtaken(&error) => {
                slot.state = SlotState::Parked;
                slot.overtaken = Some(error);
            }
            Outcome::Gap(error)
                if self.epoch_confirmed && state_was_lost(&error, seq, self.epoch) =>
            {
                slot.state = SlotState::Parked;
                self.on_state_lost(seq, &error);
            }
            Outcome::Gap(error) => {
                slot.state = SlotState::Parked;
                self.fail(error);
            }
            Outcome::StaleEpoch(error) => {
                slot.state = SlotState::Parked;
                self.report_fenced(&error);
                if let Some(current) = error.current_epoch() {
                    self.fenced_by = Some(self.fenced_by.map_or(current, |e| e.max(current)));
                }
                let claimable = error
                    .current_epoch()
                    .and_then(|current| current.checked_add(1))
                    .filter(|next| *next <= MAX_PROTOCOL_INTEGER);
                match claimable {
                    Some(next) if self.options.auto_claim => {
                        self.claim_epoch = Some(self.claim_epoch.map_or(next, |c| c.max(next)));
                    }
                    _ => self.fail(error),
                }
            }
            Outcome::Failed(error) => {
                slot.state = SlotState::Parked;
                self.fail(error);
            }
        }
        self.publish_in_flight();
    }

    fn fail(&mut self, error: Error) {
        if self.failure.is_none() {
            self.failure = Some(error);
        }
    }

    /// Whether sending is held back after the server lost this producer's state (without
    /// `auto_claim`).
    fn is_held(&self) -> bool {
        self.suspended || self.state_lost.is_some()
    }

    /// The server answered batch `seq` as if it had never seen this producer. With `auto_claim`,
    /// move to the next epoch and resend what is unsettled; otherwise stop, keeping it.
    fn on_state_lost(&mut self, seq: u64, gap: &Error) {
        let epoch = self.epoch;
        let next = epoch.checked_add(1).filter(|e| *e <= MAX_PROTOCOL_INTEGER);
        if self.options.auto_claim {
            if let Some(next) = next {
                self.lost_state_seq.get_or_insert(seq);
                self.claim_epoch = Some(self.claim_epoch.map_or(next, |c| c.max(next)));
                return;
            }
        }
        let message = format!(
            "the server lost this producer's state (it expects seq 0 at epoch {epoch}; we sent seq {seq}): restart the producer to continue under a new epoch"
        );
        let mut error = Error::new(ErrorKind::ProducerStateLost, message)
            .with_url(self.stream.url())
            .with_detail(*gap.detail());
        if let Some(status) = gap.status() {
            error = error.with_status(status);
        }
        let error = error.with_source(gap.clone());
        // Closing or detaching cannot be resumed by a restart: that is an ordinary failure.
        if self.ending.is_some() || next.is_none() {
            self.fail(error);
            return;
        }
        if self.state_lost.is_none() && !self.suspended {
            self.state_lost = Some(error);
        }
    }

    /// Settles acknowledged batches at the front, in order.
    fn settle_front(&mut self) {
        while let Some(entry) = self.slots.first_entry() {
            if !matches!(entry.get().state, SlotState::Acked(_)) {
                break;
            }
            let slot = entry.remove();
            // Before settling: a flush woken by the settlement must see the new count.
            self.publish_in_flight();
            let SlotState::Acked(offset) = slot.state else {
                break;
            };
            self.settle_success(slot.batch, offset);
        }
    }

    fn settle_success(&mut self, batch: Arc<Outgoing>, offset: Option<Offset>) {
        let (messages, close) = (batch.messages, batch.close);
        {
            let mut buffer = self.shared.lock();
            buffer.release(messages, batch.payload_bytes);
            // Acknowledged: its memory can hold the next batch once no request holds it.
            if let Ok(outgoing) = Arc::try_unwrap(batch) {
                buffer.recycle(outgoing.body);
            }
        }
        let closed_offset = offset.clone();
        self.shared.progress.send_modify(|p| {
            p.settled += messages;
            if let Some(offset) = offset {
                p.last_offset = Some(offset);
            }
        });
        self.shared.space.notify_waiters();
        if close {
            if let Some(Ending::Close(_, reply)) = self.ending.take() {
                let final_offset =
                    closed_offset.or_else(|| self.shared.progress.borrow().last_offset.clone());
                // The caller may have stopped waiting; nothing else to do then.
                let _ = reply.send(Ok(final_offset));
            }
            self.done = true;
        }
    }

    /// Applies failures, epoch changes and detach once no request is on the wire.
    fn advance_state(&mut self) {
        let on_the_wire = self
            .slots
            .values()
            .any(|slot| matches!(slot.state, SlotState::Sending));
        if on_the_wire {
            return;
        }
        if let Some(error) = self.failure.take() {
            self.claim_epoch = None;
            self.state_lost = None;
            self.suspended = false;
            self.finish_failure(error);
        } else if let Some(error) = self.state_lost.take() {
            // A close or detach that arrived meanwhile cannot wait for a restart.
            if self.ending.is_some() {
                self.finish_failure(error);
            } else {
                self.suspend(error);
            }
        }
        if self.claim_epoch.is_some() || self.restart.is_some() {
            self.change_epoch();
        }
        if matches!(self.ending, Some(Ending::Detach(_)))
            && self.slots.is_empty()
            && self.requeue.is_empty()
            && self.shared.lock().is_drained()
        {
            if let Some(Ending::Detach(reply)) = self.ending.take() {
                let _ = reply.send(Ok(()));
            }
            self.done = true;
        }
        self.publish_in_flight();
    }

    /// Stops after the server lost this producer's state, keeping every unsettled batch and
    /// unsent message for `restart`: one report, and appends are refused with `error`.
    fn suspend(&mut self, error: Error) {
        self.settle_front();
        self.suspended = true;
        let first = self.slots.keys().next().copied();
        let last = self.slots.keys().next_back().copied();
        let seq_range = first.zip(last);
        let kept = {
            let mut buffer = self.shared.lock();
            buffer.refuse(Refusal::Failed(error.clone()));
            let (messages, _) = buffer.buffered();
            messages as u64
        };
        self.publish_in_flight();
        self.report_failed(&error, seq_range, 0, kept);
        if let Some(on_error) = &self.options.on_error {
            on_error(&ProducerError {
                error: error.clone(),
                epoch: self.epoch,
                seq_range,
                message_count: 0,
            });
        }
        self.shared.progress.send_modify(|p| {
            p.failures += 1;
            p.last_failure = Some(error.clone());
        });
        self.shared.space.notify_waiters();
    }

    /// Every unsettled message fails with `error`; the producer refuses appends until restart.
    fn finish_failure(&mut self, error: Error) {
        self.settle_front();
        let mut seq_range: Option<(u64, u64)> = None;
        let mut lost_messages = 0u64;
        let mut lost_bytes = 0usize;
        let slots = std::mem::take(&mut self.slots);
        self.publish_in_flight();
        for (seq, slot) in slots {
            match slot.state {
                // Stored despite a failure before it: count it as delivered.
                SlotState::Acked(offset) => self.settle_success(slot.batch, offset),
                SlotState::Sending | SlotState::Parked => {
                    seq_range = Some(seq_range.map_or((seq, seq), |(first, _)| (first, seq)));
                    lost_messages += slot.batch.messages;
                    lost_bytes += slot.batch.payload_bytes;
                }
            }
        }
        for batch in self.requeue.drain(..) {
            lost_messages += batch.messages;
            lost_bytes += batch.payload_bytes;
        }
        {
            let mut buffer = self.shared.lock();
            for batch in buffer.drain_unsent() {
                lost_messages += batch.message_count();
                lost_bytes += batch.data.len();
            }
            buffer.release(lost_messages, lost_bytes);
            buffer.refuse(Refusal::Failed(error.clone()));
        }
        self.report_failed(&error, seq_range, lost_messages, 0);
        // Before waking flush: whoever returns from it has been told through the callback too.
        if let Some(on_error) = &self.options.on_error {
            on_error(&ProducerError {
                error: error.clone(),
                epoch: self.epoch,
                seq_range,
                message_count: lost_messages,
            });
        }
        self.shared.progress.send_modify(|p| {
            p.settled += lost_messages;
            p.failures += 1;
            p.last_failure = Some(error.clone());
        });
        self.shared.space.notify_waiters();
        match self.ending.take() {
            Some(Ending::Close(_, reply)) => {
                let _ = reply.send(Err(error));
                self.done = true;
            }
            Some(Ending::Detach(reply)) => {
                let _ = reply.send(Err(error));
                self.done = true;
            }
            None => {}
        }
    }

    fn events(&self) -> &EventHub {
        &self.stream.client.inner.events
    }

    fn report_fenced(&self, error: &Error) {
        let (epoch, auto_claim) = (self.epoch, self.options.auto_claim);
        self.events()
            .emit(EventKind::Fenced, self.stream.url(), || {
                let current = error
                    .current_epoch()
                    .map_or_else(|| "unknown".to_owned(), |e| e.to_string());
                let message = format!(
                    "producer {:?} at epoch {epoch} fenced: the server holds epoch {current}{}",
                    self.producer_id,
                    if auto_claim {
                        "; claiming a newer one"
                    } else {
                        ""
                    }
                );
                let fields = vec![
                    ("producer_id", self.producer_id.clone()),
                    ("epoch", epoch.to_string()),
                    ("current_epoch", current),
                    ("auto_claim", auto_claim.to_string()),
                ];
                (message, fields)
            });
    }

    /// A batch that overtook an earlier one on the wire (and was refused with a gap) is sent
    /// again now that everything before it has settled: a real extra request.
    fn report_overtaken(&self, seq: u64, resends: u32, gap: &Error) {
        let epoch = self.epoch;
        self.events()
            .emit(EventKind::BatchRetry, self.stream.url(), || {
                let message = format!(
                    "batch (epoch {epoch}, seq {seq}) reached the server before an earlier batch and was refused ({}); resending it now that the earlier batches are stored",
                    gap.kind()
                );
                let mut fields = vec![
                    ("producer_id", self.producer_id.clone()),
                    ("epoch", epoch.to_string()),
                    ("seq", seq.to_string()),
                    ("attempt", resends.to_string()),
                    ("backoff_ms", "0".to_owned()),
                    ("reason", "overtaken".to_owned()),
                ];
                error_fields(gap, &mut fields);
                (message, fields)
            });
    }

    /// `lost` messages are dropped; `kept` ones wait for `restart`.
    fn report_failed(&self, error: &Error, seq_range: Option<(u64, u64)>, lost: u64, kept: u64) {
        let epoch = self.epoch;
        self.events()
            .emit(EventKind::BatchFailed, self.stream.url(), || {
                let range = seq_range.map_or_else(String::new, |(first, last)| {
                    format!(", seq {first}..={last}")
                });
                let outcome = if kept > 0 {
                    format!("{kept} messages kept for restart")
                } else {
                    format!("{lost} messages not delivered")
                };
                let message = format!(
                    "producer {:?} failed (epoch {epoch}{range}): {outcome}: {error}",
                    self.producer_id
                );
                let mut fields = vec![
                    ("producer_id", self.producer_id.clone()),
                    ("epoch", epoch.to_string()),
                    ("messages", lost.to_string()),
                ];
                if let Some((first, last)) = seq_range {
                    fields.push(("first_seq", first.to_string()));
                    fields.push(("last_seq", last.to_string()));
                }
                error_fields(error, &mut fields);
                (message, fields)
            });
    }

    /// `lost_state_seq`: the batch whose answer showed the server lost this producer's state,
    /// when that is why.
    fn report_claimed(&self, next: u64, lost_state_seq: Option<u64>, restart: bool) {
        let previous = self.epoch;
        self.events()
            .emit(EventKind::EpochClaimed, self.stream.url(), || {
                let why = match lost_state_seq {
                    Some(seq) => format!(
                        ": the server lost this producer's state (it expects seq 0 at epoch {previous}; we sent seq {seq}); the unacknowledged batches are sent again, and those in flight when the server lost its state may be stored twice"
                    ),
                    None => String::new(),
                };
                let message = format!(
                    "producer {:?} moves from epoch {previous} to epoch {next}{why}",
                    self.producer_id
                );
                let reason = if lost_state_seq.is_some() {
                    "state_lost"
                } else if restart {
                    "restart"
                } else {
                    "fenced"
                };
                let fields = vec![
                    ("producer_id", self.producer_id.clone()),
                    ("epoch", next.to_string()),
                    ("previous_epoch", previous.to_string()),
                    ("reason", reason.to_owned()),
                ];
                (message, fields)
            });
    }

    /// Moves to a new epoch; unsettled batches are renumbered from 0 in their original order.
    fn change_epoch(&mut self) {
        let restart = self.restart.take();
        let lost_state_seq = self.lost_state_seq.take();
        let mut next = self.claim_epoch.take().unwrap_or(0);
        if restart.is_some() {
            next = next.max(self.epoch.saturating_add(1));
            if let Some(fenced_by) = self.fenced_by {
                next = next.max(fenced_by.saturating_add(1));
            }
        }
        if next > MAX_PROTOCOL_INTEGER {
            let error =
                Error::invalid_argument("epoch", format!("the next epoch {next} exceeds 2^53-1"))
                    .with_url(self.stream.url());
            if let Some(reply) = restart {
                let _ = reply.send(Err(error.clone()));
            }
            self.finish_failure(error);
            return;
        }
        self.settle_front();
        let renumbered: Vec<Arc<Outgoing>> = std::mem::take(&mut self.slots)
            .into_values()
            .map(|slot| slot.batch)
            .collect();
        for batch in renumbered.into_iter().rev() {
            self.requeue.push_front(batch);
        }
        self.report_claimed(next, lost_state_seq, restart.is_some());
        self.epoch = next;
        self.next_seq = 0;
        self.epoch_confirmed = false;
        self.suspended = false;
        self.shared.epoch.store(next, Ordering::Release);
        self.shared.next_seq.store(0, Ordering::Release);
        if let Some(reply) = restart {
            self.shared.lock().reopen();
            let _ = reply.send(Ok(next));
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Restart(reply) => self.restart = Some(reply),
            Command::Close(final_message, reply) => {
                if let Some(error) = self.refusing_failure() {
                    let _ = reply.send(Err(error));
                    return;
                }
                self.shared.lock().refuse(Refusal::Closed);
                self.ending = Some(Ending::Close(final_message, reply));
            }
            Command::Detach(reply) => {
                if let Some(error) = self.refusing_failure() {
                    let _ = reply.send(Err(error));
                    self.done = true;
                    return;
                }
                self.shared.lock().refuse(Refusal::Closed);
                self.ending = Some(Ending::Detach(reply));
            }
        }
    }

    /// The failure the producer is stuck in, if any (cleared by restart).
    fn refusing_failure(&self) -> Option<Error> {
        self.shared.lock().failure()
    }
}

/// Whether a gap answer to batch `seq` at `epoch` says the server has no state for this
/// producer: it expects sequence 0 (so it never saw this epoch) although a batch of the epoch was
/// acknowledged, for the epoch we sent.
fn state_was_lost(gap: &Error, seq: u64, epoch: u64) -> bool {
    seq > 0 && gap.expected_seq() == Some(0) && gap.current_epoch().is_none_or(|e| e == epoch)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorDetail;

    fn gap(expected: u64, current_epoch: Option<u64>) -> Error {
        Error::new(ErrorKind::SequenceGap, "gap").with_detail(ErrorDetail {
            expected_seq: Some(expected),
            current_epoch,
            ..ErrorDetail::default()
        })
    }

    #[test]
    fn a_gap_expecting_seq_0_for_a_later_batch_of_our_epoch_is_a_lost_state() {
        assert!(state_was_lost(&gap(0, None), 80, 3));
        assert!(state_was_lost(&gap(0, Some(3)), 1, 3));
    }

    #[test]
    fn other_gaps_are_not_a_lost_state() {
        assert!(!state_was_lost(&gap(79, None), 80, 3), "a real gap");
        assert!(!state_was_lost(&gap(0, None), 0, 3), "seq 0 itself");
        assert!(!state_was_lost(&gap(0, Some(4)), 80, 3), "another epoch");
        let no_detail = Error::new(ErrorKind::SequenceGap, "gap");
        assert!(!state_was_lost(&no_detail, 80, 3));
    }
}
