//! The State Protocol's messages as `@durable-streams/state` 0.3.1 writes them: change events
//! (`type`, `key`, `value`, `old_value`, `headers.operation`, ...) and control messages
//! (`headers.control`). Serialising produces the same field names; parsing is in `parse`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What a change event does to the entity at `type`/`key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Stores a new entity (`"insert"`).
    Insert,
    /// Replaces an entity (`"update"`).
    Update,
    /// Removes an entity (`"delete"`).
    Delete,
    /// Stores the entity whether or not it exists (`"upsert"`).
    Upsert,
}

impl Operation {
    /// The wire name (`"insert"`, `"update"`, `"delete"`, `"upsert"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Upsert => "upsert",
        }
    }

    pub(crate) fn from_wire(name: &str) -> Option<Operation> {
        match name {
            "insert" => Some(Operation::Insert),
            "update" => Some(Operation::Update),
            "delete" => Some(Operation::Delete),
            "upsert" => Some(Operation::Upsert),
            _ => None,
        }
    }

    /// Whether the protocol requires a `value` (every operation but delete).
    pub fn requires_value(self) -> bool {
        self != Operation::Delete
    }
}

/// The `headers` object of a change event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeHeaders {
    /// `operation`.
    pub operation: Operation,
    /// `txid`: groups the changes of one transaction (opaque, non-empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txid: Option<String>,
    /// `timestamp`: when the change happened (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// `from`: where the change came from (free-form, as in the npm package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `offset`: a stream offset the writer associates with the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// Any other header, kept as it came (the npm helpers accept arbitrary string headers).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChangeHeaders {
    /// Headers with only `operation`.
    pub fn new(operation: Operation) -> ChangeHeaders {
        ChangeHeaders {
            operation,
            txid: None,
            timestamp: None,
            from: None,
            offset: None,
            extra: Map::new(),
        }
    }
}

/// A change to one entity: `{"type", "key", "value"?, "old_value"?, "headers"}`.
///
/// `value` is `None` when the field is absent and `Some(Value::Null)` when it is JSON `null`
/// (a delete may carry either), so events round-trip exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEvent {
    /// `type`: the entity type (collection) the key belongs to.
    #[serde(rename = "type")]
    pub entity_type: String,
    /// `key`: the entity's key within its type.
    pub key: String,
    /// `value`: the new value (required for insert, update and upsert).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// `old_value`: the previous value, when the writer supplies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_value: Option<Value>,
    /// `headers`.
    pub headers: ChangeHeaders,
}

impl ChangeEvent {
    fn new(
        operation: Operation,
        entity_type: impl Into<String>,
        key: impl Into<String>,
        value: Option<Value>,
    ) -> ChangeEvent {
        ChangeEvent {
            entity_type: entity_type.into(),
            key: key.into(),
            value,
            old_value: None,
            headers: ChangeHeaders::new(operation),
        }
    }

    /// An `insert` of `value` at `entity_type`/`key`.
    pub fn insert(entity_type: impl Into<String>, key: impl Into<String>, value: Value) -> Self {
        ChangeEvent::new(Operation::Insert, entity_type, key, Some(value))
    }

    /// An `update` setting `entity_type`/`key` to `value`.
    pub fn update(entity_type: impl Into<String>, key: impl Into<String>, value: Value) -> Self {
        ChangeEvent::new(Operation::Update, entity_type, key, Some(value))
    }

    /// An `upsert` setting `entity_type`/`key` to `value`.
    pub fn upsert(entity_type: impl Into<String>, key: impl Into<String>, value: Value) -> Self {
        ChangeEvent::new(Operation::Upsert, entity_type, key, Some(value))
    }

    /// A `delete` of `entity_type`/`key` (no `value`, as the npm helper writes it).
    pub fn delete(entity_type: impl Into<String>, key: impl Into<String>) -> Self {
        ChangeEvent::new(Operation::Delete, entity_type, key, None)
    }

    /// The operation (`headers.operation`).
    pub fn operation(&self) -> Operation {
        self.headers.operation
    }

    /// Sets `old_value`.
    pub fn with_old_value(mut self, old_value: Value) -> Self {
        self.old_value = Some(old_value);
        self
    }

    /// Sets `headers.txid`.
    pub fn with_txid(mut self, txid: impl Into<String>) -> Self {
        self.headers.txid = Some(txid.into());
        self
    }

