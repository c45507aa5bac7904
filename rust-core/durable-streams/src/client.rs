//! The client: shared HTTP connection pool, configuration, and the factory for stream handles.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::content_types::ContentTypes;
use crate::decorate::RequestDecorator;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{EventHub, EventSink};
use crate::redact;
use crate::retry::{AppendRetry, RetryPolicy};
use crate::stream::Stream;

/// A Durable Streams client. Cheap to clone (shared inside); use one per process or per server.
///
/// ```no_run
/// # async fn demo() -> durable_streams_core::Result<()> {
/// use durable_streams_core::{Client, CreateOptions};
/// let client = Client::builder().base_url("http://127.0.0.1:4437/v1/stream").build()?;
/// let stream = client.stream("/chat/42")?;
/// stream.create(CreateOptions::new().content_type("text/plain")).await?;
/// stream.append("hello").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Option<String>,
    pub(crate) default_headers: HeaderMap,
    pub(crate) decorator: Option<Arc<dyn RequestDecorator>>,
    pub(crate) config: ClientConfig,
    pub(crate) events: EventHub,
    /// What handles of this client have learned about their streams' content types.
    pub(crate) content_types: ContentTypes,
}

/// Timeouts and retry policy shared by every operation of a client.
#[derive(Debug, Clone)]
pub(crate) struct ClientConfig {
    pub(crate) request_timeout: Duration,
    pub(crate) live_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) append_retry: AppendRetry,
}

/// The longest timeout or retry delay a client accepts (24 hours): a larger one is a unit
/// mistake, and would leave an operation hanging for good.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest stream URL accepted, in bytes: servers and proxies commonly reset requests whose
/// line is longer.
pub const MAX_URL_LEN: usize = 8 * 1024;

/// The longest header value accepted (headers of the builder, decorations, `User-Agent`), in
/// bytes, for the same reason.
pub const MAX_HEADER_VALUE_LEN: usize = 8 * 1024;

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_deref().map(redact::url))
            .field(
                "default_headers",
                &self.inner.default_headers.keys().collect::<Vec<_>>(),
            )
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Client {
    /// A builder with the defaults: no base URL, 30 s request timeout, 10 s connect timeout,
    /// 75 s live timeout, and [`RetryPolicy::default`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client with default settings.
    pub fn new() -> Result<Client> {
        ClientBuilder::default().build()
    }

    /// A handle to the stream at `url`: an absolute `http(s)` URL, or a path appended to the base
    /// URL. No I/O happens here.
    pub fn stream(&self, url: &str) -> Result<Stream> {
        let resolved = self.resolve(url)?;
        Ok(Stream::new(self.clone(), resolved))
    }

    /// The retry policy operations that are safe to repeat use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.config.retry
    }

    /// When plain appends are retried.
    pub fn append_retry(&self) -> AppendRetry {
        self.inner.config.append_retry
    }

    /// Installs the sink that receives this client's events (retries, reconnects, producer
    /// batches, fencing), or removes it with `None`. Clones of the client share it; operations
    /// already running may deliver a last event to the previous sink.
    pub fn set_event_sink(&self, sink: Option<Arc<dyn EventSink>>) {
        self.inner.events.replace(sink);
    }

    fn resolve(&self, url: &str) -> Result<Url> {
        // Messages quote the URL redacted: it may carry a token or a password.
        let shown = redact::url(url);
        let invalid = |problem: String| {
            Error::new(ErrorKind::InvalidArgument, format!("url: {problem}")).with_url(url)
        };
        if url.trim().is_empty() {
            return Err(invalid("a stream URL cannot be empty".into()));
        }
        check_url_text(url).map_err(invalid)?;
        let parsed = match Url::parse(url) {
            Ok(absolute) => absolute,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                let base = self.inner.base_url.as_deref().ok_or_else(|| {
                    invalid(format!(
                        "{shown:?} is a relative path and the client has no base URL"
                    ))
                })?;
                let joined = if url.starts_with('/') {
                    format!("{base}{url}")
                } else {
                    format!("{base}/{url}")
                };
                Url::parse(&joined)
                    .map_err(|e| invalid(format!("{:?} is not a URL: {e}", redact::url(&joined))))?
            }
            Err(e) => return Err(invalid(format!("{shown:?} is not a URL: {e}"))),
        };
        check_http_url(&parsed).map_err(invalid)?;
        if parsed.as_str().len() > MAX_URL_LEN {
            return Err(invalid(format!(
                "a stream URL may be at most {MAX_URL_LEN} bytes long, this one is {}",
                parsed.as_str().len()
            )));
        }
        Ok(parsed)
    }
}

