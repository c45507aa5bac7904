//! [`MaterializedState`]: the keyed state a stream of State Protocol messages describes, applied
//! in stream order with the rules of `@durable-streams/state` 0.3.1, plus the offset it has
//! applied up to so that it can be saved and resumed.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use super::event::{ControlKind, Operation, StateEvent};
use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;
use crate::read::{Chunk, LiveMode, ReadOptions};
use crate::stream::Stream;

/// How many notifications a slow [`MaterializedState::subscribe`] receiver may fall behind
/// before it sees [`broadcast::error::RecvError::Lagged`].
pub const CHANGE_CHANNEL_CAPACITY: usize = 4096;

/// One applied message, as sent to [`MaterializedState::subscribe`] receivers.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    /// The message that was applied.
    pub event: StateEvent,
    /// For a change: the entity's value before it (`None` when it did not exist).
    pub previous: Option<Value>,
    /// The state's offset once the chunk this message came in is applied.
    pub offset: Offset,
}

/// The entities of a stream, by type then key, built by applying its messages in order.
///
/// The rules are those of `@durable-streams/state` 0.3.1: `insert`, `update` and `upsert` store
/// the event's `value` at `type`/`key` (an insert over an existing key, or an update of a
/// missing one, simply stores it); `delete` removes the key (a missing key is no change);
/// `reset` clears everything; `snapshot-start` and `snapshot-end` change no entity, they only
/// mark the snapshot ([`MaterializedState::in_snapshot`]). A type whose last key is deleted
/// disappears.
///
/// [`MaterializedState::offset`] is where the next read starts: save
/// [`MaterializedState::snapshot`] (entities plus offset) and restore it with
/// [`MaterializedState::from_snapshot`], or start from an offset with
/// [`MaterializedState::starting_at`] to replay from there.
#[derive(Debug)]
pub struct MaterializedState {
    entities: BTreeMap<String, BTreeMap<String, Value>>,
    offset: Offset,
    in_snapshot: bool,
    changes: broadcast::Sender<StateChange>,
}

/// A saved [`MaterializedState`]: its entities and the offset they are complete up to.
/// Serialise it with serde (for example `serde_json::to_vec`) and restore it with
/// [`MaterializedState::from_snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// The offset the entities are complete up to (where reading resumes).
    pub offset: String,
    /// Whether a `snapshot-start` was applied without its `snapshot-end`.
    #[serde(default)]
    pub in_snapshot: bool,
    /// The entities, by type then key.
    pub entities: BTreeMap<String, BTreeMap<String, Value>>,
}

impl Default for MaterializedState {
    fn default() -> Self {
        MaterializedState::new()
    }
}

impl MaterializedState {
    /// An empty state at the beginning of the stream.
    pub fn new() -> MaterializedState {
        MaterializedState::starting_at(Offset::BEGINNING)
    }

    /// An empty state that reads on from `offset` (replaying only what follows it).
    pub fn starting_at(offset: Offset) -> MaterializedState {
        MaterializedState {
            entities: BTreeMap::new(),
            offset,
            in_snapshot: false,
            changes: broadcast::Sender::new(CHANGE_CHANNEL_CAPACITY),
        }
    }

    /// Restores a saved state. Fails with [`ErrorKind::InvalidOffset`] when the saved offset is
    /// not a valid offset (a corrupted save).
    pub fn from_snapshot(snapshot: StateSnapshot) -> Result<MaterializedState> {
        let offset = Offset::parse(&snapshot.offset)?;
        let mut state = MaterializedState::starting_at(offset);
        state.entities = snapshot.entities;
        state.entities.retain(|_, keys| !keys.is_empty());
        state.in_snapshot = snapshot.in_snapshot;
        Ok(state)
    }

