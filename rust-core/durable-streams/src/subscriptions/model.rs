//! What the server says about a subscription (`GET`, and the answer to `PUT`).

use std::time::Duration;

use super::json_fields::Fields;
use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;

/// How a subscription delivers wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionType {
    /// `webhook`: the server calls a URL.
    Webhook,
    /// `pull-wake`: the server appends wake events to a stream and workers claim them.
    PullWake,
}

impl SubscriptionType {
    /// The protocol's name: `webhook` or `pull-wake`.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionType::Webhook => "webhook",
            SubscriptionType::PullWake => "pull-wake",
        }
    }
}

/// Whether delivery is operating normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    /// `active`: delivery is operating normally.
    Active,
    /// `failed`: a webhook retry is scheduled after a failed delivery attempt.
    Failed,
}

/// How a stream came to be linked to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// `glob`: matched by the pattern.
    Glob,
    /// `explicit`: added by `streams` (takes precedence when both apply).
    Explicit,
}

/// One stream's cursor in a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLink {
    /// The stream-root-relative path.
    pub path: String,
    /// Glob or explicit.
    pub link_type: LinkType,
    /// The last processed offset, inclusive: the next read starts after it.
    pub acked_offset: Offset,
}

/// A webhook server's signing key metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSigning {
    /// The signature algorithm (`ed25519`).
    pub alg: String,
    /// The key id active when the subscription was serialized.
    pub kid: String,
    /// Where the server publishes its JWK Set.
    pub jwks_url: String,
}

/// A webhook subscription's delivery settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    /// Where wakes are sent.
    pub url: String,
    /// The signing metadata, when the server gives it.
    pub signing: Option<WebhookSigning>,
}

/// A subscription as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInfo {
    /// The subscription id.
    pub id: String,
    /// Webhook or pull-wake.
    pub subscription_type: SubscriptionType,
    /// The glob pattern, if any.
    pub pattern: Option<String>,
    /// Every linked stream with its cursor.
    pub streams: Vec<StreamLink>,
    /// For webhook subscriptions.
    pub webhook: Option<WebhookInfo>,
    /// For pull-wake subscriptions: the wake channel.
    pub wake_stream: Option<String>,
    /// The lease duration.
    pub lease_ttl: Duration,
    /// When the subscription was created, as the server wrote it (RFC 3339).
    pub created_at: Option<String>,
    /// Whether delivery is operating normally.
    pub status: SubscriptionStatus,
    /// The description, if any.
    pub description: Option<String>,
}

impl SubscriptionInfo {
    /// The link of the stream at `path`, if it is linked.
    pub fn stream(&self, path: &str) -> Option<&StreamLink> {
        self.streams.iter().find(|link| link.path == path)
    }
}

/// The answer to a create: the subscription, and whether this call created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSubscriptionResult {
    /// `true` for 201 (created), `false` for 200 (an identical one existed).
    pub created: bool,
    /// The subscription.
    pub subscription: SubscriptionInfo,
}

const WHAT: &str = "the subscription";