/// Rejects control characters (CR, LF, TAB...), which URL parsing silently removes: the
/// request would go to another URL than the one given.
fn check_url_text(url: &str) -> std::result::Result<(), String> {
    match url.char_indices().find(|(_, c)| c.is_ascii_control()) {
        Some((at, c)) => Err(format!(
            "contains the control character {c:?} at byte {at}; URLs cannot contain CR, LF, TAB \
             or other control characters"
        )),
        None if url.len() > MAX_URL_LEN => Err(format!(
            "a stream URL may be at most {MAX_URL_LEN} bytes long, this one is {}",
            url.len()
        )),
        None => Ok(()),
    }
}

fn check_http_url(url: &Url) -> std::result::Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "only http and https URLs are supported, got {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{} has no host", redact::url(url.as_str())));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "{} has a fragment, which HTTP never sends",
            redact::url(url.as_str())
        ));
    }
    Ok(())
}

/// Checks a timeout setting: more than zero, at most [`MAX_TIMEOUT`].
fn check_timeout(name: &str, value: Duration) -> Result<()> {
    if value.is_zero() {
        return Err(Error::invalid_argument(name, "must be greater than zero"));
    }
    if value > MAX_TIMEOUT {
        return Err(Error::invalid_argument(
            name,
            format!("must be at most 24 hours, got {value:?}"),
        ));
    }
    Ok(())
}

