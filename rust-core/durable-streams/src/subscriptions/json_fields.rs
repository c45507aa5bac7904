//! Reading server JSON field by field, so that a malformed answer fails with an error naming
//! the exact field (`streams[2].acked_offset`) rather than a line and column.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;

/// One JSON object of a server answer, with the path that leads to it (for messages).
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    path: String,
    what: &'static str,
}

/// Parses a whole response body as a JSON object; `what` names the answer in messages
/// ("the subscription", "the claim").
pub(crate) fn parse_object(body: &[u8], what: &'static str) -> Result<Value> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorKind::Parse, format!("{what} is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::new(
            ErrorKind::Parse,
            format!("{what} is not a JSON object"),
        ));
    }
    Ok(value)
}

impl<'a> Fields<'a> {
    /// The fields of `value`, which must be an object.
    pub(crate) fn of(value: &'a Value, what: &'static str) -> Result<Fields<'a>> {
        Fields::at(value, String::new(), what)
    }

    fn at(value: &'a Value, path: String, what: &'static str) -> Result<Fields<'a>> {
        match value.as_object() {
            Some(object) => Ok(Fields { object, path, what }),
            None => Err(parse_error(what, &path, "is not a JSON object")),
        }
    }

    fn name(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    fn error(&self, field: &str, problem: &str) -> Error {
        parse_error(self.what, &self.name(field), problem)
    }

    /// The field's value, treating JSON `null` as absent.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    pub(crate) fn str(&self, field: &str) -> Result<&'a str> {
        self.opt_str(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<&'a str>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.error(field, "is not a string")),
        }
    }

    pub(crate) fn u64(&self, field: &str) -> Result<u64> {
        match self.get(field) {
            None => Err(self.error(field, "is missing")),
            Some(value) => value
                .as_u64()
                .ok_or_else(|| self.error(field, "is not a non-negative integer")),
        }
    }

    pub(crate) fn opt_u64(&self, field: &str) -> Result<Option<u64>> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.u64(field).map(Some),
        }
    }

    pub(crate) fn opt_bool(&self, field: &str) -> Result<Option<bool>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(self.error(field, "is not a boolean")),
        }
    }

    pub(crate) fn offset(&self, field: &str) -> Result<Offset> {
        let token = self.str(field)?;
        Offset::from_server(token).map_err(|_| self.error(field, "is an empty offset"))
    }

    /// A nested object, when present.
    pub(crate) fn opt_object(&self, field: &str) -> Result<Option<Fields<'a>>> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => Fields::at(value, self.name(field), self.what).map(Some),
        }
    }

    /// Each object of an array field (an absent field is an empty array).
    pub(crate) fn objects(&self, field: &str) -> Result<Vec<Fields<'a>>> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    Fields::at(item, format!("{}[{index}]", self.name(field)), self.what)
                })
                .collect(),
            Some(_) => Err(self.error(field, "is not an array")),
        }
    }
}

fn parse_error(what: &str, field: &str, problem: &str) -> Error {
    let field = if field.is_empty() { "the body" } else { field };
    Error::new(
        ErrorKind::Parse,
        format!("{what} from the server is malformed: field `{field}` {problem}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_nested_field() {
        let value = serde_json::json!({"streams": [{"path": "a"}, {"path": 5}]});
        let fields = Fields::of(&value, "the subscription").unwrap();
        let streams = fields.objects("streams").unwrap();
        let err = streams[1].str("path").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse);
        assert!(
            err.message().contains("`streams[1].path` is not a string"),
            "{err}"
        );
        let err = streams[0].offset("acked_offset").unwrap_err();
        assert!(
            err.message()
                .contains("`streams[0].acked_offset` is missing"),
            "{err}"
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let value = serde_json::json!({"wake_stream": null});
        let fields = Fields::of(&value, "x").unwrap();
        assert_eq!(fields.opt_str("wake_stream").unwrap(), None);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_parse_error() {
        for body in [&b"[1]"[..], b"not json", b""] {
            let err = parse_object(body, "the claim").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parse);
            assert!(err.message().starts_with("the claim"), "{err}");
        }
    }
}
