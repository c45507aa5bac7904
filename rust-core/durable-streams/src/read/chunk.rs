//! One unit of data returned by a read session.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::offset::Offset;

/// Data read from a stream, with the position after it.
///
/// For JSON-mode streams, [`Chunk::messages`] holds each message (already validated); `data` is the
/// JSON array text they came in. Bytes are reference-counted: cloning or slicing does not copy.
#[derive(Debug, Clone)]
pub struct Chunk {
    data: Bytes,
    /// For JSON-mode streams, each message's `(start, end)` in `data`.
    ranges: Option<Vec<(usize, usize)>>,
    /// The messages as slices of `data`, made on first use: a reader that takes the bounds
    /// (the C ABI) never pays a reference count per message.
    messages: OnceLock<Vec<Bytes>>,
    offset: Offset,
    cursor: Option<String>,
    up_to_date: bool,
    closed: bool,
    partial: bool,
    resume_skip: u64,
    resume_skip_messages: u64,
    status: u16,
}

impl Chunk {
    pub(crate) fn new(
        data: Bytes,
        messages: Option<Vec<Bytes>>,
        offset: Offset,
        cursor: Option<String>,
        up_to_date: bool,
        closed: bool,
    ) -> Chunk {
        let (data, ranges) = match messages {
            None => (data, None),
            Some(messages) => match ranges_in(&data, &messages) {
                Some(ranges) => (data, Some(ranges)),
                // Messages from elsewhere: one JSON array text holding them becomes the data.
                None => {
                    let (data, ranges) =
                        super::json::join_messages(messages.iter().map(|m| &m[..]));
                    (data, Some(ranges))
                }
            },
        };
        Chunk::with_ranges(data, ranges, offset, cursor, up_to_date, closed)
    }

    /// [`Chunk::new`] with the messages given as `(start, end)` ranges of `data`.
    pub(crate) fn with_ranges(
        data: Bytes,
        ranges: Option<Vec<(usize, usize)>>,
        offset: Offset,
        cursor: Option<String>,
        up_to_date: bool,
        closed: bool,
    ) -> Chunk {
        Chunk {
            data,
            ranges,
            messages: OnceLock::new(),
            offset,
            cursor,
            up_to_date,
            closed,
            partial: false,
            resume_skip: 0,
            resume_skip_messages: 0,
            status: 200,
        }
    }

    /// The same chunk, from a response with this HTTP status.
    pub(crate) fn with_status(mut self, status: u16) -> Chunk {
        self.status = status;
        self
    }

    /// Transport detail for conformance tooling: the HTTP status of the response this chunk came
    /// from (200, or 204 for a long-poll that timed out). Not part of the stable API.
    ///
    /// A 204 chunk only reports up-to-date or closed; SSE chunks are 200.
    #[doc(hidden)]
    pub fn transport_status(&self) -> u16 {
        self.status
    }

    /// A piece of a response that continues: `offset` is where the response began and
    /// `resume_skip` the bytes from there delivered up to and including this piece.
    pub(crate) fn piece(
        data: Bytes,
        offset: Offset,
        cursor: Option<String>,
        resume_skip: u64,
    ) -> Chunk {
        Chunk {
            data,
            ranges: None,
            messages: OnceLock::new(),
            offset,
            cursor,
            up_to_date: false,
            closed: false,
            partial: true,
            resume_skip,
            resume_skip_messages: 0,
            status: 200,
        }
    }

    /// A piece of a JSON response that continues: `data` is a JSON array of whole messages,
    /// `offset` is where the response began and `resume_skip_messages` the messages from there
    /// delivered up to and including this piece.
    pub(crate) fn json_piece(
        data: Bytes,
        ranges: Vec<(usize, usize)>,
        offset: Offset,
        cursor: Option<String>,
        resume_skip_messages: u64,
    ) -> Chunk {
        Chunk {
            ranges: Some(ranges),
            resume_skip_messages,
            resume_skip: 0,
            ..Chunk::piece(data, offset, cursor, 0)
        }
    }

    /// Whether more of the same response follows (only with [`crate::ReadOptions::max_chunk_bytes`]).
    ///
    /// The offset of a partial chunk is where its response began (the server mints offsets, so
    /// there is none for a point inside a response); [`Chunk::resume_skip`] says how many bytes
    /// from there have been delivered. Resume exactly after this piece with
    /// `ReadOptions::new().offset(chunk.offset().clone()).skip_bytes(chunk.resume_skip())` (and
    /// the cursor); resuming from the offset alone re-reads the response from its start. A piece
    /// of a JSON response holds whole messages (its data is a JSON array of them) and counts
    /// messages instead: [`Chunk::resume_skip_messages`] with
    /// [`crate::ReadOptions::skip_messages`].
    pub fn partial(&self) -> bool {
        self.partial
    }

