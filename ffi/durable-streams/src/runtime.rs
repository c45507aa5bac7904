//! The library's one Tokio runtime, and starting core operations on it.

use std::future::Future;

use durable_streams_core::CancellationToken;
use ffi_support::runtime::SharedRuntime;
use tokio::runtime::Runtime;

use crate::callback::{Callback, Once};
use crate::cancel::with_token;
use crate::error::{DsError, FfiResult};

/// Worker threads come from `DS_WORKER_THREADS` (default 2).
static RUNTIME: SharedRuntime = SharedRuntime::new("DS_WORKER_THREADS", "durable-streams");

/// The runtime, or a `DS_ERROR_INTERNAL` error if it could not be started.
pub(crate) fn runtime() -> FfiResult<&'static Runtime> {
    RUNTIME.get_or_error()
}

/// Starts a core `operation` and reports its result through `once`, unless `cancel` fires
/// first (then `DS_ERROR_CANCELLED`). `operation` is the result of checking the call's
/// arguments: an argument error is reported at once, on the calling thread.
pub(crate) fn start<C, F>(once: Once<C>, cancel: Option<CancellationToken>, operation: FfiResult<F>)
where
    C: Callback<Error = DsError>,
    C::Value: Send,
    F: Future<Output = durable_streams_core::Result<C::Value>> + Send + 'static,
{
    RUNTIME.start(
        once,
        operation.map(|operation| async move {
            with_token(cancel.as_ref(), operation)
                .await
                .map_err(Into::into)
        }),
    );
}
