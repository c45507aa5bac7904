//! A validating scanner for JSON-mode bodies: checks that a body is one JSON array (RFC 8259,
//! exactly what serde_json accepts when it skips values: any nesting depth, unpaired `\u`
//! surrogates allowed) and returns where each element starts and ends. It builds no values: a catch-up of a million small messages spends its time
//! here, and a full parse per element cost about half of the core's CPU on such reads.

/// The `(start, end)` byte ranges of the elements of the JSON array `body`, in order.
///
/// An empty or all-whitespace body counts as an empty array. Anything else that is not exactly
/// one JSON array surrounded by optional whitespace is an error saying what was found where.
pub(crate) fn element_ranges(body: &[u8]) -> Result<Vec<(usize, usize)>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    // Outside strings the grammar is ASCII, so validating the whole body at once covers every
    // string's UTF-8 (and is faster than checking string by string).
    if let Err(e) = std::str::from_utf8(body) {
        return Err(format!("invalid UTF-8 at byte {}", e.valid_up_to()));
    }
    let mut scan = Scanner::new(body);
    scan.skip_whitespace();
    scan.expect(b'[')?;
    let mut ranges = Vec::new();
    scan.skip_whitespace();
    if scan.peek() == Some(b']') {
        scan.at += 1;
    } else {
        loop {
            scan.skip_whitespace();
            let start = scan.at;
            scan.value()?;
            ranges.push((start, scan.at));
            scan.skip_whitespace();
            match scan.next_byte() {
                Some(b',') => continue,
                Some(b']') => break,
                other => return Err(scan.unexpected(other, "',' or ']' after an element")),
            }
        }
    }
    scan.skip_whitespace();
    if scan.at != body.len() {
        return Err(format!(
            "trailing characters at byte {} after the array",
            scan.at
        ));
    }
    Ok(ranges)
}

/// The complete elements at the start of a JSON array whose text is still arriving.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ArrayPrefix {
    /// The `(start, end)` ranges of the elements whose separator (`,` or `]`) has arrived.
    pub(crate) ranges: Vec<(usize, usize)>,
    /// Where the separator after the last of `ranges` is (0 when there are none and the array
    /// has not ended).
    pub(crate) cut: usize,
    /// Whether that separator is the array's closing `]`.
    pub(crate) ended: bool,
}

/// The elements of the JSON array `prefix` that are complete, when `prefix` is the start of a
/// body still arriving: what [`element_ranges`] would find in them, with the bytes after the
/// last complete element left for later. Fails only on bytes that no continuation could make
/// valid. UTF-8 is not checked here: the caller checks each piece it cuts (cuts fall on ASCII
/// separators outside strings, so a piece never splits a character).
pub(crate) fn array_prefix(prefix: &[u8]) -> Result<ArrayPrefix, String> {
    let mut scan = Scanner::new(prefix);
    let mut found = ArrayPrefix {
        ranges: Vec::new(),
        cut: 0,
        ended: false,
    };
    scan.skip_whitespace();
    if scan.peek().is_none() {
        return Ok(found);
    }
    scan.expect(b'[')?;
    scan.skip_whitespace();
    match scan.peek() {
        None => return Ok(found),
        Some(b']') => {
            found.cut = scan.at;
            found.ended = true;
            return Ok(found);
        }
        Some(_) => {}
    }
    loop {
        scan.skip_whitespace();
        let start = scan.at;
        match scan.value() {
            Ok(()) => {}
            Err(_) if scan.truncated => return Ok(found),
            Err(problem) => return Err(problem),
        }
        let end = scan.at;
        scan.skip_whitespace();
        match scan.next_byte() {
            None => return Ok(found),
            Some(separator @ (b',' | b']')) => {
                found.ranges.push((start, end));
                found.cut = scan.at - 1;
                if separator == b']' {
                    found.ended = true;
                    return Ok(found);
                }
            }
            other => return Err(scan.unexpected(other, "',' or ']' after an element")),
        }
    }
}

struct Scanner<'a> {
    body: &'a [u8],
    at: usize,
    /// The containers open inside the current element, innermost last (reused across elements,
    /// so scanning allocates nothing per message).
    open: Vec<Open>,
    /// Whether the last error was running out of bytes (more of the body could still fix it).
    truncated: bool,
}

/// What an open container expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Array,
    Object,
}

