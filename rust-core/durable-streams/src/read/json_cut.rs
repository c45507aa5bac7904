//! Cutting a JSON-mode body that is still arriving into pieces that are each a complete JSON
//! array of whole messages, so that a large response is returned (and parsed by the caller)
//! piece by piece in bounded memory.

use bytes::{Bytes, BytesMut};

use super::json_scan::{array_prefix, element_ranges};

/// The messages of one piece: its JSON array text and each message's byte range in it.
pub(crate) type JsonPiece = (Bytes, Vec<(usize, usize)>);

/// Collects the frames of one JSON response and cuts them at message boundaries.
///
/// Every piece is a JSON array on its own: the first starts with the response's `[`; a cut
/// replaces the `,` after the last whole message with `]`, and the rest continues behind a new
/// `[`. Together the pieces hold exactly the response's messages, in order, each verbatim.
pub(crate) struct JsonCutter {
    /// The bytes not yet returned, starting with `[` (after optional whitespace).
    carry: BytesMut,
    /// The most bytes a piece holds, unless one message is larger.
    max_piece: usize,
    /// The carry's length at which to look for a cut again: after a look that found no whole
    /// message, only once the carry has doubled, so that one huge message is scanned a bounded
    /// number of times.
    next_look: usize,
    /// Whether the carry follows a cut at a `,`, so that at least one more message must come.
    after_cut: bool,
    /// Whether the response has ended: the carry is all there is, to be cut down to size.
    input_ended: bool,
    /// What to add to a position in the carry to make it a position in the response (for
    /// error messages; each cut's `[` stands where the `,` before the carry was).
    consumed: u64,
}

impl JsonCutter {
    /// A cutter returning pieces of at most `max_piece` bytes (a message larger than that is a
    /// piece of its own), when it is given at most [`JsonCutter::room`] bytes at a time.
    pub(crate) fn new(max_piece: usize) -> JsonCutter {
        JsonCutter {
            carry: BytesMut::new(),
            max_piece: max_piece.max(1),
            next_look: 0,
            after_cut: false,
            input_ended: false,
            consumed: 0,
        }
    }

    /// Adds the next bytes of the response.
    pub(crate) fn push(&mut self, frame: &[u8]) {
        self.carry.extend_from_slice(frame);
    }

    /// Marks the end of the response: [`JsonCutter::cut`] then cuts what is left into pieces
    /// within bounds (it no longer waits for more), and [`JsonCutter::finish`] returns the last.
    pub(crate) fn end_input(&mut self) {
        self.input_ended = true;
    }

    /// Whether [`JsonCutter::end_input`] was called.
    pub(crate) fn input_ended(&self) -> bool {
        self.input_ended
    }

    /// How many more bytes to push before the next [`JsonCutter::cut`] looks for a cut (at least
    /// 1): pushing no more keeps pieces within `max_piece`.
    pub(crate) fn room(&self) -> usize {
        self.look_at().saturating_sub(self.carry.len()).max(1)
    }

    fn look_at(&self) -> usize {
        self.max_piece.max(self.next_look)
    }

