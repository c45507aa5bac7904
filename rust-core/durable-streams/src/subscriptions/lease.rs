//! Keeping a claimed wake's lease alive while user code runs: heartbeats (acks without `done`
//! carrying the progress so far) and the local lease deadline.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::control::Subscription;
use super::pull::{Ack, Claim};
use super::stats::StatsCell;
use crate::error::{Error, ErrorKind};
use crate::offset::Offset;

/// The processed position of each stream of a wake, shared by the processing and the
/// heartbeats.
#[derive(Clone, Default)]
pub(crate) struct Progress(Arc<Mutex<BTreeMap<String, Offset>>>);

impl Progress {
    pub(crate) fn record(&self, stream: &str, offset: Offset) {
        self.lock().insert(stream.to_owned(), offset);
    }

    pub(crate) fn acks(&self) -> Vec<Ack> {
        self.lock()
            .iter()
            .map(|(stream, offset)| Ack::new(stream.clone(), offset.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Offset>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether an ack's error means the wake is no longer ours (a subscription that is gone,
/// `NotFound`, is not: the worker stops then).
pub(crate) fn is_lease_lost(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::Fenced | ErrorKind::Unauthorized)
}

/// How often to heartbeat a lease of `ttl`: three times per lease, so that two lost
/// heartbeats in a row still leave time for a third.
pub(crate) fn default_heartbeat_interval(ttl: Duration) -> Duration {
    (ttl / 3).max(Duration::from_millis(50))
}

pub(crate) struct LeaseKeeper<'a> {
    pub(crate) subscription: &'a Subscription,
    pub(crate) claim: &'a Claim,
    pub(crate) progress: &'a Progress,
    pub(crate) stats: &'a StatsCell,
    pub(crate) interval: Duration,
    /// When the lease runs out unless renewed (measured from when the claim was sent, so it
    /// is never later than the server's).
    pub(crate) deadline: Instant,
}

impl LeaseKeeper<'_> {
    /// Heartbeats until the lease is lost or the subscription is gone; returns why. Runs until dropped otherwise.
    pub(crate) async fn keep_alive(mut self) -> Error {
        let ttl = self.claim.lease_ttl();
        let mut next_beat = Instant::now() + self.interval;
        loop {
            tokio::time::sleep_until(next_beat.min(self.deadline)).await;
            if Instant::now() >= self.deadline {
                return Error::new(
                    ErrorKind::Fenced,
                    format!(
                        "the lease of wake {} (generation {}) ran out before a heartbeat was \
                         accepted",
                        self.claim.wake_id(),
                        self.claim.generation()
                    ),
                );
            }
            let sent = Instant::now();
            let acks = self.progress.acks();
            let beat = self.subscription.ack(self.claim, &acks, false);
            match tokio::time::timeout_at(self.deadline, beat).await {
                Ok(Ok(_)) => {
                    self.deadline = sent + ttl;
                    self.stats.update(|s| s.heartbeats += 1);
                }
                Ok(Err(error)) if is_lease_lost(&error) || error.kind() == ErrorKind::NotFound => {
                    return error;
                }
                // A failed heartbeat is tried again at the next beat, while the lease lasts.
                Ok(Err(_)) | Err(_) => {}
            }
            next_beat = sent + self.interval;
        }
    }
}
