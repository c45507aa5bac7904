//! Wake events: what a pull-wake subscription appends to its wake stream.

use bytes::Bytes;
use serde_json::Value;

use super::json_fields::Fields;
use crate::error::{Error, ErrorKind, Result};
use crate::read::Chunk;

/// One wake event (`{"type":"wake","subscription_id","stream","generation","ts"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeEvent {
    /// The subscription that has pending work.
    pub subscription_id: String,
    /// The stream whose append caused the wake.
    pub stream: Option<String>,
    /// The wake's generation.
    pub generation: u64,
    /// When the server wrote it, in milliseconds since the Unix epoch.
    pub ts: Option<u64>,
}

/// The wake events of one chunk of a wake stream. A JSON-mode wake stream carries one event
/// per message; any other content type, concatenated JSON values. Values that are not wake
/// events (another `type`) are skipped, since a wake stream may be shared; a wake event with a
/// malformed field is an error naming it.
pub(crate) fn wake_events(chunk: &Chunk) -> Result<Vec<WakeEvent>> {
    let values: Vec<Value> = match chunk.messages() {
        Some(messages) => messages.iter().map(parse_message).collect::<Result<_>>()?,
        None => parse_concatenated(chunk.data())?,
    };
    let mut events = Vec::new();
    for value in &values {
        if value.get("type").and_then(Value::as_str) != Some("wake") {
            continue;
        }
        let fields = Fields::of(value, "a wake event")?;
        events.push(WakeEvent {
            subscription_id: fields.str("subscription_id")?.to_owned(),
            stream: fields.opt_str("stream")?.map(str::to_owned),
            generation: fields.u64("generation")?,
            ts: fields.opt_u64("ts")?,
        });
    }
    Ok(events)
}

fn parse_message(message: &Bytes) -> Result<Value> {
    serde_json::from_slice(message).map_err(|e| malformed(&e))
}

fn parse_concatenated(data: &Bytes) -> Result<Vec<Value>> {
    serde_json::Deserializer::from_slice(data)
        .into_iter::<Value>()
        .map(|value| value.map_err(|e| malformed(&e)))
        .collect()
}

fn malformed(error: &serde_json::Error) -> Error {
    Error::new(
        ErrorKind::Parse,
        format!("the wake stream holds a message that is not JSON: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offset::Offset;

    fn chunk(data: &'static str, messages: Option<Vec<&'static str>>) -> Chunk {
        Chunk::new(
            Bytes::from_static(data.as_bytes()),
            messages.map(|m| {
                m.into_iter()
                    .map(|s| Bytes::from_static(s.as_bytes()))
                    .collect()
            }),
            Offset::BEGINNING,
            None,
            true,
            false,
        )
    }

    #[test]
    fn json_messages_and_concatenated_values_both_parse() {
        let event = r#"{"type":"wake","subscription_id":"s","stream":"a/b","generation":7,"ts":1778324210000}"#;
        let json = chunk("", Some(vec![event, r#"{"type":"other"}"#]));
        let events = wake_events(&json).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].generation, 7);
        assert_eq!(events[0].ts, Some(1778324210000));
        let text = chunk(
            r#"{"type":"wake","subscription_id":"s","generation":1}{"type":"wake","subscription_id":"t","generation":2}"#,
            None,
        );
        let events = wake_events(&text).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].subscription_id, "t");
    }

    #[test]
    fn a_malformed_wake_event_names_the_field() {
        let bad = chunk(
            "",
            Some(vec![
                r#"{"type":"wake","subscription_id":"s","generation":"7"}"#,
            ]),
        );
        let err = wake_events(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert!(err.message().contains("`generation`"), "{err}");
    }
}
