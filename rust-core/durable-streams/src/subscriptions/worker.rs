//! The pull-wake worker: follows the wake stream, races to claim each wake, reads every linked
//! stream from its cursor to its tail, hands the data to user code while heartbeats keep the
//! lease, and acks with `done` (or releases when user code fails).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::batch::StreamBatch;
use super::control::Subscription;
use super::lease::{LeaseKeeper, Progress, default_heartbeat_interval, is_lease_lost};
use super::model::SubscriptionType;
use super::names::check_worker_name;
use super::pull::Claim;
use super::stats::{StatsCell, WorkerStats};
use super::wake::wake_events;
use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;
use crate::read::{LiveMode, ReadOptions};

/// The error type user handlers return.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A worker of one pull-wake subscription. Cheap to clone (clones share their counters).
///
/// [`PullWorker::run`] follows the subscription's wake stream and, for each wake:
///
/// 1. claims it; when another worker holds the lease (`ALREADY_CLAIMED`) it waits for the next
///    wake event, never polling;
/// 2. reads each linked stream with pending data from its `acked_offset` to its tail and calls
///    the handler with each [`StreamBatch`], in order;
/// 3. meanwhile heartbeats (acks without `done`, carrying the offsets of the batches already
///    handled) so the lease never lapses under a slow handler;
/// 4. acks everything with `done` when the handler has succeeded for every batch; when it
///    fails, acks the batches handled so far, releases the wake, and waits
///    [`PullWorker::failure_backoff`] before claiming again;
/// 5. when the lease is lost (the server answers `FENCED`, or no heartbeat was accepted within
///    the lease), drops the handler's future at once and acks nothing more.
///
/// Delivery is at least once: a batch whose handler did not return `Ok` before a crash, a
/// failure or a lost lease is delivered again. The handler runs on the worker's task; it must
/// not block the thread (use `spawn_blocking` for blocking work), or heartbeats stop too.
///
/// ```no_run
/// # async fn demo() -> durable_streams_core::Result<()> {
/// use durable_streams_core::{Client, HandlerError, StreamBatch};
/// let client = Client::builder().base_url("http://127.0.0.1:4437/v1/stream").build()?;
/// let worker = client.subscription("orders")?.pull_worker("worker-1")?;
/// worker
///     .run(|batch: StreamBatch| async move {
///         for message in batch.messages().unwrap_or_default() {
///             println!("{}: {}", batch.stream(), String::from_utf8_lossy(message));
///         }
///         Ok::<(), HandlerError>(())
///     })
///     .await
/// # }
/// ```
#[derive(Clone)]
pub struct PullWorker {
    subscription: Subscription,
    name: String,
    heartbeat_interval: Option<Duration>,
    failure_backoff: Duration,
    stats: StatsCell,
}

impl std::fmt::Debug for PullWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullWorker")
            .field("subscription", &self.subscription.id())
            .field("name", &self.name)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("failure_backoff", &self.failure_backoff)
            .finish()
    }
}

enum WakeEnd {
    /// Acked with `done`; `next_wake` when more work is already pending.
    Done { next_wake: bool },
    /// The wake is no longer ours; nothing more was acked.
    LeaseLost,
    /// The handler or a read failed; the wake was released.
    Failed,
}

impl Subscription {
    /// A pull worker named `worker` (the name the server reports as the lease holder).
    pub fn pull_worker(&self, worker: &str) -> Result<PullWorker> {
        check_worker_name("worker", worker)?;
        Ok(PullWorker {
            subscription: self.clone(),
            name: worker.to_owned(),
            heartbeat_interval: None,
            failure_backoff: Duration::from_secs(1),
            stats: StatsCell::default(),
        })
    }
}

