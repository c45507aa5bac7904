//! The Durable Streams State Protocol (`@durable-streams/state` 0.3.1): change events that
//! materialise a keyed state on a JSON stream.
//!
//! - `event`: the messages ([`ChangeEvent`], [`ControlEvent`], [`StateEvent`]) with the npm
//!   package's field names; `parse` reads them, naming a malformed field; `timestamp` writes
//!   and checks RFC 3339 timestamps.
//! - `writer`: [`StateWriter`], which builds and appends them (plain appends or a producer).
//! - `materialized`: [`MaterializedState`], which applies them in order, notifies, and is saved
//!   and resumed with its offset.
//! - `watch`: [`StateWatch`], the durable, resumable feed of changes for a key prefix.

mod event;
mod materialized;
mod parse;
mod timestamp;
mod watch;
mod writer;

pub use event::{
    ChangeEvent, ChangeHeaders, ControlEvent, ControlHeaders, ControlKind, Operation, StateEvent,
};
pub use materialized::{CHANGE_CHANNEL_CAPACITY, MaterializedState, StateChange, StateSnapshot};
pub use watch::{StateWatch, WatchCheckpoint, WatchOptions, WatchedChange};
pub use writer::StateWriter;
