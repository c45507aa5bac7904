//! # durable-streams-core
//!
//! An async client for the [Durable Streams protocol]: create, append to, read (catch-up,
//! long-poll, SSE), close, fork and delete durable, ordered, resumable streams over HTTP, plus an
//! idempotent producer for exactly-once, pipelined, batched writes.
//!
//! Start with a [`Client`], get a [`Stream`] handle for a URL, and call its methods. Every
//! operation is an `async fn`; dropping its future cancels it, and [`cancellable`] ties one to a
//! [`CancellationToken`]. Every failure is an [`Error`] that names the stream URL, the HTTP status
//! and the server's message.
//!
//! [Durable Streams protocol]: https://github.com/durable-streams/durable-streams

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod cancel;
mod client;
mod content_types;
mod decorate;
mod error;
mod events;
mod model;
mod offset;
mod producer;
mod protocol;
mod read;
mod redact;
mod retry;
pub mod state;
mod stream;
mod subscriptions;
mod transport;

pub use cancel::{CancellationToken, cancellable};
pub use client::{Client, ClientBuilder, MAX_HEADER_VALUE_LEN, MAX_TIMEOUT, MAX_URL_LEN};
pub use decorate::{
    DecorateFuture, Decorations, Operation, RequestDecorator, RequestInfo, decorator_fn,
};
pub use error::{Error, ErrorDetail, ErrorKind, Result};
pub use events::{Event, EventKind, EventLevel, EventSink, event_fn};
pub use model::{AppendOptions, AppendResult, CreateOptions, CreateResult, ForkFrom, StreamInfo};
pub use offset::Offset;
pub use producer::{
    ErrorCallback, MAX_CONTENT_TYPE_LEN, MAX_PRODUCER_ID_LEN, MAX_PROTOCOL_INTEGER, Producer,
    ProducerError, ProducerOptions, TryAppendStatus,
};
pub use read::{Chunk, ChunkStream, LiveMode, ReadOptions, ReadSession};
pub use retry::{AppendRetry, RetryPolicy};
pub use state::{MaterializedState, StateWatch, StateWriter};
pub use stream::Stream;
pub use subscriptions::{
    Ack, AckOutcome, Claim, CreateSubscriptionResult, DeadLetters, Delivery, HandlerError,
    LinkType, MAX_DESCRIPTION_LEN, MAX_LEASE_TTL, MAX_STREAM_PATH_LEN, MAX_SUBSCRIPTION_ID_LEN,
    MIN_LEASE_TTL, PullWorker, StreamBatch, StreamLink, Subscription, SubscriptionConfig,
    SubscriptionInfo, SubscriptionStatus, SubscriptionType, WakeEvent, WakeStream, WebhookInfo,
    WebhookSigning, WorkerStats,
};
pub use subscriptions::{
    DEFAULT_JWKS_REFRESH_INTERVAL, DEFAULT_REPLAY_CAPACITY, DEFAULT_WEBHOOK_TOLERANCE,
    WEBHOOK_SIGNATURE_HEADER, WebhookCallback, WebhookClock, WebhookSignature, WebhookVerifier,
    WebhookVerifierBuilder, WebhookWake,
};