    /// The entities and offset, to save and restore later.
    pub fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            offset: self.offset.as_str().to_owned(),
            in_snapshot: self.in_snapshot,
            entities: self.entities.clone(),
        }
    }

    /// Notifications of every message applied from now on, in order. A receiver more than
    /// [`CHANGE_CHANNEL_CAPACITY`] messages behind loses the oldest and is told so
    /// ([`broadcast::error::RecvError::Lagged`]); for a lossless, resumable feed use
    /// [`crate::StateWatch`].
    pub fn subscribe(&self) -> broadcast::Receiver<StateChange> {
        self.changes.subscribe()
    }

    /// The offset everything before has been applied from: where reading resumes.
    pub fn offset(&self) -> &Offset {
        &self.offset
    }

    /// Whether a `snapshot-start` has been applied and its `snapshot-end` not yet.
    pub fn in_snapshot(&self) -> bool {
        self.in_snapshot
    }

    /// The value at `entity_type`/`key`.
    pub fn get(&self, entity_type: &str, key: &str) -> Option<&Value> {
        self.entities.get(entity_type)?.get(key)
    }

    /// The value at `entity_type`/`key`, deserialised. Fails with [`ErrorKind::Parse`] naming
    /// the entity when the value does not fit `T`.
    pub fn get_as<T: DeserializeOwned>(&self, entity_type: &str, key: &str) -> Result<Option<T>> {
        self.get(entity_type, key)
            .map(|value| {
                T::deserialize(value).map_err(|e| {
                    Error::new(
                        ErrorKind::Parse,
                        format!("the value of {entity_type}/{key} does not deserialise: {e}"),
                    )
                })
            })
            .transpose()
    }

    /// The keys and values of one type, in key order.
    pub fn entities(&self, entity_type: &str) -> impl Iterator<Item = (&str, &Value)> {
        self.entities
            .get(entity_type)
            .into_iter()
            .flat_map(|keys| keys.iter().map(|(key, value)| (key.as_str(), value)))
    }

    /// Every entity as `(type, key, value)`, ordered by type then key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.entities.iter().flat_map(|(entity_type, keys)| {
            keys.iter()
                .map(move |(key, value)| (entity_type.as_str(), key.as_str(), value))
        })
    }

    /// The types that have at least one entity, in order.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.entities.keys().map(String::as_str)
    }

    /// How many entities there are, over all types.
    pub fn len(&self) -> usize {
        self.entities.values().map(BTreeMap::len).sum()
    }

    /// Whether there is no entity.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The entities as one JSON object `{type: {key: value}}` (for comparisons and debugging).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.entities
                .iter()
                .map(|(entity_type, keys)| {
                    let keys = keys
                        .iter()
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect();
                    (entity_type.clone(), Value::Object(keys))
                })
                .collect(),
        )
    }

    /// Applies one message and returns the entity's previous value (for a change). The offset
    /// does not move: use [`MaterializedState::apply_chunk`] for stream data, or
    /// [`MaterializedState::set_offset`] after applying messages read some other way.
    pub fn apply(&mut self, event: &StateEvent) -> Option<Value> {
        match event {
            StateEvent::Change(change) => match change.operation() {
                Operation::Insert | Operation::Update | Operation::Upsert => {
                    let value = change.value.clone().unwrap_or(Value::Null);
                    self.entities
                        .entry(change.entity_type.clone())
                        .or_default()
                        .insert(change.key.clone(), value)
                }
                Operation::Delete => {
                    let keys = self.entities.get_mut(&change.entity_type)?;
                    let previous = keys.remove(&change.key);
                    if keys.is_empty() {
                        self.entities.remove(&change.entity_type);
                    }
                    previous
                }
            },
            StateEvent::Control(control) => {
                match control.kind() {
                    ControlKind::SnapshotStart => self.in_snapshot = true,
                    ControlKind::SnapshotEnd => self.in_snapshot = false,
                    ControlKind::Reset => {
                        self.entities.clear();
                        self.in_snapshot = false;
                    }
                }
                None
            }
        }
    }

    /// Moves the offset (after applying, with [`MaterializedState::apply`], the messages read
    /// up to it some other way).
    pub fn set_offset(&mut self, offset: Offset) {
        self.offset = offset;
    }

    /// Applies every message of a chunk of the stream, in order, and moves the offset past it.
    /// Returns how many messages were applied.
    ///
    /// All messages are parsed before any is applied, so a malformed one (an
    /// [`ErrorKind::Parse`] error naming its offset, position and field) leaves the state
    /// untouched. A chunk of a non-JSON stream is an [`ErrorKind::InvalidArgument`] error.
    pub fn apply_chunk(&mut self, chunk: &Chunk) -> Result<usize> {
        let events = parse_chunk(chunk, &self.offset)?;
        let count = events.len();
        let notify = self.changes.receiver_count() > 0;
        for event in events {
            let previous = self.apply(&event);
            if notify {
                // No receiver left is not an error: nobody is listening any more.
                let _ = self.changes.send(StateChange {
                    event,
                    previous,
                    offset: chunk.offset().clone(),
                });
            }
        }
        self.offset = chunk.offset().clone();
        Ok(count)
    }

    /// The read options that continue from [`MaterializedState::offset`].
    pub fn read_options(&self, live: LiveMode) -> ReadOptions {
        ReadOptions::new().offset(self.offset.clone()).live(live)
    }

    /// Reads `stream` from [`MaterializedState::offset`] to its current tail and applies
    /// everything. Returns how many messages were applied.
    pub async fn catch_up(&mut self, stream: &Stream) -> Result<usize> {
        let mut session = stream.read(self.read_options(LiveMode::Off));
        let mut applied = 0;
        while let Some(chunk) = session.next_chunk().await? {
            applied += self
                .apply_chunk(&chunk)
                .map_err(|e| e.with_url(stream.url()))?;
        }
        Ok(applied)
    }
}

