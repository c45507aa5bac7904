//! Receiving webhook wakes (the protocol's §6.5 and §7.1): [`WebhookVerifier`] checks a
//! delivery's `Webhook-Signature` (Ed25519 over `<t>.<raw body>`, the key chosen by `kid` from
//! the server's JWKS, the timestamp inside a window, no replay) and parses the wake;
//! [`Client::webhook_callback`] answers a wake later with its callback token.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::http::{Call, answer_error};
use super::json_fields::{Fields, parse_object};
use super::model::parse_link_type;
use super::pull::{Ack, AckOutcome, WakeStream, ack_body, ack_outcome};
use crate::client::Client;
use crate::decorate::Operation;
use crate::error::{Error, ErrorKind, Result};

/// The name of the header carrying a webhook delivery's signature.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "Webhook-Signature";

/// The default accepted distance between a signature's timestamp and the receiver's clock.
pub const DEFAULT_WEBHOOK_TOLERANCE: Duration = Duration::from_secs(300);

/// The default least time between two JWKS fetches caused by unknown key ids.
pub const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The default number of signatures remembered to refuse replays.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// The least time between two JWKS fetches while none has succeeded yet.
const FAILED_FETCH_PAUSE: Duration = Duration::from_secs(1);

/// Most bytes of a `Webhook-Signature` header.
const MAX_HEADER_LEN: usize = 4096;

/// The time source of a verifier (the wall clock unless a test injects another).
pub type WebhookClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A parsed `Webhook-Signature` header: `t=<unix seconds>,kid=<key id>,ed25519=<base64url>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSignature {
    /// The `t` parameter exactly as sent (decimal digits): the signed text starts with it.
    timestamp_text: String,
    /// The signing time, in Unix seconds.
    pub timestamp: u64,
    /// The id of the signing key in the server's JWKS.
    pub key_id: String,
    /// The 64 signature bytes.
    pub signature: [u8; 64],
}

impl WebhookSignature {
    /// Parses a `Webhook-Signature` header value. Parameters are separated by commas, each
    /// `name=value`; `t`, `kid` and `ed25519` are required exactly once, others are ignored.
    ///
    /// Fails with [`ErrorKind::Unauthorized`] naming the parameter that is missing,
    /// repeated or malformed.
    pub fn parse(header: &str) -> Result<WebhookSignature> {
        if header.len() > MAX_HEADER_LEN {
            return Err(rejected(format!(
                "the {WEBHOOK_SIGNATURE_HEADER} header is longer than {MAX_HEADER_LEN} bytes"
            )));
        }
        let mut t = None;
        let mut kid = None;
        let mut sig = None;
        for part in header.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((name, value)) = part.split_once('=') else {
                return Err(rejected(format!(
                    "{WEBHOOK_SIGNATURE_HEADER} parameter {:?} is not name=value",
                    clip(part)
                )));
            };
            let slot = match name.trim() {
                "t" => &mut t,
                "kid" => &mut kid,
                "ed25519" => &mut sig,
                _ => continue,
            };
            if slot.is_some() {
                return Err(rejected(format!(
                    "{WEBHOOK_SIGNATURE_HEADER} parameter `{}` appears more than once",
                    name.trim()
                )));
            }
            *slot = Some(value.trim());
        }
        let missing = |name: &str| {
            rejected(format!(
                "{WEBHOOK_SIGNATURE_HEADER} parameter `{name}` is missing"
            ))
        };
        let t = t.ok_or_else(|| missing("t"))?;
        let kid = kid.ok_or_else(|| missing("kid"))?;
        let sig = sig.ok_or_else(|| missing("ed25519"))?;
        if t.is_empty() || t.len() > 19 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(rejected(format!(
                "{WEBHOOK_SIGNATURE_HEADER} parameter `t` is not a decimal Unix timestamp: {:?}",
                clip(t)
            )));
        }
        let timestamp: u64 = t.parse().map_err(|_| {
            rejected(format!(
                "{WEBHOOK_SIGNATURE_HEADER} parameter `t` is out of range: {:?}",
                clip(t)
            ))
        })?;
        if kid.is_empty() {
            return Err(rejected(format!(
                "{WEBHOOK_SIGNATURE_HEADER} parameter `kid` is empty"
            )));
        }
        let bytes = URL_SAFE_NO_PAD.decode(sig).map_err(|e| {
            rejected(format!(
                "{WEBHOOK_SIGNATURE_HEADER} parameter `ed25519` is not unpadded base64url: {e}"
            ))
        })?;
        let signature: [u8; 64] = bytes.as_slice().try_into().map_err(|_| {
            rejected(format!(
                "{WEBHOOK_SIGNATURE_HEADER} parameter `ed25519` is {} bytes, not 64",
                bytes.len()
            ))
        })?;
        Ok(WebhookSignature {
            timestamp_text: t.to_owned(),
            timestamp,
            key_id: kid.to_owned(),
            signature,
        })
    }

    /// The signed text: `<t>.<raw body>`.
    fn signed_message(&self, body: &[u8]) -> Vec<u8> {
        let mut message = Vec::with_capacity(self.timestamp_text.len() + 1 + body.len());
        message.extend_from_slice(self.timestamp_text.as_bytes());
        message.push(b'.');
        message.extend_from_slice(body);
        message
    }
}

/// What a webhook receiver needs to answer a wake later: the callback URL, the wake and its
/// callback token (scoped to the subscription and generation). `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookCallback {
    /// The callback URL from the wake (`{stream root}/__ds/subscriptions/{id}/callback`).
    pub url: Url,
    /// The wake's unique id.
    pub wake_id: String,
    /// The wake's generation.
    pub generation: u64,
    /// The bearer token for the callback.
    pub token: String,
}

