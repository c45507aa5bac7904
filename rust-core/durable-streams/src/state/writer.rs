//! [`StateWriter`]: builds State Protocol messages from serde values and appends them to a JSON
//! stream, either with plain appends or through an idempotent [`Producer`] (exactly once).

use serde::Serialize;
use serde_json::Value;

use super::event::{ChangeEvent, ControlEvent, ControlKind, StateEvent};
use crate::error::{Error, Result};
use crate::offset::Offset;
use crate::producer::Producer;
use crate::stream::Stream;

/// Writes change events and control messages to a JSON stream, one stream message each.
///
/// Built on a [`Stream`] ([`StateWriter::new`]), every write is one append request and returns
/// the offset after it. Built on a [`Producer`] ([`StateWriter::with_producer`]), writes are
/// buffered, batched and delivered exactly once; they return `None` and
/// [`StateWriter::flush`] waits for them and returns the offset.
///
/// Every event is checked before it is sent ([`StateEvent::validate`]): an empty `type` or
/// `key`, or a missing `value`, is an [`crate::ErrorKind::InvalidArgument`] naming the field.
pub struct StateWriter {
    target: Target,
}

enum Target {
    Stream(Stream),
    Producer(Box<Producer>),
}

impl std::fmt::Debug for StateWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let via = match &self.target {
            Target::Stream(_) => "append",
            Target::Producer(_) => "producer",
        };
        f.debug_struct("StateWriter")
            .field("url", &self.stream().redacted_url())
            .field("via", &via)
            .finish()
    }
}

/// Serialises `value` for a change event; the error names `field`.
fn to_json_value<T: Serialize + ?Sized>(value: &T, field: &str) -> Result<Value> {
    serde_json::to_value(value)
        .map_err(|e| Error::invalid_argument(field, format!("cannot be serialized as JSON: {e}")))
}

impl StateWriter {
    /// Writes with plain appends (one request per write; see [`crate::AppendRetry`] for when
    /// they are retried).
    pub fn new(stream: Stream) -> StateWriter {
        StateWriter {
            target: Target::Stream(stream),
        }
    }

    /// Writes through an idempotent producer: exactly once, in order, batched.
    pub fn with_producer(producer: Producer) -> StateWriter {
        StateWriter {
            target: Target::Producer(Box::new(producer)),
        }
    }

    /// The stream written to.
    pub fn stream(&self) -> &Stream {
        match &self.target {
            Target::Stream(stream) => stream,
            Target::Producer(producer) => producer.stream(),
        }
    }

    /// The producer, when writing through one (to close or detach it).
    pub fn producer(&self) -> Option<&Producer> {
        match &self.target {
            Target::Stream(_) => None,
            Target::Producer(producer) => Some(producer),
        }
    }

    /// Writes one event. Returns the offset after it for plain appends, `None` through a
    /// producer.
    pub async fn write(&self, event: impl Into<StateEvent>) -> Result<Option<Offset>> {
        let event = event.into();
        event
            .validate()
            .map_err(|e| e.with_url(self.stream().url()))?;
        match &self.target {
            Target::Stream(stream) => Ok(Some(stream.append_json(&event).await?.next_offset)),
            Target::Producer(producer) => {
                producer.append_json(&event).await?;
                Ok(None)
            }
        }
    }

    /// Writes several events: with plain appends in one request (all or none are stored),
    /// through a producer as consecutive messages. Returns as [`StateWriter::write`] does.
    pub async fn write_all(&self, events: &[StateEvent]) -> Result<Option<Offset>> {
        for (index, event) in events.iter().enumerate() {
            event.validate().map_err(|e| {
                Error::invalid_argument(&format!("events[{index}]"), e.message())
                    .with_url(self.stream().url())
            })?;
        }
        match &self.target {
            Target::Stream(stream) => Ok(Some(
                stream
                    .append_json_messages(events.iter())
                    .await?
                    .next_offset,
            )),
            Target::Producer(producer) => {
                for event in events {
                    producer.append_json(event).await?;
                }
                Ok(None)
            }
        }
    }

    /// Writes an `insert` of `value` at `entity_type`/`key`.
    pub async fn insert<T: Serialize + ?Sized>(
        &self,
        entity_type: &str,
        key: &str,
        value: &T,
    ) -> Result<Option<Offset>> {
        let value = to_json_value(value, "value")?;
        self.write(ChangeEvent::insert(entity_type, key, value))
            .await
    }

    /// Writes an `update` of `entity_type`/`key` to `value`, with `old_value` when given.
    pub async fn update<T: Serialize + ?Sized>(
        &self,
        entity_type: &str,
        key: &str,
        value: &T,
        old_value: Option<&T>,
    ) -> Result<Option<Offset>> {
        let mut event = ChangeEvent::update(entity_type, key, to_json_value(value, "value")?);
        if let Some(old_value) = old_value {
            event = event.with_old_value(to_json_value(old_value, "old_value")?);
        }
        self.write(event).await
    }

    /// Writes an `upsert` of `entity_type`/`key` to `value`.
    pub async fn upsert<T: Serialize + ?Sized>(
        &self,
        entity_type: &str,
        key: &str,
        value: &T,
    ) -> Result<Option<Offset>> {
        let value = to_json_value(value, "value")?;
        self.write(ChangeEvent::upsert(entity_type, key, value))
            .await
    }

    /// Writes a `delete` of `entity_type`/`key`.
    pub async fn delete(&self, entity_type: &str, key: &str) -> Result<Option<Offset>> {
        self.write(ChangeEvent::delete(entity_type, key)).await
    }

    /// Writes a control message (`snapshot-start`, `snapshot-end` or `reset`).
    pub async fn control(&self, kind: ControlKind) -> Result<Option<Offset>> {
        self.write(ControlEvent::new(kind)).await
    }

    /// Waits until everything written is stored. Through a producer, returns the offset after
    /// the last acknowledged batch; with plain appends every write is already stored, and this
    /// returns `None`.
    pub async fn flush(&self) -> Result<Option<Offset>> {
        match &self.target {
            Target::Stream(_) => Ok(None),
            Target::Producer(producer) => producer.flush().await,
        }
    }
}
