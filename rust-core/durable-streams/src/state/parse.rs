//! Reading State Protocol messages from stream JSON, with errors that name the malformed field
//! (`headers.operation`), the way `@durable-streams/state` tells the two kinds apart: a message
//! whose `headers` has `operation` is a change, one with `control` a control message.

use serde_json::{Map, Value};

use super::event::{
    ChangeEvent, ChangeHeaders, ControlEvent, ControlHeaders, ControlKind, KNOWN_CHANGE_HEADERS,
    Operation, StateEvent,
};
use crate::error::{Error, ErrorKind, Result};

impl StateEvent {
    /// Parses one message's JSON text (for example one of [`crate::Chunk::messages`]).
    ///
    /// Fails with [`ErrorKind::Parse`] naming the field at fault.
    pub fn from_json_bytes(json: &[u8]) -> Result<StateEvent> {
        let value: Value = serde_json::from_slice(json).map_err(|e| {
            Error::new(
                ErrorKind::Parse,
                format!("a state event is not valid JSON: {e}"),
            )
        })?;
        StateEvent::from_value(&value)
    }

    /// Parses one message already decoded as JSON.
    ///
    /// Fails with [`ErrorKind::Parse`] naming the field at fault. Unknown top-level fields are
    /// ignored; extra change headers are kept in [`ChangeHeaders::extra`].
    pub fn from_value(value: &Value) -> Result<StateEvent> {
        let object = value
            .as_object()
            .ok_or_else(|| malformed("the message", "is not a JSON object"))?;
        let headers = match object.get("headers") {
            None => return Err(malformed("headers", "is missing")),
            Some(Value::Object(headers)) => headers,
            Some(_) => return Err(malformed("headers", "is not a JSON object")),
        };
        match (
            headers.contains_key("operation"),
            headers.contains_key("control"),
        ) {
            (true, true) => Err(malformed(
                "headers",
                "has both `operation` and `control` (a message is a change or a control message)",
            )),
            (true, false) => parse_change(object, headers).map(StateEvent::Change),
            (false, true) => parse_control(headers).map(StateEvent::Control),
            (false, false) => Err(malformed(
                "headers",
                "has neither `operation` (a change) nor `control` (a control message)",
            )),
        }
    }
}

fn parse_change(object: &Map<String, Value>, headers: &Map<String, Value>) -> Result<ChangeEvent> {
    let operation_name = required_str(headers, "headers.operation", "operation")?;
    let operation = Operation::from_wire(operation_name).ok_or_else(|| {
        malformed(
            "headers.operation",
            &format!("is {operation_name:?}, not one of insert, update, delete, upsert"),
        )
    })?;
    let entity_type = non_empty_str(object, "type", "type")?;
    let key = non_empty_str(object, "key", "key")?;
    let value = object.get("value").cloned();
    if operation.requires_value() && value.is_none() {
        return Err(malformed(
            "value",
            &format!("is missing (required for {operation_name})"),
        ));
    }
    let txid = optional_str(headers, "headers.txid", "txid")?;
    if txid.as_deref() == Some("") {
        return Err(malformed("headers.txid", "is empty"));
    }
    let extra = headers
        .iter()
        .filter(|(name, _)| !KNOWN_CHANGE_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Ok(ChangeEvent {
        entity_type: entity_type.to_owned(),
        key: key.to_owned(),
        value,
        old_value: object.get("old_value").cloned(),
        headers: ChangeHeaders {
            operation,
            txid,
            timestamp: optional_str(headers, "headers.timestamp", "timestamp")?,
            from: optional_str(headers, "headers.from", "from")?,
            offset: optional_str(headers, "headers.offset", "offset")?,
            extra,
        },
    })
}

fn parse_control(headers: &Map<String, Value>) -> Result<ControlEvent> {
    let name = required_str(headers, "headers.control", "control")?;
    let control = ControlKind::from_wire(name).ok_or_else(|| {
        malformed(
            "headers.control",
            &format!("is {name:?}, not one of snapshot-start, snapshot-end, reset"),
        )
    })?;
    let offset = optional_str(headers, "headers.offset", "offset")?;
    if offset.as_deref() == Some("") {
        return Err(malformed("headers.offset", "is empty"));
    }
    Ok(ControlEvent {
        headers: ControlHeaders { control, offset },
    })
}

fn required_str<'a>(object: &'a Map<String, Value>, path: &str, field: &str) -> Result<&'a str> {
    match object.get(field) {
        None => Err(malformed(path, "is missing")),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(malformed(path, "is not a string")),
    }
}

fn non_empty_str<'a>(object: &'a Map<String, Value>, path: &str, field: &str) -> Result<&'a str> {
    let text = required_str(object, path, field)?;
    if text.is_empty() {
        return Err(malformed(path, "is empty"));
    }
    Ok(text)
}

fn optional_str(object: &Map<String, Value>, path: &str, field: &str) -> Result<Option<String>> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(malformed(path, "is not a string")),
    }
}

