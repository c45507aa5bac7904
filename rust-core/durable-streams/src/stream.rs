//! The stream handle and its one-shot operations (create, head, delete, append, close).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use url::Url;

use crate::client::Client;
use crate::decorate::Operation;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{AppendOptions, AppendResult, CreateOptions, CreateResult, StreamInfo};
use crate::protocol::{
    STREAM_CLOSED, STREAM_EXPIRES_AT, STREAM_FORK_OFFSET, STREAM_FORK_SUB_OFFSET,
    STREAM_FORKED_FROM, STREAM_SEQ, STREAM_TTL, is_json_content_type,
};
use crate::read::{ReadOptions, ReadSession};
use crate::transport::{ErrorContext, Request, user_headers};

/// A handle to one stream: its URL plus what has been learned about it. Creating one does no
/// I/O; cloning is cheap; all methods take `&self` and may run concurrently.
#[derive(Clone)]
pub struct Stream {
    pub(crate) client: Client,
    pub(crate) shared: Arc<StreamShared>,
}

pub(crate) struct StreamShared {
    pub(crate) url: Url,
    /// The stream's content type once this handle knows it (from create, head, a read, or any
    /// other handle of the same client); the client's table is the shared copy.
    content_type: Mutex<Option<Arc<str>>>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("url", &self.redacted_url())
            .field("content_type", &self.content_type())
            .finish()
    }
}

impl Stream {
    pub(crate) fn new(client: Client, url: Url) -> Stream {
        Stream {
            client,
            shared: Arc::new(StreamShared {
                url,
                content_type: Mutex::new(None),
            }),
        }
    }

    /// The stream's URL.
    pub fn url(&self) -> &str {
        self.shared.url.as_str()
    }

