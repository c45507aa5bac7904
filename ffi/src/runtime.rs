//! The one process-wide Tokio runtime every asynchronous call runs on.

use std::future::Future;
use std::sync::LazyLock;

use durable_streams_core::CancellationToken;
use tokio::runtime::{Builder, Runtime};

use crate::callback::{Callback, Once};
use crate::cancel::with_token;
use crate::error::{DsError, FfiResult};
use crate::guard::catch_panics;

/// Worker threads when `DS_WORKER_THREADS` is unset or invalid. Callbacks are short and the
/// work is I/O-bound, so two threads serve many concurrent operations.
const DEFAULT_WORKER_THREADS: usize = 2;
/// A sanity bound for `DS_WORKER_THREADS`.
const MAX_WORKER_THREADS: usize = 256;

/// Built on first use and never shut down (a process-wide static), so callbacks can fire until
/// the process exits. A build failure is kept and reported by every call instead of panicking.
static RUNTIME: LazyLock<Result<Runtime, String>> = LazyLock::new(|| {
    Builder::new_multi_thread()
        .worker_threads(worker_threads(std::env::var("DS_WORKER_THREADS").ok()))
        .thread_name("durable-streams")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the Tokio runtime: {e}"))
});

fn worker_threads(setting: Option<String>) -> usize {
    setting
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_WORKER_THREADS).contains(n))
        .unwrap_or(DEFAULT_WORKER_THREADS)
}

/// The runtime, or a `DS_ERROR_INTERNAL` error if it could not be started.
pub(crate) fn runtime() -> FfiResult<&'static Runtime> {
    RUNTIME.as_ref().map_err(|e| DsError::internal(e))
}

/// Starts `operation` on the runtime and reports its result through `once`, unless `cancel`
/// fires first (then `DS_ERROR_CANCELLED`). `operation` is the result of checking the call's
/// arguments: an argument error, like an unavailable runtime, is reported at once, on the
/// calling thread.
pub(crate) fn start<C, F>(once: Once<C>, cancel: Option<CancellationToken>, operation: FfiResult<F>)
where
    C: Callback,
    C::Value: Send,
    F: Future<Output = durable_streams_core::Result<C::Value>> + Send + 'static,
{
    match operation.and_then(|operation| runtime().map(|runtime| (runtime, operation))) {
        Err(error) => once.finish(Err(error)),
        Ok((runtime, operation)) => {
            runtime.spawn(async move {
                let result = catch_panics(with_token(cancel.as_ref(), operation)).await;
                once.finish(result.and_then(|r| r.map_err(Into::into)));
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_default_to_two_and_accept_sane_overrides() {
        assert_eq!(worker_threads(None), 2);
        assert_eq!(worker_threads(Some("4".into())), 4);
        assert_eq!(worker_threads(Some(" 1 ".into())), 1);
        for bad in ["0", "-3", "many", "100000"] {
            assert_eq!(worker_threads(Some(bad.into())), 2, "{bad}");
        }
    }
}
