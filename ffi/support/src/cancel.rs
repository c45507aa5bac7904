//! The state behind a C cancellation handle, shared by any number of operations.

use tokio_util::sync::CancellationToken;

use crate::handles::Live;

/// What a backend's cancel handle (`DsCancel`, ...) holds: a token that operations started
/// with the handle copy, so the handle may be freed while they run. Cancellation is permanent.
#[derive(Debug)]
pub struct CancelState {
    token: CancellationToken,
    _live: Live,
}

impl CancelState {
    /// A new, not yet cancelled state (counted as one live handle).
    #[allow(clippy::new_without_default)] // counts a handle; not a plain value
    pub fn new() -> CancelState {
        CancelState {
            token: CancellationToken::new(),
            _live: Live::new(),
        }
    }

    /// Cancels every operation holding a copy of the token. Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether [`CancelState::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// A copy of the token for an operation.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_see_cancellation_after_the_state_is_dropped() {
        let state = CancelState::new();
        let copy = state.token();
        assert!(!state.is_cancelled());
        state.cancel();
        state.cancel();
        assert!(state.is_cancelled());
        drop(state);
        assert!(copy.is_cancelled());
    }
}