/// Parses each message of a JSON chunk that starts at `start`, naming the message at fault.
pub(crate) fn parse_chunk(chunk: &Chunk, start: &Offset) -> Result<Vec<StateEvent>> {
    let messages = chunk.messages().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            "state events are read from a JSON stream (application/json); this chunk is not JSON",
        )
    })?;
    messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            StateEvent::from_json_bytes(message).map_err(|e| {
                Error::new(
                    ErrorKind::Parse,
                    format!(
                        "message {index} of the chunk read from offset {start}: {}",
                        e.message()
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::state::{ChangeEvent, ControlEvent};

    fn apply_all(state: &mut MaterializedState, events: Vec<StateEvent>) {
        for event in &events {
            state.apply(event);
        }
    }

    #[test]
    fn insert_update_upsert_store_and_delete_removes() {
        let mut state = MaterializedState::new();
        apply_all(
            &mut state,
            vec![
                ChangeEvent::insert("user", "1", json!({"name": "Alice"})).into(),
                ChangeEvent::insert("user", "2", json!({"name": "Bob"})).into(),
                ChangeEvent::update("user", "1", json!({"name": "Alice Smith"})).into(),
                ChangeEvent::upsert("config", "theme", json!("dark")).into(),
                ChangeEvent::upsert("config", "theme", json!("light")).into(),
                ChangeEvent::delete("user", "2").into(),
            ],
        );
        assert_eq!(
            state.to_json(),
            json!({"user": {"1": {"name": "Alice Smith"}}, "config": {"theme": "light"}})
        );
        assert_eq!(state.len(), 2);
        assert_eq!(state.types().collect::<Vec<_>>(), vec!["config", "user"]);
        assert_eq!(state.get("config", "theme"), Some(&json!("light")));
    }

    #[test]
    fn insert_over_an_existing_key_and_update_of_a_missing_key_store_the_value() {
        let mut state = MaterializedState::new();
        let previous = state.apply(&ChangeEvent::update("t", "k", json!(1)).into());
        assert_eq!(previous, None);
        let previous = state.apply(&ChangeEvent::insert("t", "k", json!(2)).into());
        assert_eq!(previous, Some(json!(1)));
        assert_eq!(state.get("t", "k"), Some(&json!(2)));
    }

    #[test]
    fn deleting_a_missing_key_changes_nothing_and_the_last_key_removes_its_type() {
        let mut state = MaterializedState::new();
        assert_eq!(state.apply(&ChangeEvent::delete("t", "k").into()), None);
        state.apply(&ChangeEvent::insert("t", "k", json!(1)).into());
        assert_eq!(
            state.apply(&ChangeEvent::delete("t", "k").into()),
            Some(json!(1))
        );
        assert!(state.is_empty());
        assert_eq!(state.types().count(), 0);
    }

    #[test]
    fn snapshot_markers_change_no_entity_and_reset_clears_everything() {
        let mut state = MaterializedState::new();
        state.apply(&ChangeEvent::insert("t", "old", json!(0)).into());
        state.apply(&ControlEvent::new(ControlKind::SnapshotStart).into());
        assert!(state.in_snapshot());
        state.apply(&ChangeEvent::insert("t", "a", json!(1)).into());
        state.apply(&ControlEvent::new(ControlKind::SnapshotEnd).into());
        assert!(!state.in_snapshot());
        assert_eq!(state.to_json(), json!({"t": {"old": 0, "a": 1}}));
        state.apply(&ControlEvent::new(ControlKind::SnapshotStart).into());
        state.apply(&ControlEvent::new(ControlKind::Reset).into());
        assert!(state.is_empty());
        assert!(!state.in_snapshot());
        state.apply(&ChangeEvent::insert("t", "b", json!(2)).into());
        assert_eq!(state.to_json(), json!({"t": {"b": 2}}));
    }

    #[test]
    fn a_snapshot_restores_entities_offset_and_snapshot_flag() {
        let mut state = MaterializedState::starting_at(Offset::parse("12_34").unwrap());
        state.apply(&ChangeEvent::insert("t", "k", json!({"n": 1})).into());
        state.apply(&ControlEvent::new(ControlKind::SnapshotStart).into());
        let saved = serde_json::to_vec(&state.snapshot()).unwrap();
        let restored =
            MaterializedState::from_snapshot(serde_json::from_slice(&saved).unwrap()).unwrap();
        assert_eq!(restored.to_json(), state.to_json());
        assert_eq!(restored.offset().as_str(), "12_34");
        assert!(restored.in_snapshot());
        let corrupt = StateSnapshot {
            offset: "a/b".into(),
            in_snapshot: false,
            entities: BTreeMap::new(),
        };
        assert_eq!(
            MaterializedState::from_snapshot(corrupt)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidOffset
        );
    }

    #[test]
    fn typed_reads_name_the_entity_when_the_value_does_not_fit() {
        let mut state = MaterializedState::new();
        state.apply(&ChangeEvent::insert("n", "k", json!("text")).into());
        assert_eq!(
            state.get_as::<String>("n", "k").unwrap().as_deref(),
            Some("text")
        );
        assert_eq!(state.get_as::<String>("n", "missing").unwrap(), None);
        let err = state.get_as::<u32>("n", "k").unwrap_err();
        assert!(err.message().contains("n/k"), "{err}");
    }

    fn json_chunk(messages: &[Value], offset: &str) -> Chunk {
        let data = bytes::Bytes::from(serde_json::to_vec(messages).unwrap());
        let parts = messages
            .iter()
            .map(|m| bytes::Bytes::from(serde_json::to_vec(m).unwrap()))
            .collect();
        Chunk::new(
            data,
            Some(parts),
            Offset::parse(offset).unwrap(),
            None,
            true,
            false,
        )
    }

    #[test]
    fn a_chunk_is_applied_whole_or_not_at_all_and_moves_the_offset() {
        let mut state = MaterializedState::new();
        let mut changes = state.subscribe();
        let good = json_chunk(
            &[
                json!({"type": "t", "key": "a", "value": 1, "headers": {"operation": "insert"}}),
                json!({"type": "t", "key": "a", "value": 2, "headers": {"operation": "update"}}),
            ],
            "1_1",
        );
        assert_eq!(state.apply_chunk(&good).unwrap(), 2);
        assert_eq!(state.offset().as_str(), "1_1");
        let first = changes.try_recv().unwrap();
        assert_eq!(first.previous, None);
        let second = changes.try_recv().unwrap();
        assert_eq!(second.previous, Some(json!(1)));
        assert_eq!(second.offset.as_str(), "1_1");

        let bad = json_chunk(
            &[
                json!({"type": "t", "key": "b", "value": 1, "headers": {"operation": "insert"}}),
                json!({"type": "t", "key": "b", "headers": {"operation": "bogus"}}),
            ],
            "1_2",
        );
        let err = state.apply_chunk(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert!(err.message().contains("message 1"), "{err}");
        assert!(err.message().contains("headers.operation"), "{err}");
        assert_eq!(state.offset().as_str(), "1_1");
        assert_eq!(state.to_json(), json!({"t": {"a": 2}}));
        assert!(changes.try_recv().is_err());
    }
}
