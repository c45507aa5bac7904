//! The one Tokio runtime of a native library, and starting operations on it.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use crate::callback::{Callback, Once};
use crate::error::BoundaryError;
use crate::guard::catch_panics;

/// Worker threads when the library's setting is unset or invalid. Callbacks are short and the
/// work is I/O-bound, so two threads serve many concurrent operations.
pub const DEFAULT_WORKER_THREADS: usize = 2;
/// A sanity bound for the worker-thread setting.
const MAX_WORKER_THREADS: usize = 256;

/// A process-wide runtime, built on first use and never shut down (it lives in a static), so
/// callbacks can fire until the process exits. A build failure is kept and reported by every
/// call instead of panicking.
pub struct SharedRuntime {
    threads_variable: &'static str,
    thread_name: &'static str,
    runtime: OnceLock<Result<Runtime, String>>,
}

impl SharedRuntime {
    /// A runtime whose worker count comes from the environment variable `threads_variable`
    /// (default [`DEFAULT_WORKER_THREADS`]) and whose threads are called `thread_name`.
    pub const fn new(threads_variable: &'static str, thread_name: &'static str) -> SharedRuntime {
        SharedRuntime {
            threads_variable,
            thread_name,
            runtime: OnceLock::new(),
        }
    }

    /// The runtime, or why it could not be started.
    pub fn get(&self) -> Result<&Runtime, &str> {
        self.runtime
            .get_or_init(|| {
                Builder::new_multi_thread()
                    .worker_threads(worker_threads(std::env::var(self.threads_variable).ok()))
                    .thread_name(self.thread_name)
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the Tokio runtime: {e}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// The runtime, or an internal error of the backend's kind.
    pub fn get_or_error<E: BoundaryError>(&self) -> Result<&Runtime, Box<E>> {
        self.get().map_err(E::internal)
    }

    /// Starts `operation` on the runtime and reports its result through `once`; a panic while
    /// it runs is reported as a panic error. `operation` is the result of checking the call's
    /// arguments: an argument error, like an unavailable runtime, is reported at once, on the
    /// calling thread.
    pub fn start<C, F>(&self, once: Once<C>, operation: Result<F, Box<C::Error>>)
    where
        C: Callback,
        C::Value: Send,
        F: Future<Output = Result<C::Value, Box<C::Error>>> + Send + 'static,
    {
        match operation.and_then(|operation| Ok((self.get_or_error()?, operation))) {
            Err(error) => once.finish(Err(error)),
            Ok((runtime, operation)) => {
                runtime.spawn(async move {
                    let result = catch_panics(operation).await;
                    once.finish(result.and_then(|r| r));
                });
            }
        }
    }
}

fn worker_threads(setting: Option<String>) -> usize {
    setting
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_WORKER_THREADS).contains(n))
        .unwrap_or(DEFAULT_WORKER_THREADS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::Done;
    use crate::error::test_error::TestError;
    use std::ffi::c_void;
    use std::sync::Mutex;
    use std::sync::mpsc;

    #[test]
    fn worker_threads_default_to_two_and_accept_sane_overrides() {
        assert_eq!(worker_threads(None), 2);
        assert_eq!(worker_threads(Some("4".into())), 4);
        assert_eq!(worker_threads(Some(" 1 ".into())), 1);
        for bad in ["0", "-3", "many", "100000"] {
            assert_eq!(worker_threads(Some(bad.into())), 2, "{bad}");
        }
    }

    /// What a callback reports: its tag and its error, if any.
    type Report = (usize, Option<TestError>);

    static RESULTS: Mutex<Option<mpsc::Sender<Report>>> = Mutex::new(None);

    unsafe extern "C" fn report(user_data: *mut c_void, error: *mut TestError) {
        // SAFETY: the error, if any, is owned by this callback.
        let error = (!error.is_null()).then(|| *unsafe { Box::from_raw(error) });
        if let Some(sender) = RESULTS.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = sender.send((user_data as usize, error));
        }
    }

    #[test]
    fn started_operations_report_results_argument_errors_and_panics_once_each() {
        static RUNTIME: SharedRuntime = SharedRuntime::new("FFI_SUPPORT_TEST_THREADS", "ffi-test");
        let (sender, receiver) = mpsc::channel();
        *RESULTS.lock().unwrap_or_else(|p| p.into_inner()) = Some(sender);
        let once = |tag: usize| Done::new(Some(report), tag as *mut c_void).expect("callback");

        RUNTIME.start(once(1), Ok(async { Ok(()) }));
        RUNTIME.start(
            once(2),
            Err::<std::future::Ready<Result<(), Box<TestError>>>, _>(TestError::invalid_argument(
                crate::ArgError::new("url", "must not be NULL"),
            )),
        );
        RUNTIME.start(
            once(3),
            Ok(async {
                tokio::task::yield_now().await;
                panic!("in the operation");
            }),
        );
        let mut results: Vec<_> = (0..3)
            .map(|_| {
                receiver
                    .recv_timeout(std::time::Duration::from_secs(10))
                    .expect("every operation reports")
            })
            .collect();
        results.sort_by_key(|(tag, _)| *tag);
        assert_eq!(results[0], (1, None));
        assert!(matches!(&results[1], (2, Some(TestError::Argument(m))) if m.starts_with("url:")));
        assert!(
            matches!(&results[2], (3, Some(TestError::Panic(m))) if m.contains("in the operation"))
        );
        assert!(receiver.try_recv().is_err(), "no callback fires twice");
    }
}
