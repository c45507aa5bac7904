//! Sending one protocol request and turning non-success answers into typed errors.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::body::BodyBuffer;
use crate::client::{Client, header_map};
use crate::decorate::{Decorations, Operation, RequestInfo};
use crate::error::{Error, ErrorDetail, ErrorKind, Result};
use crate::events::EventKind;
use crate::protocol::{
    PRODUCER_EPOCH, PRODUCER_EXPECTED_SEQ, PRODUCER_RECEIVED_SEQ, ResponseHeaders,
};
use crate::retry::parse_retry_after;

/// Longest error body kept as the error message.
const MAX_ERROR_MESSAGE: usize = 2048;
/// Most bytes read from an error response; the rest is discarded with the connection.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// One protocol request, before decoration.
pub(crate) struct Request<'a> {
    pub(crate) operation: Operation,
    pub(crate) method: Method,
    pub(crate) url: &'a Url,
    /// Protocol query parameters (sent sorted by name together with decorated ones).
    pub(crate) params: Vec<(&'static str, String)>,
    /// The caller's per-operation headers (already validated): above default and decorated
    /// headers, below the protocol's own.
    pub(crate) user_headers: HeaderMap,
    /// Protocol headers, which nothing the caller supplies overrides.
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) timeout: Duration,
}

impl<'a> Request<'a> {
    pub(crate) fn new(
        operation: Operation,
        method: Method,
        url: &'a Url,
        timeout: Duration,
    ) -> Self {
        Request {
            operation,
            method,
            url,
            params: Vec::new(),
            user_headers: HeaderMap::new(),
            headers: HeaderMap::new(),
            body: None,
            timeout,
        }
    }

    pub(crate) fn header(&mut self, name: &'static str, value: &str) -> Result<()> {
        // The value itself stays out of the message: header values may be secrets.
        let value = HeaderValue::from_str(value).map_err(|_| {
            Error::invalid_argument(name, "contains characters HTTP does not allow in a header")
                .with_url(self.url.as_str())
        })?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(())
    }
}

/// Checks the caller's per-operation headers (`AppendOptions::headers` and the like) and
/// converts them; errors name the header, never its value.
pub(crate) fn user_headers(pairs: &[(String, String)], stream_url: &Url) -> Result<HeaderMap> {
    header_map(pairs, "headers").map_err(|e| e.with_url(stream_url.as_str()))
}

/// A complete response: status, headers and the whole body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn headers(&self) -> ResponseHeaders<'_> {
        ResponseHeaders(&self.headers)
    }
}

/// Facts about the request that decide how an error status is classified.
#[derive(Clone, Copy, Default)]
pub(crate) struct ErrorContext {
    pub(crate) sent_stream_seq: bool,
    pub(crate) is_read: bool,
}

impl Client {
    /// Runs the client's decorator for one operation, if there is one.
    pub(crate) async fn decorations(
        &self,
        operation: Operation,
        method: &Method,
        url: &Url,
    ) -> Result<Option<Decorations>> {
        let Some(decorator) = &self.inner.decorator else {
            return Ok(None);
        };
        let info = RequestInfo {
            operation,
            method: static_method(method),
            url: url.to_string(),
        };
        decorator
            .decorate(&info)
            .await
            .map(Some)
            .map_err(|e| e.with_url(url.as_str()))
    }

