//! [`Closable`]: an SDK session shared by `&self` methods until one of them closes it, which
//! needs it by value.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// An SDK session (append session or producer) that `&self` methods use and `close` takes.
pub(crate) struct Closable<T> {
    // An `Arc` so that users need not hold the lock while they wait.
    inner: Mutex<Option<Arc<T>>>,
}

impl<T> Closable<T> {
    pub(crate) fn new(value: T) -> Closable<T> {
        Closable {
            inner: Mutex::new(Some(Arc::new(value))),
        }
    }

    /// The session, unless closed.
    pub(crate) fn current(&self) -> Option<Arc<T>> {
        self.lock().clone()
    }

    /// The session under the lock, for work that never waits.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Option<Arc<T>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the session by value, once the users that hold it (calls waiting for room) are
    /// done with it; `None` if already taken. Later calls see it closed.
    pub(crate) async fn take(&self) -> Option<T> {
        let mut shared = self.lock().take()?;
        loop {
            match Arc::try_unwrap(shared) {
                Ok(value) => return Some(value),
                Err(still_shared) => {
                    shared = still_shared;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
}