impl PullWorker {
    /// How often to heartbeat while the handler runs; a third of the claim's lease by default.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Result<Self> {
        if interval.is_zero() {
            return Err(Error::invalid_argument(
                "heartbeat_interval",
                "must be greater than zero",
            ));
        }
        self.heartbeat_interval = Some(interval);
        Ok(self)
    }

    /// How long to wait after a failed wake before claiming again (1 s by default), so that a
    /// message that always fails does not spin.
    pub fn failure_backoff(mut self, backoff: Duration) -> Self {
        self.failure_backoff = backoff;
        self
    }

    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the worker (and its clones) have done so far.
    pub fn stats(&self) -> WorkerStats {
        self.stats.snapshot()
    }

    /// Runs until the wake stream is closed (`Ok`), or a failure that retrying cannot cure:
    /// the subscription is not pull-wake, it or its wake stream does not exist, the server
    /// does not support subscriptions, or the wake stream cannot be read. Stop it earlier by
    /// dropping the future (or with [`crate::cancellable`]); a wake in progress is then simply
    /// abandoned, and another worker gets it when its lease expires.
    pub async fn run<F, Fut, E>(&self, handler: F) -> Result<()>
    where
        F: Fn(StreamBatch) -> Fut + Send + Sync,
        Fut: Future<Output = std::result::Result<(), E>> + Send,
        E: Into<HandlerError>,
    {
        let info = self.subscription.get().await?;
        let wake_path = match (info.subscription_type, info.wake_stream) {
            (SubscriptionType::PullWake, Some(path)) => path,
            _ => {
                return Err(Error::invalid_argument(
                    "subscription",
                    format!(
                        "{:?} is a {} subscription without a wake stream; a pull worker needs \
                         a pull-wake subscription",
                        self.subscription.id(),
                        info.subscription_type.as_str()
                    ),
                ));
            }
        };
        let wake_stream = self.subscription.stream(&wake_path)?;
        // Wakes written before this point are covered by the first claim; later ones are read.
        let start = match wake_stream.head().await {
            Ok(head) => head.next_offset,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "the wake stream {wake_path:?} of subscription {:?} does not exist; the \
                         application creates it",
                        self.subscription.id()
                    ),
                )
                .with_url(wake_stream.url()));
            }
            Err(e) => return Err(e),
        };
        let mut seen_generation = 0;
        self.drain(&handler, &mut seen_generation).await?;
        let mut wakes = wake_stream.read(ReadOptions::new().offset(start).live(LiveMode::Auto));
        while let Some(chunk) = wakes.next_chunk().await? {
            let fresh = wake_events(&chunk)
                .map_err(|e| e.with_url(wake_stream.url()))?
                .iter()
                .any(|wake| {
                    wake.subscription_id == self.subscription.id()
                        && wake.generation > seen_generation
                });
            if fresh {
                self.drain(&handler, &mut seen_generation).await?;
            }
        }
        Ok(())
    }

    /// Claims and processes wakes until there is no pending work or another worker holds the
    /// lease.
    async fn drain<F, Fut, E>(&self, handler: &F, seen_generation: &mut u64) -> Result<()>
    where
        F: Fn(StreamBatch) -> Fut + Send + Sync,
        Fut: Future<Output = std::result::Result<(), E>> + Send,
        E: Into<HandlerError>,
    {
        loop {
            let sent = Instant::now();
            self.stats.update(|s| s.claim_attempts += 1);
            let claim = match self.subscription.claim(&self.name).await {
                Ok(Some(claim)) => claim,
                Ok(None) => {
                    self.stats.update(|s| s.no_pending_work += 1);
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::AlreadyClaimed => {
                    self.stats.update(|s| s.already_claimed += 1);
                    *seen_generation = (*seen_generation).max(e.generation().unwrap_or(0));
                    return Ok(());
                }
                Err(e) if e.is_transient() => {
                    self.record_failure(&e.to_string(), false);
                    tokio::time::sleep(self.failure_backoff).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.stats.update(|s| s.claims += 1);
            *seen_generation = (*seen_generation).max(claim.generation());
            match self.process(&claim, handler, sent).await? {
                WakeEnd::Done { next_wake: true } => {}
                WakeEnd::Done { next_wake: false } | WakeEnd::LeaseLost => return Ok(()),
                WakeEnd::Failed => tokio::time::sleep(self.failure_backoff).await,
            }
        }
    }

    async fn process<F, Fut, E>(&self, claim: &Claim, handler: &F, sent: Instant) -> Result<WakeEnd>
    where
        F: Fn(StreamBatch) -> Fut + Send + Sync,
        Fut: Future<Output = std::result::Result<(), E>> + Send,
        E: Into<HandlerError>,
    {
        let progress = Progress::default();
        let keeper = LeaseKeeper {
            subscription: &self.subscription,
            claim,
            progress: &progress,
            stats: &self.stats,
            interval: self
                .heartbeat_interval
                .unwrap_or_else(|| default_heartbeat_interval(claim.lease_ttl())),
            deadline: sent + claim.lease_ttl(),
        };
        let outcome = tokio::select! {
            outcome = self.handle_streams(claim, handler, &progress) => outcome,
            lost = keeper.keep_alive() => {
                if lost.kind() == ErrorKind::NotFound {
                    return Err(lost);
                }
                self.record_lease_lost(&lost);
                return Ok(WakeEnd::LeaseLost);
            }
        };
        match outcome {
            Ok(()) => match self.subscription.ack(claim, &progress.acks(), true).await {
                Ok(answer) => {
                    self.stats.update(|s| s.wakes_completed += 1);
                    Ok(WakeEnd::Done {
                        next_wake: answer.next_wake,
                    })
                }
                Err(e) if is_lease_lost(&e) => {
                    self.record_lease_lost(&e);
                    Ok(WakeEnd::LeaseLost)
                }
                // The answer may be lost after the server applied it: the wake then either is
                // done, or its lease expires and it is processed again (at least once).
                Err(e) if e.is_transient() => {
                    self.record_lease_lost(&e);
                    Ok(WakeEnd::LeaseLost)
                }
                Err(e) => Err(e),
            },
            Err(failure) => {
                self.record_failure(&failure, true);
                let handled = progress.acks();
                let saved = if handled.is_empty() {
                    Ok(())
                } else {
                    self.subscription
                        .ack(claim, &handled, false)
                        .await
                        .map(drop)
                };
                match saved.and(self.subscription.release(claim).await) {
                    Ok(()) => Ok(WakeEnd::Failed),
                    Err(e) if is_lease_lost(&e) || e.is_transient() => {
                        self.record_lease_lost(&e);
                        Ok(WakeEnd::LeaseLost)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Reads each pending stream from its cursor to its tail, handing each chunk to the
    /// handler and recording its end once the handler succeeded. Fails with the handler's or
    /// the read's message.
    async fn handle_streams<F, Fut, E>(
        &self,
        claim: &Claim,
        handler: &F,
        progress: &Progress,
    ) -> std::result::Result<(), String>
    where
        F: Fn(StreamBatch) -> Fut + Send + Sync,
        Fut: Future<Output = std::result::Result<(), E>> + Send,
        E: Into<HandlerError>,
    {
        for link in claim.streams().iter().filter(|link| link.has_pending) {
            let stream = self
                .subscription
                .stream(&link.path)
                .map_err(|e| e.to_string())?;
            let mut session = stream.read(ReadOptions::new().offset(link.acked_offset.clone()));
            while let Some(chunk) = session.next_chunk().await.map_err(|e| e.to_string())? {
                let end: Offset = chunk.offset().clone();
                if chunk.has_data() {
                    let batch = StreamBatch {
                        stream: link.path.clone(),
                        chunk,
                        generation: claim.generation(),
                    };
                    handler(batch).await.map_err(|e| {
                        format!("the handler failed on stream {:?}: {}", link.path, e.into())
                    })?;
                    self.stats.update(|s| s.batches += 1);
                }
                // The offset after data the handler has processed: never past unprocessed data.
                progress.record(&link.path, end.clone());
                // Offsets of one stream compare lexicographically.
                if end.as_str() >= link.tail_offset.as_str() {
                    break;
                }
            }
        }
        Ok(())
    }

    fn record_failure(&self, message: &str, handler: bool) {
        self.stats.update(|s| {
            if handler {
                s.handler_failures += 1;
            }
            s.last_error = Some(message.to_owned());
        });
    }

    fn record_lease_lost(&self, error: &Error) {
        self.stats.update(|s| {
            s.leases_lost += 1;
            s.last_error = Some(error.to_string());
        });
    }
}
