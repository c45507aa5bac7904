//! Returning a large catch-up or long-poll response in pieces of at most `max_chunk_bytes`, as
//! it arrives, so memory stays bounded: byte streams cut anywhere, JSON streams between
//! messages.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use reqwest::StatusCode;

use crate::error::{Error, ErrorKind, Result};
use crate::transport::{Reply, body_error, next_frame};

use super::Chunk;
use super::json::join_messages;
use super::json_cut::JsonCutter;
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
    /// For a JSON response, the cutter its bytes go through, and the messages returned or
    /// skipped so far.
    json: Option<(JsonCutter, u64)>,
}

impl OpenBody {
    pub(super) fn new(
        response: reqwest::Response,
        idle: Duration,
        json_pieces: Option<usize>,
    ) -> OpenBody {
        OpenBody {
            status: response.status(),
            headers: response.headers().clone(),
            response,
            pending: Bytes::new(),
            idle,
            position: 0,
            json: json_pieces.map(|max| (JsonCutter::new(max), 0)),
        }
    }
}

impl ReadSession {
    /// Whether `response` is returned in pieces: a body that may exceed `max_chunk_bytes`.
    pub(super) fn returns_in_pieces(&self, response: &reqwest::Response) -> bool {
        let Some(max) = self.max_chunk_bytes else {
            return false;
        };
        response.status() != StatusCode::NO_CONTENT
            && response
                .content_length()
                .is_none_or(|length| length > max as u64)
    }

    /// The next piece of the open response: a partial chunk of `max_chunk_bytes`, or the rest of
    /// the response as a complete one. Bytes the caller already has (`skip`) are dropped first.
    pub(super) async fn next_piece(&mut self) -> Result<Option<Chunk>> {
        if self.body.as_ref().is_some_and(|body| body.json.is_some()) {
            return self.next_json_piece().await;
        }
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
                        return self.finish_response(reply, start, None);
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

impl ReadSession {
    /// The next piece of the open JSON response: a partial chunk of whole messages, or the rest
    /// of the response as a complete one. Messages the caller already has (`skip`) are dropped.
    async fn next_json_piece(&mut self) -> Result<Option<Chunk>> {
        loop {
            let Some(body) = self.body.as_mut() else {
                return Ok(None);
            };
            let Some((cutter, delivered)) = body.json.as_mut() else {
                return Ok(None);
            };
            match cutter.cut() {
                Err(problem) => return Err(self.json_piece_error(problem)),
                Ok(Some((data, ranges))) => {
                    let start = *delivered;
                    *delivered += ranges.len() as u64;
                    let delivered = *delivered;
                    let mut messages = ranges;
                    let mut data = data;
                    if self.skip > start {
                        // Resuming inside this response: drop what the caller has.
                        if let Err(e) = self.check_skip_allowed() {
                            self.body = None;
                            return Err(e);
                        }
                        let discard = usize::try_from(self.skip - start)
                            .map_or(messages.len(), |wanted| wanted.min(messages.len()));
                        if discard == messages.len() {
                            continue;
                        }
                        (data, messages) =
                            join_messages(messages[discard..].iter().map(|&(s, e)| &data[s..e]));
                    }
                    // Everything up to here is now the caller's: a resume from `offset` skips it.
                    self.skip = delivered;
                    return Ok(Some(Chunk::json_piece(
                        data,
                        messages,
                        self.offset.clone(),
                        self.cursor.clone(),
                        delivered,
                    )));
                }
                Ok(None) if cutter.input_ended() => return self.finish_json_response(),
                Ok(None) => {}
            }
            if body.pending.is_empty() {
                match next_frame(&mut body.response, Some(body.idle)).await {
                    Ok(Some(frame)) => body.pending = frame,
                    Ok(None) => {
                        // What is left may still be more than a piece (after a large message).
                        cutter.end_input();
                        continue;
                    }
                    Err(e) => {
                        self.body = None;
                        return Err(body_error(e, self.stream.url()));
                    }
                }
            }
            let Some((cutter, _)) = body.json.as_mut() else {
                return Ok(None);
            };
            let take = body.pending.split_to(cutter.room().min(body.pending.len()));
            body.position += take.len() as u64;
            cutter.push(&take);
        }
    }

    /// The rest of a JSON response returned in pieces, once it has ended.
    fn finish_json_response(&mut self) -> Result<Option<Chunk>> {
        let Some(done) = self.body.take() else {
            return Ok(None);
        };
        let Some((cutter, delivered)) = done.json else {
            return Ok(None);
        };
        let (data, ranges) = cutter
            .finish()
            .map_err(|problem| self.json_piece_error(problem))?;
        let messages = ranges;
        let reply = Reply {
            status: done.status,
            headers: done.headers,
            body: data,
        };
        self.finish_response(reply, delivered, Some(messages))
    }

    fn json_piece_error(&mut self, problem: String) -> Error {
        let status = self.body.take().map_or(200, |body| body.status.as_u16());
        self.stream
            .error(
                ErrorKind::Parse,
                format!("the JSON response is not a valid JSON array: {problem}"),
            )
            .with_status(status)
    }
}
