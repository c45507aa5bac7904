//! Completion callbacks: the exactly-once guard, and user data owned by the library.

use std::ffi::c_void;

use crate::error::BoundaryError;

/// A user-data pointer carried to another thread (a callback on a runtime worker).
///
/// The library never dereferences it; making it usable from any thread is part of the caller's
/// contract, which each header documents.
#[derive(Debug, Clone, Copy)]
pub struct UserData(pub *mut c_void);

// SAFETY: the pointer is opaque to Rust and only handed back to the caller's own callbacks,
// which the headers require to accept it on any thread.
unsafe impl Send for UserData {}
// SAFETY: as above; Rust never reads through it.
unsafe impl Sync for UserData {}

/// Releases caller-owned user data once the library no longer needs it. May be NULL.
pub type FreeCallback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C completion callback with its user data, able to deliver one result.
pub trait Callback: Send + 'static {
    /// What a successful operation hands over.
    type Value;
    /// The backend's error object.
    type Error: BoundaryError;

    /// Converts the result and calls the C function. The C call must be the last thing done,
    /// so that a panic in the conversion leaves the callback uncalled (and the guard fires).
    fn invoke(&self, result: Result<Self::Value, Box<Self::Error>>);
}

/// Fires a callback exactly once: with the operation's result via [`Once::finish`], or, if the
/// operation ends without one (a panic, a dropped task), with a panic or internal error from
/// its `Drop`.
pub struct Once<C: Callback> {
    callback: Option<C>,
}

impl<C: Callback> Once<C> {
    /// Guards `callback`.
    pub fn new(callback: C) -> Once<C> {
        Once {
            callback: Some(callback),
        }
    }

    /// Delivers the result.
    pub fn finish(mut self, result: Result<C::Value, Box<C::Error>>) {
        if let Some(callback) = &self.callback {
            callback.invoke(result);
        }
        // Only now: if `invoke` panicked before its C call, `Drop` still reports.
        self.callback = None;
    }

    /// The guarded callback (to compare it with another before delivering).
    pub fn callback(&self) -> Option<&C> {
        self.callback.as_ref()
    }

    /// The same guard over `wrap(callback)`: for a callback that is one variant of several.
    pub fn map<D: Callback>(mut self, wrap: impl FnOnce(C) -> D) -> Once<D> {
        Once {
            callback: self.callback.take().map(wrap),
        }
    }

    /// Lets the callback go without calling it: for a call that tells its caller at once, by
    /// its return value, that the operation never started (a try-call that found no room).
    pub fn disarm(mut self) {
        self.callback = None;
    }
}

impl<C: Callback> Drop for Once<C> {
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            let error = if std::thread::panicking() {
                C::Error::panic("the operation panicked before completing")
            } else {
                C::Error::internal("the operation ended without reporting a result")
            };
            callback.invoke(Err(error));
        }
    }
}

/// The C signature of a completion that carries no value: `(user_data, error)`, the error
/// NULL on success and otherwise owned by the callee.
pub type DoneFunction<E> = unsafe extern "C" fn(user_data: *mut c_void, error: *mut E);

/// A value-less completion callback with its user data.
pub struct Done<E> {
    function: DoneFunction<E>,
    user_data: UserData,
}

impl<E: BoundaryError> Done<E> {
    /// `None` when the C function pointer is NULL (the call then does nothing).
    pub fn new(function: Option<DoneFunction<E>>, user_data: *mut c_void) -> Option<Once<Done<E>>> {
        function.map(|function| {
            Once::new(Done {
                function,
                user_data: UserData(user_data),
            })
        })
    }
}

impl<E: BoundaryError> Callback for Done<E> {
    type Value = ();
    type Error = E;

    fn invoke(&self, result: Result<(), Box<E>>) {
        let error = result.err().map_or(std::ptr::null_mut(), Box::into_raw);
        // SAFETY: a non-NULL function pointer supplied by the caller, with its own user data;
        // the error is handed over as owned, as documented.
        unsafe { (self.function)(self.user_data.0, error) }
    }
}

/// Caller user data that the library owns from the moment it is passed in: `free` is called
/// exactly once, when this value is dropped (that is, when nothing can use the data any more).
pub struct OwnedUserData {
    user_data: UserData,
    free: FreeCallback,
}

impl OwnedUserData {
    /// Takes ownership of `user_data`, to be released with `free` (may be NULL).
    pub fn new(user_data: *mut c_void, free: FreeCallback) -> OwnedUserData {
        OwnedUserData {
            user_data: UserData(user_data),
            free,
        }
    }

    /// The pointer, for handing back to the caller's callbacks.
    pub fn get(&self) -> *mut c_void {
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
    use crate::error::test_error::TestError;
    use std::sync::Mutex;

    #[derive(Debug, PartialEq)]
    enum Seen {
        Ok,
        Panic,
        Internal,
        Other,
    }

    static SEEN: Mutex<Vec<(usize, Seen)>> = Mutex::new(Vec::new());

    unsafe extern "C" fn record(user_data: *mut c_void, error: *mut TestError) {
        // SAFETY: the error, if any, is owned by this callback.
        let error = (!error.is_null()).then(|| unsafe { Box::from_raw(error) });
        let seen = match error.as_deref() {
            None => Seen::Ok,
            Some(TestError::Panic(_)) => Seen::Panic,
            Some(TestError::Internal(_)) => Seen::Internal,
            Some(_) => Seen::Other,
        };
        SEEN.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((user_data as usize, seen));
    }

    fn seen(tag: usize) -> Vec<Seen> {
        let mut all = SEEN.lock().unwrap_or_else(|p| p.into_inner());
        let (mine, others): (Vec<_>, Vec<_>) = all.drain(..).partition(|(t, _)| *t == tag);
        *all = others;
        mine.into_iter().map(|(_, s)| s).collect()
    }

    fn done(tag: usize) -> Once<Done<TestError>> {
        Done::new(Some(record), tag as *mut c_void).expect("a non-NULL callback")
    }

    #[test]
    fn a_finished_callback_fires_once() {
        done(101).finish(Ok(()));
        assert_eq!(seen(101), vec![Seen::Ok]);
    }

    #[test]
    fn a_dropped_callback_reports_internal() {
        drop(done(102));
        assert_eq!(seen(102), vec![Seen::Internal]);
    }

    #[test]
    fn a_panic_while_holding_the_callback_reports_panic() {
        let once = done(103);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = once;
            panic!("inside an operation");
        }));
        assert!(result.is_err());
        assert_eq!(seen(103), vec![Seen::Panic]);
    }

    #[test]
    fn a_disarmed_callback_never_fires() {
        done(104).disarm();
        assert!(seen(104).is_empty());
    }

    #[test]
    fn null_callbacks_are_refused() {
        assert!(Done::<TestError>::new(None, std::ptr::null_mut()).is_none());
    }

    static FREED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    unsafe extern "C" fn release(user_data: *mut c_void) {
        FREED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(user_data as usize);
    }

    #[test]
    fn owned_user_data_is_released_once_on_drop() {
        let owned = OwnedUserData::new(7 as *mut c_void, Some(release));
        assert_eq!(owned.get() as usize, 7);
        drop(owned);
        drop(OwnedUserData::new(8 as *mut c_void, None));
        assert_eq!(*FREED.lock().unwrap_or_else(|p| p.into_inner()), vec![7]);
    }
}