/// Configures and builds a [`Client`].
///
/// [`ClientBuilder::build`] checks every setting and fails with [`ErrorKind::InvalidArgument`]
/// naming it: timeouts must be more than zero and at most [`MAX_TIMEOUT`] (24 hours), the retry
/// policy's delays at most that (see [`RetryPolicy::validate`]); header names and values and the user
/// agent must be valid HTTP (no CR, LF or other control characters) with values at most
/// [`MAX_HEADER_VALUE_LEN`] bytes; the base URL must be an `http(s)` URL without control
/// characters.
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: Option<String>,
    headers: Vec<(String, String)>,
    decorator: Option<Arc<dyn RequestDecorator>>,
    request_timeout: Duration,
    connect_timeout: Duration,
    live_timeout: Duration,
    retry: RetryPolicy,
    append_retry: AppendRetry,
    events: Option<Arc<dyn EventSink>>,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: None,
            headers: Vec::new(),
            decorator: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            live_timeout: Duration::from_secs(75),
            retry: RetryPolicy::default(),
            append_retry: AppendRetry::Never,
            events: None,
            user_agent: concat!("durable-streams-rust/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl ClientBuilder {
    /// The URL that relative stream paths are appended to, e.g. `https://host/v1/stream`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// A header sent with every request (for example `Authorization`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Computes headers and query parameters per request (rotating tokens and the like).
    pub fn decorator(mut self, decorator: Arc<dyn RequestDecorator>) -> Self {
        self.decorator = Some(decorator);
        self
    }

    /// Limit for one non-live request, from sending to the end of the response body.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Limit for establishing a TCP (and TLS) connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Limit for one long-poll request, and the longest silence tolerated on an SSE connection
    /// before it is re-established. Must exceed the server's long-poll timeout.
    pub fn live_timeout(mut self, timeout: Duration) -> Self {
        self.live_timeout = timeout;
        self
    }

    /// How operations that are safe to repeat are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// When plain appends ([`Stream::append`] and friends) are retried; [`AppendRetry::Never`]
    /// by default. Retries follow the [`RetryPolicy`].
    pub fn append_retry(mut self, append_retry: AppendRetry) -> Self {
        self.append_retry = append_retry;
        self
    }

    /// The sink that receives the client's events (see [`crate::EventKind`]).
    pub fn event_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        self.retry.validate()?;
        for (name, value) in [
            ("request_timeout", self.request_timeout),
            ("connect_timeout", self.connect_timeout),
            ("live_timeout", self.live_timeout),
        ] {
            check_timeout(name, value)?;
        }
        let base_url = match self.base_url {
            Some(base) => {
                check_url_text(&base).map_err(|p| Error::invalid_argument("base_url", p))?;
                let trimmed = base.trim_end_matches('/').to_string();
                let parsed = Url::parse(&trimmed).map_err(|e| {
                    Error::invalid_argument("base_url", format!("{:?}: {e}", redact::url(&base)))
                })?;
                check_http_url(&parsed).map_err(|p| Error::invalid_argument("base_url", p))?;
                Some(trimmed)
            }
            None => None,
        };
        let default_headers = header_map(&self.headers, "header")?;
        check_header_value("user_agent", &self.user_agent)?;
        let http = build_http_client(self.connect_timeout, &self.user_agent)?;
        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                base_url,
                default_headers,
                decorator: self.decorator,
                config: ClientConfig {
                    request_timeout: self.request_timeout,
                    live_timeout: self.live_timeout,
                    retry: self.retry,
                    append_retry: self.append_retry,
                },
                events: EventHub::new(self.events),
                content_types: ContentTypes::default(),
            }),
        })
    }
}

/// Converts caller-supplied header pairs, naming the bad one on failure (never quoting a
/// value: it may be a secret).
pub(crate) fn header_map(pairs: &[(String, String)], parameter: &str) -> Result<HeaderMap> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::invalid_argument(
                parameter,
                format!(
                    "{:?} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    name.chars().take(100).collect::<String>()
                ),
            )
        })?;
        if is_connection_header(&header_name) {
            return Err(Error::invalid_argument(
                parameter,
                format!(
                    "{name:?} is set by the HTTP layer for each request (message framing and \
                     connection management) and cannot be given"
                ),
            ));
        }
        let header_value = header_value(value).map_err(|problem| {
            Error::invalid_argument(parameter, format!("the value of header {name:?} {problem}"))
        })?;
        map.insert(header_name, header_value);
    }
    Ok(map)
}

