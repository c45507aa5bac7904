//! Client events for C: the core's `EventSink` forwarding each event to a C callback, so that
//! host languages can route retries, reconnects, batches and fencing into their own logging
//! and metrics.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use durable_streams_core::{Error, Event, EventLevel, EventSink};

use crate::callback::{DsFreeCallback, OwnedUserData};
use crate::client::DsClient;
use crate::error::{DsError, FfiResult};
use crate::handles;
use crate::strings::cstring;
use ffi_support::guard::catch_error;

/// How much an event matters, in increasing order. Passed as an `int32_t`.
///
/// cbindgen:rename-all=prefix:DS_EVENT_
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsEventLevel {
    /// Routine work, frequent under load (`batch_sent`).
    DEBUG = 1,
    /// A notable step needing no action (`reconnect`, `epoch_claimed`).
    INFO = 2,
    /// A failure the client is handling itself (`retry`, `connection_dropped`, `batch_retry`).
    WARN = 3,
    /// A failure the application must know about (`batch_failed`, `fenced`).
    ERROR = 4,
}

fn to_level(value: i32) -> FfiResult<EventLevel> {
    match value {
        1 => Ok(EventLevel::Debug),
        2 => Ok(EventLevel::Info),
        3 => Ok(EventLevel::Warn),
        4 => Ok(EventLevel::Error),
        other => Err(Error::invalid_argument(
            "min_level",
            format!(
                "must be DS_EVENT_DEBUG (1), DS_EVENT_INFO (2), DS_EVENT_WARN (3) or DS_EVENT_ERROR (4), got {other}"
            ),
        )
        .into()),
    }
}

fn from_level(level: EventLevel) -> i32 {
    let level = match level {
        EventLevel::Debug => DsEventLevel::DEBUG,
        EventLevel::Info => DsEventLevel::INFO,
        EventLevel::Warn => DsEventLevel::WARN,
        EventLevel::Error => DsEventLevel::ERROR,
    };
    level as i32
}

/// One structured detail of an event: a name and its value as text.
#[repr(C)]
pub struct DsEventField {
    /// The field name, e.g. `attempt`.
    pub key: *const c_char,
    /// The value, e.g. `2`; numbers are decimal, booleans `true`/`false`.
    pub value: *const c_char,
}

/// Receives one client event.
///
/// - `level`: a `DsEventLevel` value;
/// - `kind`: `retry`, `connection_dropped`, `reconnect`, `batch_sent`, `batch_retry`,
///   `batch_failed`, `fenced` or `epoch_claimed` (more may be added; ignore unknown kinds);
/// - `stream_url`: the stream concerned, without user info, query values replaced by
///   `<redacted>` (names kept);
/// - `message`: one human-readable line;
/// - `fields`, `field_count`: structured details (the README lists the fields of each kind).
///
/// Events never contain header values or decorations. Every pointer is borrowed for the
/// duration of the call only. Called on a library worker thread, possibly from several threads
/// at once: it must be thread-safe, return quickly and not block, and must not free the client.
pub type DsEventCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: i32,
        kind: *const c_char,
        stream_url: *const c_char,
        message: *const c_char,
        fields: *const DsEventField,
        field_count: usize,
    ),
>;

type EventFunction = unsafe extern "C" fn(
    *mut c_void,
    i32,
    *const c_char,
    *const c_char,
    *const c_char,
    *const DsEventField,
    usize,
);

struct FfiEventSink {
    function: EventFunction,
    min_level: EventLevel,
    user_data: OwnedUserData,
}

impl EventSink for FfiEventSink {
    fn min_level(&self) -> EventLevel {
        self.min_level
    }

    fn on_event(&self, event: &Event<'_>) {
        let kind = cstring(event.kind.name());
        let url = cstring(event.stream_url);
        let message = cstring(event.message);
        let texts: Vec<(CString, CString)> = event
            .fields
            .iter()
            .map(|(key, value)| (cstring(key), cstring(value)))
            .collect();
        let fields: Vec<DsEventField> = texts
            .iter()
            .map(|(key, value)| DsEventField {
                key: key.as_ptr(),
                value: value.as_ptr(),
            })
            .collect();
        // SAFETY: the caller's callback with its own user data; every string and the field
        // array live until the call returns, as the callback's contract says.
        unsafe {
            (self.function)(
                self.user_data.get(),
                from_level(event.level),
                kind.as_ptr(),
                url.as_ptr(),
                message.as_ptr(),
                fields.as_ptr(),
                fields.len(),
            )
        };
    }
}

/// Installs the client's event callback, or removes it when `callback` is NULL.
///
/// Events below `min_level` are not even built. The callback applies to every operation of the
/// client, including streams, readers and producers made from it, from the next event on;
/// operations running at the time may deliver one last event to the previous callback.
///
/// Ownership of `user_data` passes to the library with this call: `free_user_data` (may be
/// NULL) is called with it exactly once, on an unspecified thread, when no call with it can
/// happen any more (after it is replaced or removed and running deliveries have returned, or
/// after the client and everything made from it are freed), or before this function returns
/// if it fails or `callback` is NULL.
///
/// `min_level` is a `DsEventLevel` value. Returns NULL on success or an owned error (`client`
/// NULL, `min_level` out of range: `DS_ERROR_INVALID_ARGUMENT` naming it).
///
/// # Safety
/// `client` must be NULL or a live `DsClient`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ds_client_set_event_callback(
    client: *const DsClient,
    min_level: i32,
    callback: DsEventCallback,
    user_data: *mut c_void,
    free_user_data: DsFreeCallback,
) -> *mut DsError {
    let user_data = OwnedUserData::new(user_data, free_user_data);
    catch_error("ds_client_set_event_callback", move || {
        // SAFETY: NULL or a live client per the contract.
        let client = unsafe { handles::borrow(client) }
            .ok_or_else(|| Error::invalid_argument("client", "must not be NULL"))?;
        let min_level = to_level(min_level)?;
        let sink = callback.map(|function| {
            Arc::new(FfiEventSink {
                function,
                min_level,
                user_data,
            }) as Arc<dyn EventSink>
        });
        client.client.set_event_sink(sink);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_validated_and_name_the_parameter() {
        assert_eq!(
            to_level(DsEventLevel::DEBUG as i32).unwrap(),
            EventLevel::Debug
        );
        assert_eq!(
            to_level(DsEventLevel::ERROR as i32).unwrap(),
            EventLevel::Error
        );
        for bad in [0, 5, -1] {
            let error = to_level(bad).unwrap_err();
            assert!(
                error
                    .server_message
                    .to_string_lossy()
                    .starts_with("min_level:")
            );
        }
        assert_eq!(from_level(EventLevel::Warn), 3);
    }
}