    /// The raw bytes (for JSON streams, the JSON array text).
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Takes the raw bytes.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    /// For JSON-mode streams, each message's JSON text; `None` for other content types. Every
    /// message is a slice of [`Chunk::data`] (no copy), in order.
    pub fn messages(&self) -> Option<&[Bytes]> {
        let ranges = self.ranges.as_ref()?;
        Some(self.messages.get_or_init(|| {
            ranges
                .iter()
                .map(|&(start, end)| self.data.slice(start..end))
                .collect()
        }))
    }

    /// For JSON-mode streams, each message's `(start, end)` byte range in [`Chunk::data`]
    /// (what [`Chunk::messages`] slices, without making the slices).
    pub fn message_ranges(&self) -> Option<&[(usize, usize)]> {
        self.ranges.as_deref()
    }

    /// The data as UTF-8 text.
    ///
    /// Fails with [`ErrorKind::Parse`] if the bytes are not UTF-8. Chunk boundaries follow the
    /// writer's appends, so text appended whole decodes whole; [`Chunk::partial`] pieces are cut
    /// at a byte count and may split a character (decode their concatenation instead).
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.data).map_err(|e| {
            Error::new(
                ErrorKind::Parse,
                format!(
                    "the chunk at offset {} is not valid UTF-8: {e}",
                    self.offset
                ),
            )
        })
    }

    /// Whether the chunk carries data (at least one message, for JSON streams).
    pub fn has_data(&self) -> bool {
        match &self.ranges {
            Some(ranges) => !ranges.is_empty(),
            None => !self.data.is_empty(),
        }
    }

    /// Where to resume: for a complete chunk, the offset just past its data; for a
    /// [`Chunk::partial`] piece, the offset where its response began, to be used together with
    /// [`Chunk::resume_skip`].
    pub fn offset(&self) -> &Offset {
        &self.offset
    }

    /// The bytes from [`Chunk::offset`] that have been delivered up to and including this chunk:
    /// pass it to [`crate::ReadOptions::skip_bytes`] with the offset and cursor to resume exactly
    /// after this chunk (no byte twice, none missed).
    ///
    /// Non-zero only for a [`Chunk::partial`] piece of a non-JSON stream (it counts the earlier
    /// pieces of the same response, and bytes skipped at the start of a session resumed this
    /// way). A complete chunk's offset is already just past its data, so it reports 0.
    pub fn resume_skip(&self) -> u64 {
        self.resume_skip
    }

    /// For a [`Chunk::partial`] piece of a JSON stream, the messages from [`Chunk::offset`]
    /// delivered up to and including this piece: pass it to
    /// [`crate::ReadOptions::skip_messages`] with the offset and cursor to resume exactly after
    /// it. 0 for every other chunk.
    pub fn resume_skip_messages(&self) -> u64 {
        self.resume_skip_messages
    }

    /// The server's cursor at this point (save it with the offset).
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Whether this chunk reached the tail of the stream when it was served.
    pub fn up_to_date(&self) -> bool {
        self.up_to_date
    }

    /// Whether the stream is closed and this is its end.
    pub fn closed(&self) -> bool {
        self.closed
    }
}

impl PartialEq for Chunk {
    fn eq(&self, other: &Chunk) -> bool {
        // The slices made on first use are a cache: equal chunks may differ in having them.
        self.data == other.data
            && self.ranges == other.ranges
            && self.offset == other.offset
            && self.cursor == other.cursor
            && self.up_to_date == other.up_to_date
            && self.closed == other.closed
            && self.partial == other.partial
            && self.resume_skip == other.resume_skip
            && self.resume_skip_messages == other.resume_skip_messages
            && self.status == other.status
    }
}

impl Eq for Chunk {}

/// Where each of `messages` lies in `data`, when every one is a slice of it.
fn ranges_in(data: &Bytes, messages: &[Bytes]) -> Option<Vec<(usize, usize)>> {
    let base = data.as_ptr() as usize;
    messages
        .iter()
        .map(|message| {
            let start = (message.as_ptr() as usize).checked_sub(base)?;
            let end = start + message.len();
            (end <= data.len()).then_some((start, end))
        })
        .collect()
}