/// Headers that describe the message or the connection rather than the request: a caller's
/// value would override the real body length or target host (truncating an append, or hanging
/// the request), so they are refused wherever headers are accepted.
fn is_connection_header(name: &HeaderName) -> bool {
    use reqwest::header;
    [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::HOST,
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::EXPECT,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Checks a single header value given as an option, naming the option.
fn check_header_value(parameter: &str, value: &str) -> Result<()> {
    header_value(value)
        .map(drop)
        .map_err(|problem| Error::invalid_argument(parameter, problem))
}

fn header_value(value: &str) -> std::result::Result<HeaderValue, String> {
    if value.len() > MAX_HEADER_VALUE_LEN {
        return Err(format!(
            "is {} bytes long; at most {MAX_HEADER_VALUE_LEN} are allowed",
            value.len()
        ));
    }
    // Non-ASCII is legal HTTP (obs-text) but read differently by every server: refuse it, as
    // .NET's HttpClient does.
    if !value.is_ascii() {
        return Err(
            "contains non-ASCII characters, which HTTP headers cannot carry reliably".into(),
        );
    }
    HeaderValue::from_str(value).map_err(|_| {
        "contains characters HTTP does not allow (CR, LF, other control characters or \
         non-ASCII)"
            .to_string()
    })
}

fn build_http_client(connect_timeout: Duration, user_agent: &str) -> Result<reqwest::Client> {
    use rustls_platform_verifier::BuilderVerifierExt;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_error = |e: rustls::Error| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("cannot configure TLS: {e}"),
        )
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .user_agent(user_agent)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot build the HTTP client: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: Option<&str>) -> Client {
        let mut b = Client::builder();
        if let Some(base) = base {
            b = b.base_url(base);
        }
        b.build().unwrap()
    }

    #[test]
    fn relative_paths_join_the_base_url() {
        let c = client(Some("http://h:1/v1/stream/"));
        assert_eq!(c.stream("/a/b").unwrap().url(), "http://h:1/v1/stream/a/b");
        assert_eq!(c.stream("a").unwrap().url(), "http://h:1/v1/stream/a");
    }

    #[test]
    fn absolute_urls_ignore_the_base() {
        let c = client(Some("http://h:1/v1/stream"));
        assert_eq!(
            c.stream("https://other/x").unwrap().url(),
            "https://other/x"
        );
    }

    #[test]
    fn malformed_urls_are_invalid_arguments() {
        let c = client(None);
        for bad in [
            "",
            "relative/path",
            "ftp://h/x",
            "http://",
            "http://h/x#frag",
            "http://[::1",
        ] {
            let err = c.stream(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn framing_and_connection_headers_are_refused() {
        for name in [
            "Content-Length",
            "transfer-encoding",
            "Host",
            "Connection",
            "Keep-Alive",
            "Upgrade",
            "TE",
            "Expect",
        ] {
            let err = header_map(&[(name.to_owned(), "secret-value".to_owned())], "headers")
                .expect_err(name);
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}");
            assert!(err.message().contains(name), "{name}: {}", err.message());
            assert!(!err.message().contains("secret-value"), "{}", err.message());
        }
        assert!(header_map(&[("X-Length".to_owned(), "1".to_owned())], "headers").is_ok());
    }

    #[test]
    fn bad_headers_name_the_parameter() {
        let err = Client::builder()
            .header("bad name", "v")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().starts_with("header:"));
        let err = Client::builder().header("x", "a\nb").build().unwrap_err();
        assert!(err.message().contains("\"x\""));
    }

    #[test]
    fn zero_timeouts_are_rejected() {
        let err = Client::builder()
            .request_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.message().starts_with("request_timeout"));
    }

    #[test]
    fn control_characters_in_stream_urls_are_rejected_not_stripped() {
        let c = client(Some("http://h:1/v1/stream"));
        for bad in [
            "http://h:1/a\r\nX-Injected: 1",
            "http://h:1/a\nb",
            "http://h:1/a\tb",
            "relative\tpath",
            "http://h:1/a\0b",
        ] {
            let err = c.stream(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            assert!(err.message().starts_with("url:"), "{err}");
            assert!(err.message().contains("control character"), "{err}");
        }
        let err = Client::builder()
            .base_url("http://h:1/v1\n/stream")
            .build()
            .unwrap_err();
        assert!(err.message().starts_with("base_url:"), "{err}");
    }

    #[test]
    fn overlong_stream_urls_are_rejected() {
        let c = client(Some("http://h:1/v1/stream"));
        let long = "a".repeat(MAX_URL_LEN);
        let err = c.stream(&long).unwrap_err();
        assert!(err.message().starts_with("url:"), "{err}");
        assert!(err.message().contains("at most 8192 bytes"), "{err}");
        let err = c.stream(&format!("http://h/{long}")).unwrap_err();
        assert!(err.message().starts_with("url:"), "{err}");
        assert!(c.stream(&"a".repeat(4000)).is_ok());
    }

    #[test]
    fn url_errors_do_not_quote_secrets() {
        let c = client(None);
        for bad in [
            "relative?sig=S3CRET-SENTINEL",
            "ftp://u:S3CRET-SENTINEL@h/x?sig=S3CRET-SENTINEL",
            "http://u:S3CRET-SENTINEL@h/x?sig=S3CRET-SENTINEL#frag",
            "http://h/x?sig=S3CRET-SENTINEL\n",
        ] {
            let err = c.stream(bad).unwrap_err();
            let text = format!("{err} {err:?} {:?}", err.url());
            assert!(!text.contains("S3CRET-SENTINEL"), "{text}");
        }
    }

    #[test]
    fn header_values_with_line_breaks_or_oversized_name_the_header_not_the_value() {
        for value in ["a\r\nX-Injected: S3CRET-SENTINEL", "S3CRET-SENTINEL\u{e9}"] {
            let err = Client::builder()
                .header("authorization", value)
                .build()
                .unwrap_err();
            assert!(err.message().starts_with("header:"), "{err}");
            assert!(err.message().contains("\"authorization\""), "{err}");
            assert!(!err.to_string().contains("S3CRET-SENTINEL"), "{err}");
        }
        let err = Client::builder()
            .header("x-big", "v".repeat(MAX_HEADER_VALUE_LEN + 1))
            .build()
            .unwrap_err();
        assert!(err.message().contains("\"x-big\""), "{err}");
        assert!(err.message().contains("at most 8192"), "{err}");
        assert!(
            Client::builder()
                .header("x-ok", "v".repeat(MAX_HEADER_VALUE_LEN))
                .build()
                .is_ok()
        );
    }

    #[test]
    fn a_bad_user_agent_names_the_option() {
        for agent in ["agent\r\nX-Injected: 1", "caf\u{e9}"] {
            let err = Client::builder().user_agent(agent).build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
            assert!(err.message().starts_with("user_agent:"), "{err}");
        }
        let err = Client::builder()
            .user_agent("a".repeat(MAX_HEADER_VALUE_LEN + 1))
            .build()
            .unwrap_err();
        assert!(err.message().starts_with("user_agent:"), "{err}");
    }

    #[test]
    fn absurd_timeouts_are_rejected_naming_the_field() {
        let years = Duration::from_secs(10 * 365 * 24 * 3600);
        let cases: [(&str, ClientBuilder); 3] = [
            ("request_timeout", Client::builder().request_timeout(years)),
            ("connect_timeout", Client::builder().connect_timeout(years)),
            ("live_timeout", Client::builder().live_timeout(years)),
        ];
        for (name, builder) in cases {
            let err = builder.build().unwrap_err();
            assert!(err.message().starts_with(name), "{name}: {err}");
            assert!(err.message().contains("24 hours"), "{name}: {err}");
        }
        let err = Client::builder()
            .retry_policy(RetryPolicy {
                initial_delay: years,
                max_delay: years,
                ..RetryPolicy::default()
            })
            .build()
            .unwrap_err();
        assert!(err.message().starts_with("max_delay"), "{err}");
        assert!(
            Client::builder()
                .request_timeout(MAX_TIMEOUT)
                .live_timeout(MAX_TIMEOUT)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let c = Client::builder()
            .base_url("http://me:S3CRET-SENTINEL@h:1/v1/stream?sig=S3CRET-SENTINEL")
            .header("authorization", "Bearer S3CRET-SENTINEL")
            .build()
            .unwrap();
        let stream = c.stream("a?sig=S3CRET-SENTINEL").unwrap();
        for text in [format!("{c:?}"), format!("{stream:?}")] {
            assert!(!text.contains("S3CRET-SENTINEL"), "{text}");
        }
        assert!(format!("{stream:?}").contains("sig=<redacted>"));
    }

    #[test]
    fn bad_base_url_is_rejected() {
        let err = Client::builder().base_url("not a url").build().unwrap_err();
        assert!(err.message().starts_with("base_url"));
    }
}
