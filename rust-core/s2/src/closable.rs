//! [`Closable`]: an SDK session shared by `&self` methods until one of them closes it, which
//! needs it by value.

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// An SDK session (append session or producer) that `&self` methods use and `close` takes.
pub(crate) struct Closable<T> {
    // An `Arc` so that users need not hold the lock while they wait.
    inner: Mutex<Option<Arc<T>>>,
    // Signalled each time a user lets its `Held` go, so that `take` waits without polling.
    released: Arc<Notify>,
}

/// A user's share of the session (a call waiting for room); `take` waits for every one to go.
pub(crate) struct Held<T> {
    // `Some` until dropped: the share must be given back before the release is signalled.
    value: Option<Arc<T>>,
    released: Arc<Notify>,
}

impl<T> Deref for Held<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.value {
            Some(value) => value,
            None => unreachable!("a Held gives its value back only when dropped"),
        }
    }
}

impl<T> Drop for Held<T> {
    fn drop(&mut self) {
        drop(self.value.take());
        self.released.notify_waiters();
    }
}

impl<T> Closable<T> {
    pub(crate) fn new(value: T) -> Closable<T> {
        Closable {
            inner: Mutex::new(Some(Arc::new(value))),
            released: Arc::new(Notify::new()),
        }
    }

    /// The session, unless closed.
    pub(crate) fn current(&self) -> Option<Held<T>> {
        self.lock().clone().map(|value| Held {
            value: Some(value),
            released: self.released.clone(),
        })
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
            // Registered before the check, so a release between the check and the wait is seen.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            match Arc::try_unwrap(shared) {
                Ok(value) => return Some(value),
                Err(still_shared) => {
                    shared = still_shared;
                    released.await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn take_waits_for_the_last_holder_and_wakes_when_it_goes() {
        let closable = Arc::new(Closable::new(String::from("session")));
        let held = closable.current().expect("open");
        assert_eq!(held.len(), 7);
        let taker = {
            let closable = closable.clone();
            tokio::spawn(async move { closable.take().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !taker.is_finished(),
            "take must wait while a holder remains"
        );
        assert!(closable.current().is_none(), "closed for new users at once");
        drop(held);
        let taken = tokio::time::timeout(Duration::from_secs(5), taker)
            .await
            .expect("woken by the release")
            .expect("no panic");
        assert_eq!(taken.as_deref(), Some("session"));
        assert!(closable.take().await.is_none(), "taken once");
    }
}