    /// Sends the request and waits for the response headers (the body is left unread).
    pub(crate) async fn send(
        &self,
        request: &Request<'_>,
        decorations: Option<&Decorations>,
    ) -> Result<reqwest::Response> {
        let url = request_url(request.url, &request.params, decorations);
        let mut headers = self.inner.default_headers.clone();
        // Later layers replace earlier ones name by name (`extend` replaces, never appends):
        // defaults < decorations < the caller's per-operation headers < protocol headers.
        if let Some(decorations) = decorations {
            headers.extend(header_map(&decorations.headers, "dynamic header")?);
        }
        headers.extend(request.user_headers.clone());
        headers.extend(request.headers.clone());
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .headers(headers);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let stream_url = request.url.as_str();
        match tokio::time::timeout(request.timeout, builder.send()).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(network_error(e, stream_url)),
            Err(_) => Err(timeout_error(request.timeout, stream_url)),
        }
    }

    /// Sends the request and reads the whole response; non-2xx statuses become errors.
    pub(crate) async fn execute(
        &self,
        request: &Request<'_>,
        decorations: Option<&Decorations>,
        context: ErrorContext,
    ) -> Result<Reply> {
        let deadline = tokio::time::Instant::now() + request.timeout;
        let response = self.send(request, decorations).await?;
        let stream_url = request.url.as_str();
        let status = response.status();
        let headers = response.headers().clone();
        let limit = if status.is_success() {
            usize::MAX
        } else {
            MAX_ERROR_BODY
        };
        // A read's body may be far larger than a write's (a whole catch-up): it may take as long
        // as it needs while data keeps coming, but no more than the timeout may pass without any.
        let idle = context.is_read.then_some(request.timeout);
        let read = read_body(response, limit, idle);
        let body = if context.is_read {
            read.await
        } else {
            match tokio::time::timeout_at(deadline, read).await {
                Ok(body) => body,
                Err(_) => return Err(timeout_error(request.timeout, stream_url)),
            }
        };
        let body = body.map_err(|e| body_error(e, stream_url))?;
        if status.is_success() {
            Ok(Reply {
                status,
                headers,
                body,
            })
        } else {
            Err(status_error(
                status,
                &headers,
                &body,
                stream_url,
                request.operation,
                context,
            ))
        }
    }

    /// Decorates once, then executes with the client's retry policy (for safe operations).
    pub(crate) async fn execute_with_retries(
        &self,
        request: &Request<'_>,
        context: ErrorContext,
    ) -> Result<Reply> {
        let decorations = self
            .decorations(request.operation, &request.method, request.url)
            .await?;
        self.retrying(
            request.operation,
            request.url.as_str(),
            Error::is_transient,
            || self.execute(request, decorations.as_ref(), context),
        )
        .await
    }

    /// Decorates once, then sends with the client's retry policy until a success status; the
    /// body is left unread (read requests: catch-up pieces and SSE).
    pub(crate) async fn open_with_retries(
        &self,
        request: &Request<'_>,
        context: ErrorContext,
    ) -> Result<reqwest::Response> {
        let decorations = self
            .decorations(request.operation, &request.method, request.url)
            .await?;
        let stream_url = request.url.as_str();
        self.retrying(
            request.operation,
            stream_url,
            Error::is_transient,
            || async {
                let response = self.send(request, decorations.as_ref()).await?;
                let status = response.status();
                if status.is_success() {
                    return Ok(response);
                }
                let headers = response.headers().clone();
                let body = read_body(response, MAX_ERROR_BODY, Some(request.timeout))
                    .await
                    .unwrap_or_default();
                Err(status_error(
                    status,
                    &headers,
                    &body,
                    stream_url,
                    request.operation,
                    context,
                ))
            },
        )
        .await
    }

    /// Runs `attempt` under the client's retry policy while `retryable` accepts its errors,
    /// reporting each retry as an [`EventKind::Retry`] event.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        operation: Operation,
        stream_url: &str,
        retryable: impl Fn(&Error) -> bool,
        attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let on_retry = |retry: u32, backoff: Duration, error: &Error| {
            self.inner.events.emit(EventKind::Retry, stream_url, || {
                let mut fields = vec![
                    ("operation", operation.name().to_owned()),
                    ("attempt", (retry + 1).to_string()),
                    ("backoff_ms", backoff.as_millis().to_string()),
                ];
                error_fields(error, &mut fields);
                let message = format!(
                    "{} failed ({}); retry {} in {} ms",
                    operation.name(),
                    error.kind(),
                    retry + 1,
                    backoff.as_millis()
                );
                (message, fields)
            });
        };
        self.inner
            .config
            .retry
            .run(retryable, on_retry, attempt)
            .await
    }
}

