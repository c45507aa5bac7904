//! Returning a large catch-up or long-poll response in pieces of at most `max_chunk_bytes`, as
//! it arrives, so memory stays bounded.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use reqwest::StatusCode;

use crate::error::Result;
use crate::transport::{Reply, body_error, next_frame};

use super::Chunk;
use super::session::ReadSession;

/// A response being returned in pieces.
pub(super) struct OpenBody {
    response: reqwest::Response,
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    /// The rest of the last frame, not yet returned.
    pending: Bytes,
    /// The longest wait for the next frame.
    idle: Duration,
    /// Bytes of the response taken out of `pending` so far (skipped or put into pieces).
    position: u64,
}

impl OpenBody {
    pub(super) fn new(response: reqwest::Response, idle: Duration) -> OpenBody {
        OpenBody {
            status: response.status(),
            headers: response.headers().clone(),
            response,
            pending: Bytes::new(),
            idle,
            position: 0,
        }
    }
}

impl ReadSession {
    /// Whether `response` is returned in pieces: a body of a non-JSON stream that may exceed
    /// `max_chunk_bytes`.
    pub(super) fn returns_in_pieces(&self, response: &reqwest::Response) -> bool {
        let Some(max) = self.max_chunk_bytes else {
            return false;
        };
        response.status() != StatusCode::NO_CONTENT
            && !self.is_json()
            && response
                .content_length()
                .is_none_or(|length| length > max as u64)
    }

    /// The next piece of the open response: a partial chunk of `max_chunk_bytes`, or the rest of
    /// the response as a complete one. Bytes the caller already has (`skip`) are dropped first.
    pub(super) async fn next_piece(&mut self) -> Result<Option<Chunk>> {
        let max = self.max_chunk_bytes.unwrap_or(usize::MAX);
        let Some(body) = self.body.as_mut() else {
            return Ok(None);
        };
        // One frame is handed out as it is; only a piece made of several is copied.
        let mut single: Option<Bytes> = None;
        let mut joined = BytesMut::new();
        loop {
            let filled = single.as_ref().map_or(joined.len(), Bytes::len);
            if filled >= max {
                break;
            }
            if body.pending.is_empty() {
                match next_frame(&mut body.response, Some(body.idle)).await {
                    Ok(Some(frame)) => body.pending = frame,
                    Ok(None) => {
                        let data = single.unwrap_or_else(|| joined.freeze());
                        let Some(done) = self.body.take() else {
                            return Ok(None);
                        };
                        let start = done.position - data.len() as u64;
                        let reply = Reply {
                            status: done.status,
                            headers: done.headers,
                            body: data,
                        };
                        return self.finish_response(reply, start);
                    }
                    Err(e) => {
                        self.body = None;
                        return Err(body_error(e, self.stream.url()));
                    }
                }
            }
            if body.position < self.skip {
                let available = body.pending.len();
                let discard = usize::try_from(self.skip - body.position)
                    .map_or(available, |wanted| wanted.min(available));
                body.pending.advance(discard);
                body.position += discard as u64;
                continue;
            }
            let take = body
                .pending
                .split_to((max - filled).min(body.pending.len()));
            body.position += take.len() as u64;
            match single.take() {
                None if joined.is_empty() => single = Some(take),
                earlier => {
                    if let Some(earlier) = earlier {
                        joined.extend_from_slice(&earlier);
                    }
                    joined.extend_from_slice(&take);
                }
            }
        }
        let data = single.unwrap_or_else(|| joined.freeze());
        let Some(body) = self.body.as_ref() else {
            return Ok(None);
        };
        // Everything up to here is now the caller's: a resume from `offset` skips it.
        self.skip = body.position;
        Ok(Some(Chunk::piece(
            data,
            self.offset.clone(),
            self.cursor.clone(),
            self.skip,
        )))
    }
}
