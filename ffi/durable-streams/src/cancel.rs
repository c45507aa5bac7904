//! `DsCancel`: a cancellation handle shared by any number of operations.

use std::future::Future;

use durable_streams_core::{CancellationToken, Result, cancellable};
use ffi_support::cancel::CancelState;
use ffi_support::guard::catch;

use crate::handles;

/// A cancellation handle. Opaque.
///
/// Pass it to any number of asynchronous calls; `ds_cancel_cancel` makes each of them that is
/// still running finish promptly with `DS_ERROR_CANCELLED`. Every call copies what it needs, so
/// the handle may be freed right after the calls that use it have been started. Cancellation
/// is permanent: create a new handle for new work. All functions are thread-safe.
#[derive(Debug)]
pub struct DsCancel {
    state: CancelState,
}

/// The token behind a `DsCancel` argument; `None` for NULL (the operation cannot be cancelled).
///
/// # Safety
/// `cancel` must be NULL or a live `DsCancel`.
pub(crate) unsafe fn token(cancel: *const DsCancel) -> Option<CancellationToken> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::borrow(cancel) }.map(|c| c.state.token())
}

/// Runs `operation` until it finishes or `token` (if any) is cancelled.
pub(crate) async fn with_token<T>(
    token: Option<&CancellationToken>,
    operation: impl Future<Output = Result<T>>,
) -> Result<T> {
    match token {
        Some(token) => cancellable(token, operation).await,
        None => operation.await,
    }
}

/// A new, not yet cancelled handle; free it with `ds_cancel_free`. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ds_cancel_new() -> *mut DsCancel {
    catch(std::ptr::null_mut(), || {
        handles::into_raw(DsCancel {
            state: CancelState::new(),
        })
    })
}

/// Cancels every operation started with this handle (and makes later ones fail at once with
/// `DS_ERROR_CANCELLED`). Idempotent; NULL is ignored.
///
/// # Safety
/// `cancel` must be NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_cancel_cancel(cancel: *const DsCancel) {
    catch((), || {
        // SAFETY: forwarded to the caller.
        if let Some(cancel) = unsafe { handles::borrow(cancel) } {
            cancel.state.cancel();
        }
    });
}

/// Whether `ds_cancel_cancel` has been called on this handle. False for NULL.
///
/// # Safety
/// `cancel` must be NULL or a live `DsCancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_cancel_is_cancelled(cancel: *const DsCancel) -> bool {
    catch(false, || {
        // SAFETY: forwarded to the caller.
        unsafe { handles::borrow(cancel) }.is_some_and(|c| c.state.is_cancelled())
    })
}

/// Frees the handle. Operations already started with it keep their copy of the token (they are
/// not cancelled by this). NULL is ignored.
///
/// # Safety
/// `cancel` must be NULL or a live `DsCancel` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_cancel_free(cancel: *mut DsCancel) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(cancel) });
}
