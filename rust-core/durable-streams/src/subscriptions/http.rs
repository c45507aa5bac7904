//! Sending subscription requests and classifying their answers: the protocol's JSON error
//! codes become error kinds, and a server that treats the reserved `__ds` paths as ordinary
//! streams is recognised as not supporting subscriptions.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::client::Client;
use crate::decorate::Operation;
use crate::error::{Error, ErrorDetail, ErrorKind, Result};
use crate::protocol::STREAM_NEXT_OFFSET;
use crate::transport::{ErrorContext, Request, body_error, read_body, status_error};

/// Most bytes read from a subscription answer (a subscription lists every linked stream).
const MAX_ANSWER_BODY: usize = 16 * 1024 * 1024;

/// A subscription answer of any status.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// One subscription request.
pub(crate) struct Call<'a> {
    pub(crate) operation: Operation,
    pub(crate) method: Method,
    pub(crate) url: &'a Url,
    pub(crate) body: Option<&'a Value>,
    pub(crate) bearer: Option<&'a str>,
    /// Whether repeating the request after a lost answer is harmless.
    pub(crate) idempotent: bool,
}

impl Client {
    /// Sends a subscription request under the retry policy (any transient failure when the
    /// request is idempotent, else only failures that never reached the server) and returns
    /// the answer whatever its status.
    pub(crate) async fn subscription_call(&self, call: &Call<'_>) -> Result<Answer> {
        let mut request = Request::new(
            call.operation,
            call.method.clone(),
            call.url,
            self.inner.config.request_timeout,
        );
        if let Some(body) = call.body {
            request.header("content-type", "application/json")?;
            request.body = Some(Bytes::from(body.to_string()));
        }
        if let Some(token) = call.bearer {
            request.header("authorization", &format!("Bearer {token}"))?;
        }
        let decorations = self
            .decorations(request.operation, &request.method, request.url)
            .await?;
        let idempotent = call.idempotent;
        self.retrying(
            call.operation,
            call.url.as_str(),
            |e| {
                if idempotent {
                    e.is_transient()
                } else {
                    e.detail().not_sent
                }
            },
            || async {
                let response = self.send(&request, decorations.as_ref()).await?;
                let status = response.status();
                let headers = response.headers().clone();
                let read = read_body(response, MAX_ANSWER_BODY, None);
                let body = tokio::time::timeout(request.timeout, read)
                    .await
                    .map_err(|_| {
                        crate::transport::timeout_error(request.timeout, call.url.as_str())
                    })?
                    .map_err(|e| body_error(e, call.url.as_str()))?;
                // 5xx and 429 become errors here so the policy can retry them.
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    return Err(status_error(
                        status,
                        &headers,
                        &body,
                        call.url.as_str(),
                        call.operation,
                        ErrorContext::default(),
                    ));
                }
                Ok(Answer {
                    status,
                    headers,
                    body,
                })
            },
        )
        .await
    }
}

/// The protocol's error object: `{"error": {"code", "message", "current_holder", "generation"}}`.
pub(crate) struct ProtocolError {
    pub(crate) code: String,
    pub(crate) message: Option<String>,
    pub(crate) current_holder: Option<String>,
    pub(crate) generation: Option<u64>,
}

pub(crate) fn protocol_error(body: &[u8]) -> Option<ProtocolError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    let text = |name: &str| error.get(name).and_then(Value::as_str).map(str::to_owned);
    Some(ProtocolError {
        code: text("code")?,
        message: text("message"),
        current_holder: text("current_holder"),
        generation: error.get("generation").and_then(Value::as_u64),
    })
}

/// Whether an answer comes from a server that routes the reserved `__ds` paths to its
/// subscription APIs. A server without them answers as for a stream: with stream headers, or a
/// 404 without the protocol's error object.
pub(crate) fn shows_support(answer: &Answer) -> Option<bool> {
    if answer.headers.contains_key(STREAM_NEXT_OFFSET) {
        return Some(false);
    }
    match answer.status.as_u16() {
        404 => Some(protocol_error(&answer.body).is_some()),
        405 | 501 => Some(false),
        200..=299 => Some(true),
        _ => None,
    }
}

pub(crate) fn not_supported(url: &Url) -> Error {
    Error::new(
        ErrorKind::SubscriptionsNotSupported,
        "it answers the reserved __ds/subscriptions paths as ordinary streams (the protocol's \
         §6–7 subscription APIs are not implemented)",
    )
    .with_url(url.as_str())
}