fn malformed(field: &str, problem: &str) -> Error {
    Error::new(
        ErrorKind::Parse,
        format!("malformed state event: field `{field}` {problem}"),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<StateEvent> {
        StateEvent::from_value(&value)
    }

    fn error_of(value: Value) -> String {
        let err = parse(value).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        err.message().to_owned()
    }

    #[test]
    fn the_protocol_documents_examples_parse_and_serialise_back_identically() {
        let examples = [
            json!({"type": "user", "key": "user:123",
                   "value": {"name": "Alice", "email": "alice@example.com"},
                   "headers": {"operation": "insert", "timestamp": "2025-01-15T10:30:00Z"}}),
            json!({"type": "user", "key": "user:123", "value": {"name": "Alice"},
                   "old_value": {"name": "Al"}, "headers": {"operation": "update", "txid": "t1"}}),
            json!({"type": "user", "key": "user:123", "old_value": {"name": "Alice"},
                   "headers": {"operation": "delete"}}),
            json!({"type": "user", "key": "user:123", "value": null,
                   "headers": {"operation": "delete"}}),
            json!({"type": "config", "key": "theme", "value": "dark",
                   "headers": {"operation": "upsert", "from": "me", "offset": "1_2", "x-app": "a"}}),
            json!({"headers": {"control": "snapshot-start", "offset": "123456_000"}}),
            json!({"headers": {"control": "snapshot-end"}}),
            json!({"headers": {"control": "reset", "offset": "123456_000"}}),
        ];
        for example in examples {
            let event = parse(example.clone()).unwrap();
            assert_eq!(event.to_json(), example);
            let bytes = serde_json::to_vec(&example).unwrap();
            assert_eq!(StateEvent::from_json_bytes(&bytes).unwrap(), event);
        }
    }

    #[test]
    fn change_and_control_are_told_apart_by_their_header() {
        let change = parse(json!({"type": "t", "key": "k", "value": 1,
                                  "headers": {"operation": "insert"}}))
        .unwrap();
        assert!(matches!(change, StateEvent::Change(c) if c.operation() == Operation::Insert));
        let control = parse(json!({"headers": {"control": "reset"}})).unwrap();
        assert!(matches!(control, StateEvent::Control(c) if c.kind() == ControlKind::Reset));
    }

    #[test]
    fn a_delete_keeps_the_difference_between_absent_and_null_value() {
        let absent = parse(json!({"type": "t", "key": "k", "headers": {"operation": "delete"}}));
        let null = parse(json!({"type": "t", "key": "k", "value": null,
                                "headers": {"operation": "delete"}}));
        let (StateEvent::Change(absent), StateEvent::Change(null)) =
            (absent.unwrap(), null.unwrap())
        else {
            panic!("both are changes");
        };
        assert_eq!(absent.value, None);
        assert_eq!(null.value, Some(Value::Null));
    }

    #[test]
    fn malformed_messages_name_the_field() {
        let cases = [
            (json!([1]), "`the message` is not a JSON object"),
            (json!({"type": "t"}), "`headers` is missing"),
            (json!({"headers": 3}), "`headers` is not a JSON object"),
            (json!({"headers": {}}), "`headers` has neither"),
            (
                json!({"headers": {"operation": "insert", "control": "reset"}}),
                "has both",
            ),
            (
                json!({"type": "t", "key": "k", "value": 1, "headers": {"operation": "merge"}}),
                "`headers.operation` is \"merge\"",
            ),
            (
                json!({"type": "t", "key": "k", "value": 1, "headers": {"operation": 1}}),
                "`headers.operation` is not a string",
            ),
            (
                json!({"key": "k", "value": 1, "headers": {"operation": "insert"}}),
                "`type` is missing",
            ),
            (
                json!({"type": "", "key": "k", "value": 1, "headers": {"operation": "insert"}}),
                "`type` is empty",
            ),
            (
                json!({"type": "t", "key": 5, "value": 1, "headers": {"operation": "insert"}}),
                "`key` is not a string",
            ),
            (
                json!({"type": "t", "key": "k", "headers": {"operation": "update"}}),
                "`value` is missing (required for update)",
            ),
            (
                json!({"type": "t", "key": "k", "value": 1,
                    "headers": {"operation": "insert", "txid": ""}}),
                "`headers.txid` is empty",
            ),
            (
                json!({"type": "t", "key": "k", "value": 1,
                    "headers": {"operation": "insert", "timestamp": 5}}),
                "`headers.timestamp` is not a string",
            ),
            (
                json!({"headers": {"control": "pause"}}),
                "`headers.control` is \"pause\"",
            ),
            (
                json!({"headers": {"control": "reset", "offset": 1}}),
                "`headers.offset` is not a string",
            ),
        ];
        for (value, expected) in cases {
            let message = error_of(value.clone());
            assert!(message.contains(expected), "{value}: {message}");
        }
        let err = StateEvent::from_json_bytes(b"{\"headers\":").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
    }

    #[test]
    fn writers_refuse_events_the_protocol_forbids_naming_the_field() {
        let cases: [(StateEvent, &str); 6] = [
            (
                ChangeEvent::insert("t", "k", json!(1))
                    .with_timestamp("noon")
                    .into(),
                "headers.timestamp",
            ),
            (ChangeEvent::insert("", "k", json!(1)).into(), "type"),
            (ChangeEvent::insert("t", "", json!(1)).into(), "key"),
            (
                ChangeEvent::insert("t", "k", json!(1)).with_txid("").into(),
                "headers.txid",
            ),
            (
                ChangeEvent::insert("t", "k", json!(1))
                    .with_header("operation", "x")
                    .into(),
                "headers",
            ),
            (
                ControlEvent::new(ControlKind::Reset).with_offset("").into(),
                "headers.offset",
            ),
        ];
        for (event, field) in cases {
            let err = event.validate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
            assert!(err.message().starts_with(&format!("{field}:")), "{err}");
        }
        let mut no_value = ChangeEvent::upsert("t", "k", json!(1));
        no_value.value = None;
        assert!(
            no_value
                .validate()
                .unwrap_err()
                .message()
                .starts_with("value:")
        );
        assert!(ChangeEvent::delete("t", "k").validate().is_ok());
        assert!(
            ChangeEvent::delete("t", "k")
                .with_timestamp_now()
                .validate()
                .is_ok()
        );
    }
}
