//! What a pull worker hands to user code: the data of one linked stream, one chunk at a time.

use bytes::Bytes;

use crate::offset::Offset;
use crate::read::Chunk;

/// Messages of one linked stream, read after the subscription's cursor.
///
/// The worker acks [`StreamBatch::offset`] only after the handler returned `Ok` for this
/// batch, so a crash or a failure means the batch is delivered again (at least once).
#[derive(Debug, Clone)]
pub struct StreamBatch {
    pub(crate) stream: String,
    pub(crate) chunk: Chunk,
    pub(crate) generation: u64,
}

impl StreamBatch {
    /// The stream-root-relative path of the stream.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// For JSON-mode streams, each message's JSON text; `None` for other content types.
    pub fn messages(&self) -> Option<&[Bytes]> {
        self.chunk.messages()
    }

    /// The raw bytes (for JSON streams, the JSON array text).
    pub fn data(&self) -> &Bytes {
        self.chunk.data()
    }

    /// The offset just after this batch: what is acked once the handler succeeds.
    pub fn offset(&self) -> &Offset {
        self.chunk.offset()
    }

    /// The generation of the wake this batch belongs to.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The chunk as read.
    pub fn chunk(&self) -> &Chunk {
        &self.chunk
    }
}
