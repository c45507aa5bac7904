//! Per-request headers and query parameters computed at request time (auth tokens that rotate,
//! tracing ids, counters).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Result;

/// Which protocol operation a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `PUT`: create or fork a stream.
    Create,
    /// `HEAD`: stream metadata.
    Head,
    /// `DELETE`.
    Delete,
    /// `POST`: a plain append (possibly closing).
    Append,
    /// `POST` with `Stream-Closed: true` and no body.
    Close,
    /// `GET`: one request of a read session (catch-up, long-poll or SSE).
    Read,
    /// `POST` of an idempotent producer batch.
    ProducerBatch,
    /// A subscription control request: create, read, delete, add or remove streams.
    SubscriptionControl,
    /// A pull-wake delivery request: claim, ack (and heartbeat) or release.
    SubscriptionDelivery,
}

impl Operation {
    /// A lower-case name, for logs and foreign callers.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Head => "head",
            Operation::Delete => "delete",
            Operation::Append => "append",
            Operation::Close => "close",
            Operation::Read => "read",
            Operation::ProducerBatch => "producer-batch",
            Operation::SubscriptionControl => "subscription-control",
            Operation::SubscriptionDelivery => "subscription-delivery",
        }
    }
}

/// What a [`RequestDecorator`] is told about the request it decorates. Its `Debug` output
/// shows the URL redacted.
#[derive(Clone)]
pub struct RequestInfo {
    /// The operation.
    pub operation: Operation,
    /// The HTTP method.
    pub method: &'static str,
    /// The stream URL (without query parameters added by the client).
    pub url: String,
}

/// Headers and query parameters to add to one request. Its `Debug` output shows names only:
/// the values are typically credentials.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Decorations {
    /// Headers; they replace default headers of the same name.
    pub headers: Vec<(String, String)>,
    /// Query parameters, added after the protocol's own.
    pub query: Vec<(String, String)>,
}

impl std::fmt::Debug for RequestInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInfo")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("url", &crate::redact::url(&self.url))
            .finish()
    }
}

impl std::fmt::Debug for Decorations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        };
        f.debug_struct("Decorations")
            .field("headers", &names(&self.headers))
            .field("query", &names(&self.query))
            .finish()
    }
}

/// A boxed future returned by a decorator.
pub type DecorateFuture = Pin<Box<dyn Future<Output = Result<Decorations>> + Send + 'static>>;

/// Computes per-request headers and query parameters.
///
/// Called once per operation (retries of that operation reuse the result), once per request of
/// a read session (so long-lived readers pick up rotated tokens), and once per producer batch.
/// An error fails the operation with that error.
pub trait RequestDecorator: Send + Sync + 'static {
    /// Returns the decorations for the request described by `info`.
    fn decorate(&self, info: &RequestInfo) -> DecorateFuture;
}

/// A synchronous decorator made from a closure.
struct FnDecorator<F>(F);

impl<F> RequestDecorator for FnDecorator<F>
where
    F: Fn(&RequestInfo) -> Result<Decorations> + Send + Sync + 'static,
{
    fn decorate(&self, info: &RequestInfo) -> DecorateFuture {
        let result = (self.0)(info);
        Box::pin(std::future::ready(result))
    }
}

/// Wraps a synchronous closure as a decorator.
pub fn decorator_fn<F>(f: F) -> Arc<dyn RequestDecorator>
where
    F: Fn(&RequestInfo) -> Result<Decorations> + Send + Sync + 'static,
{
    Arc::new(FnDecorator(f))
}
