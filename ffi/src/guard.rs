//! The panic firewall: every export runs inside `catch_unwind`, so nothing unwinds into C.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;

use crate::error::{DsError, FfiResult};

/// Runs `body`; on a panic returns `on_panic` instead.
///
/// Used by exports that report failure through a return value that has a safe default (NULL,
/// 0, false) or through a callback whose drop guard already fired during the unwind.
pub(crate) fn catch<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    // AssertUnwindSafe: after a panic nothing observes the closure's captures again except
    // through mutexes that recover from poisoning.
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Runs a fallible `body` for an export that returns `DsError*`: NULL on success, the error
/// (kind `DS_ERROR_PANIC` for a panic) otherwise.
pub(crate) fn catch_error(function: &str, body: impl FnOnce() -> FfiResult<()>) -> *mut DsError {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(error)) => Box::into_raw(error),
        Err(payload) => Box::into_raw(panic_error(function, payload.as_ref())),
    }
}

/// Runs `future`, turning a panic while polling it into a `DS_ERROR_PANIC` error. (Tokio would
/// catch the panic itself and drop the future later, so the callback guard could only report
/// "ended without a result", without the panic message.)
pub(crate) async fn catch_panics<T>(future: impl Future<Output = T>) -> FfiResult<T> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_error(
                "an asynchronous operation",
                payload.as_ref(),
            ))),
        },
    )
    .await
}

/// A `DS_ERROR_PANIC` error describing a caught panic.
pub(crate) fn panic_error(function: &str, payload: &(dyn Any + Send)) -> Box<DsError> {
    let detail = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    DsError::panic(&format!("a panic inside {function}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DsErrorKind;

    #[test]
    fn panics_become_panic_errors_naming_the_function() {
        let error = catch_error("ds_test", || panic!("boom"));
        assert!(!error.is_null());
        // SAFETY: just returned by `catch_error`, freed once below.
        let error = unsafe { Box::from_raw(error) };
        assert_eq!(error.kind, DsErrorKind::PANIC);
        let message = error.message.to_str().unwrap();
        assert!(
            message.contains("ds_test") && message.contains("boom"),
            "{message}"
        );
    }

    #[test]
    fn panics_inside_futures_become_panic_errors() {
        let runtime = crate::runtime::runtime().unwrap();
        let error = runtime
            .block_on(catch_panics::<()>(async {
                tokio::task::yield_now().await;
                panic!("late boom")
            }))
            .unwrap_err();
        assert_eq!(error.kind, DsErrorKind::PANIC);
        assert!(error.message.to_str().unwrap().contains("late boom"));
        assert_eq!(runtime.block_on(catch_panics(async { 3 })).unwrap(), 3);
    }

    #[test]
    fn values_pass_through_and_panics_use_the_default() {
        assert_eq!(catch(0, || 7), 7);
        assert_eq!(catch(0, || -> i32 { panic!("x") }), 0);
        assert!(catch_error("ds_ok", || Ok(())).is_null());
    }
}
