//! Client events: what the client does on its own behalf (retries and their backoff, dropped
//! live connections and reconnects, producer batches, fencing, epoch claims), reported to an
//! [`EventSink`] so that applications can log them and count them.
//!
//! Events never carry header values, decorations, user info or query values of a URL (query
//! parameter names stay: `?sig=<redacted>`): a sink may write everything it receives to a log.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

/// How much an event matters, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum EventLevel {
    /// Routine work, frequent under load (a producer batch acknowledged).
    Debug = 1,
    /// A notable step that needs no action (a live read reconnecting, a new epoch claimed).
    Info = 2,
    /// A failure the client is handling itself (a retry, a dropped connection).
    Warn = 3,
    /// A failure the application must know about (messages lost, a producer fenced).
    Error = 4,
}

impl EventLevel {
    /// The lower-case name (`"debug"`, `"info"`, `"warn"`, `"error"`).
    pub fn name(self) -> &'static str {
        match self {
            EventLevel::Debug => "debug",
            EventLevel::Info => "info",
            EventLevel::Warn => "warn",
            EventLevel::Error => "error",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A request failed transiently and is sent again after a backoff (fields: `operation`,
    /// `attempt`, `backoff_ms`, `error_kind`, `status` when the server answered, `error`).
    Retry,
    /// A live read's connection broke or ended without progress (fields: `mode`, `offset`,
    /// `failures`, `error_kind`, `error`).
    ConnectionDropped,
    /// A live read opens a new connection from its offset (fields: `mode`, `offset`,
    /// `backoff_ms`, `reason`: `dropped` or `server_ended`).
    Reconnect,
    /// A producer batch was acknowledged (fields: `producer_id`, `epoch`, `seq`, `messages`,
    /// `bytes`, `attempts`, `duration_ms`, `duplicate`).
    BatchSent,
    /// A producer batch is sent again with the same epoch and sequence (fields: `producer_id`,
    /// `epoch`, `seq`, `attempt`, `backoff_ms`, `reason`, `error_kind`, `status`, `error`).
    /// `reason` is `transient` when the last attempt failed transiently (resent after
    /// `backoff_ms`), or `overtaken` when a pipelined batch reached the server before an earlier
    /// one and was refused with a sequence gap (`error_kind` `SEQUENCE_GAP`, status 409): it is
    /// resent once the earlier batches are stored, without backoff. Either way one more request.
    BatchRetry,
    /// A producer batch failed for good: its messages are lost, except after the server lost the
    /// producer's state without `auto_claim`, when `messages` is 0 and they are kept for
    /// `restart` (fields: `producer_id`, `epoch`,
    /// `first_seq` and `last_seq` when batches were on the wire, `messages`, `error_kind`,
    /// `status`, `error`).
    BatchFailed,
    /// Another producer with the same id holds a newer epoch (fields: `producer_id`, `epoch`,
    /// `current_epoch`, `auto_claim`).
    Fenced,
    /// The producer moved to a new epoch (fields: `producer_id`, `epoch`, `previous_epoch`,
    /// `reason`: `fenced`, `restart` or `state_lost` when the server forgot the producer).
    EpochClaimed,
}

impl EventKind {
    /// A short, stable, snake-case name (`"retry"`, `"batch_sent"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Retry => "retry",
            EventKind::ConnectionDropped => "connection_dropped",
            EventKind::Reconnect => "reconnect",
            EventKind::BatchSent => "batch_sent",
            EventKind::BatchRetry => "batch_retry",
            EventKind::BatchFailed => "batch_failed",
            EventKind::Fenced => "fenced",
            EventKind::EpochClaimed => "epoch_claimed",
        }
    }

    /// The level events of this kind are reported at.
    pub fn level(self) -> EventLevel {
        match self {
            EventKind::BatchSent => EventLevel::Debug,
            EventKind::Reconnect | EventKind::EpochClaimed => EventLevel::Info,
            EventKind::Retry | EventKind::ConnectionDropped | EventKind::BatchRetry => {
                EventLevel::Warn
            }
            EventKind::BatchFailed | EventKind::Fenced => EventLevel::Error,
        }
    }
}

/// One event, borrowed for the duration of [`EventSink::on_event`].
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// What happened.
    pub kind: EventKind,
    /// How much it matters (always `kind.level()`).
    pub level: EventLevel,
    /// The stream concerned, without user info and with every query value replaced by
    /// `<redacted>` (names kept).
    pub stream_url: &'a str,
    /// A one-line human-readable description.
    pub message: &'a str,
    /// Structured details; which names appear is documented on each [`EventKind`].
    pub fields: &'a [(&'static str, String)],
}

impl Event<'_> {
    /// The value of the field `name`, if present.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Receives client events. Called on the client's worker threads, so it must be quick and must
/// not block; a panic in it is caught and the event dropped.
pub trait EventSink: Send + Sync + 'static {
    /// Events below this level are never built nor delivered.
    fn min_level(&self) -> EventLevel {
        EventLevel::Debug
    }

    /// Handles one event.
    fn on_event(&self, event: &Event<'_>);
}

struct FnSink<F> {
    min_level: EventLevel,
    handler: F,
}

