//! S2 (s2.dev's stream store) as a backend of this project, over the official `s2-sdk` crate.
//!
//! The SDK does the wire protocol (HTTP/2, S2S session framing, retries, append and read
//! sessions, the producer). This crate adds what the C ABI and the bindings need from it:
//! - inputs checked before anything is sent (basin and stream names, batch limits, header
//!   names, endpoints), with errors naming the parameter;
//! - one error type, [`S2Error`], with a stable [`ErrorKind`], the HTTP status, S2's error code
//!   and message, the basin and stream, and the values conflicts carry (the expected
//!   sequence number, the current fencing token, the tail);
//! - JSON-ready models of the control plane ([`model`]), with the field names of S2's REST API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), s2_streamstore_core::S2Error> {
//! use s2_streamstore_core::{AppendConditions, ClientOptions, NewRecord, S2Client, records};
//! let client = S2Client::new(&ClientOptions::for_endpoint("http://127.0.0.1:4566", "token"))?;
//! client.ensure_basin("my-basin", None).await?;
//! client.ensure_stream("my-basin", "events", None).await?;
//! let stream = client.stream("my-basin", "events")?;
//! let record = records::to_append_record(stream.context("append"), 0, NewRecord::body("hello"))?;
//! let ack = stream.append(vec![record], &AppendConditions::default()).await?;
//! println!("stored at {}", ack.start.seq_num);
//! # Ok(()) }
//! ```

mod access;
mod client;
mod closable;
mod error;
pub mod metrics;
pub mod model;
pub mod names;
mod options;
mod producer;
pub mod records;
mod stream;

pub use client::S2Client;
pub use error::{Context, ErrorKind, S2Error};
pub use model::Position;
pub use options::{ClientOptions, RetryOptions};
pub use producer::{Acknowledgement, Producer, RecordAck, TrySubmit};
pub use records::NewRecord;
pub use s2_sdk::types::{AppendRecord, Header, SequencedRecord};
pub use stream::{
    AppendAck, AppendConditions, AppendSession, AppendSessionOptions, PreparedAppend,
    ProducerOptions, ReadBatch, ReadRequest, ReadSession, ReadSessionOptions, ReadStart,
    StreamClient,
};