/// The fields every failure event carries: its kind, the HTTP status if any, and the message.
pub(crate) fn error_fields(error: &Error, fields: &mut Vec<(&'static str, String)>) {
    fields.push(("error_kind", error.kind().code().to_owned()));
    if let Some(status) = error.status() {
        fields.push(("status", status.to_string()));
    }
    fields.push(("error", error.message().to_owned()));
}

fn static_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// The stream URL plus protocol and decorated query parameters, sorted by name so that equal
/// requests have equal URLs (better CDN collapsing).
fn request_url(
    stream_url: &Url,
    params: &[(&'static str, String)],
    decorations: Option<&Decorations>,
) -> Url {
    let extra = decorations.map(|d| d.query.as_slice()).unwrap_or_default();
    if params.is_empty() && extra.is_empty() {
        return stream_url.clone();
    }
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut url = stream_url.clone();
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

/// Reads a body, stopping at `limit` bytes.
/// Why a response body could not be read.
pub(crate) enum BodyError {
    /// The connection failed or the body was malformed.
    Http(reqwest::Error),
    /// No data arrived for this long.
    Idle(Duration),
}

/// The error a failed body read is reported as.
pub(crate) fn body_error(error: BodyError, stream_url: &str) -> Error {
    match error {
        BodyError::Http(e) => network_error(e, stream_url),
        BodyError::Idle(limit) => Error::new(
            ErrorKind::Timeout,
            format!("no data for {limit:?} while reading the response body"),
        )
        .with_url(stream_url),
    }
}

/// Reads a successful read response whole, failing when no data comes for `idle`.
pub(crate) async fn read_reply(
    response: reqwest::Response,
    idle: Duration,
    stream_url: &str,
) -> Result<Reply> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response, usize::MAX, Some(idle))
        .await
        .map_err(|e| body_error(e, stream_url))?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// The next frame of the body, waiting at most `idle` for it when given.
pub(crate) async fn next_frame(
    response: &mut reqwest::Response,
    idle: Option<Duration>,
) -> std::result::Result<Option<Bytes>, BodyError> {
    let frame = match idle {
        Some(limit) => tokio::time::timeout(limit, response.chunk())
            .await
            .map_err(|_| BodyError::Idle(limit))?,
        None => response.chunk().await,
    };
    frame.map_err(BodyError::Http)
}

/// Reads the body, up to `limit` bytes; with `idle`, fails when no data comes for that long.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    idle: Option<Duration>,
) -> std::result::Result<Bytes, BodyError> {
    let first = match next_frame(&mut response, idle).await? {
        Some(chunk) => chunk,
        None => return Ok(Bytes::new()),
    };
    // Most bodies arrive in one piece; avoid a copy then.
    let Some(second) = next_frame(&mut response, idle).await? else {
        return Ok(first);
    };
    // The content length is what remains unread, so the two frames read are added to it: the
    // whole body then fits without growing the buffer at its very end.
    let expected = response
        .content_length()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .unwrap_or(0)
        .saturating_add(first.len() + second.len())
        .min(limit);
    let mut body = BodyBuffer::with_expected_len(expected);
    body.extend(&first);
    body.extend(&second);
    while body.len() < limit {
        match next_frame(&mut response, idle).await? {
            Some(chunk) => body.extend(&chunk),
            None => break,
        }
    }
    Ok(body.freeze(limit))
}

pub(crate) fn network_error(e: reqwest::Error, stream_url: &str) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    };
    let not_sent = e.is_connect();
    // reqwest's text names the request URL, with the query string (protocol and decorated
    // parameters, possibly tokens): the error carries the redacted stream URL instead.
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::new(kind, message)
        .with_url(stream_url)
        .with_detail(ErrorDetail {
            not_sent,
            ..ErrorDetail::default()
        })
        .with_source(e)
}

pub(crate) fn timeout_error(limit: Duration, stream_url: &str) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("no complete response within {limit:?}"),
    )
    .with_url(stream_url)
}

/// Classifies a non-success response of `operation`.
pub(crate) fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    stream_url: &str,
    operation: Operation,
    context: ErrorContext,
) -> Error {
    let h = ResponseHeaders(headers);
    let mut detail = ErrorDetail::default();
    // Producer headers only mean something in the answer to a producer's append: on any other
    // request (a read, a plain append) they are forged or misrouted, and the status keeps its
    // plain meaning.
    let producer = operation == Operation::ProducerBatch;
    let kind = match status.as_u16() {
        400 if context.is_read => ErrorKind::InvalidOffset,
        400 => ErrorKind::BadRequest,
        401 => ErrorKind::Unauthorized,
        403 if producer && h.text(PRODUCER_EPOCH).is_some() => {
            detail.current_epoch = h.number(PRODUCER_EPOCH);
            ErrorKind::StaleEpoch
        }
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        409 if h.closed() => ErrorKind::StreamClosed,
        409 if producer && h.text(PRODUCER_EXPECTED_SEQ).is_some() => {
            detail.expected_seq = h.number(PRODUCER_EXPECTED_SEQ);
            detail.received_seq = h.number(PRODUCER_RECEIVED_SEQ);
            ErrorKind::SequenceGap
        }
        409 if context.sent_stream_seq => ErrorKind::SequenceConflict,
        409 => ErrorKind::Conflict,
        410 => ErrorKind::Gone,
        413 => ErrorKind::PayloadTooLarge,
        429 => ErrorKind::RateLimited,
        501 | 505 => ErrorKind::UnexpectedStatus,
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::UnexpectedStatus,
    };
    if matches!(kind, ErrorKind::RateLimited | ErrorKind::ServerError) {
        detail.retry_after_ms = h
            .text("retry-after")
            .and_then(parse_retry_after)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    }
    Error::new(kind, server_message(status, body))
        .with_url(stream_url)
        .with_status(status.as_u16())
        .with_detail(detail)
}

/// The server's explanation: a JSON `message`/`error` field, else the body text, else the reason
/// phrase.
fn server_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let extracted = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| json_message(&v));
    let message = match extracted {
        Some(m) => m,
        None if !text.is_empty() => text.to_string(),
        None => status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string(),
    };
    truncate(message, MAX_ERROR_MESSAGE)
}

