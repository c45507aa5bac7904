//! Options passed as JSON strings: parsed strictly (unknown keys and wrong types are errors that
//! name the key), in document order, into the core's option types.

use std::fmt;
use std::time::Duration;

use durable_streams_core::{
    AppendRetry, ClientBuilder, CreateOptions, Decorations, Error, ForkFrom, MAX_TIMEOUT, Offset,
    ProducerOptions, RetryPolicy,
};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::FfiResult;

/// An object's members in document order, values still unparsed (so nested errors can name
/// their field and header order survives).
type Members = Vec<(String, Box<RawValue>)>;

struct Ordered(Members);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(member);
                }
                Ok(Ordered(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// Parses a JSON object; `null` counts as an empty object.
fn members(text: &str, name: &str) -> FfiResult<Members> {
    if text.trim() == "null" {
        return Ok(Vec::new());
    }
    serde_json::from_str::<Ordered>(text)
        .map(|o| o.0)
        .map_err(|e| {
            Error::invalid_argument(name, format!("is not a valid JSON object: {e}")).into()
        })
}

/// Parses an optional JSON options argument (NULL = no options).
fn optional_members(text: Option<&str>, name: &str) -> FfiResult<Members> {
    text.map_or(Ok(Vec::new()), |t| members(t, name))
}

/// One member's value, with its dotted path for error messages.
struct Field<'a> {
    path: String,
    raw: &'a RawValue,
}

impl<'a> Field<'a> {
    fn new(prefix: &str, key: &str, raw: &'a RawValue) -> Field<'a> {
        Field {
            path: format!("{prefix}{key}"),
            raw,
        }
    }

    fn is_null(&self) -> bool {
        self.raw.get().trim() == "null"
    }

    fn invalid(&self, problem: impl fmt::Display) -> Box<crate::error::DsError> {
        Error::invalid_argument(&self.path, problem).into()
    }

    fn wrong_type(&self, expected: &str) -> Box<crate::error::DsError> {
        // Header and query values are typically credentials: never quote them.
        if self.path.starts_with("headers") || self.path.starts_with("query") {
            return self.invalid(format!("expected {expected}"));
        }
        let text: String = self.raw.get().chars().take(80).collect();
        self.invalid(format!("expected {expected}, got {text}"))
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, expected: &str) -> FfiResult<T> {
        serde_json::from_str(self.raw.get()).map_err(|_| self.wrong_type(expected))
    }

    fn string(&self) -> FfiResult<String> {
        self.parse("a string")
    }

    fn boolean(&self) -> FfiResult<bool> {
        self.parse("true or false")
    }

    fn u64(&self) -> FfiResult<u64> {
        self.parse("a non-negative integer")
    }

    fn u32(&self) -> FfiResult<u32> {
        self.parse("a non-negative integer below 2^32")
    }

    fn number(&self) -> FfiResult<f64> {
        self.parse("a number")
    }

    /// A size or count: a positive integer.
    fn size(&self) -> FfiResult<usize> {
        let value: usize = self.parse("a positive integer")?;
        if value == 0 {
            return Err(self.invalid("must be at least 1"));
        }
        Ok(value)
    }

    /// Milliseconds; `positive` rejects zero.
    fn millis(&self, positive: bool) -> FfiResult<Duration> {
        let ms = self.u64()?;
        if positive && ms == 0 {
            return Err(self.invalid("must be greater than zero"));
        }
        Ok(Duration::from_millis(ms))
    }

    /// A timeout or delay in milliseconds, at most the core's `MAX_TIMEOUT` (24 hours);
    /// `positive` rejects zero.
    fn bounded_millis(&self, positive: bool) -> FfiResult<Duration> {
        let value = self.millis(positive)?;
        if value > MAX_TIMEOUT {
            return Err(self.invalid(format!(
                "must be at most {} (24 hours), got {}",
                MAX_TIMEOUT.as_millis(),
                value.as_millis()
            )));
        }
        Ok(value)
    }

    fn object(&self) -> FfiResult<Members> {
        serde_json::from_str::<Ordered>(self.raw.get())
            .map(|o| o.0)
            .map_err(|_| self.wrong_type("a JSON object"))
    }

    /// An object whose values are all strings (headers, query parameters), in document order.
    fn string_pairs(&self) -> FfiResult<Vec<(String, String)>> {
        let mut pairs = Vec::new();
        for (key, raw) in self.object()? {
            let field = Field::new(&format!("{}.", self.path), &key, &raw);
            pairs.push((key, field.string()?));
        }
        Ok(pairs)
    }
}

fn unknown(name: &str, key: &str, known: &[&str]) -> Box<crate::error::DsError> {
    Error::invalid_argument(
        name,
        format!("unknown option {key:?} (known: {})", known.join(", ")),
    )
    .into()
}

/// Calls `apply` for each non-null member, rejecting unknown keys.
fn each_field(
    members: &Members,
    name: &str,
    prefix: &str,
    known: &[&str],
    mut apply: impl FnMut(&str, &Field<'_>) -> FfiResult<()>,
) -> FfiResult<()> {
    for (key, raw) in members {
        if !known.contains(&key.as_str()) {
            return Err(unknown(name, &format!("{prefix}{key}"), known));
        }
        let field = Field::new(prefix, key, raw);
        if !field.is_null() {
            apply(key, &field)?;
        }
    }
    Ok(())
}

const CLIENT_KEYS: &[&str] = &[
    "base_url",
    "headers",
    "request_timeout_ms",
    "connect_timeout_ms",
    "live_timeout_ms",
    "retry",
    "append_retry",
    "user_agent",
];
const RETRY_KEYS: &[&str] = &[
    "max_retries",
    "initial_delay_ms",
    "max_delay_ms",
    "multiplier",
];

/// `ds_client_new`'s options.
pub(crate) fn client_builder(json: Option<&str>) -> FfiResult<ClientBuilder> {
    let members = optional_members(json, "options_json")?;
    let mut builder = ClientBuilder::default();
    each_field(&members, "options_json", "", CLIENT_KEYS, |key, field| {
        let b = std::mem::take(&mut builder);
        builder = match key {
            "base_url" => b.base_url(field.string()?),
            "headers" => field
                .string_pairs()?
                .into_iter()
                .fold(b, |b, (name, value)| b.header(name, value)),
            "request_timeout_ms" => b.request_timeout(field.bounded_millis(true)?),
            "connect_timeout_ms" => b.connect_timeout(field.bounded_millis(true)?),
            "live_timeout_ms" => b.live_timeout(field.bounded_millis(true)?),
            "retry" => b.retry_policy(retry_policy(field)?),
            "append_retry" => b.append_retry(append_retry(field)?),
            "user_agent" => b.user_agent(field.string()?),
            _ => b, // each_field has rejected keys not in CLIENT_KEYS
        };
        Ok(())
    })?;
    Ok(builder)
}

fn append_retry(field: &Field<'_>) -> FfiResult<AppendRetry> {
    match field.string()?.as_str() {
        "never" => Ok(AppendRetry::Never),
        "when_not_stored" => Ok(AppendRetry::WhenNotStored),
        "at_least_once" => Ok(AppendRetry::AtLeastOnce),
        other => Err(field.invalid(format!(
            "must be \"never\", \"when_not_stored\" or \"at_least_once\", got {other:?}"
        ))),
    }
}

fn retry_policy(field: &Field<'_>) -> FfiResult<RetryPolicy> {
    let mut policy = RetryPolicy::default();
    each_field(
        &field.object()?,
        "options_json",
        "retry.",
        RETRY_KEYS,
        |key, f| {
            match key {
                "max_retries" => policy.max_retries = f.u32()?,
                "initial_delay_ms" => policy.initial_delay = f.bounded_millis(false)?,
                "max_delay_ms" => policy.max_delay = f.bounded_millis(false)?,
                "multiplier" => policy.multiplier = f.number()?,
                _ => {} // each_field has rejected unknown keys
            }
            Ok(())
        },
    )?;
    if !(policy.multiplier.is_finite() && policy.multiplier >= 1.0) {
        return Err(Error::invalid_argument(
            "retry.multiplier",
            format!("must be a number >= 1, got {}", policy.multiplier),
        )
        .into());
    }
    if policy.max_delay < policy.initial_delay {
        return Err(Error::invalid_argument(
            "retry.max_delay_ms",
            format!(
                "must be at least retry.initial_delay_ms ({} ms)",
                policy.initial_delay.as_millis()
            ),
        )
        .into());
    }
    Ok(policy)
}

const CREATE_KEYS: &[&str] = &[
    "content_type",
    "ttl_seconds",
    "expires_at",
    "closed",
    "fork",
    "headers",
];
const FORK_KEYS: &[&str] = &["source", "offset", "sub_offset"];

/// `ds_stream_create`'s options (the body is passed separately).
pub(crate) fn create_options(json: Option<&str>) -> FfiResult<CreateOptions> {
    let members = optional_members(json, "options_json")?;
    let mut options = CreateOptions::new();
    each_field(&members, "options_json", "", CREATE_KEYS, |key, field| {
        match key {
            "content_type" => options.content_type = Some(field.string()?),
            "ttl_seconds" => options.ttl = Some(Duration::from_secs(field.u64()?)),
            "expires_at" => options.expires_at = Some(field.string()?),
            "closed" => options.closed = field.boolean()?,
            "fork" => options.fork = Some(fork(field)?),
            // Checked (names, values, lengths) by the core when the create starts.
            "headers" => options.headers = field.string_pairs()?,
            _ => {} // each_field has rejected unknown keys
        }
        Ok(())
    })?;
    Ok(options)
}

fn fork(field: &Field<'_>) -> FfiResult<ForkFrom> {
    let mut source = None;
    let mut offset = None;
    let mut sub_offset = None;
    each_field(
        &field.object()?,
        "options_json",
        "fork.",
        FORK_KEYS,
        |key, f| {
            match key {
                "source" => source = Some(f.string()?),
                "offset" => {
                    let text = f.string()?;
                    // Keep the kind (INVALID_OFFSET) but say which option held it.
                    let parsed = Offset::parse(&text).map_err(|e| {
                        Error::new(e.kind(), format!("fork.offset: {}", e.message()))
                    })?;
                    offset = Some(parsed);
                }
                "sub_offset" => sub_offset = Some(f.u64()?),
                _ => {} // each_field has rejected unknown keys
            }
            Ok(())
        },
    )?;
    let source = source.ok_or_else(|| Error::invalid_argument("fork.source", "is required"))?;
    Ok(ForkFrom {
        source,
        offset,
        sub_offset,
    })
}

const PRODUCER_KEYS: &[&str] = &[
    "epoch",
    "auto_claim",
    "max_batch_bytes",
    "max_batch_items",
    "linger_ms",
    "max_in_flight",
    "max_buffered_messages",
    "max_buffered_bytes",
    "delivery_timeout_ms",
    "content_type",
];

/// `ds_producer_new`'s options (without the error callback, which is attached separately).
pub(crate) fn producer_options(json: Option<&str>) -> FfiResult<ProducerOptions> {
    let members = optional_members(json, "options_json")?;
    let mut options = ProducerOptions::default();
    each_field(&members, "options_json", "", PRODUCER_KEYS, |key, field| {
        match key {
            "epoch" => options.epoch = field.u64()?,
            "auto_claim" => options.auto_claim = field.boolean()?,
            "max_batch_bytes" => options.max_batch_bytes = field.size()?,
            "max_batch_items" => options.max_batch_items = field.size()?,
            "linger_ms" => options.linger = field.millis(false)?,
            "max_in_flight" => options.max_in_flight = field.size()?,
            "max_buffered_messages" => options.max_buffered_messages = field.size()?,
            "max_buffered_bytes" => options.max_buffered_bytes = field.size()?,
            "delivery_timeout_ms" => options.delivery_timeout = field.millis(true)?,
            "content_type" => options.content_type = Some(field.string()?),
            _ => {} // each_field has rejected unknown keys
        }
        Ok(())
    })?;
    // The remaining checks (epoch range, empty content type) name the field already.
    options.validate()?;
    Ok(options)
}

const DECORATION_KEYS: &[&str] = &["headers", "query"];

/// The JSON a dynamic-header provider completes a decoration with.
pub(crate) fn decorations(json: &str) -> FfiResult<Decorations> {
    let members = members(json, "decorations_json")?;
    let mut decorations = Decorations::default();
    each_field(
        &members,
        "decorations_json",
        "",
        DECORATION_KEYS,
        |key, field| {
            match key {
                "headers" => decorations.headers = field.string_pairs()?,
                "query" => decorations.query = field.string_pairs()?,
                _ => {} // each_field has rejected unknown keys
            }
            Ok(())
        },
    )?;
    Ok(decorations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DsErrorKind;

    fn message<T>(result: FfiResult<T>) -> (DsErrorKind, String) {
        let Err(error) = result else {
            panic!("should fail");
        };
        (
            error.kind,
            error.server_message.to_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn absent_and_null_options_give_defaults() {
        assert!(client_builder(None).is_ok());
        assert!(client_builder(Some("null")).unwrap().build().is_ok());
        let create = create_options(Some("{}")).unwrap();
        assert!(create.content_type.is_none() && !create.closed);
        let producer = producer_options(Some(r#"{"epoch": null}"#)).unwrap();
        assert_eq!(producer.epoch, 0);
    }

    #[test]
    fn client_options_are_applied_and_validated() {
        let json = r#"{"base_url":"http://127.0.0.1:1/v1/stream","headers":{"authorization":"Bearer x"},
            "request_timeout_ms":1000,"connect_timeout_ms":500,"live_timeout_ms":2000,
            "retry":{"max_retries":2,"initial_delay_ms":10,"max_delay_ms":100,"multiplier":1.5},
            "user_agent":"test/1"}"#;
        let client = client_builder(Some(json)).unwrap().build().unwrap();
        assert_eq!(client.retry_policy().max_retries, 2);
        assert_eq!(client.retry_policy().multiplier, 1.5);
        assert_eq!(
            client.stream("s").unwrap().url(),
            "http://127.0.0.1:1/v1/stream/s"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let (kind, text) = message(client_builder(Some(r#"{"base_ur":"x"}"#)));
        assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT);
        assert!(text.contains("\"base_ur\""), "{text}");
        let (_, text) = message(client_builder(Some(r#"{"retry":{"tries":1}}"#)));
        assert!(text.contains("\"retry.tries\""), "{text}");
        let (_, text) = message(producer_options(Some(r#"{"lingerMs":1}"#)));
        assert!(text.contains("\"lingerMs\""), "{text}");
    }

    #[test]
    fn wrong_types_and_values_name_the_field() {
        for (json, field) in [
            (r#"{"request_timeout_ms":"10"}"#, "request_timeout_ms:"),
            (r#"{"request_timeout_ms":0}"#, "request_timeout_ms:"),
            (r#"{"connect_timeout_ms":-1}"#, "connect_timeout_ms:"),
            (r#"{"headers":{"a":1}}"#, "headers.a:"),
            (r#"{"request_timeout_ms":86400001}"#, "request_timeout_ms:"),
            (
                r#"{"connect_timeout_ms":315360000000}"#,
                "connect_timeout_ms:",
            ),
            (r#"{"live_timeout_ms":315360000000}"#, "live_timeout_ms:"),
            (
                r#"{"retry":{"max_delay_ms":315360000000}}"#,
                "retry.max_delay_ms:",
            ),
            (
                r#"{"retry":{"initial_delay_ms":315360000000}}"#,
                "retry.initial_delay_ms:",
            ),
            (r#"{"headers":[]}"#, "headers:"),
            (r#"{"retry":{"multiplier":0.5}}"#, "retry.multiplier:"),
            (
                r#"{"retry":{"initial_delay_ms":10,"max_delay_ms":5}}"#,
                "retry.max_delay_ms:",
            ),
        ] {
            let (kind, text) = message(client_builder(Some(json)));
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT, "{json}");
            assert!(text.starts_with(field), "{json}: {text}");
        }
        for (json, field) in [
            (r#"{"max_batch_bytes":0}"#, "max_batch_bytes:"),
            (r#"{"max_in_flight":-2}"#, "max_in_flight:"),
            (r#"{"max_buffered_messages":1.5}"#, "max_buffered_messages:"),
            (r#"{"delivery_timeout_ms":0}"#, "delivery_timeout_ms:"),
            (r#"{"epoch":9007199254740993}"#, "epoch:"),
            (r#"{"auto_claim":"yes"}"#, "auto_claim:"),
            (r#"{"content_type":""}"#, "content_type:"),
        ] {
            let (kind, text) = message(producer_options(Some(json)));
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT, "{json}");
            assert!(text.starts_with(field), "{json}: {text}");
        }
    }

    #[test]
    fn header_values_are_never_quoted_in_errors() {
        for json in [
            r#"{"headers":{"authorization":["Bearer S3CRET-SENTINEL"]}}"#,
            r#"{"headers":"Bearer S3CRET-SENTINEL"}"#,
            r#"{"headers":{"authorization":"Bearer S3CRET-SENTINEL\n"}}"#,
        ] {
            let result = client_builder(Some(json)).and_then(|b| b.build().map_err(Into::into));
            let (_, text) = message(result);
            assert!(!text.contains("S3CRET-SENTINEL"), "{json}: {text}");
        }
        let (_, text) = message(decorations(
            r#"{"query":{"token":{"v":"S3CRET-SENTINEL"}}}"#,
        ));
        assert!(!text.contains("S3CRET-SENTINEL"), "{text}");
    }

    #[test]
    fn bad_header_values_and_user_agents_fail_at_build_naming_them() {
        for (json, field) in [
            (r#"{"user_agent":"a\r\nb"}"#, "user_agent:"),
            (
                r#"{"headers":{"x-tenant":"a\nb"}}"#,
                "header: the value of header \"x-tenant\"",
            ),
        ] {
            let result = client_builder(Some(json)).and_then(|b| b.build().map_err(Into::into));
            let (kind, text) = message(result);
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT, "{json}");
            assert!(text.starts_with(field), "{json}: {text}");
        }
    }

    #[test]
    fn bad_json_is_an_invalid_argument() {
        for bad in ["", "{", "[1]", "42", "{\"a\":}"] {
            let (kind, text) = message(producer_options(Some(bad)));
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT, "{bad:?}");
            assert!(text.starts_with("options_json:"), "{text}");
        }
    }

    #[test]
    fn create_options_include_forks() {
        let options = create_options(Some(
            r#"{"content_type":"text/plain","ttl_seconds":60,"closed":true,
                "fork":{"source":"/src","offset":"0000_0001","sub_offset":2}}"#,
        ))
        .unwrap();
        assert_eq!(options.content_type.as_deref(), Some("text/plain"));
        assert_eq!(options.ttl, Some(Duration::from_secs(60)));
        assert!(options.closed);
        let fork = options.fork.unwrap();
        assert_eq!(fork.source, "/src");
        assert_eq!(fork.offset.unwrap().as_str(), "0000_0001");
        assert_eq!(fork.sub_offset, Some(2));

        let options =
            create_options(Some(r#"{"headers":{"X-Tenant":"t1","X-Trace":"a"}}"#)).unwrap();
        assert_eq!(
            options.headers,
            vec![
                ("X-Tenant".into(), "t1".into()),
                ("X-Trace".into(), "a".into())
            ]
        );
        for (json, field) in [
            (
                r#"{"headers":{"authorization":["Bearer S3CRET-SENTINEL"]}}"#,
                "headers.authorization:",
            ),
            (r#"{"headers":{"x-n":1}}"#, "headers.x-n:"),
            (r#"{"headers":"Bearer S3CRET-SENTINEL"}"#, "headers:"),
            (r#"{"headers":["S3CRET-SENTINEL"]}"#, "headers:"),
        ] {
            let (kind, text) = message(create_options(Some(json)));
            assert_eq!(kind, DsErrorKind::INVALID_ARGUMENT, "{json}");
            assert!(text.starts_with(field), "{json}: {text}");
            assert!(!text.contains("S3CRET-SENTINEL"), "{json}: {text}");
        }

        let (_, text) = message(create_options(Some(r#"{"fork":{}}"#)));
        assert!(text.starts_with("fork.source:"), "{text}");
        let (kind, text) = message(create_options(Some(
            r#"{"fork":{"source":"s","offset":"a,b"}}"#,
        )));
        assert_eq!(kind, DsErrorKind::INVALID_OFFSET);
        assert!(text.starts_with("fork.offset:"), "{text}");
    }

    #[test]
    fn producer_options_are_applied() {
        let producer = producer_options(Some(
            r#"{"epoch":3,"auto_claim":true,"max_batch_bytes":10,"max_batch_items":2,"linger_ms":0,
                "max_in_flight":1,"max_buffered_messages":5,"max_buffered_bytes":100,
                "delivery_timeout_ms":1000,"content_type":"application/json"}"#,
        ))
        .unwrap();
        assert_eq!((producer.epoch, producer.auto_claim), (3, true));
        assert_eq!(
            (producer.max_batch_bytes, producer.max_batch_items),
            (10, 2)
        );
        assert_eq!(producer.linger, Duration::ZERO);
        assert_eq!(producer.max_buffered_messages, 5);
        assert_eq!(producer.delivery_timeout, Duration::from_secs(1));
    }

    #[test]
    fn decorations_keep_document_order() {
        let d =
            decorations(r#"{"headers":{"x-b":"2","x-a":"1"},"query":{"z":"1","a":"2"}}"#).unwrap();
        assert_eq!(
            d.headers,
            vec![("x-b".into(), "2".into()), ("x-a".into(), "1".into())]
        );
        assert_eq!(d.query[0].0, "z");
        let (_, text) = message(decorations(r#"{"cookies":{}}"#));
        assert!(text.contains("\"cookies\""), "{text}");
    }
}