impl std::fmt::Debug for WebhookCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCallback")
            .field("url", &crate::redact::url(self.url.as_str()))
            .field("wake_id", &self.wake_id)
            .field("generation", &self.generation)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl WebhookCallback {
    /// A callback target from saved parts (for a receiver that stored a wake to answer it
    /// after a restart). Fails with [`ErrorKind::InvalidArgument`] naming the part.
    pub fn new(url: &str, wake_id: &str, generation: u64, token: &str) -> Result<WebhookCallback> {
        let url = parse_callback_url(url).map_err(|e| Error::invalid_argument("url", e))?;
        if wake_id.is_empty() {
            return Err(Error::invalid_argument("wake_id", "is empty"));
        }
        if token.is_empty() {
            return Err(Error::invalid_argument("token", "is empty"));
        }
        Ok(WebhookCallback {
            url,
            wake_id: wake_id.to_owned(),
            generation,
            token: token.to_owned(),
        })
    }
}

/// A verified webhook wake: the delivery's body, parsed. `Debug` hides the callback token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookWake {
    /// The subscription that woke.
    pub subscription_id: String,
    /// Every linked stream with its cursor and the tail when the wake was issued.
    pub streams: Vec<WakeStream>,
    /// How to answer the wake later ([`Client::webhook_callback`]).
    pub callback: WebhookCallback,
    /// The signature's timestamp (Unix seconds).
    pub signed_at: u64,
    /// The id of the key that signed the delivery.
    pub key_id: String,
}

impl WebhookWake {
    /// The wake's unique id.
    pub fn wake_id(&self) -> &str {
        &self.callback.wake_id
    }

    /// The wake's generation.
    pub fn generation(&self) -> u64 {
        self.callback.generation
    }

    /// Parses a delivery body (already verified). Fails with [`ErrorKind::Parse`] naming the
    /// malformed field.
    pub fn parse(body: &[u8]) -> Result<WebhookWake> {
        let value = parse_object(body, "the webhook wake")?;
        parse_wake(&value, 0, String::new())
    }

    /// The processed position of every stream that had pending work: its tail when the wake
    /// was issued (what `{"done": true}` acks on the server's side).
    pub fn tail_acks(&self) -> Vec<Ack> {
        self.streams
            .iter()
            .filter(|s| s.has_pending)
            .map(|s| Ack::new(s.path.clone(), s.tail_offset.clone()))
            .collect()
    }
}

fn parse_wake(value: &Value, signed_at: u64, key_id: String) -> Result<WebhookWake> {
    let fields = Fields::of(value, "the webhook wake")?;
    let streams = fields
        .objects("streams")?
        .iter()
        .map(|stream| {
            Ok(WakeStream {
                path: stream.str("path")?.to_owned(),
                link_type: parse_link_type(stream, "link_type")?,
                acked_offset: stream.offset("acked_offset")?,
                tail_offset: stream.offset("tail_offset")?,
                has_pending: stream.opt_bool("has_pending")?.unwrap_or(false),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let url_text = fields.str("callback_url")?;
    let url = parse_callback_url(url_text).map_err(|problem| {
        Error::new(
            ErrorKind::Parse,
            format!("the webhook wake is malformed: field `callback_url` {problem}"),
        )
    })?;
    let token = fields.str("callback_token")?;
    if token.is_empty() {
        return Err(Error::new(
            ErrorKind::Parse,
            "the webhook wake is malformed: field `callback_token` is empty",
        ));
    }
    Ok(WebhookWake {
        subscription_id: fields.str("subscription_id")?.to_owned(),
        streams,
        callback: WebhookCallback {
            url,
            wake_id: fields.str("wake_id")?.to_owned(),
            generation: fields.u64("generation")?,
            token: token.to_owned(),
        },
        signed_at,
        key_id,
    })
}

fn parse_callback_url(text: &str) -> std::result::Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("has scheme {other:?}, not http or https")),
    }
}

/// A rejected delivery: the caller answers 401 and runs no user code.
fn rejected(reason: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::Unauthorized,
        format!("webhook delivery rejected: {}", reason.into()),
    )
}

fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Options of a [`WebhookVerifier`].
pub struct WebhookVerifierBuilder {
    client: Client,
    jwks_url: Option<String>,
    tolerance: Duration,
    refresh_interval: Duration,
    replay_capacity: usize,
    clock: WebhookClock,
    subscriptions: HashSet<String>,
    jwks: Option<Vec<u8>>,
}

impl std::fmt::Debug for WebhookVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifierBuilder")
            .field(
                "jwks_url",
                &self.jwks_url.as_deref().map(crate::redact::url),
            )
            .field("tolerance", &self.tolerance)
            .field("refresh_interval", &self.refresh_interval)
            .field("replay_capacity", &self.replay_capacity)
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifierBuilder {
    /// The server's JWKS URL (the `jwks_url` of a webhook subscription's signing metadata).
    /// Default: `{client base URL}/__ds/jwks.json`.
    pub fn jwks_url(mut self, url: &str) -> Self {
        self.jwks_url = Some(url.to_owned());
        self
    }

    /// The accepted distance between a signature's timestamp and the clock, either way
    /// (default [`DEFAULT_WEBHOOK_TOLERANCE`], 5 minutes; 1 second to 1 hour).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The least time between two JWKS fetches caused by unknown key ids (default
    /// [`DEFAULT_JWKS_REFRESH_INTERVAL`]), so a flood of deliveries naming unknown keys cannot
    /// hammer the server. The first fetch is never delayed.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// How many recently accepted signatures are remembered to refuse replays (default
    /// [`DEFAULT_REPLAY_CAPACITY`]; at least 1). Signatures older than the window are forgotten
    /// first; when the capacity is reached, the oldest are.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// The time source (default: the system clock). For tests.
    pub fn clock(mut self, clock: WebhookClock) -> Self {
        self.clock = clock;
        self
    }

    /// Accepts only wakes of this subscription (may be called several times; default: any).
    /// A receiver shared by several subscriptions or servers should list its own.
    pub fn subscription(mut self, id: &str) -> Self {
        self.subscriptions.insert(id.to_owned());
        self
    }

    /// Starts with these keys (a JWK Set document) instead of fetching them first.
    pub fn jwks(mut self, document: &[u8]) -> Self {
        self.jwks = Some(document.to_vec());
        self
    }

    /// Builds the verifier. No I/O happens here. Fails with [`ErrorKind::InvalidArgument`]
    /// naming the option that is wrong.
    pub fn build(self) -> Result<WebhookVerifier> {
        let jwks_url = match self.jwks_url {
            Some(url) => Url::parse(&url).map_err(|e| Error::invalid_argument("jwks_url", e))?,
            None => {
                let Some(root) = self.client.inner.base_url.as_deref() else {
                    return Err(Error::invalid_argument(
                        "jwks_url",
                        "is needed when the client has no base URL",
                    ));
                };
                let root = root.trim_end_matches('/');
                Url::parse(&format!("{root}/__ds/jwks.json"))
                    .map_err(|e| Error::invalid_argument("jwks_url", e))?
            }
        };
        if !matches!(jwks_url.scheme(), "http" | "https") {
            return Err(Error::invalid_argument(
                "jwks_url",
                "must be an http or https URL",
            ));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.tolerance) {
            return Err(Error::invalid_argument(
                "tolerance",
                format!("{:?} is outside 1 s to 1 h", self.tolerance),
            ));
        }
        if self.refresh_interval > Duration::from_secs(3600) {
            return Err(Error::invalid_argument(
                "refresh_interval",
                format!("{:?} is more than 1 h", self.refresh_interval),
            ));
        }
        if self.replay_capacity == 0 || self.replay_capacity > 10_000_000 {
            return Err(Error::invalid_argument(
                "replay_capacity",
                format!("{} is outside 1 to 10,000,000", self.replay_capacity),
            ));
        }
        if self.subscriptions.iter().any(String::is_empty) {
            return Err(Error::invalid_argument("subscription", "is empty"));
        }
        let keys = match &self.jwks {
            Some(document) => Some(
                parse_jwks(document)
                    .map_err(|e| Error::invalid_argument("jwks", e.message().to_owned()))?,
            ),
            None => None,
        };
        Ok(WebhookVerifier {
            inner: Arc::new(VerifierInner {
                client: self.client,
                jwks_url,
                tolerance: self.tolerance,
                refresh_interval: self.refresh_interval,
                replay_capacity: self.replay_capacity,
                clock: self.clock,
                subscriptions: self.subscriptions,
                keys: Mutex::new(KeyCache {
                    loaded: keys.is_some(),
                    keys: keys.unwrap_or_default(),
                    last_unknown_fetch: None,
                    last_failure: None,
                }),
                fetching: tokio::sync::Mutex::new(()),
                replay: Mutex::new(ReplayCache::default()),
            }),
        })
    }
}

