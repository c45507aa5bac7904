//! The pull-wake primitives: claim a wake, ack (with `done`, or as a heartbeat), release.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::control::Subscription;
use super::http::{answer_error, protocol_error};
use super::json_fields::{Fields, parse_object};
use super::model::{LinkType, parse_link_type};
use super::names::{check_stream_path, check_worker_name};
use crate::decorate::Operation;
use crate::error::{Error, Result};
use crate::offset::Offset;

/// One linked stream of a claimed wake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeStream {
    /// The stream-root-relative path.
    pub path: String,
    /// Glob or explicit.
    pub link_type: LinkType,
    /// The subscription's cursor: processing starts after it.
    pub acked_offset: Offset,
    /// The stream's tail when the wake was claimed.
    pub tail_offset: Offset,
    /// Whether the stream has data after its cursor.
    pub has_pending: bool,
}

/// A claimed wake: the lease on a subscription's pending work, until it is acked with `done`,
/// released, or expires. Its `Debug` output hides the token.
#[derive(Clone)]
pub struct Claim {
    pub(crate) wake_id: String,
    pub(crate) generation: u64,
    pub(crate) token: String,
    pub(crate) streams: Vec<WakeStream>,
    pub(crate) lease_ttl: Duration,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("wake_id", &self.wake_id)
            .field("generation", &self.generation)
            .field("token", &"<redacted>")
            .field("streams", &self.streams)
            .field("lease_ttl", &self.lease_ttl)
            .finish()
    }
}

impl Claim {
    /// The wake's unique id.
    pub fn wake_id(&self) -> &str {
        &self.wake_id
    }

    /// The wake's generation (the subscription's fencing counter).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every linked stream with its cursor and tail.
    pub fn streams(&self) -> &[WakeStream] {
        &self.streams
    }

    /// How long the lease lasts without an ack.
    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
    }
}

/// A processed position of one stream: acking offset `N` means the next read starts after `N`
/// (pass the offset a read reported after the processed data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The stream-root-relative path.
    pub stream: String,
    /// The offset processed up to, inclusive.
    pub offset: Offset,
}

impl Ack {
    /// An ack of `stream` up to `offset`.
    pub fn new(stream: impl Into<String>, offset: Offset) -> Ack {
        Ack {
            stream: stream.into(),
            offset,
        }
    }
}

/// The answer to an ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckOutcome {
    /// With `done`: the subscription still has pending work and a new wake was issued.
    pub next_wake: bool,
}

impl Subscription {
    /// Claims the subscription's current wake for `worker`.
    ///
    /// `Ok(None)` when there is no pending work. Fails with
    /// [`crate::ErrorKind::AlreadyClaimed`] when another worker holds the lease (the error's
    /// message names it; [`Error::generation`] is the wake's generation).
    pub async fn claim(&self, worker: &str) -> Result<Option<Claim>> {
        check_worker_name("worker", worker).map_err(|e| e.with_url(self.url()))?;
        self.ensure_supported().await?;
        let url = self.action_url(&["claim"])?;
        let body = serde_json::json!({ "worker": worker });
        let answer = self
            .send(
                Operation::SubscriptionDelivery,
                Method::POST,
                &url,
                Some(&body),
                false,
            )
            .await?;
        // PROTOCOL.md does not say how a claim without pending work is answered; the Node
        // reference server (0.3.7) answers 409 `NO_PENDING_WORK`, which is not a failure.
        if answer.status == StatusCode::CONFLICT
            && protocol_error(&answer.body).is_some_and(|e| e.code == "NO_PENDING_WORK")
        {
            return Ok(None);
        }
        if answer.status != StatusCode::OK {
            return Err(answer_error(&answer, &url, Operation::SubscriptionDelivery));
        }
        let value =
            parse_object(&answer.body, "the claim").map_err(|e| e.with_url(url.as_str()))?;
        parse_claim(&value)
            .map(Some)
            .map_err(|e| e.with_url(url.as_str()))
    }

    /// Acks processed offsets of a claimed wake. With `done`, the acks are applied and the
    /// lease is released; without, the acks are applied and the lease extended (a heartbeat).
    ///
    /// A claim that is no longer current (its lease expired, another wake replaced it) fails
    /// with [`crate::ErrorKind::Fenced`] and applies nothing. An offset behind the cursor or
    /// past the tail fails with [`crate::ErrorKind::InvalidOffset`].
    pub async fn ack(&self, claim: &Claim, acks: &[Ack], done: bool) -> Result<AckOutcome> {
        let body = ack_body(&claim.wake_id, claim.generation, acks, done)
            .map_err(|e| e.with_url(self.url()))?;
        self.ensure_supported().await?;
        let url = self.action_url(&["ack"])?;
        // A heartbeat may be repeated; a repeated `done` would find the wake gone (FENCED).
        let answer = self
            .send_with_token(
                Operation::SubscriptionDelivery,
                Method::POST,
                &url,
                Some(&body),
                Some(&claim.token),
                !done,
            )
            .await?;
        if answer.status != StatusCode::OK {
            return Err(answer_error(&answer, &url, Operation::SubscriptionDelivery));
        }
        ack_outcome(&answer.body, "the ack answer", url.as_str())
    }