pub(crate) fn parse_subscription(fields: &Fields<'_>) -> Result<SubscriptionInfo> {
    // The protocol sends both `id` and `subscription_id`; either suffices.
    let id = match fields.opt_str("id")? {
        Some(id) => id,
        None => fields.str("subscription_id")?,
    };
    let subscription_type = parse_type(fields.str("type")?)?;
    let streams = fields
        .objects("streams")?
        .iter()
        .map(|link| {
            Ok(StreamLink {
                path: link.str("path")?.to_owned(),
                link_type: parse_link_type(link, "link_type")?,
                acked_offset: link.offset("acked_offset")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let webhook = match fields.opt_object("webhook")? {
        None => None,
        Some(webhook) => Some(WebhookInfo {
            url: webhook.str("url")?.to_owned(),
            signing: match webhook.opt_object("signing")? {
                None => None,
                Some(signing) => Some(WebhookSigning {
                    alg: signing.str("alg")?.to_owned(),
                    kid: signing.str("kid")?.to_owned(),
                    jwks_url: signing.str("jwks_url")?.to_owned(),
                }),
            },
        }),
    };
    let status = match fields.opt_str("status")? {
        None | Some("active") => SubscriptionStatus::Active,
        Some("failed") => SubscriptionStatus::Failed,
        Some(other) => return Err(unknown(WHAT, "status", other)),
    };
    Ok(SubscriptionInfo {
        id: id.to_owned(),
        subscription_type,
        pattern: fields.opt_str("pattern")?.map(str::to_owned),
        streams,
        webhook,
        wake_stream: fields.opt_str("wake_stream")?.map(str::to_owned),
        lease_ttl: Duration::from_millis(fields.u64("lease_ttl_ms")?),
        created_at: fields.opt_str("created_at")?.map(str::to_owned),
        status,
        description: fields.opt_str("description")?.map(str::to_owned),
    })
}

fn parse_type(text: &str) -> Result<SubscriptionType> {
    match text {
        "webhook" => Ok(SubscriptionType::Webhook),
        "pull-wake" => Ok(SubscriptionType::PullWake),
        other => Err(unknown(WHAT, "type", other)),
    }
}

pub(crate) fn parse_link_type(fields: &Fields<'_>, field: &str) -> Result<LinkType> {
    match fields.str(field)? {
        "glob" => Ok(LinkType::Glob),
        "explicit" => Ok(LinkType::Explicit),
        other => Err(unknown("the stream link", field, other)),
    }
}

fn unknown(what: &str, field: &str, value: &str) -> Error {
    Error::new(
        ErrorKind::Parse,
        format!(
            "{what} from the server is malformed: field `{field}` has the unknown value {:?}",
            value.chars().take(80).collect::<String>()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: serde_json::Value) -> Result<SubscriptionInfo> {
        parse_subscription(&Fields::of(&value, WHAT).unwrap())
    }

    #[test]
    fn the_protocols_example_parses() {
        let info = parse(serde_json::json!({
            "id": "sub-1",
            "subscription_id": "sub-1",
            "type": "webhook",
            "pattern": "events/*",
            "streams": [{
                "path": "events/abc",
                "link_type": "glob",
                "acked_offset": "0000000000000001_0000000000000042"
            }],
            "webhook": {
                "url": "https://worker.example/hooks",
                "signing": {"alg": "ed25519", "kid": "ds_abc123",
                            "jwks_url": "https://server.example/streams/__ds/jwks.json"}
            },
            "wake_stream": null,
            "lease_ttl_ms": 30000,
            "created_at": "2026-05-09T00:00:00.000Z",
            "status": "active",
            "description": "event processor"
        }))
        .unwrap();
        assert_eq!(info.subscription_type, SubscriptionType::Webhook);
        assert_eq!(info.lease_ttl, Duration::from_secs(30));
        let link = info.stream("events/abc").unwrap();
        assert_eq!(link.link_type, LinkType::Glob);
        assert_eq!(
            link.acked_offset.as_str(),
            "0000000000000001_0000000000000042"
        );
        assert_eq!(info.webhook.unwrap().signing.unwrap().kid, "ds_abc123");
        assert_eq!(info.wake_stream, None);
    }

    #[test]
    fn malformed_answers_name_the_field() {
        let base = serde_json::json!({
            "id": "s", "type": "pull-wake", "lease_ttl_ms": 1000,
            "streams": [{"path": "a", "link_type": "glob", "acked_offset": "1"}]
        });
        let cases = [
            ("/type", serde_json::json!("push"), "`type`"),
            ("/lease_ttl_ms", serde_json::json!("soon"), "`lease_ttl_ms`"),
            (
                "/streams/0/link_type",
                serde_json::json!("other"),
                "`link_type`",
            ),
            (
                "/streams/0/acked_offset",
                serde_json::json!(7),
                "`streams[0].acked_offset`",
            ),
            ("/status", serde_json::json!("sleeping"), "`status`"),
        ];
        for (pointer, value, field) in cases {
            let mut body = base.clone();
            match body.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => {
                    body[pointer.trim_start_matches('/')] = value;
                }
            }
            let err = parse(body).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parse);
            assert!(err.message().contains(field), "{field}: {err}");
        }
        assert!(parse(base).is_ok());
    }
}
