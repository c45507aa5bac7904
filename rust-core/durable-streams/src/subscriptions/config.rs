//! What a subscription is created with, checked before anything is sent.

use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

use super::names::{MAX_DESCRIPTION_LEN, check_lease_ttl, check_pattern, check_stream_path};
use crate::error::{Error, Result};

/// How a subscription's wakes are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The server appends wake events to `wake_stream` (a stream-root-relative path of a
    /// stream the application creates), and workers claim the wake ([`crate::PullWorker`]).
    PullWake {
        /// The wake channel, e.g. `wake/pool`.
        wake_stream: String,
    },
    /// The server `POST`s each wake to `url`, signed with its Ed25519 key.
    Webhook {
        /// Where wakes are sent: `https://`, or `http://localhost` / `http://127.0.0.x` for
        /// development.
        url: String,
    },
}

/// The configuration of a subscription (`PUT {root}/__ds/subscriptions/{id}`).
///
/// At least one of [`pattern`](SubscriptionConfig::pattern) or
/// [`streams`](SubscriptionConfig::stream) is required. Paths are relative to the stream root
/// (`events/abc`); a pattern's `*` matches one segment and `**` any number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionConfig {
    /// The delivery mechanism.
    pub delivery: Delivery,
    /// The glob of stream paths the subscription follows.
    pub pattern: Option<String>,
    /// Explicitly linked stream paths, in addition to the pattern.
    pub streams: Vec<String>,
    /// The lease a worker holds while processing a wake; the server's default (30 s) when
    /// `None`. From 1 second to 10 minutes, in whole milliseconds.
    pub lease_ttl: Option<Duration>,
    /// A human-readable description.
    pub description: Option<String>,
}

impl SubscriptionConfig {
    /// A pull-wake subscription whose wakes are appended to `wake_stream`.
    pub fn pull_wake(wake_stream: impl Into<String>) -> Self {
        SubscriptionConfig::with_delivery(Delivery::PullWake {
            wake_stream: wake_stream.into(),
        })
    }

    /// A webhook subscription whose wakes are sent to `url`.
    pub fn webhook(url: impl Into<String>) -> Self {
        SubscriptionConfig::with_delivery(Delivery::Webhook { url: url.into() })
    }

    fn with_delivery(delivery: Delivery) -> Self {
        SubscriptionConfig {
            delivery,
            pattern: None,
            streams: Vec::new(),
            lease_ttl: None,
            description: None,
        }
    }

    /// Follows every stream whose path matches `pattern`.
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// Links one stream explicitly.
    pub fn stream(mut self, path: impl Into<String>) -> Self {
        self.streams.push(path.into());
        self
    }

    /// Sets the lease duration.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = Some(ttl);
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Checks every field, as [`crate::Subscription::create`] does before sending anything
    /// ([`crate::ErrorKind::InvalidArgument`] naming the field).
    pub fn check(&self) -> Result<()> {
        self.to_body().map(drop)
    }

    /// Checks every field and builds the request body.
    pub(crate) fn to_body(&self) -> Result<Value> {
        let mut body = Map::new();
        match &self.delivery {
            Delivery::PullWake { wake_stream } => {
                check_stream_path("wake_stream", wake_stream)?;
                body.insert("type".into(), "pull-wake".into());
                body.insert("wake_stream".into(), wake_stream.as_str().into());
            }
            Delivery::Webhook { url } => {
                check_webhook_url(url)?;
                body.insert("type".into(), "webhook".into());
                body.insert("webhook".into(), serde_json::json!({ "url": url }));
            }
        }
        if self.pattern.is_none() && self.streams.is_empty() {
            return Err(Error::invalid_argument(
                "pattern",
                "a subscription needs a pattern, explicit streams, or both",
            ));
        }
        if let Some(pattern) = &self.pattern {
            check_pattern("pattern", pattern)?;
            body.insert("pattern".into(), pattern.as_str().into());
        }
        if !self.streams.is_empty() {
            for (index, path) in self.streams.iter().enumerate() {
                check_stream_path(&format!("streams[{index}]"), path)?;
            }
            body.insert("streams".into(), self.streams.clone().into());
        }
        if let Some(ttl) = self.lease_ttl {
            body.insert(
                "lease_ttl_ms".into(),
                check_lease_ttl("lease_ttl", ttl)?.into(),
            );
        }
        if let Some(description) = &self.description {
            if description.len() > MAX_DESCRIPTION_LEN {
                return Err(Error::invalid_argument(
                    "description",
                    format!(
                        "may be at most {MAX_DESCRIPTION_LEN} bytes long, this one is {}",
                        description.len()
                    ),
                ));
            }
            body.insert("description".into(), description.as_str().into());
        }
        Ok(Value::Object(body))
    }
}

/// A webhook URL must be an `http(s)` URL with a host; the server applies its own SSRF rules
/// (https in production, http only for localhost and 127.0.0.x).
fn check_webhook_url(url: &str) -> Result<()> {
    let invalid = |problem: String| Error::invalid_argument("webhook.url", problem);
    let parsed = Url::parse(url).map_err(|e| invalid(format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "must be an http or https URL, got the scheme {:?}",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_pull_wake_body_has_the_protocol_field_names() {
        let body = SubscriptionConfig::pull_wake("wake/pool")
            .pattern("events/*")
            .stream("events/manual-a")
            .lease_ttl(Duration::from_secs(45))
            .description("event processor")
            .to_body()
            .unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "pull-wake",
                "wake_stream": "wake/pool",
                "pattern": "events/*",
                "streams": ["events/manual-a"],
                "lease_ttl_ms": 45000,
                "description": "event processor",
            })
        );
    }

    #[test]
    fn a_webhook_body_nests_the_url() {
        let body = SubscriptionConfig::webhook("https://worker.example/hooks")
            .stream("a")
            .to_body()
            .unwrap();
        assert_eq!(body["type"], "webhook");
        assert_eq!(body["webhook"]["url"], "https://worker.example/hooks");
        assert!(body.get("lease_ttl_ms").is_none());
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let cases = [
            (SubscriptionConfig::pull_wake("wake"), "pattern:"),
            (
                SubscriptionConfig::pull_wake("").pattern("a/*"),
                "wake_stream:",
            ),
            (SubscriptionConfig::pull_wake("w").pattern("a*"), "pattern:"),
            (
                SubscriptionConfig::pull_wake("w")
                    .stream("ok")
                    .stream("bad//x"),
                "streams[1]:",
            ),
            (
                SubscriptionConfig::pull_wake("w")
                    .pattern("a/*")
                    .lease_ttl(Duration::from_millis(500)),
                "lease_ttl:",
            ),
            (
                SubscriptionConfig::pull_wake("w")
                    .pattern("a/*")
                    .lease_ttl(Duration::from_secs(601)),
                "lease_ttl:",
            ),
            (
                SubscriptionConfig::webhook("ftp://x/y").pattern("a"),
                "webhook.url:",
            ),
            (
                SubscriptionConfig::webhook("not a url").pattern("a"),
                "webhook.url:",
            ),
            (
                SubscriptionConfig::pull_wake("w")
                    .pattern("a")
                    .description("d".repeat(MAX_DESCRIPTION_LEN + 1)),
                "description:",
            ),
        ];
        for (config, field) in cases {
            let err = config.to_body().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{config:?}");
            assert!(err.message().starts_with(field), "{field}: {err}");
        }
    }
}
