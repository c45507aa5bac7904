//! The JSON documents subscriptions cross the boundary as: the configuration a caller creates a
//! subscription with, and what the library reports back about a subscription or a claim.
//!
//! The shapes follow the protocol's field names (so a binding can map them one to one) and are
//! documented in the header next to the functions that use them.

use std::time::Duration;

use durable_streams_core::{
    Claim, CreateSubscriptionResult, Error, LinkType, SubscriptionConfig, SubscriptionInfo,
    SubscriptionStatus,
};
use serde_json::{Map, Value, json};

use crate::error::FfiResult;

/// The fields a configuration document may hold; anything else is a mistake worth reporting.
const CONFIG_FIELDS: [&str; 7] = [
    "type",
    "wake_stream",
    "webhook",
    "pattern",
    "streams",
    "lease_ttl_ms",
    "description",
];

/// Parses a configuration document:
/// `{"type": "pull-wake", "wake_stream": "wake/pool"}` or
/// `{"type": "webhook", "webhook": {"url": "https://..."}}`, plus optional `"pattern"`,
/// `"streams"` (array of paths), `"lease_ttl_ms"` and `"description"`. The core checks the
/// values; this checks the document's shape and names the field that is wrong.
pub(crate) fn subscription_config(json: &str) -> FfiResult<SubscriptionConfig> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| Error::invalid_argument("config", format!("is not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(Error::invalid_argument("config", "must be a JSON object").into());
    };
    if let Some(unknown) = fields.keys().find(|k| !CONFIG_FIELDS.contains(&k.as_str())) {
        return Err(Error::invalid_argument(
            unknown,
            format!("is not a subscription field (expected one of {CONFIG_FIELDS:?})"),
        )
        .into());
    }
    let mut config = match optional_str(&fields, "type")? {
        Some("pull-wake") => {
            let wake_stream = optional_str(&fields, "wake_stream")?.ok_or_else(|| {
                Error::invalid_argument("wake_stream", "is required for a pull-wake subscription")
            })?;
            SubscriptionConfig::pull_wake(wake_stream)
        }
        Some("webhook") => {
            let url = match fields.get("webhook") {
                Some(Value::Object(webhook)) => optional_str(webhook, "url")?.map(str::to_owned),
                Some(_) => {
                    return Err(Error::invalid_argument(
                        "webhook",
                        "must be an object like {\"url\": \"https://...\"}",
                    )
                    .into());
                }
                None => None,
            };
            let url = url.ok_or_else(|| {
                Error::invalid_argument("webhook.url", "is required for a webhook subscription")
            })?;
            SubscriptionConfig::webhook(url)
        }
        Some(other) => {
            return Err(Error::invalid_argument(
                "type",
                format!("must be \"pull-wake\" or \"webhook\", not {other:?}"),
            )
            .into());
        }
        None => return Err(Error::invalid_argument("type", "is required").into()),
    };
    if let Some(pattern) = optional_str(&fields, "pattern")? {
        config = config.pattern(pattern);
    }
    match fields.get("streams") {
        None | Some(Value::Null) => {}
        Some(Value::Array(paths)) => {
            for (index, path) in paths.iter().enumerate() {
                let Some(path) = path.as_str() else {
                    return Err(Error::invalid_argument(
                        &format!("streams[{index}]"),
                        "must be a string",
                    )
                    .into());
                };
                config = config.stream(path);
            }
        }
        Some(_) => {
            return Err(Error::invalid_argument("streams", "must be an array of paths").into());
        }
    }
    match fields.get("lease_ttl_ms") {
        None | Some(Value::Null) => {}
        Some(ttl) => {
            let ms = ttl.as_u64().ok_or_else(|| {
                Error::invalid_argument("lease_ttl_ms", "must be a whole number of milliseconds")
            })?;
            config = config.lease_ttl(Duration::from_millis(ms));
        }
    }
    if let Some(description) = optional_str(&fields, "description")? {
        config = config.description(description);
    }
    Ok(config)
}

fn optional_str<'a>(fields: &'a Map<String, Value>, name: &str) -> FfiResult<Option<&'a str>> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid_argument(name, "must be a string").into()),
    }
}

