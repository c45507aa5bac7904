//! The library's one Tokio runtime, and starting core operations on it.

use std::future::Future;

use ffi_support::runtime::SharedRuntime;
use s2_streamstore_core::{Context, S2Error as CoreError};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::callback::{Callback, Once};
use crate::error::{FfiResult, S2Error};

/// Worker threads come from `S2_WORKER_THREADS` (default 2).
static RUNTIME: SharedRuntime = SharedRuntime::new("S2_WORKER_THREADS", "s2-streamstore");

/// The runtime, or an `S2_ERROR_INTERNAL` error if it could not be started.
pub(crate) fn runtime() -> FfiResult<&'static Runtime> {
    RUNTIME.get_or_error()
}

/// Runs `operation` until it finishes or `cancel` (if any) fires, then `S2_ERROR_CANCELLED`
/// for `operation_name`.
pub(crate) async fn cancellable<T>(
    operation_name: &'static str,
    cancel: Option<CancellationToken>,
    operation: impl Future<Output = Result<T, CoreError>>,
) -> Result<T, CoreError> {
    match cancel {
        None => operation.await,
        Some(token) => {
            tokio::select! {
                biased;
                () = token.cancelled() => Err(CoreError::cancelled(Context::account(operation_name))),
                result = operation => result,
            }
        }
    }
}

/// Starts a core `operation` and reports its result through `once`, unless `cancel` fires
/// first. `operation` is the result of checking the call's arguments: an argument error is
/// reported at once, on the calling thread.
pub(crate) fn start<C, F>(
    operation_name: &'static str,
    once: Once<C>,
    cancel: Option<CancellationToken>,
    operation: FfiResult<F>,
) where
    C: Callback<Error = S2Error>,
    C::Value: Send,
    F: Future<Output = Result<C::Value, CoreError>> + Send + 'static,
{
    RUNTIME.start(
        once,
        operation.map(|operation| async move {
            cancellable(operation_name, cancel, operation)
                .await
                .map_err(Into::into)
        }),
    );
}
