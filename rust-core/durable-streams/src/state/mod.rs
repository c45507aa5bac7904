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
//!
//! ```no_run
//! # async fn example() -> durable_streams_core::Result<()> {
//! use durable_streams_core::state::{ChangeEvent, WatchCheckpoint, WatchOptions};
//! use durable_streams_core::{Client, LiveMode, MaterializedState, StateWatch, StateWriter};
//! use serde_json::json;
//!
//! let stream = Client::new()?.stream("http://127.0.0.1:4437/v1/stream/shop")?;
//! let writer = StateWriter::new(stream.clone());
//! writer.insert("order", "eu:1", &json!({"total": 12})).await?;
//! writer
//!     .write(ChangeEvent::update("order", "eu:1", json!({"total": 15})).with_txid("tx-2"))
//!     .await?;
//!
//! let mut state = MaterializedState::new();
//! state.catch_up(&stream).await?;
//! assert_eq!(state.get("order", "eu:1"), Some(&json!({"total": 15})));
//!
//! // A durable watch: persist each checkpoint after handling its change, resume from it.
//! let saved: Option<String> = None;
//! let from = match saved {
//!     Some(text) => text.parse::<WatchCheckpoint>()?,
//!     None => WatchCheckpoint::default(),
//! };
//! let options = WatchOptions::new("eu:").from(from).live(LiveMode::LongPoll);
//! let mut watch = StateWatch::new(&stream, options);
//! while let Some(change) = watch.next().await? {
//!     println!("{:?}", change.event);
//!     let _persist_me = change.checkpoint.to_string();
//! }
//! # Ok(())
//! # }
//! ```

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
