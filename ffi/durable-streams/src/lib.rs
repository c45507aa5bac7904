//! The C ABI of the Durable Streams client (`libdurable_streams`): `extern "C"` functions over
//! [`durable_streams_core`], plus the conversions between C and Rust. No protocol logic lives
//! here, and the boundary machinery (panic firewall, exactly-once callbacks, handle counting,
//! runtime, string checks) comes from the shared `ffi_support` crate.
//!
//! Conventions (the generated header `include/durable_streams.h` documents them for C):
//! - handles are opaque pointers with exactly one `_free` function each, which accepts NULL;
//! - a fallible synchronous call returns an owned `DsError*` (NULL on success) and writes its
//!   result through an out-parameter;
//! - an asynchronous call returns `void` and completes through its callback exactly once,
//!   guaranteed by a drop guard ([`callback::Once`]);
//! - every export runs inside `catch_unwind`, so a panic becomes a `DS_ERROR_PANIC` error and
//!   never unwinds into C;
//! - bytes and strings passed in are copied before the call returns; pointers handed out are
//!   either owned (freed with a documented function) or borrowed for a documented lifetime.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod callback;
mod cancel;
mod chunk;
mod claim;
mod client;
mod decorate;
mod error;
mod events;
mod handles;
mod headers;
mod options;
mod producer;
mod pull_worker;
mod reader;
mod runtime;
mod state;
mod stream;
mod strings;
mod subscription;
mod subscription_json;
mod webhook;

use std::ffi::c_char;

pub use callback::{DsDoneCallback, DsFreeCallback};
pub use cancel::{
    DsCancel, ds_cancel_cancel, ds_cancel_free, ds_cancel_is_cancelled, ds_cancel_new,
};
pub use chunk::{
    DsChunk, ds_chunk_closed, ds_chunk_cursor, ds_chunk_data, ds_chunk_free, ds_chunk_message,
    ds_chunk_message_count, ds_chunk_offset, ds_chunk_partial, ds_chunk_resume_skip,
    ds_chunk_resume_skip_messages, ds_chunk_status, ds_chunk_up_to_date,
};
pub use claim::{
    DsAck, DsAckCallback, DsClaim, DsClaimCallback, ds_claim_free, ds_claim_json,
    ds_subscription_ack, ds_subscription_claim, ds_subscription_release,
};
pub use client::{DsClient, ds_client_free, ds_client_new};
pub use decorate::{DsDecorateCallback, DsDecoration, DsRequestInfo, ds_decoration_complete};
pub use error::{
    DsError, DsErrorKind, ds_error_code, ds_error_current_epoch, ds_error_expected_seq,
    ds_error_free, ds_error_kind, ds_error_message, ds_error_received_seq, ds_error_server_message,
    ds_error_status, ds_error_url,
};
pub use events::{DsEventCallback, DsEventField, DsEventLevel, ds_client_set_event_callback};
pub use handles::ds_test_live_handles;
pub use headers::DsHeader;
pub use producer::{
    DS_APPEND_ERROR, DS_APPEND_FULL, DS_APPEND_OK, DsEpochCallback, DsOffsetCallback, DsProducer,
    DsProducerErrorCallback, ds_producer_append, ds_producer_close, ds_producer_detach,
    ds_producer_epoch, ds_producer_flush, ds_producer_free, ds_producer_in_flight_count,
    ds_producer_last_acked_offset, ds_producer_new, ds_producer_next_seq,
    ds_producer_pending_count, ds_producer_restart, ds_producer_try_append,
};
pub use pull_worker::{
    DsBatch, DsBatchCallback, DsBatchLostCallback, DsPullWorker, DsPullWorkerArgs, DsWorkerStats,
    ds_batch_chunk, ds_batch_complete, ds_batch_free, ds_batch_generation, ds_batch_id,
    ds_batch_stream, ds_pull_worker_free, ds_pull_worker_last_error, ds_pull_worker_new,
    ds_pull_worker_run, ds_pull_worker_stats,
};
pub use reader::{
    DsChunkCallback, DsLiveMode, DsReader, ds_reader_cursor, ds_reader_free, ds_reader_next,
    ds_reader_offset, ds_reader_open, ds_reader_resume_skip, ds_reader_resume_skip_messages,
    ds_reader_set_headers, ds_reader_set_max_chunk_bytes, ds_reader_set_skip_bytes,
    ds_reader_set_skip_messages,
};
pub use state::{
    DsMaterializedState, DsStateWatch, DsWatchCallback, ds_state_apply_chunk, ds_state_catch_up,
    ds_state_count, ds_state_free, ds_state_get, ds_state_in_snapshot, ds_state_json,
    ds_state_keys, ds_state_new, ds_state_offset, ds_state_restore, ds_state_snapshot,
    ds_state_types, ds_state_validate, ds_state_watch_checkpoint, ds_state_watch_free,
    ds_state_watch_next, ds_state_watch_open, ds_state_write, ds_state_write_all,
};
pub use stream::{
    DsAppendArgs, DsAppendCallback, DsAppendResult, DsCreateCallback, DsCreateResult,
    DsHeadCallback, DsStream, DsStreamInfo, ds_stream_append, ds_stream_close,
    ds_stream_content_type, ds_stream_create, ds_stream_delete, ds_stream_free, ds_stream_head,
    ds_stream_new, ds_stream_set_content_type, ds_stream_url,
};
pub use strings::ds_string_free;
pub use subscription::{
    DsJsonCallback, DsSubscription, ds_subscription_add_streams, ds_subscription_create,
    ds_subscription_delete, ds_subscription_free, ds_subscription_get, ds_subscription_id,
    ds_subscription_new, ds_subscription_remove_stream, ds_subscription_url,
};
pub use webhook::{
    DsWebhookVerifier, DsWebhookWake, DsWebhookWakeCallback, ds_webhook_callback,
    ds_webhook_verifier_free, ds_webhook_verifier_new, ds_webhook_verifier_refresh_keys,
    ds_webhook_verify, ds_webhook_verify_cached, ds_webhook_wake_callback_token,
    ds_webhook_wake_callback_url, ds_webhook_wake_free, ds_webhook_wake_generation,
    ds_webhook_wake_id, ds_webhook_wake_json,
};

/// The version of this ABI. It changes only when a function's signature or behaviour changes
/// incompatibly; additions keep it. Bindings compare it with `ds_abi_version()` at load time.
///
/// Version 3 appended `headers` and `header_count` to `DsAppendArgs`: the library reads them,
/// so a caller compiled against a version 2 header (a shorter struct) must not load it. It also
/// appended `etag` and `cache_control` to `DsStreamInfo`.
pub const DS_ABI_VERSION: u32 = 3;

/// The ABI version of the loaded library (`DS_ABI_VERSION` of the header it was built with).
/// Thread-safe; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn ds_abi_version() -> u32 {
    DS_ABI_VERSION
}

/// The library's version, e.g. `"0.1.0"`. A static string: never freed, valid forever.
#[unsafe(no_mangle)]
pub extern "C" fn ds_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(version) => version,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}