    /// The stream's URL for logs and messages: without user info, query values replaced by
    /// `<redacted>` (names kept).
    pub fn redacted_url(&self) -> std::borrow::Cow<'_, str> {
        crate::redact::url(self.url())
    }

    /// The client this handle belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn content_type_slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<str>>> {
        // A panic while holding the lock leaves a valid value behind.
        self.shared
            .content_type
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The content type, if known to this client: learned by any of its handles for this URL
    /// (from create, head or a read) or set with [`Stream::set_content_type`].
    pub fn content_type(&self) -> Option<Arc<str>> {
        let mut slot = self.content_type_slot();
        if slot.is_none() {
            *slot = self.client.inner.content_types.get(self.url());
        }
        slot.clone()
    }

    /// Records the content type, e.g. from a saved configuration, so appends need no `HEAD`.
    /// Every handle of this client for the same URL sees it.
    pub fn set_content_type(&self, content_type: &str) {
        if content_type.is_empty() {
            return;
        }
        let mut slot = self.content_type_slot();
        if slot.as_deref() != Some(content_type) {
            *slot = Some(Arc::from(content_type));
        }
        if let Some(known) = slot.as_ref() {
            self.client.inner.content_types.remember(self.url(), known);
        }
    }

    /// Forgets the content type (the stream is gone; a new one may have another).
    fn forget_content_type(&self) {
        *self.content_type_slot() = None;
        self.client.inner.content_types.forget(self.url());
    }

    /// The content type, asking the server with `HEAD` if this client does not know it yet.
    pub async fn resolve_content_type(&self) -> Result<Option<Arc<str>>> {
        self.resolve_content_type_with(&HeaderMap::new()).await
    }

    /// [`Stream::resolve_content_type`], sending the operation's own headers on the `HEAD`.
    pub(crate) async fn resolve_content_type_with(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Arc<str>>> {
        if let Some(known) = self.content_type() {
            return Ok(Some(known));
        }
        self.head_with(headers).await?;
        Ok(self.content_type())
    }

    /// Whether the stream is known to be a JSON-mode stream (asks the server if needed).
    pub async fn is_json(&self) -> Result<bool> {
        Ok(self
            .resolve_content_type()
            .await?
            .is_some_and(|ct| is_json_content_type(&ct)))
    }

    pub(crate) fn error(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::new(kind, message).with_url(self.url())
    }

    fn request(&self, operation: Operation, method: Method) -> Request<'_> {
        Request::new(
            operation,
            method,
            &self.shared.url,
            self.client.inner.config.request_timeout,
        )
    }

    /// Creates the stream (`PUT`), or confirms that an identical one exists.
    ///
    /// Fails with [`ErrorKind::Conflict`] when a stream with a different configuration exists (the
    /// message says when that stream is closed), and with [`ErrorKind::NotFound`] when forking
    /// from a source that does not exist.
    pub async fn create(&self, options: CreateOptions) -> Result<CreateResult> {
        let mut request = self.request(Operation::Create, Method::PUT);
        request.user_headers = user_headers(&options.headers, &self.shared.url)?;
        if let Some(content_type) = &options.content_type {
            request.header("content-type", content_type)?;
        }
        if options.ttl.is_some() && options.expires_at.is_some() {
            return Err(
                Error::invalid_argument("ttl", "ttl and expires_at cannot both be set")
                    .with_url(self.url()),
            );
        }
        if let Some(ttl) = options.ttl {
            if ttl.subsec_nanos() != 0 {
                return Err(Error::invalid_argument(
                    "ttl",
                    format!("must be a whole number of seconds, got {ttl:?}"),
                )
                .with_url(self.url()));
            }
            request.header(STREAM_TTL, &ttl.as_secs().to_string())?;
        }
        if let Some(at) = &options.expires_at {
            if at.trim().is_empty() {
                return Err(
                    Error::invalid_argument("expires_at", "cannot be empty").with_url(self.url())
                );
            }
            request.header(STREAM_EXPIRES_AT, at)?;
        }
        if options.closed {
            request.header(STREAM_CLOSED, "true")?;
        }
        if let Some(fork) = &options.fork {
            let source = self.fork_source(&fork.source)?;
            request.header(STREAM_FORKED_FROM, source.path())?;
            if let Some(offset) = &fork.offset {
                request.header(STREAM_FORK_OFFSET, offset.as_str())?;
            }
            if let Some(sub_offset) = fork.sub_offset {
                request.header(STREAM_FORK_SUB_OFFSET, &sub_offset.to_string())?;
            }
        }
        request.body = options.body.clone();
        let reply = match self
            .client
            .execute_with_retries(&request, ErrorContext::default())
            .await
        {
            Ok(reply) => reply,
            Err(e) if e.status() == Some(409) => {
                return Err(self.explain_create_conflict(e, &request.user_headers).await);
            }
            Err(e) => return Err(e),
        };
        let headers = reply.headers();
        let content_type = headers
            .content_type()
            .map(str::to_owned)
            .or(options.content_type);
        if let Some(ct) = &content_type {
            self.set_content_type(ct);
        }
        Ok(CreateResult {
            created: reply.status == StatusCode::CREATED,
            next_offset: headers.next_offset().map_err(|e| e.with_url(self.url()))?,
            content_type,
            closed: headers.closed(),
        })
    }

    /// A create refused with 409: when the stream exists but is closed, says so (servers answer
    /// only "different configuration", without `Stream-Closed`: a closed stream accepts a create
    /// only with the same configuration and `closed` set). Learned with one `HEAD`; any other
    /// conflict, or a `HEAD` that fails, keeps the original error.
    async fn explain_create_conflict(&self, error: Error, headers: &HeaderMap) -> Error {
        if !matches!(error.kind(), ErrorKind::Conflict | ErrorKind::StreamClosed) {
            return error;
        }
        let closed = error.kind() == ErrorKind::StreamClosed
            || self.head_with(headers).await.is_ok_and(|info| info.closed);
        if !closed {
            return error;
        }
        let message = format!(
            "the stream already exists and is closed (re-creating a closed stream succeeds only with \
             the same configuration and closed set); the server said: {}",
            error.message()
        );
        let mut explained = Error::new(error.kind(), message)
            .with_status(409)
            .with_detail(*error.detail());
        if let Some(url) = error.url() {
            explained = explained.with_url(url.to_owned());
        }
        explained.with_source(error)
    }

    /// Resolves a fork's source: a URL, or a path (relative to the client's base URL when it has
    /// one, else a path on this stream's server). It must be on this stream's server: only its
    /// path is sent, so a source elsewhere would name a different stream.
    fn fork_source(&self, source: &str) -> Result<Url> {
        let invalid =
            |problem: String| Error::invalid_argument("fork.source", problem).with_url(self.url());
        let resolved = match self.client.stream(source) {
            Ok(stream) => stream.shared.url.clone(),
            Err(_) if source.starts_with('/') && self.client.inner.base_url.is_none() => self
                .shared
                .url
                .join(source)
                .map_err(|e| invalid(format!("{source:?} is not a URL path: {e}")))?,
            Err(e) => return Err(invalid(e.message().to_string())),
        };
        if resolved.origin() != self.shared.url.origin() {
            return Err(invalid(format!(
                "{resolved} is not on the fork's server; forks cannot cross servers"
            )));
        }
        Ok(resolved)
    }

    /// Reads the stream's metadata (`HEAD`): tail offset, content type, closure, TTL and expiry.
    pub async fn head(&self) -> Result<StreamInfo> {
        self.head_with(&HeaderMap::new()).await
    }

    /// [`Stream::head`] with the caller's headers of the operation that needs it.
    async fn head_with(&self, headers: &HeaderMap) -> Result<StreamInfo> {
        let mut request = self.request(Operation::Head, Method::HEAD);
        request.user_headers = headers.clone();
        let reply = self
            .client
            .execute_with_retries(&request, ErrorContext::default())
            .await?;
        let headers = reply.headers();
        let content_type = headers.content_type().map(str::to_owned);
        if let Some(ct) = &content_type {
            self.set_content_type(ct);
        }
        Ok(StreamInfo {
            next_offset: headers
                .require_next_offset()
                .map_err(|e| e.with_url(self.url()))?,
            content_type,
            closed: headers.closed(),
            ttl: headers.ttl().map_err(|e| e.with_url(self.url()))?,
            expires_at: headers.expires_at(),
            etag: headers.non_empty("etag"),
            cache_control: headers.non_empty("cache-control"),
        })
    }

    /// Deletes the stream. A retry that finds the stream already gone counts as success, since
    /// the first attempt deleted it.
    pub async fn delete(&self) -> Result<()> {
        let result = self.delete_once().await;
        if result.is_ok()
            || result
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::NotFound)
        {
            self.forget_content_type();
        }
        result
    }

    async fn delete_once(&self) -> Result<()> {
        let request = self.request(Operation::Delete, Method::DELETE);
        let decorations = self
            .client
            .decorations(request.operation, &request.method, request.url)
            .await?;
        let mut attempt = 0u32;
        self.client
            .retrying(Operation::Delete, self.url(), Error::is_transient, || {
                attempt += 1;
                let first = attempt == 1;
                let decorations = decorations.as_ref();
                let request = &request;
                async move {
                    match self
                        .client
                        .execute(request, decorations, ErrorContext::default())
                        .await
                    {
                        Err(e) if !first && e.kind() == ErrorKind::NotFound => Ok(()),
                        other => other.map(|_| ()),
                    }
                }
            })
            .await
    }

    /// Appends bytes. Sent once unless the client's [`crate::AppendRetry`] allows retries (a
    /// plain append is at-most-once by default; use a producer for exactly-once).
    pub async fn append(&self, data: impl Into<Bytes>) -> Result<AppendResult> {
        self.append_with(data.into(), AppendOptions::default())
            .await
    }

    /// Appends bytes with options (`Stream-Seq`, content type, close).
    ///
    /// On a JSON stream the body must be JSON; a top-level array is stored as one message per
    /// element. See [`Stream::append_json`] to store a value as exactly one message.
    pub async fn append_with(&self, data: Bytes, options: AppendOptions) -> Result<AppendResult> {
        if data.is_empty() && !options.close {
            return Err(
                Error::invalid_argument("data", "an append cannot be empty").with_url(self.url())
            );
        }
        // An empty append that closes is the protocol's close: idempotent, so it is reported
        // and retried as `close()` is, whatever `append_retry` says about appends.
        let bare_close = data.is_empty() && options.close;
        let operation = if bare_close {
            Operation::Close
        } else {
            Operation::Append
        };
        let mut request = self.request(operation, Method::POST);
        request.user_headers = user_headers(&options.headers, &self.shared.url)?;
        if !data.is_empty() {
            let content_type = match options.content_type {
                Some(ct) => Some(Arc::from(ct)),
                None => {
                    self.resolve_content_type_with(&request.user_headers)
                        .await?
                }
            };
            if let Some(ct) = content_type {
                request.header("content-type", &ct)?;
            }
        }
        if let Some(seq) = &options.seq {
            request.header(STREAM_SEQ, seq)?;
        }
        if options.close {
            request.header(STREAM_CLOSED, "true")?;
        }
        request.body = Some(data);
        let context = ErrorContext {
            // A caller's own Stream-Seq header is a sequence too (a 409 is then its conflict).
            sent_stream_seq: options.seq.is_some() || request.user_headers.contains_key(STREAM_SEQ),
            ..ErrorContext::default()
        };
        let append_retry = self.client.append_retry();
        let decorations = self
            .client
            .decorations(request.operation, &request.method, request.url)
            .await?;
        let reply = self
            .client
            .retrying(
                operation,
                self.url(),
                |e| {
                    if bare_close {
                        e.is_transient()
                    } else {
                        append_retry.allows(e)
                    }
                },
                || self.client.execute(&request, decorations.as_ref(), context),
            )
            .await?;
        self.append_result(&reply)
    }

    /// Appends one JSON message (the value is wrapped so that even an array stays one message).
    pub async fn append_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<AppendResult> {
        let mut body = Vec::with_capacity(64);
        body.push(b'[');
        serde_json::to_writer(&mut body, value).map_err(|e| {
            Error::invalid_argument("value", format!("cannot be serialized as JSON: {e}"))
                .with_url(self.url())
        })?;
        body.push(b']');
        self.append_with(
            Bytes::from(body),
            AppendOptions::new().content_type("application/json"),
        )
        .await
    }

    /// Appends several JSON messages in one request (one message per item).
    pub async fn append_json_messages<T, I>(&self, values: I) -> Result<AppendResult>
    where
        T: Serialize,
        I: IntoIterator<Item = T>,
    {
        let mut body = Vec::with_capacity(256);
        body.push(b'[');
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                body.push(b',');
            }
            serde_json::to_writer(&mut body, &value).map_err(|e| {
                Error::invalid_argument(
                    "values",
                    format!("item {index} cannot be serialized as JSON: {e}"),
                )
                .with_url(self.url())
            })?;
        }
        if body.len() == 1 {
            return Err(
                Error::invalid_argument("values", "at least one message is required")
                    .with_url(self.url()),
            );
        }
        body.push(b']');
        self.append_with(
            Bytes::from(body),
            AppendOptions::new().content_type("application/json"),
        )
        .await
    }

    /// Appends `data` and closes the stream in one atomic step.
    pub async fn append_and_close(&self, data: impl Into<Bytes>) -> Result<AppendResult> {
        self.append_with(data.into(), AppendOptions::new().close(true))
            .await
    }

    /// Closes the stream (no more appends). Idempotent: closing a closed stream succeeds.
    pub async fn close(&self) -> Result<AppendResult> {
        let mut request = self.request(Operation::Close, Method::POST);
        request.header(STREAM_CLOSED, "true")?;
        let reply = self
            .client
            .execute_with_retries(&request, ErrorContext::default())
            .await?;
        self.append_result(&reply)
    }

    fn append_result(&self, reply: &crate::transport::Reply) -> Result<AppendResult> {
        let headers = reply.headers();
        Ok(AppendResult {
            next_offset: headers
                .require_next_offset()
                .map_err(|e| e.with_url(self.url()))?,
            closed: headers.closed(),
        })
    }

    /// Starts a read session. No request is sent until the first [`ReadSession::next_chunk`].
    pub fn read(&self, options: ReadOptions) -> ReadSession {
        ReadSession::new(self.clone(), options)
    }
}