/// Verifies webhook deliveries of one Durable Streams server and parses their wakes.
///
/// Cheap to clone (shared state); safe to use from many tasks at once. The server's public
/// keys are fetched from its JWKS on first use over the client's HTTP stack and cached; a
/// delivery naming an unknown `kid` refetches them, at most once per refresh interval.
///
/// A delivery is rejected with [`ErrorKind::Unauthorized`] (answer 401, run no user code) when
/// the header is malformed, the timestamp is outside the window, the key is unknown, the
/// signature does not match the raw body, the same signature was already accepted (a replay),
/// or the subscription is not one the verifier was told to accept. A correctly signed body that
/// is not a wake fails with [`ErrorKind::Parse`].
///
/// ```no_run
/// # async fn demo(header: &str, body: &[u8]) -> durable_streams_core::Result<()> {
/// use durable_streams_core::{Client, WebhookVerifier};
/// let client = Client::builder().base_url("http://127.0.0.1:4437/v1/stream").build()?;
/// let verifier = WebhookVerifier::builder(&client).subscription("orders").build()?;
/// let wake = verifier.verify(header, body).await?; // else answer 401
/// for stream in &wake.streams {
///     println!("{} has data up to {}", stream.path, stream.tail_offset);
/// }
/// // Answer the request with {"done": true}, or later:
/// client.webhook_callback(&wake.callback, &wake.tail_acks(), true).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    client: Client,
    jwks_url: Url,
    tolerance: Duration,
    refresh_interval: Duration,
    replay_capacity: usize,
    clock: WebhookClock,
    subscriptions: HashSet<String>,
    keys: Mutex<KeyCache>,
    /// Held while fetching, so concurrent unknown kids cause one fetch.
    fetching: tokio::sync::Mutex<()>,
    replay: Mutex<ReplayCache>,
}

#[derive(Default)]
struct KeyCache {
    /// Whether a key set was ever loaded (fetched or given).
    loaded: bool,
    keys: HashMap<String, [u8; 32]>,
    /// When an unknown `kid` last caused a fetch (the rate limit).
    last_unknown_fetch: Option<Instant>,
    /// When the last fetch failed (no keys loaded: refetched at most once a second).
    last_failure: Option<Instant>,
}

#[derive(Default)]
struct ReplayCache {
    seen: HashMap<[u8; 64], u64>,
    /// Accepted signatures in acceptance order, with their timestamps.
    order: VecDeque<([u8; 64], u64)>,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field(
                "jwks_url",
                &crate::redact::url(self.inner.jwks_url.as_str()),
            )
            .field("tolerance", &self.inner.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// The options of a verifier for deliveries of the server `client` talks to.
    pub fn builder(client: &Client) -> WebhookVerifierBuilder {
        WebhookVerifierBuilder {
            client: client.clone(),
            jwks_url: None,
            tolerance: DEFAULT_WEBHOOK_TOLERANCE,
            refresh_interval: DEFAULT_JWKS_REFRESH_INTERVAL,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            clock: Arc::new(SystemTime::now),
            subscriptions: HashSet::new(),
            jwks: None,
        }
    }

    /// The JWKS URL the keys come from.
    pub fn jwks_url(&self) -> &str {
        self.inner.jwks_url.as_str()
    }

    /// Verifies a delivery (`signature_header`: the `Webhook-Signature` value; `body`: the
    /// exact request body bytes) and returns its wake, fetching the server's keys when none are
    /// cached or the `kid` is unknown (rate limited).
    pub async fn verify(&self, signature_header: &str, body: &[u8]) -> Result<WebhookWake> {
        let signature = self.check_header(signature_header)?;
        let key = match self.cached_key(&signature.key_id) {
            Some(key) => key,
            None => {
                self.refresh_for(&signature.key_id).await?;
                self.cached_key(&signature.key_id)
                    .ok_or_else(|| self.unknown_key(&signature.key_id))?
            }
        };
        self.finish(&signature, &key, body)
    }

    /// Verifies a delivery with the cached keys only (no I/O): an unknown `kid`, or no keys
    /// yet, is rejected. For callers that keep keys fresh with [`WebhookVerifier::refresh_keys`]
    /// or [`WebhookVerifierBuilder::jwks`].
    pub fn verify_cached(&self, signature_header: &str, body: &[u8]) -> Result<WebhookWake> {
        let signature = self.check_header(signature_header)?;
        let key = self
            .cached_key(&signature.key_id)
            .ok_or_else(|| self.unknown_key(&signature.key_id))?;
        self.finish(&signature, &key, body)
    }

    /// Fetches the server's JWKS now and replaces the cached keys (not rate limited).
    pub async fn refresh_keys(&self) -> Result<()> {
        let _fetching = self.inner.fetching.lock().await;
        self.fetch().await
    }

    /// The ids of the cached keys, sorted.
    pub fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock_keys().keys.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn check_header(&self, header: &str) -> Result<WebhookSignature> {
        let signature = WebhookSignature::parse(header)?;
        let now = (self.inner.clock)()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let distance = now.abs_diff(signature.timestamp);
        if distance > self.inner.tolerance.as_secs() {
            let direction = if signature.timestamp < now {
                "old"
            } else {
                "in the future"
            };
            return Err(rejected(format!(
                "timestamp t={} is {distance} s {direction}, outside the {} s window",
                signature.timestamp,
                self.inner.tolerance.as_secs()
            )));
        }
        Ok(signature)
    }

    fn finish(
        &self,
        signature: &WebhookSignature,
        key: &[u8; 32],
        body: &[u8],
    ) -> Result<WebhookWake> {
        let public = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key);
        public
            .verify(&signature.signed_message(body), &signature.signature)
            .map_err(|_| {
                rejected(format!(
                    "the Ed25519 signature does not match the body for key {:?}",
                    signature.key_id
                ))
            })?;
        // Parse before remembering, so a signed but malformed body is not a replay later.
        let value = parse_object(body, "the webhook wake")?;
        let wake = parse_wake(&value, signature.timestamp, signature.key_id.clone())?;
        if !self.inner.subscriptions.is_empty()
            && !self.inner.subscriptions.contains(&wake.subscription_id)
        {
            return Err(rejected(format!(
                "subscription {:?} is not one this receiver accepts",
                clip(&wake.subscription_id)
            )));
        }
        self.remember(signature)?;
        Ok(wake)
    }

