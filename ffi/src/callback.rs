//! Completion callbacks: the exactly-once guard, and user data owned by the library.

use std::ffi::c_void;

use crate::error::{DsError, FfiResult};
use crate::handles::UserData;

/// Completion of an operation that produces no value (`ds_stream_delete`, `ds_producer_append`,
/// `ds_producer_detach`).
///
/// `error` is NULL on success; otherwise it is owned by the callee (free it with
/// `ds_error_free`).
pub type DsDoneCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError)>;

/// Releases caller-owned user data once the library no longer needs it (see `ds_client_new` and
/// `ds_producer_new`). May be NULL.
pub type DsFreeCallback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C completion callback with its user data, able to deliver one result.
pub(crate) trait Callback: Send + 'static {
    /// What a successful operation hands over.
    type Value;

    /// Converts the result and calls the C function. The C call must be the last thing done, so
    /// that a panic in the conversion leaves the callback uncalled (and the guard fires).
    fn invoke(&self, result: FfiResult<Self::Value>);
}

/// Fires a callback exactly once: with the operation's result via [`Once::finish`], or, if
/// the operation ends without one (a panic, a dropped task), with a `DS_ERROR_PANIC` or
/// `DS_ERROR_INTERNAL` error from its `Drop`.
pub(crate) struct Once<C: Callback> {
    callback: Option<C>,
}

impl<C: Callback> Once<C> {
    pub(crate) fn new(callback: C) -> Once<C> {
        Once {
            callback: Some(callback),
        }
    }

    /// Delivers the result.
    pub(crate) fn finish(mut self, result: FfiResult<C::Value>) {
        if let Some(callback) = &self.callback {
            callback.invoke(result);
        }
        // Only now: if `invoke` panicked before its C call, `Drop` still reports.
        self.callback = None;
    }
}

impl<C: Callback> Drop for Once<C> {
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            let error = if std::thread::panicking() {
                DsError::panic("the operation panicked before completing")
            } else {
                DsError::internal("the operation ended without reporting a result")
            };
            callback.invoke(Err(error));
        }
    }
}

/// A [`DsDoneCallback`] with its user data.
pub(crate) struct Done {
    function: unsafe extern "C" fn(*mut c_void, *mut DsError),
    user_data: UserData,
}

impl Done {
    /// `None` when the C function pointer is NULL.
    pub(crate) fn new(function: DsDoneCallback, user_data: *mut c_void) -> Option<Once<Done>> {
        function.map(|function| {
            Once::new(Done {
                function,
                user_data: UserData(user_data),
            })
        })
    }
}

impl Callback for Done {
    type Value = ();

    fn invoke(&self, result: FfiResult<()>) {
        let error = result.err().map_or(std::ptr::null_mut(), Box::into_raw);
        // SAFETY: a non-NULL function pointer supplied by the caller, with its own user data;
        // the error is handed over as owned, as documented.
        unsafe { (self.function)(self.user_data.0, error) }
    }
}

/// Caller user data that the library owns from the moment it is passed in: `free` is called
/// exactly once, when this value is dropped (that is, when nothing can use the data any more).
pub(crate) struct OwnedUserData {
    user_data: UserData,
    free: DsFreeCallback,
}

impl OwnedUserData {
    pub(crate) fn new(user_data: *mut c_void, free: DsFreeCallback) -> OwnedUserData {
        OwnedUserData {
            user_data: UserData(user_data),
            free,
        }
    }

    pub(crate) fn get(&self) -> *mut c_void {
        self.user_data.0
    }
}

impl Drop for OwnedUserData {
    fn drop(&mut self) {
        if let Some(free) = self.free.take() {
            // SAFETY: the caller's release function for its own user data, called once.
            unsafe { free(self.user_data.0) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DsErrorKind;
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<(usize, Option<DsErrorKind>)>> = Mutex::new(Vec::new());

    unsafe extern "C" fn record(user_data: *mut c_void, error: *mut DsError) {
        // SAFETY: the error, if any, is owned by this callback.
        let error = (!error.is_null()).then(|| unsafe { Box::from_raw(error) });
        SEEN.lock()
            .unwrap()
            .push((user_data as usize, error.map(|e| e.kind)));
    }

    fn seen(tag: usize) -> Vec<Option<DsErrorKind>> {
        SEEN.lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t == tag)
            .map(|(_, k)| *k)
            .collect()
    }

    #[test]
    fn a_finished_callback_fires_once() {
        let once = Done::new(Some(record), 101 as *mut c_void).unwrap();
        once.finish(Ok(()));
        assert_eq!(seen(101), vec![None]);
    }

    #[test]
    fn a_dropped_callback_reports_internal() {
        drop(Done::new(Some(record), 102 as *mut c_void).unwrap());
        assert_eq!(seen(102), vec![Some(DsErrorKind::INTERNAL)]);
    }

    #[test]
    fn a_panic_while_holding_the_callback_reports_panic() {
        let once = Done::new(Some(record), 103 as *mut c_void).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = once;
            panic!("inside an operation");
        }));
        assert!(result.is_err());
        assert_eq!(seen(103), vec![Some(DsErrorKind::PANIC)]);
    }

    #[test]
    fn null_callbacks_are_refused() {
        assert!(Done::new(None, std::ptr::null_mut()).is_none());
    }

    static FREED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    unsafe extern "C" fn release(user_data: *mut c_void) {
        FREED.lock().unwrap().push(user_data as usize);
    }

    #[test]
    fn owned_user_data_is_released_once_on_drop() {
        let owned = OwnedUserData::new(7 as *mut c_void, Some(release));
        assert_eq!(owned.get() as usize, 7);
        drop(owned);
        drop(OwnedUserData::new(8 as *mut c_void, None));
        assert_eq!(*FREED.lock().unwrap(), vec![7]);
    }
}
