//! Reading a stream: a pull-based session yielding chunks, in catch-up, long-poll, SSE or auto
//! mode, that resumes from the last offset after failures.
//!
//! - `options`: [`LiveMode`] and [`ReadOptions`], what a read is asked for.
//! - `session`: the [`ReadSession`] state, its accessors, and the loop choosing how the next
//!   chunk is fetched.
//! - `poll`: catch-up and long-poll requests and their responses.
//! - `pieces`: large responses returned in pieces of at most `max_chunk_bytes`.
//! - `live_sse`: the SSE session (connections, control events, reconnects).
//! - `chunk_stream`: [`ChunkStream`], the session as a `futures_core::Stream`.
//! - `chunk`, `json`, `sse`: the [`Chunk`] type, JSON array splitting, and the SSE parser;
//!   `json_scan` is the validating scanner that finds a JSON array's elements, and `json_cut`
//!   cuts a JSON response still arriving into pieces of whole messages.

mod chunk;
mod chunk_stream;
mod json;
mod json_cut;
mod json_scan;
mod live_sse;
mod options;
mod pieces;
mod poll;
mod session;
mod sse;

pub use chunk::Chunk;
pub use chunk_stream::ChunkStream;
pub use options::{LiveMode, ReadOptions};
pub use session::ReadSession;