    /// Records an accepted signature; refuses one seen before.
    fn remember(&self, signature: &WebhookSignature) -> Result<()> {
        let now = (self.inner.clock)()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let oldest = now.saturating_sub(self.inner.tolerance.as_secs());
        let mut replay = self
            .inner
            .replay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if replay.seen.contains_key(&signature.signature) {
            return Err(rejected(format!(
                "this signature (t={}) was already accepted: a replay",
                signature.timestamp
            )));
        }
        // Forget what the window refuses anyway (deliveries arrive roughly in timestamp order,
        // so the front holds the oldest; one that lingers behind a newer one is harmless), then
        // the oldest beyond the capacity.
        let ReplayCache { seen, order } = &mut *replay;
        while let Some((old, t)) = order.front().copied() {
            if t >= oldest && order.len() < self.inner.replay_capacity {
                break;
            }
            order.pop_front();
            seen.remove(&old);
        }
        seen.insert(signature.signature, signature.timestamp);
        order.push_back((signature.signature, signature.timestamp));
        Ok(())
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        self.inner
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached_key(&self, kid: &str) -> Option<[u8; 32]> {
        self.lock_keys().keys.get(kid).copied()
    }

    fn unknown_key(&self, kid: &str) -> Error {
        rejected(format!(
            "key id `kid` {:?} is not in the server's JWKS ({})",
            clip(kid),
            crate::redact::url(self.inner.jwks_url.as_str())
        ))
    }

    /// Loads the keys when none are loaded yet; else refetches them for an unknown `kid`,
    /// unless an unknown `kid` caused a fetch within the refresh interval (or another task
    /// fetched the key while this one waited).
    async fn refresh_for(&self, kid: &str) -> Result<()> {
        let _fetching = self.inner.fetching.lock().await;
        {
            let mut cache = self.lock_keys();
            if cache.keys.contains_key(kid) {
                return Ok(());
            }
            if cache.loaded {
                if cache
                    .last_unknown_fetch
                    .is_some_and(|last| last.elapsed() < self.inner.refresh_interval)
                {
                    return Ok(());
                }
                // Counted before the request, so a failing server is not asked again at once.
                cache.last_unknown_fetch = Some(Instant::now());
            } else if cache
                .last_failure
                .is_some_and(|last| last.elapsed() < FAILED_FETCH_PAUSE)
            {
                return Err(rejected(format!(
                    "the server's signing keys are unavailable (fetching {} failed less than \
                     a second ago)",
                    crate::redact::url(self.inner.jwks_url.as_str())
                )));
            }
        }
        let fetched = self.fetch().await;
        if fetched.is_err() {
            self.lock_keys().last_failure = Some(Instant::now());
        }
        fetched
    }

    async fn fetch(&self) -> Result<()> {
        let url = &self.inner.jwks_url;
        let answer = self
            .inner
            .client
            .subscription_call(&Call {
                operation: Operation::SubscriptionControl,
                method: Method::GET,
                url,
                body: None,
                bearer: None,
                idempotent: true,
            })
            .await?;
        if answer.status != StatusCode::OK {
            return Err(answer_error(&answer, url, Operation::SubscriptionControl));
        }
        let keys = parse_jwks(&answer.body).map_err(|e| e.with_url(url.as_str()))?;
        let mut cache = self.lock_keys();
        cache.keys = keys;
        cache.loaded = true;
        Ok(())
    }
}

/// The Ed25519 keys of a JWK Set by `kid`; keys of other types are skipped.
fn parse_jwks(document: &[u8]) -> Result<HashMap<String, [u8; 32]>> {
    let value = parse_object(document, "the JWKS")?;
    let fields = Fields::of(&value, "the JWKS")?;
    let malformed = |field: String, problem: &str| {
        Error::new(
            ErrorKind::Parse,
            format!("the JWKS from the server is malformed: field `{field}` {problem}"),
        )
    };
    if value.get("keys").is_none_or(Value::is_null) {
        return Err(malformed("keys".to_owned(), "is missing"));
    }
    let mut keys = HashMap::new();
    for (index, key) in fields.objects("keys")?.iter().enumerate() {
        if key.opt_str("kty")? != Some("OKP") || key.opt_str("crv")? != Some("Ed25519") {
            continue;
        }
        if key.opt_str("use")?.is_some_and(|u| u != "sig") {
            continue;
        }
        let kid = key.str("kid")?;
        let x = key.str("x")?;
        let bytes = URL_SAFE_NO_PAD.decode(x).map_err(|e| {
            malformed(
                format!("keys[{index}].x"),
                &format!("is not base64url: {e}"),
            )
        })?;
        let public: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            malformed(
                format!("keys[{index}].x"),
                &format!("is {} bytes, not 32", bytes.len()),
            )
        })?;
        if keys.insert(kid.to_owned(), public).is_some() {
            return Err(malformed(
                format!("keys[{index}].kid"),
                "repeats an earlier key id",
            ));
        }
    }
    Ok(keys)
}