fn json_message(value: &serde_json::Value) -> Option<String> {
    let field =
        |v: &serde_json::Value, name: &str| v.get(name).and_then(|m| m.as_str()).map(str::to_owned);
    field(value, "message")
        .or_else(|| field(value, "error"))
        .or_else(|| value.get("error").and_then(|e| field(e, "message")))
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, headers: &[(&'static str, &str)], ctx: ErrorContext) -> Error {
        classify_as(Operation::ProducerBatch, status, headers, ctx)
    }

    fn classify_as(
        operation: Operation,
        status: u16,
        headers: &[(&'static str, &str)],
        ctx: ErrorContext,
    ) -> Error {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        status_error(
            StatusCode::from_u16(status).unwrap(),
            &map,
            b"server says no",
            "http://h/s",
            operation,
            ctx,
        )
    }

    #[test]
    fn conflicts_are_told_apart_by_headers() {
        let ctx = ErrorContext::default();
        assert_eq!(
            classify(409, &[("stream-closed", "true")], ctx).kind(),
            ErrorKind::StreamClosed
        );
        let gap = classify(
            409,
            &[
                ("producer-expected-seq", "3"),
                ("producer-received-seq", "5"),
            ],
            ctx,
        );
        assert_eq!(gap.kind(), ErrorKind::SequenceGap);
        assert_eq!((gap.expected_seq(), gap.received_seq()), (Some(3), Some(5)));
        let seq = ErrorContext {
            sent_stream_seq: true,
            ..ctx
        };
        assert_eq!(classify(409, &[], seq).kind(), ErrorKind::SequenceConflict);
        assert_eq!(classify(409, &[], ctx).kind(), ErrorKind::Conflict);
    }

    #[test]
    fn stale_epoch_carries_the_current_epoch() {
        let err = classify(403, &[("producer-epoch", "7")], ErrorContext::default());
        assert_eq!(err.kind(), ErrorKind::StaleEpoch);
        assert_eq!(err.current_epoch(), Some(7));
    }

    #[test]
    fn producer_headers_mean_nothing_outside_producer_appends() {
        let read = ErrorContext {
            is_read: true,
            ..ErrorContext::default()
        };
        for (operation, ctx) in [
            (Operation::Read, read),
            (Operation::Append, ErrorContext::default()),
            (Operation::Head, ErrorContext::default()),
        ] {
            let conflict = classify_as(
                operation,
                409,
                &[
                    ("producer-expected-seq", "3"),
                    ("producer-received-seq", "5"),
                ],
                ctx,
            );
            assert_eq!(conflict.kind(), ErrorKind::Conflict, "{operation:?}");
            assert_eq!(conflict.status(), Some(409));
            assert_eq!(conflict.expected_seq(), None);
            assert_eq!(conflict.message(), "server says no");
            let forbidden = classify_as(operation, 403, &[("producer-epoch", "7")], ctx);
            assert_eq!(forbidden.kind(), ErrorKind::Forbidden, "{operation:?}");
            assert_eq!(forbidden.current_epoch(), None);
        }
    }

    #[test]
    fn errors_carry_status_url_and_message() {
        let err = classify(404, &[], ErrorContext::default());
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.url(), Some("http://h/s"));
        assert_eq!(err.message(), "server says no");
    }

    #[test]
    fn retry_after_is_recorded_for_retryable_statuses() {
        let err = classify(503, &[("retry-after", "2")], ErrorContext::default());
        assert!(err.is_transient());
        assert_eq!(err.detail().retry_after_ms, Some(2000));
        assert!(!classify(501, &[], ErrorContext::default()).is_transient());
    }

    #[test]
    fn bad_request_on_reads_is_an_invalid_offset() {
        let read = ErrorContext {
            is_read: true,
            ..ErrorContext::default()
        };
        assert_eq!(classify(400, &[], read).kind(), ErrorKind::InvalidOffset);
        assert_eq!(
            classify(400, &[], ErrorContext::default()).kind(),
            ErrorKind::BadRequest
        );
    }

    #[test]
    fn json_error_bodies_yield_their_message() {
        assert_eq!(
            server_message(StatusCode::CONFLICT, br#"{"error":{"message":"exists"}}"#),
            "exists"
        );
        assert_eq!(
            server_message(StatusCode::CONFLICT, br#"{"error":"differs"}"#),
            "differs"
        );
        assert_eq!(server_message(StatusCode::NOT_FOUND, b""), "Not Found");
    }

    #[test]
    fn query_parameters_are_sorted_and_encoded() {
        let base = Url::parse("http://h/s").unwrap();
        let url = request_url(
            &base,
            &[("offset", "a b+c".into()), ("live", "sse".into())],
            Some(&Decorations {
                headers: vec![],
                query: vec![("auth".into(), "x&y".into())],
            }),
        );
        assert_eq!(
            url.as_str(),
            "http://h/s?auth=x%26y&live=sse&offset=a+b%2Bc"
        );
    }
}