    /// A piece of the whole messages that have arrived, once [`JsonCutter::room`] is used up
    /// and at least one message is complete; `None` while more bytes are needed. Fails when the
    /// bytes so far cannot be the start of a JSON array.
    pub(crate) fn cut(&mut self) -> Result<Option<JsonPiece>, String> {
        let length = self.carry.len();
        let due = if self.input_ended {
            length > self.max_piece
        } else {
            length >= self.look_at()
        };
        if !due {
            return Ok(None);
        }
        let prefix = array_prefix(&self.carry).map_err(|problem| self.located(&problem))?;
        let carry = &self.carry;
        let separator_after = |end: usize| {
            end + carry[end..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(0)
        };
        // After a look that waited for a large message, more than a piece may have arrived:
        // take the messages that fit, or that one message alone.
        let mut count = prefix
            .ranges
            .iter()
            .take_while(|&&(_, end)| separator_after(end) < self.max_piece)
            .count();
        if count == 0 && !prefix.ranges.is_empty() {
            count = 1;
        }
        if prefix.ended && count == prefix.ranges.len() {
            // The array's end: the end of the response returns the rest whole, checked
            // completely.
            count = 0;
        }
        if count == 0 {
            self.next_look = length.saturating_mul(2);
            return Ok(None);
        }
        let cut = if count == prefix.ranges.len() {
            prefix.cut
        } else {
            separator_after(prefix.ranges[count - 1].1)
        };
        let mut ranges = prefix.ranges;
        ranges.truncate(count);
        let rest_start = cut + 1;
        let mut rest = BytesMut::with_capacity((length - rest_start + 1).max(self.max_piece));
        rest.extend_from_slice(b"[");
        rest.extend_from_slice(&self.carry[rest_start..]);
        let mut piece = std::mem::replace(&mut self.carry, rest);
        piece.truncate(rest_start);
        piece[cut] = b']';
        // The cut is at an ASCII separator outside any string: the piece holds whole characters.
        if let Err(e) = std::str::from_utf8(&piece) {
            return Err(self.located(&format!("invalid UTF-8 at byte {}", e.valid_up_to())));
        }
        self.consumed += rest_start as u64 - 1;
        self.next_look = 0;
        self.after_cut = true;
        Ok(Some((piece.freeze(), ranges)))
    }

    /// The rest of the response once it has ended, checked as a complete JSON array.
    pub(crate) fn finish(self) -> Result<JsonPiece, String> {
        let ranges = element_ranges(&self.carry).map_err(|problem| self.located(&problem))?;
        if self.after_cut && ranges.is_empty() {
            return Err(self.located("a ',' after the last element (the array ends with \",]\")"));
        }
        Ok((self.carry.freeze(), ranges))
    }

    /// `problem`, with where the carry began in the response when it is not the response's start.
    fn located(&self, problem: &str) -> String {
        if self.consumed == 0 {
            problem.to_owned()
        } else {
            format!(
                "{problem} (of the response's bytes from byte {} on)",
                self.consumed
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` in frames of `frame` bytes to a cutter of `min_piece`; the messages of every
    /// piece in order, or the first error.
    fn cut_all(body: &[u8], frame: usize, max_piece: usize) -> Result<Vec<String>, String> {
        let mut cutter = JsonCutter::new(max_piece);
        let mut messages = Vec::new();
        let mut collect = |(data, ranges): JsonPiece| {
            // Each piece is a JSON array on its own, with the ranges it reports, and within
            // bounds unless it is one message.
            assert_eq!(element_ranges(&data).as_ref(), Ok(&ranges), "{data:?}");
            assert!(data.len() <= max_piece || ranges.len() <= 1, "{data:?}");
            for (start, end) in ranges {
                messages.push(String::from_utf8(data[start..end].to_vec()).unwrap());
            }
        };
        for mut part in body.chunks(frame.max(1)) {
            while !part.is_empty() {
                let (now, later) = part.split_at(cutter.room().min(part.len()));
                cutter.push(now);
                part = later;
                while let Some(piece) = cutter.cut()? {
                    collect(piece);
                }
            }
        }
        cutter.end_input();
        while let Some(piece) = cutter.cut()? {
            collect(piece);
        }
        collect(cutter.finish()?);
        Ok(messages)
    }

    fn whole(body: &[u8]) -> Result<Vec<String>, String> {
        element_ranges(body).map(|ranges| {
            ranges
                .into_iter()
                .map(|(s, e)| String::from_utf8(body[s..e].to_vec()).unwrap())
                .collect()
        })
    }

    const BODIES: &[&str] = &[
        "",
        "[]",
        " [ ] ",
        "[1]",
        r#"[{"i":0,"v":"xxxxxxxxxx"},{"i":1,"v":"xxxxxxxxxx"},{"i":2,"v":"xxxxxxxxxx"}]"#,
        r#"[{"a":1}, [1,2] ,"s\"x,]",3.5e2,null, true , false,-0.5e-3]"#,
        "[\n{\"k\":\"v\"},\n{\"k\":\"😀 h\u{e9}\"}\n]\n",
        r#"[{"k":{"n":[{"d":[]}]}}, {}, [[]], [{}], "]", ","]"#,
        // Invalid ones: each must fail however it is cut.
        "[1,]",
        "[1,,2]",
        "[1 2]",
        "[1] x",
        "[1][2]",
        "{\"a\":1}",
        "[1,2",
        "[\"a\",\"b",
        "[1,tru]",
        "[1,\"\u{0}\"]",
        "[1,2]]",
    ];

    #[test]
    fn pieces_hold_exactly_the_messages_of_the_whole_body_however_it_arrives() {
        for body in BODIES {
            let bytes = body.as_bytes();
            let expected = whole(bytes);
            for frame in 1..=bytes.len().max(1) {
                for max_piece in [1, 2, 3, 5, 8, 13, 64] {
                    let got = cut_all(bytes, frame, max_piece);
                    assert_eq!(
                        got.is_ok(),
                        expected.is_ok(),
                        "{body:?} in frames of {frame}, pieces of {max_piece}: {got:?}"
                    );
                    if let Ok(messages) = got {
                        assert_eq!(Ok(messages), expected, "{body:?} {frame} {max_piece}");
                    }
                }
            }
        }
    }

    #[test]
    fn invalid_utf8_inside_a_piece_is_refused() {
        let body = b"[\"\xff\",1,2,3]";
        assert!(cut_all(body, 1, 1).is_err());
        assert!(cut_all(body, 64, 1).is_err());
    }

    #[test]
    fn a_message_larger_than_a_piece_is_returned_whole_and_scanned_few_times() {
        let big = format!("[\"{}\",{}1]", "x".repeat(100_000), "1,".repeat(500));
        let mut cutter = JsonCutter::new(10);
        let mut looks_without_cut = 0;
        let mut pieces = Vec::new();
        let mut rest = big.as_bytes();
        while !rest.is_empty() {
            let (now, later) = rest.split_at(cutter.room().min(rest.len()).min(100));
            rest = later;
            cutter.push(now);
            let before = cutter.next_look;
            match cutter.cut().unwrap() {
                Some(piece) => pieces.push(piece),
                None if cutter.next_look != before => looks_without_cut += 1,
                None => {}
            }
        }
        pieces.push(cutter.finish().unwrap());
        let (first, ranges) = &pieces[0];
        assert_eq!(ranges[0], (1, 100_003), "{:?}", &first[..10]);
        let total: usize = pieces.iter().map(|(_, r)| r.len()).sum();
        assert_eq!(total, 502);
        assert!(
            looks_without_cut < 20,
            "{looks_without_cut} scans for one 100 kB message"
        );
        assert!(pieces[1..].iter().all(|(data, _)| data.len() <= 10));
    }

    #[test]
    fn what_is_left_at_the_end_after_a_large_message_is_still_cut_to_size() {
        // The large message keeps the cutter waiting until the whole rest has arrived.
        let body = format!("[\"{}\",{}1]", "x".repeat(1_000), "22,".repeat(300));
        let mut cutter = JsonCutter::new(64);
        let mut rest = body.as_bytes();
        let mut pieces = Vec::new();
        while !rest.is_empty() {
            let (now, later) = rest.split_at(cutter.room().min(rest.len()));
            rest = later;
            cutter.push(now);
            while let Some(piece) = cutter.cut().unwrap() {
                pieces.push(piece);
            }
        }
        cutter.end_input();
        while let Some(piece) = cutter.cut().unwrap() {
            pieces.push(piece);
        }
        pieces.push(cutter.finish().unwrap());
        assert_eq!(pieces[0].1.len(), 1, "the large message alone");
        assert!(pieces[1..].iter().all(|(data, _)| data.len() <= 64));
        assert_eq!(pieces.iter().map(|(_, r)| r.len()).sum::<usize>(), 302);
    }

    #[test]
    fn errors_after_a_cut_say_where_in_the_response() {
        let mut cutter = JsonCutter::new(4);
        cutter.push(br#"[1111,2222,"#);
        let mut pieces = 0;
        while cutter.cut().unwrap().is_some() {
            pieces += 1;
        }
        assert_eq!(pieces, 2);
        cutter.push(b"x]");
        let err = cutter.finish().unwrap_err();
        assert!(err.contains("at byte 1, "), "{err}");
        assert!(err.contains("bytes from byte 10 on"), "{err}");
    }
}