impl Client {
    /// Answers a webhook wake (`POST {callback url}` with `Authorization: Bearer <token>`):
    /// applies `acks` (each stream's processed offset, inclusive) and, with `done`, releases
    /// the wake; without `done` it only extends the lease.
    ///
    /// A wake that is no longer current fails with [`ErrorKind::Fenced`] and applies nothing;
    /// an offset behind the cursor or past the tail with [`ErrorKind::InvalidOffset`].
    pub async fn webhook_callback(
        &self,
        callback: &WebhookCallback,
        acks: &[Ack],
        done: bool,
    ) -> Result<AckOutcome> {
        let url = &callback.url;
        let body = ack_body(&callback.wake_id, callback.generation, acks, done)
            .map_err(|e| e.with_url(url.as_str()))?;
        let answer = self
            .subscription_call(&Call {
                operation: Operation::SubscriptionDelivery,
                method: Method::POST,
                url,
                body: Some(&body),
                bearer: Some(&callback.token),
                // A lease extension may be repeated; a repeated `done` would be fenced.
                idempotent: !done,
            })
            .await?;
        if answer.status != StatusCode::OK {
            return Err(answer_error(&answer, url, Operation::SubscriptionDelivery));
        }
        ack_outcome(&answer.body, "the callback answer", url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn the_protocols_header_parses() {
        let header = format!("t=1778324210,kid=ds_abc123,ed25519={SIG}");
        let parsed = WebhookSignature::parse(&header).unwrap();
        assert_eq!(parsed.timestamp, 1_778_324_210);
        assert_eq!(parsed.key_id, "ds_abc123");
        assert_eq!(parsed.signature, [0u8; 64]);
        assert_eq!(parsed.signed_message(b"{}"), b"1778324210.{}");
        // Spaces around parameters and unknown parameters are tolerated.
        let spaced = format!(" kid=ds_abc123 , v=2, t=1778324210, ed25519={SIG} ");
        assert_eq!(WebhookSignature::parse(&spaced).unwrap(), parsed);
    }

    #[test]
    fn malformed_headers_name_the_parameter() {
        let cases = [
            (format!("kid=k,ed25519={SIG}"), "`t` is missing"),
            (format!("t=1,ed25519={SIG}"), "`kid` is missing"),
            ("t=1,kid=k".to_owned(), "`ed25519` is missing"),
            (
                format!("t=1,t=2,kid=k,ed25519={SIG}"),
                "`t` appears more than once",
            ),
            (format!("t=-1,kid=k,ed25519={SIG}"), "`t` is not a decimal"),
            (format!("t=1.5,kid=k,ed25519={SIG}"), "`t` is not a decimal"),
            (
                format!("t=99999999999999999999,kid=k,ed25519={SIG}"),
                "`t` is not a decimal",
            ),
            (format!("t=1,kid=,ed25519={SIG}"), "`kid` is empty"),
            ("t=1,kid=k,ed25519=AAAA".to_owned(), "is 3 bytes, not 64"),
            (
                "t=1,kid=k,ed25519=not+base64/".to_owned(),
                "not unpadded base64url",
            ),
            (
                format!("t=1,kid=k,ed25519={SIG}=="),
                "not unpadded base64url",
            ),
            (format!("t=1;kid=k;ed25519={SIG}"), "`kid` is missing"),
            ("garbage".to_owned(), "is not name=value"),
            ("x".repeat(5000), "longer than 4096"),
        ];
        for (header, expected) in cases {
            let err = WebhookSignature::parse(&header).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthorized, "{header}");
            assert!(err.message().contains(expected), "{header}: {err}");
        }
    }

    fn wake_json() -> Value {
        serde_json::json!({
            "subscription_id": "sub-1", "wake_id": "w_abc123", "generation": 7,
            "streams": [{"path": "events/abc", "link_type": "glob",
                         "acked_offset": "0000000000000001_0000000000000042",
                         "tail_offset": "0000000000000002_0000000000000084",
                         "has_pending": true},
                        {"path": "events/idle", "link_type": "explicit",
                         "acked_offset": "0000000000000001_0000000000000001",
                         "tail_offset": "0000000000000001_0000000000000001",
                         "has_pending": false}],
            "callback_url": "https://server.example/streams/__ds/subscriptions/sub-1/callback",
            "callback_token": "eyJ..."
        })
    }

    #[test]
    fn the_protocols_wake_parses() {
        let wake = WebhookWake::parse(wake_json().to_string().as_bytes()).unwrap();
        assert_eq!(wake.subscription_id, "sub-1");
        assert_eq!(wake.wake_id(), "w_abc123");
        assert_eq!(wake.generation(), 7);
        assert_eq!(wake.streams.len(), 2);
        assert_eq!(wake.callback.token, "eyJ...");
        let acks = wake.tail_acks();
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].offset.as_str(), "0000000000000002_0000000000000084");
        assert!(!format!("{wake:?}").contains("eyJ"));
    }

    #[test]
    fn malformed_wakes_name_the_field() {
        let mut cases = Vec::new();
        let mut v = wake_json();
        v.as_object_mut().unwrap().remove("callback_token");
        cases.push((v, "`callback_token` is missing"));
        let mut v = wake_json();
        v["callback_url"] = Value::from("ftp://x/y");
        cases.push((v, "`callback_url` has scheme"));
        let mut v = wake_json();
        v["generation"] = Value::from("7");
        cases.push((v, "`generation`"));
        let mut v = wake_json();
        v["streams"][1]["tail_offset"] = Value::from(5);
        cases.push((v, "`streams[1].tail_offset` is not a string"));
        for (value, expected) in cases {
            let err = WebhookWake::parse(value.to_string().as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parse);
            assert!(err.message().contains(expected), "{err}");
        }
    }

    #[test]
    fn jwks_keys_are_read_by_kid_and_checked() {
        let x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let doc = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "a", "use": "sig", "alg": "EdDSA", "x": x},
            {"kty": "RSA", "kid": "rsa", "n": "xx", "e": "AQAB"},
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["a"], [7u8; 32]);
        let short = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": "AAAA"}]});
        let err = parse_jwks(short.to_string().as_bytes()).unwrap_err();
        assert!(err.message().contains("`keys[0].x` is 3 bytes"), "{err}");
        let twice = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": x},
            {"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": x}]});
        let err = parse_jwks(twice.to_string().as_bytes()).unwrap_err();
        assert!(err.message().contains("`keys[1].kid` repeats"), "{err}");
        let err = parse_jwks(b"{}").unwrap_err();
        assert!(err.message().contains("`keys` is missing"), "{err}");
    }

    fn signed(seed: u8, t: u64, body: &[u8]) -> String {
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let mut message = t.to_string().into_bytes();
        message.push(b'.');
        message.extend_from_slice(body);
        let sig = pair.sign(&message);
        format!(
            "t={t},kid=k{seed},ed25519={}",
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        )
    }

    fn jwks_of(seed: u8) -> Vec<u8> {
        use ring::signature::KeyPair as _;
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": format!("k{seed}"), "x": x}]})
            .to_string()
            .into_bytes()
    }

    const NOW: u64 = 1_800_000_000;

    fn verifier_at(now: Arc<std::sync::atomic::AtomicU64>, capacity: usize) -> WebhookVerifier {
        let client = Client::builder().build().unwrap();
        WebhookVerifier::builder(&client)
            .jwks_url("http://127.0.0.1:1/__ds/jwks.json")
            .jwks(&jwks_of(1))
            .replay_capacity(capacity)
            .clock(Arc::new(move || {
                UNIX_EPOCH + Duration::from_secs(now.load(std::sync::atomic::Ordering::SeqCst))
            }))
            .build()
            .unwrap()
    }

    #[test]
    fn the_window_is_five_minutes_either_way() {
        let now = Arc::new(std::sync::atomic::AtomicU64::new(NOW));
        let verifier = verifier_at(now.clone(), 100);
        let body = wake_json().to_string().into_bytes();
        for t in [NOW - 300, NOW, NOW + 300] {
            verifier.verify_cached(&signed(1, t, &body), &body).unwrap();
        }
        for (t, what) in [(NOW - 301, "301 s old"), (NOW + 301, "301 s in the future")] {
            let err = verifier
                .verify_cached(&signed(1, t, &body), &body)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthorized);
            assert!(err.message().contains(what), "{err}");
        }
        // The clock moving on makes an accepted delivery stale.
        let header = signed(1, NOW + 10, &body);
        now.store(NOW + 311, std::sync::atomic::Ordering::SeqCst);
        let err = verifier.verify_cached(&header, &body).unwrap_err();
        assert!(err.message().contains("outside the 300 s window"), "{err}");
    }

    #[test]
    fn tampering_other_keys_and_replays_are_rejected() {
        let now = Arc::new(std::sync::atomic::AtomicU64::new(NOW));
        let verifier = verifier_at(now, 2);
        let body = wake_json().to_string().into_bytes();
        let header = signed(1, NOW, &body);
        let mut tampered = body.clone();
        tampered[2] ^= 1;
        let err = verifier.verify_cached(&header, &tampered).unwrap_err();
        assert!(err.message().contains("does not match the body"), "{err}");
        // Signed by another key under the known kid.
        let forged = signed(2, NOW, &body).replace("kid=k2", "kid=k1");
        let err = verifier.verify_cached(&forged, &body).unwrap_err();
        assert!(err.message().contains("does not match"), "{err}");
        let err = verifier
            .verify_cached(&signed(2, NOW, &body), &body)
            .unwrap_err();
        assert!(
            err.message().contains("\"k2\" is not in the server's JWKS"),
            "{err}"
        );
        // The failures above did not use up the signature: it is accepted once, then a replay.
        verifier.verify_cached(&header, &body).unwrap();
        let err = verifier.verify_cached(&header, &body).unwrap_err();
        assert!(err.message().contains("a replay"), "{err}");
        // The cache is bounded: past its capacity the oldest signature is forgotten.
        verifier
            .verify_cached(&signed(1, NOW - 1, &body), &body)
            .unwrap();
        verifier
            .verify_cached(&signed(1, NOW - 2, &body), &body)
            .unwrap();
        verifier.verify_cached(&header, &body).unwrap();
    }

    #[test]
    fn remembered_signatures_expire_with_the_window() {
        let now = Arc::new(std::sync::atomic::AtomicU64::new(NOW));
        let verifier = verifier_at(now.clone(), 100);
        let body = wake_json().to_string().into_bytes();
        for t in NOW - 3..=NOW {
            verifier.verify_cached(&signed(1, t, &body), &body).unwrap();
        }
        assert_eq!(verifier.inner.replay.lock().unwrap().order.len(), 4);
        // 299 s later the first two are outside the window: forgotten on the next accept.
        now.store(NOW + 299, std::sync::atomic::Ordering::SeqCst);
        verifier
            .verify_cached(&signed(1, NOW + 299, &body), &body)
            .unwrap();
        let replay = verifier.inner.replay.lock().unwrap();
        assert_eq!(
            replay.order.len(),
            3,
            "{:?}",
            replay.order.iter().map(|e| e.1).collect::<Vec<_>>()
        );
        assert_eq!(replay.seen.len(), 3);
    }

    #[test]
    fn a_receiver_limited_to_its_subscriptions_refuses_others() {
        let client = Client::builder().build().unwrap();
        let verifier = WebhookVerifier::builder(&client)
            .jwks_url("http://127.0.0.1:1/__ds/jwks.json")
            .jwks(&jwks_of(1))
            .subscription("other")
            .build()
            .unwrap();
        let body = wake_json().to_string().into_bytes();
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let err = verifier
            .verify_cached(&signed(1, t, &body), &body)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(err.message().contains("\"sub-1\" is not one"), "{err}");
    }

    #[test]
    fn builder_options_are_checked_by_name() {
        let client = Client::builder().build().unwrap();
        let err = WebhookVerifier::builder(&client).build().unwrap_err();
        assert!(err.message().contains("jwks_url"), "{err}");
        let with_url = || WebhookVerifier::builder(&client).jwks_url("http://h/__ds/jwks.json");
        for (builder, name) in [
            (with_url().tolerance(Duration::from_millis(10)), "tolerance"),
            (with_url().replay_capacity(0), "replay_capacity"),
            (
                with_url().refresh_interval(Duration::from_secs(7200)),
                "refresh_interval",
            ),
            (with_url().jwks(b"[]"), "jwks"),
            (with_url().subscription(""), "subscription"),
            (
                WebhookVerifier::builder(&client).jwks_url("ftp://h/j"),
                "jwks_url",
            ),
        ] {
            let err = builder.build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
            assert!(err.message().contains(name), "{name}: {err}");
        }
        let client = Client::builder()
            .base_url("http://127.0.0.1:1/v1/stream/")
            .build()
            .unwrap();
        let verifier = WebhookVerifier::builder(&client).build().unwrap();
        assert_eq!(
            verifier.jwks_url(),
            "http://127.0.0.1:1/v1/stream/__ds/jwks.json"
        );
    }
}