    /// Sets `headers.timestamp` (RFC 3339, checked when the event is written).
    pub fn with_timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.headers.timestamp = Some(timestamp.into());
        self
    }

    /// Sets `headers.timestamp` to the current time, as JavaScript's `toISOString` writes it
    /// (`2025-01-15T10:30:00.250Z`).
    pub fn with_timestamp_now(self) -> Self {
        self.with_timestamp(super::timestamp::now())
    }

    /// Sets any other header (`txid`, `timestamp`, `from` and `offset` have their own fields,
    /// and `operation` cannot be replaced: such names are refused when the event is written).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .extra
            .insert(name.into(), Value::String(value.into()));
        self
    }

    /// Checks what the protocol requires of a change a writer sends: non-empty `type` and
    /// `key`, a `value` for every operation but delete, a non-empty `txid`, an RFC 3339
    /// `timestamp`, and no extra header that shadows a known one. The error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.entity_type.is_empty() {
            return Err(Error::invalid_argument("type", "cannot be empty"));
        }
        if self.key.is_empty() {
            return Err(Error::invalid_argument("key", "cannot be empty"));
        }
        if self.headers.operation.requires_value() && self.value.is_none() {
            return Err(Error::invalid_argument(
                "value",
                format!("is required for {}", self.headers.operation.as_str()),
            ));
        }
        if self.headers.txid.as_deref() == Some("") {
            return Err(Error::invalid_argument("headers.txid", "cannot be empty"));
        }
        if let Some(timestamp) = &self.headers.timestamp {
            if !super::timestamp::is_rfc3339(timestamp) {
                return Err(Error::invalid_argument(
                    "headers.timestamp",
                    format!("{timestamp:?} is not an RFC 3339 date-time"),
                ));
            }
        }
        for name in self.headers.extra.keys() {
            if KNOWN_CHANGE_HEADERS.contains(&name.as_str()) || name == "control" {
                return Err(Error::invalid_argument(
                    "headers",
                    format!("the extra header {name:?} would shadow a protocol header"),
                ));
            }
        }
        Ok(())
    }
}

/// The change headers with a field of their own.
pub(crate) const KNOWN_CHANGE_HEADERS: [&str; 5] =
    ["operation", "txid", "timestamp", "from", "offset"];

/// Which control message (`headers.control`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlKind {
    /// `"snapshot-start"`: the changes that follow form a snapshot.
    SnapshotStart,
    /// `"snapshot-end"`: the snapshot is complete.
    SnapshotEnd,
    /// `"reset"`: readers clear their materialised state.
    Reset,
}

impl ControlKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlKind::SnapshotStart => "snapshot-start",
            ControlKind::SnapshotEnd => "snapshot-end",
            ControlKind::Reset => "reset",
        }
    }

    pub(crate) fn from_wire(name: &str) -> Option<ControlKind> {
        match name {
            "snapshot-start" => Some(ControlKind::SnapshotStart),
            "snapshot-end" => Some(ControlKind::SnapshotEnd),
            "reset" => Some(ControlKind::Reset),
            _ => None,
        }
    }
}

/// The `headers` object of a control message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlHeaders {
    /// `control`.
    pub control: ControlKind,
    /// `offset`: the stream offset the control message refers to, if the writer gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
}

/// A control message: `{"headers": {"control": ..., "offset"?: ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlEvent {
    /// `headers`.
    pub headers: ControlHeaders,
}

impl ControlEvent {
    /// A control message of `kind` without an offset.
    pub fn new(kind: ControlKind) -> ControlEvent {
        ControlEvent {
            headers: ControlHeaders {
                control: kind,
                offset: None,
            },
        }
    }

    /// Sets `headers.offset`.
    pub fn with_offset(mut self, offset: impl Into<String>) -> Self {
        self.headers.offset = Some(offset.into());
        self
    }

    /// Which control message this is.
    pub fn kind(&self) -> ControlKind {
        self.headers.control
    }
}

/// One message of a state stream: a change or a control message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
// Changes are nearly every message: boxing them would cost an allocation each to save space on
// the rare control message.
#[allow(clippy::large_enum_variant)]
pub enum StateEvent {
    /// A change to one entity.
    Change(ChangeEvent),
    /// Snapshot boundaries and resets.
    Control(ControlEvent),
}

impl From<ChangeEvent> for StateEvent {
    fn from(event: ChangeEvent) -> Self {
        StateEvent::Change(event)
    }
}

impl From<ControlEvent> for StateEvent {
    fn from(event: ControlEvent) -> Self {
        StateEvent::Control(event)
    }
}

impl StateEvent {
    /// The event as a JSON value, exactly as it is written to the stream.
    pub fn to_json(&self) -> Value {
        // Every field is a string, a JSON value or a map with string keys: infallible.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Checks the event before it is written (see [`ChangeEvent::validate`]; a control message
    /// with an empty offset is refused too).
    pub fn validate(&self) -> Result<()> {
        match self {
            StateEvent::Change(change) => change.validate(),
            StateEvent::Control(control) if control.headers.offset.as_deref() == Some("") => {
                Err(Error::invalid_argument("headers.offset", "cannot be empty"))
            }
            StateEvent::Control(_) => Ok(()),
        }
    }
}