impl<'a> Scanner<'a> {
    fn new(body: &'a [u8]) -> Scanner<'a> {
        Scanner {
            body,
            at: 0,
            open: Vec::new(),
            truncated: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.body.get(self.at).copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, wanted: u8) -> Result<(), String> {
        match self.next_byte() {
            Some(byte) if byte == wanted => Ok(()),
            other => Err(self.unexpected(other, &format!("'{}'", wanted as char))),
        }
    }

    fn unexpected(&mut self, found: Option<u8>, wanted: &str) -> String {
        self.truncated = found.is_none();
        match found {
            None => format!(
                "the body ends at byte {} where {wanted} was expected",
                self.at
            ),
            Some(byte) => format!(
                "unexpected {} at byte {}, expected {wanted}",
                describe(byte),
                self.at.saturating_sub(1)
            ),
        }
    }

    /// One JSON value, containers included (iteratively: no recursion on deep documents).
    fn value(&mut self) -> Result<(), String> {
        let mut open = std::mem::take(&mut self.open);
        open.clear();
        let outcome = self.value_with(&mut open);
        self.open = open;
        outcome
    }

    fn value_with(&mut self, open: &mut Vec<Open>) -> Result<(), String> {
        loop {
            // A value starts here.
            self.skip_whitespace();
            match self.next_byte() {
                Some(b'{') => {
                    open.push(Open::Object);
                    self.skip_whitespace();
                    if self.peek() == Some(b'}') {
                        self.at += 1;
                        open.pop();
                    } else {
                        self.key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    open.push(Open::Array);
                    self.skip_whitespace();
                    if self.peek() == Some(b']') {
                        self.at += 1;
                        open.pop();
                    } else {
                        continue;
                    }
                }
                Some(b'"') => self.string()?,
                Some(b't') => self.literal(b"rue")?,
                Some(b'f') => self.literal(b"alse")?,
                Some(b'n') => self.literal(b"ull")?,
                Some(b'-' | b'0'..=b'9') => {
                    self.at -= 1;
                    self.number()?;
                }
                other => return Err(self.unexpected(other, "a JSON value")),
            }
            // A value ended: close containers until one continues with another value.
            loop {
                let Some(&container) = open.last() else {
                    return Ok(());
                };
                self.skip_whitespace();
                match (container, self.next_byte()) {
                    (Open::Array, Some(b',')) => break,
                    (Open::Object, Some(b',')) => {
                        self.skip_whitespace();
                        self.key()?;
                        break;
                    }
                    (Open::Array, Some(b']')) | (Open::Object, Some(b'}')) => {
                        open.pop();
                    }
                    (Open::Array, other) => return Err(self.unexpected(other, "',' or ']'")),
                    (Open::Object, other) => return Err(self.unexpected(other, "',' or '}'")),
                }
            }
        }
    }

    /// An object key and its colon, the scanner just before the key's opening quote.
    fn key(&mut self) -> Result<(), String> {
        match self.next_byte() {
            Some(b'"') => self.string()?,
            other => return Err(self.unexpected(other, "a string key")),
        }
        self.skip_whitespace();
        self.expect(b':')
    }

    /// The rest of a string after its opening quote.
    fn string(&mut self) -> Result<(), String> {
        loop {
            // Plain bytes in bulk: only a quote, a backslash or a control character stop.
            let body = self.body;
            let rest = &body[self.at..];
            let run = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or_else(|| {
                    self.truncated = true;
                    format!("unterminated string at byte {}", self.body.len())
                })?;
            self.at += run;
            match self.next_byte() {
                Some(b'"') => return Ok(()),
                Some(b'\\') => self.escape()?,
                other => {
                    return Err(self.unexpected(
                        other,
                        "a string character (control characters must be escaped)",
                    ));
                }
            }
        }
    }

    fn escape(&mut self) -> Result<(), String> {
        match self.next_byte() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(()),
            Some(b'u') => {
                // Four hex digits; lone surrogates are accepted, as they always were (serde_json
                // does not pair them when it skips a string).
                self.hex4()?;
                Ok(())
            }
            other => Err(self.unexpected(other, "an escape character")),
        }
    }

    fn hex4(&mut self) -> Result<(), String> {
        for _ in 0..4 {
            match self.next_byte() {
                Some(b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {}
                other => return Err(self.unexpected(other, "a hexadecimal digit")),
            }
        }
        Ok(())
    }

    fn literal(&mut self, rest: &[u8]) -> Result<(), String> {
        let available = &self.body[self.at.min(self.body.len())..];
        if available.starts_with(rest) {
            self.at += rest.len();
            Ok(())
        } else {
            self.truncated = rest.starts_with(available);
            Err(format!("invalid literal at byte {}", self.at - 1))
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next_byte() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => self.digits(),
            other => return Err(self.unexpected(other, "a digit")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.required_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.required_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), String> {
        match self.next_byte() {
            Some(b'0'..=b'9') => {
                self.digits();
                Ok(())
            }
            other => Err(self.unexpected(other, "a digit")),
        }
    }
}

fn describe(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", byte as char)
    } else {
        format!("byte 0x{byte:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    /// What serde_json says about `body` as an array of raw values: the element ranges, or None.
    fn serde_ranges(body: &[u8]) -> Option<Vec<(usize, usize)>> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Some(Vec::new());
        }
        let elements: Vec<&RawValue> = serde_json::from_slice(body).ok()?;
        let base = body.as_ptr() as usize;
        Some(
            elements
                .iter()
                .map(|raw| {
                    let start = raw.get().as_ptr() as usize - base;
                    (start, start + raw.get().len())
                })
                .collect(),
        )
    }

    fn agrees(body: &[u8]) {
        let ours = element_ranges(body).ok();
        assert_eq!(
            ours,
            serde_ranges(body),
            "disagreement with serde_json on {:?}",
            String::from_utf8_lossy(body)
        );
    }

    const VALID: &[&str] = &[
        "[]",
        " [ ] ",
        "[1]",
        "[-0, 0, 1.5, -2e10, 3E+2, 4e-3, 1.0e0, 123456789012345678901234567890]",
        r#"[true,false,null]"#,
        r#"[{"a":1}, [1,2] ,"s\"x",3.5e2,null]"#,
        r#"[{"k":{"n":[{"d":[]}]}}, {}, [[]], [{}]]"#,
        r#"["\\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 ]}{,:"]"#,
        "[\n{\"k\":\"v\"},\n{\"k\":\"w\"}\n]",
        "\t[\r\n\"😀\" , \"h\u{e9}\"\r\n]\n",
        r#"[{"i":0,"v":"xxxxxxxxxx"},{"i":1,"v":"xxxxxxxxxx"}]"#,
        r#"[{"a" : 1 , "b" : [ 1 , { } ] }]"#,
    ];

    const INVALID: &[&str] = &[
        "[",
        "]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[1] x",
        "[1][2]",
        "{\"a\":1}",
        "1",
        "\"s\"",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[1e+]",
        "[-]",
        "[+1]",
        "[tru]",
        "[nul]",
        "[True]",
        "[\"unterminated]",
        "[\"bad \\x escape\"]",
        "[\"\\u12\"]",
        "[\"tab\tinside\"]",
        "[\"new\nline\"]",
        "[{\"a\"}]",
        "[{\"a\":}]",
        "[{a:1}]",
        "[{\"a\":1,}]",
        "[{\"a\":1 \"b\":2}]",
        "[[1,2]",
        "[1]]",
        "[NaN]",
        "[Infinity]",
        "\u{0}",
        "[1] \u{0}",
    ];

    #[test]
    fn valid_arrays_split_as_serde_json_splits_them() {
        for body in VALID {
            agrees(body.as_bytes());
            assert!(element_ranges(body.as_bytes()).is_ok(), "{body}");
        }
    }

    #[test]
    fn invalid_bodies_are_refused_as_serde_json_refuses_them() {
        for body in INVALID {
            agrees(body.as_bytes());
            assert!(element_ranges(body.as_bytes()).is_err(), "{body}");
        }
        // Invalid UTF-8 inside a string, and a lone continuation byte.
        for body in [&b"[\"\xff\"]"[..], b"[\"\xc3\"]", b"[\"\x80\"]"] {
            agrees(body);
            assert!(element_ranges(body).is_err());
        }
    }

    #[test]
    fn every_prefix_and_single_byte_corruption_agrees_with_serde_json() {
        // Truncations and one-byte changes of valid documents hit every state of the scanner.
        let replacements = [
            b' ', b'"', b'\\', b',', b':', b'[', b']', b'{', b'}', b'0', b'-', b'e', b'.', b'u',
            b'x', 0u8,
        ];
        for body in VALID {
            let bytes = body.as_bytes();
            for end in 0..bytes.len() {
                agrees(&bytes[..end]);
            }
            for at in 0..bytes.len() {
                for &replacement in &replacements {
                    let mut changed = bytes.to_vec();
                    changed[at] = replacement;
                    agrees(&changed);
                }
            }
        }
    }

    #[test]
    fn deep_nesting_is_accepted_without_recursion() {
        for depth in [1, 127, 128, 129, 200] {
            let body = format!("[{}{}]", "[".repeat(depth), "]".repeat(depth));
            agrees(body.as_bytes());
        }
        // The scan does not recurse: a million levels are checked, not a stack overflow.
        let deep = format!("[{}{}]", "[".repeat(1_000_000), "]".repeat(1_000_000));
        assert_eq!(element_ranges(deep.as_bytes()).map(|r| r.len()), Ok(1));
        let unbalanced = format!("[{}]", "[".repeat(1_000_000));
        assert!(element_ranges(unbalanced.as_bytes()).is_err());
    }

    #[test]
    fn errors_say_what_was_found_where() {
        let err = element_ranges(b"[1,]").unwrap_err();
        assert!(err.contains("byte 3"), "{err}");
        let err = element_ranges(b"[1] x").unwrap_err();
        assert!(err.contains("trailing"), "{err}");
        let err = element_ranges(b"[\"\xff\"]").unwrap_err();
        assert!(err.contains("UTF-8"), "{err}");
    }
}
