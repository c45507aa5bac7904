//! Catch-up and long-poll requests, and turning their responses into chunks.

use bytes::Bytes;
use reqwest::{Method, StatusCode};

use crate::decorate::Operation;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::ResponseHeaders;
use crate::transport::{ErrorContext, Reply, Request, read_reply};

use super::Chunk;
use super::json;
use super::options::LiveMode;
use super::pieces::OpenBody;
use super::session::{Phase, ReadSession, live_phase};

impl ReadSession {
    /// One catch-up or long-poll request; a chunk when there is something to report.
    pub(super) async fn poll_once(&mut self, live: bool) -> Result<Option<Chunk>> {
        let client = self.stream.client.clone();
        let config = &client.inner.config;
        let mut request = Request::new(
            Operation::Read,
            Method::GET,
            &self.stream.shared.url,
            if live {
                config.live_timeout
            } else {
                config.request_timeout
            },
        );
        request
            .params
            .push(("offset", self.offset.as_str().to_owned()));
        request.user_headers = self.user_headers.clone();
        if live {
            request.params.push(("live", "long-poll".to_owned()));
            if let Some(cursor) = &self.cursor {
                request.params.push(("cursor", cursor.clone()));
            }
        }
        let context = ErrorContext {
            is_read: true,
            ..ErrorContext::default()
        };
        if self.max_chunk_bytes.is_none() {
            // Whole responses: a body that breaks off is requested again under the retry policy.
            let reply = client.execute_with_retries(&request, context).await?;
            return self.finish_response(reply, 0, None);
        }
        let idle = request.timeout;
        let response = client.open_with_retries(&request, context).await?;
        if let Some(content_type) = ResponseHeaders(response.headers()).content_type() {
            let content_type = content_type.to_owned();
            self.learn_content_type(&content_type);
        }
        if self.returns_in_pieces(&response) {
            let json_pieces = self.is_json().then_some(self.max_chunk_bytes).flatten();
            self.body = Some(OpenBody::new(response, idle, json_pieces));
            return self.next_piece().await;
        }
        let reply = read_reply(response, idle, self.stream.url()).await?;
        self.finish_response(reply, 0, None)
    }

    /// Applies a catch-up or long-poll response whose body is `reply.body` from position `start`
    /// on (the bytes, or for JSON the messages, before were skipped or returned in pieces); a
    /// chunk when there is something to report. `messages` are the body's messages when they
    /// are already known (the last piece of a JSON response, checked as it was cut).
    pub(super) fn finish_response(
        &mut self,
        reply: Reply,
        start: u64,
        messages: Option<Vec<(usize, usize)>>,
    ) -> Result<Option<Chunk>> {
        if reply.status == StatusCode::NO_CONTENT {
            return self.apply_timeout_reply(&reply);
        }
        let previous_offset = self.offset.clone();
        let chunk = self.chunk_from_reply(reply, start, messages)?;
        let became_up_to_date = chunk.up_to_date() && !self.up_to_date;
        self.up_to_date = chunk.up_to_date();
        if chunk.closed() {
            self.finished = true;
            return Ok(Some(chunk));
        }
        if chunk.up_to_date() && self.phase == Phase::CatchUp {
            match self.live {
                LiveMode::Off => self.finished = true,
                mode => self.phase = live_phase(mode, self.content_type.as_deref()),
            }
        }
        if chunk.has_data() || became_up_to_date || self.finished {
            return Ok(Some(chunk));
        }
        if !chunk.up_to_date() && chunk.offset() == &previous_offset {
            // Neither data nor progress nor "caught up": repeating would spin forever.
            return Err(self.stream.error(
                ErrorKind::Parse,
                format!(
                    "the server returned no data, no new offset and no Stream-Up-To-Date at offset {previous_offset}"
                ),
            ));
        }
        Ok(None)
    }

    /// A long-poll `204`: no new data before the server's timeout.
    fn apply_timeout_reply(&mut self, reply: &Reply) -> Result<Option<Chunk>> {
        // No data from here: a skip still to do cannot be satisfied.
        if self.is_json() {
            self.skip_response_messages(Bytes::new(), Vec::new(), 0, true)?;
        } else {
            self.skip_response_data(Bytes::new(), 0, true)?;
        }
        let headers = reply.headers();
        if let Some(offset) = headers
            .next_offset()
            .map_err(|e| e.with_url(self.stream.url()))?
        {
            self.offset = offset;
        }
        if let Some(cursor) = headers.cursor() {
            self.cursor = Some(cursor);
        }
        let became_up_to_date = !self.up_to_date;
        self.up_to_date = true;
        if headers.closed() {
            self.closed = true;
            self.finished = true;
        }
        if self.closed || became_up_to_date {
            return Ok(Some(self.empty_chunk().with_status(reply.status.as_u16())));
        }
        Ok(None)
    }

    fn empty_chunk(&self) -> Chunk {
        Chunk::new(
            Bytes::new(),
            self.is_json().then(Vec::new),
            self.offset.clone(),
            self.cursor.clone(),
            self.up_to_date,
            self.closed,
        )
    }

    fn chunk_from_reply(
        &mut self,
        reply: Reply,
        start: u64,
        messages: Option<Vec<(usize, usize)>>,
    ) -> Result<Chunk> {
        let headers = reply.headers();
        let url = self.stream.url().to_owned();
        let offset = headers
            .require_next_offset()
            .map_err(|e| e.with_url(&url).with_status(reply.status.as_u16()))?;
        let cursor = headers.cursor();
        let up_to_date = headers.up_to_date();
        let closed = headers.closed();
        if let Some(content_type) = headers.content_type().map(str::to_owned) {
            self.learn_content_type(&content_type);
        }
        let status = reply.status.as_u16();
        let at_tail = up_to_date || closed;
        let (body, messages) = if self.is_json() {
            let messages = match messages {
                Some(messages) => messages,
                None => json::split_ranges(&reply.body).map_err(|problem| {
                    Error::new(ErrorKind::Parse, problem)
                        .with_url(&url)
                        .with_status(status)
                })?,
            };
            let (body, messages) = self
                .skip_response_messages(reply.body, messages, start, at_tail)
                .map_err(|e| e.with_status(status))?;
            (body, Some(messages))
        } else {
            let body = self
                .skip_response_data(reply.body, start, at_tail)
                .map_err(|e| e.with_status(status))?;
            (body, None)
        };
        self.offset = offset.clone();
        if cursor.is_some() {
            self.cursor.clone_from(&cursor);
        }
        self.closed |= closed;
        Ok(Chunk::with_ranges(
            body,
            messages,
            offset,
            self.cursor.clone(),
            up_to_date || closed,
            closed,
        )
        .with_status(status))
    }
}
