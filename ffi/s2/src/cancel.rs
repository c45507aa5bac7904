//! `S2Cancel`: a cancellation handle shared by any number of operations.

use ffi_support::cancel::CancelState;
use ffi_support::guard::catch;
use tokio_util::sync::CancellationToken;

use crate::handles;

/// A cancellation handle. Opaque.
///
/// Pass it to any number of asynchronous calls; `s2_cancel_cancel` makes each of them that is
/// still running finish promptly with `S2_ERROR_CANCELLED`. Calls copy what they need, so the
/// handle may be freed right after starting them. Cancellation is permanent.
#[derive(Debug)]
pub struct S2Cancel {
    state: CancelState,
}

/// The token behind an `S2Cancel` argument; `None` for NULL.
///
/// # Safety
/// `cancel` must be NULL or a live `S2Cancel`.
pub(crate) unsafe fn token(cancel: *const S2Cancel) -> Option<CancellationToken> {
    // SAFETY: forwarded to the caller.
    unsafe { handles::borrow(cancel) }.map(|c| c.state.token())
}

/// A new, not yet cancelled handle; free it with `s2_cancel_free`. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn s2_cancel_new() -> *mut S2Cancel {
    catch(std::ptr::null_mut(), || {
        handles::into_raw(S2Cancel {
            state: CancelState::new(),
        })
    })
}

/// Cancels every operation started with this handle. Idempotent; NULL is ignored.
///
/// # Safety
/// `cancel` must be NULL or a live `S2Cancel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_cancel_cancel(cancel: *const S2Cancel) {
    catch((), || {
        // SAFETY: forwarded to the caller.
        if let Some(cancel) = unsafe { handles::borrow(cancel) } {
            cancel.state.cancel();
        }
    });
}

/// Frees the handle; operations started with it keep their copy of the token. NULL is ignored.
///
/// # Safety
/// `cancel` must be NULL or a live `S2Cancel` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn s2_cancel_free(cancel: *mut S2Cancel) {
    // SAFETY: forwarded to the caller.
    catch((), || unsafe { handles::free(cancel) });
}
