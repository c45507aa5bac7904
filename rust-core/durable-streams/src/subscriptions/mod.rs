//! Subscriptions (the protocol's §6 and §7): durable cursors over a glob of streams plus
//! explicit ones, delivered by webhook or pull-wake.
//!
//! - `control`: the [`Subscription`] handle and its control API (create / re-confirm, read,
//!   delete, explicit streams); `config` what it is created with, `model` what the server says.
//! - `pull`: the pull-wake primitives (claim, ack / heartbeat, release) and their types.
//! - `worker`: [`PullWorker`], which follows the wake stream and runs user code per batch;
//!   `lease` keeps its lease alive, `batch` is what user code gets, `stats` its counters,
//!   `wake` parses wake events; `dead_letter` moves messages that keep failing aside.
//! - `http`: requests, error codes, and recognising servers without subscriptions;
//!   `json_fields` reads server JSON naming the malformed field; `names` checks user input.
//! - `webhook`: [`WebhookVerifier`] checks signed webhook deliveries (JWKS keys by `kid`, the
//!   timestamp window, replays) and parses their wakes; `Client::webhook_callback` answers one.

mod batch;
mod config;
mod control;
mod dead_letter;
mod http;
mod json_fields;
mod lease;
mod model;
mod names;
mod pull;
mod stats;
mod wake;
mod webhook;
mod worker;

pub use batch::StreamBatch;
pub use config::{Delivery, SubscriptionConfig};
pub use control::Subscription;
pub use dead_letter::DeadLetters;
pub use model::{
    CreateSubscriptionResult, LinkType, StreamLink, SubscriptionInfo, SubscriptionStatus,
    SubscriptionType, WebhookInfo, WebhookSigning,
};
pub use names::{
    MAX_DESCRIPTION_LEN, MAX_LEASE_TTL, MAX_STREAM_PATH_LEN, MAX_SUBSCRIPTION_ID_LEN, MIN_LEASE_TTL,
};
pub use pull::{Ack, AckOutcome, Claim, WakeStream};
pub use stats::WorkerStats;
pub use wake::WakeEvent;
pub use webhook::{
    DEFAULT_JWKS_REFRESH_INTERVAL, DEFAULT_REPLAY_CAPACITY, DEFAULT_WEBHOOK_TOLERANCE,
    WEBHOOK_SIGNATURE_HEADER, WebhookCallback, WebhookClock, WebhookSignature, WebhookVerifier,
    WebhookVerifierBuilder, WebhookWake,
};
pub use worker::{HandlerError, PullWorker};
