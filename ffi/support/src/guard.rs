//! The panic firewall: every export runs inside `catch_unwind`, so nothing unwinds into C.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;

use crate::error::BoundaryError;

/// Runs `body`; on a panic returns `on_panic` instead.
///
/// For exports that report failure through a return value with a safe default (NULL, 0,
/// false) or through a callback whose drop guard already fired during the unwind.
pub fn catch<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    // AssertUnwindSafe: after a panic nothing observes the closure's captures again except
    // through mutexes that recover from poisoning.
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Runs a fallible `body` for an export that returns an owned error pointer: NULL on success,
/// the error (a panic error for a panic) otherwise.
pub fn catch_error<E: BoundaryError>(
    function: &str,
    body: impl FnOnce() -> Result<(), Box<E>>,
) -> *mut E {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(error)) => Box::into_raw(error),
        Err(payload) => Box::into_raw(panic_error(function, payload.as_ref())),
    }
}

/// Runs `future`, turning a panic while polling it into a panic error. (Tokio would catch the
/// panic itself and drop the future later, so the callback guard could only report "ended
/// without a result", without the panic message.)
pub async fn catch_panics<T, E: BoundaryError>(
    future: impl Future<Output = T>,
) -> Result<T, Box<E>> {
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

/// A panic error describing a caught panic inside `function`.
pub fn panic_error<E: BoundaryError>(function: &str, payload: &(dyn Any + Send)) -> Box<E> {
    let detail = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    E::panic(&format!("a panic inside {function}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::test_error::TestError;

    #[test]
    fn panics_become_panic_errors_naming_the_function() {
        let error: *mut TestError = catch_error("ds_test", || panic!("boom"));
        assert!(!error.is_null());
        // SAFETY: just returned by `catch_error`, freed once here.
        let error = unsafe { Box::from_raw(error) };
        match *error {
            TestError::Panic(message) => {
                assert!(
                    message.contains("ds_test") && message.contains("boom"),
                    "{message}"
                );
            }
            other => panic!("expected a panic error, got {other:?}"),
        }
    }

    #[test]
    fn panics_inside_futures_become_panic_errors() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a test runtime");
        let error = runtime
            .block_on(catch_panics::<(), TestError>(async {
                tokio::task::yield_now().await;
                panic!("late boom")
            }))
            .expect_err("the panic is reported");
        assert!(matches!(*error, TestError::Panic(ref m) if m.contains("late boom")));
        let value = runtime.block_on(catch_panics::<_, TestError>(async { 3 }));
        assert_eq!(value.ok(), Some(3));
    }

    #[test]
    fn values_pass_through_and_panics_use_the_default() {
        assert_eq!(catch(0, || 7), 7);
        assert_eq!(catch(0, || -> i32 { panic!("x") }), 0);
        assert!(catch_error::<TestError>("ds_ok", || Ok(())).is_null());
    }
}
