//! The C types of completion callbacks, over the shared exactly-once guard.

use std::ffi::c_void;

pub(crate) use ffi_support::callback::{Callback, Once, OwnedUserData, UserData};

use crate::error::DsError;

/// Completion of an operation that produces no value (`ds_stream_delete`, `ds_producer_append`,
/// `ds_producer_detach`).
///
/// `error` is NULL on success; otherwise it is owned by the callee (free it with
/// `ds_error_free`).
pub type DsDoneCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, error: *mut DsError)>;

/// Releases caller-owned user data once the library no longer needs it (see `ds_client_new` and
/// `ds_producer_new`). May be NULL.
pub type DsFreeCallback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A [`DsDoneCallback`] with its user data.
///
/// cbindgen:ignore
pub(crate) type Done = ffi_support::callback::Done<DsError>;