impl<F: Fn(&Event<'_>) + Send + Sync + 'static> EventSink for FnSink<F> {
    fn min_level(&self) -> EventLevel {
        self.min_level
    }

    fn on_event(&self, event: &Event<'_>) {
        (self.handler)(event)
    }
}

/// An [`EventSink`] from a closure receiving events at `min_level` and above.
pub fn event_fn<F>(min_level: EventLevel, handler: F) -> Arc<dyn EventSink>
where
    F: Fn(&Event<'_>) + Send + Sync + 'static,
{
    Arc::new(FnSink { min_level, handler })
}

/// No sink installed: every level is above it.
const DISABLED: u8 = u8::MAX;

/// The client's current sink; replaceable while operations run.
pub(crate) struct EventHub {
    sink: RwLock<Option<Arc<dyn EventSink>>>,
    /// The sink's minimum level, read without locking so that disabled events cost one load.
    min_level: AtomicU8,
}

impl EventHub {
    pub(crate) fn new(sink: Option<Arc<dyn EventSink>>) -> Self {
        let hub = EventHub {
            sink: RwLock::new(None),
            min_level: AtomicU8::new(DISABLED),
        };
        hub.replace(sink);
        hub
    }

    /// Installs `sink` (or none). Operations already reporting to the old sink may finish
    /// doing so; it is dropped when the last of them has.
    pub(crate) fn replace(&self, sink: Option<Arc<dyn EventSink>>) {
        let level = sink.as_ref().map_or(DISABLED, |s| s.min_level() as u8);
        // A poisoned lock only means a writer panicked between two plain stores: the value is
        // still a valid Option.
        let mut slot = self.sink.write().unwrap_or_else(|p| p.into_inner());
        *slot = sink;
        self.min_level.store(level, Ordering::Release);
    }

    /// Whether an event of `kind` would be delivered.
    pub(crate) fn wants(&self, kind: EventKind) -> bool {
        kind.level() as u8 >= self.min_level.load(Ordering::Acquire)
    }

    /// Delivers an event of `kind`, building its message and fields only if a sink wants it.
    pub(crate) fn emit(
        &self,
        kind: EventKind,
        stream_url: &str,
        build: impl FnOnce() -> (String, Vec<(&'static str, String)>),
    ) {
        if !self.wants(kind) {
            return;
        }
        let sink = match self.sink.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let Some(sink) = sink else {
            return;
        };
        let (message, fields) = build();
        let url = loggable_url(stream_url);
        let event = Event {
            kind,
            level: kind.level(),
            stream_url: &url,
            message: &message,
            fields: &fields,
        };
        // A sink's panic must not take down the request or producer task reporting to it.
        let _ = catch_unwind(AssertUnwindSafe(|| sink.on_event(&event)));
    }
}

/// The URL without user info and query values, which may hold credentials.
fn loggable_url(url: &str) -> std::borrow::Cow<'_, str> {
    crate::redact::url(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn recording(min_level: EventLevel) -> (Arc<dyn EventSink>, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = seen.clone();
        let sink = event_fn(min_level, move |event| {
            let line = format!(
                "{} {} {} {:?}",
                event.kind.name(),
                event.stream_url,
                event.message,
                event.fields
            );
            sink_seen.lock().unwrap().push(line);
        });
        (sink, seen)
    }

    #[test]
    fn events_below_the_sink_level_are_never_built() {
        let (sink, seen) = recording(EventLevel::Warn);
        let hub = EventHub::new(Some(sink));
        hub.emit(EventKind::BatchSent, "http://h/s", || {
            panic!("a debug event must not be built for a warn sink")
        });
        hub.emit(EventKind::Retry, "http://h/s", || {
            ("retrying".into(), vec![("attempt", "1".into())])
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with("retry http://h/s retrying"), "{seen:?}");
    }

    #[test]
    fn without_a_sink_nothing_is_built() {
        let hub = EventHub::new(None);
        assert!(!hub.wants(EventKind::BatchFailed));
        hub.emit(EventKind::BatchFailed, "http://h/s", || {
            panic!("no sink: nothing to build")
        });
    }

    #[test]
    fn replacing_the_sink_redirects_later_events() {
        let (first, first_seen) = recording(EventLevel::Debug);
        let (second, second_seen) = recording(EventLevel::Debug);
        let hub = EventHub::new(Some(first));
        hub.emit(EventKind::Reconnect, "http://h/s", || {
            (String::new(), vec![])
        });
        hub.replace(Some(second));
        hub.emit(EventKind::Reconnect, "http://h/s", || {
            (String::new(), vec![])
        });
        hub.replace(None);
        hub.emit(EventKind::Reconnect, "http://h/s", || {
            (String::new(), vec![])
        });
        assert_eq!(first_seen.lock().unwrap().len(), 1);
        assert_eq!(second_seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn urls_lose_credentials_and_query_strings() {
        assert_eq!(
            loggable_url("https://user:secret@example.com/v1/stream/a?token=abc"),
            "https://example.com/v1/stream/a?token=<redacted>"
        );
    }

    #[test]
    fn a_panicking_sink_does_not_propagate() {
        let hub = EventHub::new(Some(event_fn(EventLevel::Debug, |_| panic!("sink bug"))));
        hub.emit(EventKind::Retry, "http://h/s", || (String::new(), vec![]));
    }
}