    /// Extends the lease without acking anything (an ack without `done`).
    pub async fn heartbeat(&self, claim: &Claim) -> Result<()> {
        self.ack(claim, &[], false).await.map(drop)
    }

    /// Gives the wake back without acking: the server issues another wake if work is pending.
    /// A claim that is no longer current fails with [`crate::ErrorKind::Fenced`].
    pub async fn release(&self, claim: &Claim) -> Result<()> {
        self.ensure_supported().await?;
        let url = self.action_url(&["release"])?;
        let body = serde_json::json!({ "wake_id": claim.wake_id, "generation": claim.generation });
        let answer = self
            .send_with_token(
                Operation::SubscriptionDelivery,
                Method::POST,
                &url,
                Some(&body),
                Some(&claim.token),
                false,
            )
            .await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(answer_error(&answer, &url, Operation::SubscriptionDelivery))
        }
    }
}

/// The body of an ack (`/ack`, or a webhook's callback): every entry is checked first, naming it.
pub(super) fn ack_body(wake_id: &str, generation: u64, acks: &[Ack], done: bool) -> Result<Value> {
    let mut list = Vec::with_capacity(acks.len());
    for (index, ack) in acks.iter().enumerate() {
        check_stream_path(&format!("acks[{index}].stream"), &ack.stream)?;
        if ack.offset.is_beginning() || ack.offset.is_now() {
            return Err(Error::invalid_argument(
                &format!("acks[{index}].offset"),
                format!(
                    "{:?} is a sentinel, not a processed position",
                    ack.offset.as_str()
                ),
            ));
        }
        list.push(serde_json::json!({ "stream": ack.stream, "offset": ack.offset.as_str() }));
    }
    let mut body = serde_json::json!({
        "wake_id": wake_id,
        "generation": generation,
        "acks": list,
    });
    if done {
        body["done"] = Value::Bool(true);
    }
    Ok(body)
}

/// What the answer to an ack says (`next_wake`, false when absent).
pub(super) fn ack_outcome(body: &[u8], what: &'static str, url: &str) -> Result<AckOutcome> {
    let value = parse_object(body, what).map_err(|e| e.with_url(url))?;
    let fields = Fields::of(&value, what)?;
    Ok(AckOutcome {
        next_wake: fields
            .opt_bool("next_wake")
            .map_err(|e| e.with_url(url))?
            .unwrap_or(false),
    })
}

fn parse_claim(value: &Value) -> Result<Claim> {
    let fields = Fields::of(value, "the claim")?;
    let streams = fields
        .objects("streams")?
        .iter()
        .map(|stream| {
            Ok(WakeStream {
                path: stream.str("path")?.to_owned(),
                link_type: parse_link_type(stream, "link_type")?,
                acked_offset: stream.offset("acked_offset")?,
                tail_offset: stream.offset("tail_offset")?,
                has_pending: stream.opt_bool("has_pending")?.unwrap_or(false),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Claim {
        wake_id: fields.str("wake_id")?.to_owned(),
        generation: fields.u64("generation")?,
        token: fields.str("token")?.to_owned(),
        streams,
        lease_ttl: Duration::from_millis(fields.u64("lease_ttl_ms")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn the_protocols_claim_example_parses() {
        let claim = parse_claim(&serde_json::json!({
            "wake_id": "w_abc123", "generation": 7, "token": "eyJ...",
            "streams": [{"path": "events/abc", "link_type": "glob",
                         "acked_offset": "0000000000000001_0000000000000042",
                         "tail_offset": "0000000000000002_0000000000000084",
                         "has_pending": true}],
            "lease_ttl_ms": 30000
        }))
        .unwrap();
        assert_eq!(claim.generation(), 7);
        assert_eq!(
            claim.streams()[0].tail_offset.as_str(),
            "0000000000000002_0000000000000084"
        );
        assert!(claim.streams()[0].has_pending);
        assert!(!format!("{claim:?}").contains("eyJ"));
    }

    #[test]
    fn a_claim_without_a_token_names_the_field() {
        let err = parse_claim(&serde_json::json!({
            "wake_id": "w", "generation": 1, "streams": [], "lease_ttl_ms": 1000
        }))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert!(err.message().contains("`token` is missing"), "{err}");
        let err = parse_claim(&serde_json::json!({
            "wake_id": "w", "generation": -1, "token": "t", "lease_ttl_ms": 1000
        }))
        .unwrap_err();
        assert!(err.message().contains("`generation`"), "{err}");
    }
}
