//! Cancellation by token, for callers that cannot simply drop a future (foreign callers, UI
//! "stop" buttons shared by several operations).

use std::future::Future;

pub use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// Runs `operation` until it finishes or `token` is cancelled, whichever comes first; on
/// cancellation the operation is dropped (its request aborted) and [`crate::ErrorKind::Cancelled`]
/// is returned.
pub async fn cancellable<T, F>(token: &CancellationToken, operation: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    tokio::select! {
        biased;
        () = token.cancelled() => Err(Error::cancelled()),
        result = operation => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn a_cancelled_token_stops_a_pending_operation() {
        let token = CancellationToken::new();
        token.cancel();
        let result: Result<()> = cancellable(&token, std::future::pending()).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Cancelled);
    }

    #[tokio::test]
    async fn a_finished_operation_returns_its_result() {
        let token = CancellationToken::new();
        assert_eq!(cancellable(&token, async { Ok(5) }).await.unwrap(), 5);
    }
}
