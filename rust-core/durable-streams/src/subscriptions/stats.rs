//! What a pull worker has done, for tests, health checks and dashboards.

use std::sync::{Arc, Mutex, MutexGuard};

/// A snapshot of a [`crate::PullWorker`]'s counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Claim requests sent.
    pub claim_attempts: u64,
    /// Claims won.
    pub claims: u64,
    /// Claims refused because another worker held the lease (`ALREADY_CLAIMED`).
    pub already_claimed: u64,
    /// Claims answered "no pending work".
    pub no_pending_work: u64,
    /// Heartbeats (acks without `done`) the server accepted.
    pub heartbeats: u64,
    /// Batches the handler processed successfully.
    pub batches: u64,
    /// Wakes finished with an ack with `done`.
    pub wakes_completed: u64,
    /// Wakes given up because the lease was lost (fenced, or not renewed in time): nothing
    /// more of them was acked.
    pub leases_lost: u64,
    /// Wakes released because the handler (or reading a linked stream) failed.
    pub handler_failures: u64,
    /// The last failure's message (handler error, read error, lost lease), if any.
    pub last_error: Option<String>,
}

/// The shared counters behind [`WorkerStats`].
#[derive(Clone, Default)]
pub(crate) struct StatsCell(Arc<Mutex<WorkerStats>>);

impl StatsCell {
    pub(crate) fn update(&self, change: impl FnOnce(&mut WorkerStats)) {
        change(&mut self.lock());
    }

    pub(crate) fn snapshot(&self) -> WorkerStats {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, WorkerStats> {
        // Counters stay meaningful even if a panic interrupted an update.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