/// `{"id", "type", "pattern", "streams": [{"path", "link_type", "acked_offset"}], "webhook":
/// {"url", "signing": {"alg", "kid", "jwks_url"}}, "wake_stream", "lease_ttl_ms", "created_at",
/// "status", "description"}`; absent values are `null`.
pub(crate) fn info_json(info: &SubscriptionInfo) -> Value {
    let streams: Vec<Value> = info
        .streams
        .iter()
        .map(|link| {
            json!({
                "path": link.path,
                "link_type": link_type(link.link_type),
                "acked_offset": link.acked_offset.as_str(),
            })
        })
        .collect();
    let webhook = info.webhook.as_ref().map(|webhook| {
        json!({
            "url": webhook.url,
            "signing": webhook.signing.as_ref().map(|s| json!({
                "alg": s.alg,
                "kid": s.kid,
                "jwks_url": s.jwks_url,
            })),
        })
    });
    json!({
        "id": info.id,
        "type": info.subscription_type.as_str(),
        "pattern": info.pattern,
        "streams": streams,
        "webhook": webhook,
        "wake_stream": info.wake_stream,
        "lease_ttl_ms": u64::try_from(info.lease_ttl.as_millis()).unwrap_or(u64::MAX),
        "created_at": info.created_at,
        "status": match info.status {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Failed => "failed",
        },
        "description": info.description,
    })
}

/// [`info_json`] plus `"created": true` (201) or `false` (200, an identical one existed).
pub(crate) fn create_result_json(result: &CreateSubscriptionResult) -> Value {
    let mut value = info_json(&result.subscription);
    if let Value::Object(fields) = &mut value {
        fields.insert("created".into(), result.created.into());
    }
    value
}

/// `{"wake_id", "generation", "lease_ttl_ms", "streams": [{"path", "link_type",
/// "acked_offset", "tail_offset", "has_pending"}]}`. The claim token stays inside the library.
pub(crate) fn claim_json(claim: &Claim) -> Value {
    let streams: Vec<Value> = claim
        .streams()
        .iter()
        .map(|stream| {
            json!({
                "path": stream.path,
                "link_type": link_type(stream.link_type),
                "acked_offset": stream.acked_offset.as_str(),
                "tail_offset": stream.tail_offset.as_str(),
                "has_pending": stream.has_pending,
            })
        })
        .collect();
    json!({
        "wake_id": claim.wake_id(),
        "generation": claim.generation(),
        "lease_ttl_ms": u64::try_from(claim.lease_ttl().as_millis()).unwrap_or(u64::MAX),
        "streams": streams,
    })
}

fn link_type(link: LinkType) -> &'static str {
    match link {
        LinkType::Glob => "glob",
        LinkType::Explicit => "explicit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_of(json: &str) -> String {
        match subscription_config(json) {
            Ok(config) => panic!("accepted {json}: {config:?}"),
            Err(error) => error.message.to_string_lossy().into_owned(),
        }
    }

    #[test]
    fn a_pull_wake_document_becomes_its_configuration() {
        let config = subscription_config(
            r#"{"type":"pull-wake","wake_stream":"wake/pool","pattern":"orders/*",
                "streams":["audit"],"lease_ttl_ms":45000,"description":"d"}"#,
        )
        .expect("valid");
        assert_eq!(
            config,
            SubscriptionConfig::pull_wake("wake/pool")
                .pattern("orders/*")
                .stream("audit")
                .lease_ttl(Duration::from_secs(45))
                .description("d")
        );
    }

    #[test]
    fn a_webhook_document_nests_its_url() {
        let config = subscription_config(
            r#"{"type":"webhook","webhook":{"url":"http://127.0.0.1:9/h"},"pattern":"a/*"}"#,
        )
        .expect("valid");
        assert_eq!(
            config,
            SubscriptionConfig::webhook("http://127.0.0.1:9/h").pattern("a/*")
        );
    }

    #[test]
    fn malformed_documents_name_the_field() {
        assert!(message_of("[1]").contains("config"));
        assert!(message_of("{").contains("config"));
        assert!(message_of(r#"{"type":"pull-wake"}"#).contains("wake_stream"));
        assert!(message_of(r#"{"type":"webhook"}"#).contains("webhook.url"));
        assert!(message_of(r#"{"type":"push"}"#).contains("type"));
        assert!(message_of(r#"{"wake_stream":"w"}"#).contains("type"));
        assert!(
            message_of(r#"{"type":"pull-wake","wake_stream":"w","lease_ttl_ms":-5}"#)
                .contains("lease_ttl_ms")
        );
        assert!(
            message_of(r#"{"type":"pull-wake","wake_stream":"w","streams":[3]}"#)
                .contains("streams[0]")
        );
        assert!(
            message_of(r#"{"type":"pull-wake","wake_stream":"w","leaseTtl":5}"#)
                .contains("leaseTtl")
        );
    }
}
