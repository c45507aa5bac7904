//! The C ABI of the S2 backend (`libs2_streamstore`): `extern "C"` functions over
//! [`s2_streamstore_core`], plus the conversions between C and Rust. No protocol logic lives
//! here; the boundary machinery (panic firewall, exactly-once callbacks, handle counting,
//! runtime, string checks) comes from the shared `ffi_support` crate. The generated header
//! `include/s2.h` documents the conventions for C.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod append_session;
mod batch;
mod callback;
mod cancel;
mod client;
mod copies;
mod error;
mod handles;
mod metrics;
mod pipeline;
mod producer;
mod read_session;
mod runtime;
mod stream;
mod strings;

use std::ffi::c_char;

pub use append_session::{
    S2AppendSession, s2_append_session_close, s2_append_session_free, s2_append_session_open,
    s2_append_session_submit,
};
pub use batch::{S2ReadBatch, S2Record, s2_batch_free, s2_batch_records, s2_batch_tail};
pub use callback::{
    S2AppendCallback, S2BatchCallback, S2CountedAckCallback, S2DoneCallback, S2JsonCallback,
    S2PositionCallback, S2ReadSessionCallback, S2RecordAckCallback,
};
pub use cancel::{S2Cancel, s2_cancel_cancel, s2_cancel_free, s2_cancel_new};
pub use client::{
    S2Client, s2_access_token_issue, s2_access_token_revoke, s2_access_tokens_list,
    s2_basin_create, s2_basin_delete, s2_basin_ensure, s2_basin_get_config, s2_basin_reconfigure,
    s2_basins_list, s2_client_free, s2_client_new, s2_stream_create, s2_stream_delete,
    s2_stream_ensure, s2_stream_get_config, s2_stream_reconfigure, s2_streams_list,
};
pub use error::{
    S2Error, S2ErrorKind, s2_error_basin, s2_error_code, s2_error_expected_fencing_token,
    s2_error_expected_seq_num, s2_error_free, s2_error_is_retryable, s2_error_kind,
    s2_error_kind_name, s2_error_message, s2_error_server_message, s2_error_status,
    s2_error_stream, s2_error_tail,
};
pub use handles::s2_test_live_handles;
pub use producer::{
    S2Producer, s2_producer_close, s2_producer_flush, s2_producer_free, s2_producer_open,
    s2_producer_submit, s2_producer_submit_counted,
};
pub use read_session::{
    S2ReadSession, s2_read_session_free, s2_read_session_is_caught_up, s2_read_session_next,
    s2_read_session_next_seq_num, s2_read_session_open,
};
pub use stream::{
    S2AppendAck, S2AppendConditions, S2Header, S2NewRecord, S2Position, S2ReadArgs,
    S2ReadStartKind, S2Stream, s2_stream_append, s2_stream_check_tail, s2_stream_fence,
    s2_stream_free, s2_stream_open, s2_stream_read, s2_stream_trim,
};

/// The version of this ABI; it changes only on incompatible changes. Bindings compare it with
/// `s2_abi_version()` at load time.
pub const S2_ABI_VERSION: u32 = 1;

/// The ABI version of the loaded library. Thread-safe; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn s2_abi_version() -> u32 {
    S2_ABI_VERSION
}

/// The library's version, e.g. `"0.1.0"`. A static string: never freed, valid forever.
#[unsafe(no_mangle)]
pub extern "C" fn s2_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(version) => version,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}