/// The error for a non-success answer.
pub(crate) fn answer_error(answer: &Answer, url: &Url, operation: Operation) -> Error {
    if shows_support(answer) == Some(false) {
        return not_supported(url);
    }
    let Some(protocol) = protocol_error(&answer.body) else {
        return status_error(
            answer.status,
            &answer.headers,
            &answer.body,
            url.as_str(),
            operation,
            ErrorContext::default(),
        );
    };
    let mut detail = ErrorDetail::default();
    let kind = match protocol.code.as_str() {
        "SUBSCRIPTION_ALREADY_EXISTS" => ErrorKind::SubscriptionConflict,
        "ALREADY_CLAIMED" => {
            detail.generation = protocol.generation;
            ErrorKind::AlreadyClaimed
        }
        "FENCED" => ErrorKind::Fenced,
        "SUBSCRIPTION_NOT_FOUND" => ErrorKind::NotFound,
        // Not in PROTOCOL.md: the Node reference server refuses an ack of an unknown stream, a
        // regressing offset or one past the tail with 409 `INVALID_OFFSET`.
        "INVALID_OFFSET" => ErrorKind::InvalidOffset,
        "TOKEN_INVALID" | "TOKEN_EXPIRED" => ErrorKind::Unauthorized,
        "INVALID_REQUEST" | "WEBHOOK_URL_REJECTED" => ErrorKind::BadRequest,
        _ => match answer.status.as_u16() {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            _ => ErrorKind::UnexpectedStatus,
        },
    };
    let mut message = match protocol.message {
        Some(text) => format!("{}: {text}", protocol.code),
        None => protocol.code.clone(),
    };
    if let Some(holder) = &protocol.current_holder {
        message.push_str(&format!(" (held by {holder:?}"));
        if let Some(generation) = protocol.generation {
            message.push_str(&format!(", generation {generation}"));
        }
        message.push(')');
    }
    Error::new(kind, message)
        .with_url(url.as_str())
        .with_status(answer.status.as_u16())
        .with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_owned()),
        }
    }

    fn url() -> Url {
        Url::parse("http://h/v1/stream/__ds/subscriptions/s").unwrap()
    }

    #[test]
    fn protocol_codes_become_their_own_kinds() {
        let cases = [
            (
                409,
                r#"{"error":{"code":"SUBSCRIPTION_ALREADY_EXISTS","message":"m"}}"#,
                ErrorKind::SubscriptionConflict,
            ),
            (409, r#"{"error":{"code":"FENCED"}}"#, ErrorKind::Fenced),
            (
                404,
                r#"{"error":{"code":"SUBSCRIPTION_NOT_FOUND","message":"m"}}"#,
                ErrorKind::NotFound,
            ),
            (
                401,
                r#"{"error":{"code":"TOKEN_EXPIRED","message":"m"}}"#,
                ErrorKind::Unauthorized,
            ),
            (
                409,
                r#"{"error":{"code":"INVALID_OFFSET","message":"m"}}"#,
                ErrorKind::InvalidOffset,
            ),
            (
                409,
                r#"{"error":{"code":"SOMETHING_NEW"}}"#,
                ErrorKind::Conflict,
            ),
        ];
        for (status, body, kind) in cases {
            let err = answer_error(
                &answer(status, &[], body),
                &url(),
                Operation::SubscriptionControl,
            );
            assert_eq!(err.kind(), kind, "{body}");
            assert_eq!(err.status(), Some(status));
        }
    }

    #[test]
    fn already_claimed_names_the_holder_and_generation() {
        let body =
            r#"{"error":{"code":"ALREADY_CLAIMED","current_holder":"worker-2","generation":7}}"#;
        let err = answer_error(
            &answer(409, &[], body),
            &url(),
            Operation::SubscriptionDelivery,
        );
        assert_eq!(err.kind(), ErrorKind::AlreadyClaimed);
        assert_eq!(err.generation(), Some(7));
        assert!(err.message().contains("\"worker-2\""), "{err}");
    }

    #[test]
    fn stream_answers_mean_no_subscription_support() {
        let stream_404 = answer(404, &[("content-type", "text/plain")], "stream not found");
        assert_eq!(shows_support(&stream_404), Some(false));
        let created = answer(201, &[("stream-next-offset", "0_0")], "");
        assert_eq!(shows_support(&created), Some(false));
        let err = answer_error(&stream_404, &url(), Operation::SubscriptionControl);
        assert_eq!(err.kind(), ErrorKind::SubscriptionsNotSupported);
        let missing = answer(404, &[], r#"{"error":{"code":"SUBSCRIPTION_NOT_FOUND"}}"#);
        assert_eq!(shows_support(&missing), Some(true));
    }
}
