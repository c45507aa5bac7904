//! Shared helpers for the integration tests: one real server per kind per test binary, a client
//! tuned for fast tests, unique stream names, and small read helpers.
//!
//! Servers live in `static`s, so their `Drop` never runs; the harness stops them anyway when the
//! test process exits (Node exits when its stdin pipe closes, Electric is killed by the harness's
//! watchdog), so no server outlives `cargo test`.

#![allow(dead_code)]

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use durable_streams_core::{
    Chunk, Client, ClientBuilder, CreateOptions, LiveMode, Offset, ReadOptions, ReadSession,
    RetryPolicy, Stream,
};
use durable_streams_test_harness::{ServerKind, ServerOptions, TestServer};

/// The servers' long-poll timeout in most test binaries: short, so that a 204 round trip is
/// quick, but long enough that a spawned appender reliably lands inside one wait.
pub const LONG_POLL_MS: u64 = 700;
/// The long-poll timeout of the "slow" servers (tests that need a request to stay pending).
pub const SLOW_LONG_POLL_MS: u64 = 20_000;

/// Generates one `#[tokio::test]` per server kind for each listed `async fn(Ctx)`: the tests are
/// named `electric::<behaviour>` and `node::<behaviour>`.
#[allow(unused_macros)]
macro_rules! server_tests {
    ($($name:ident),* $(,)?) => {
        mod electric {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::Ctx::new(
                        durable_streams_test_harness::ServerKind::Electric,
                    ))
                    .await;
                }
            )*
        }
        mod node {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::Ctx::new(
                        durable_streams_test_harness::ServerKind::Node,
                    ))
                    .await;
                }
            )*
        }
    };
}

fn start(
    slot: &'static OnceLock<TestServer>,
    kind: ServerKind,
    long_poll_ms: u64,
) -> &'static TestServer {
    // Starting blocks for up to a second or two; keep the runtime's other worker free.
    tokio::task::block_in_place(|| {
        slot.get_or_init(|| {
            let options = ServerOptions {
                long_poll_timeout_ms: long_poll_ms,
                durability_memory: false,
                ..ServerOptions::default()
            };
            TestServer::start_with(kind, &options)
                .unwrap_or_else(|e| panic!("cannot start the {kind} server: {e}"))
        })
    })
}

/// This binary's server of `kind` (long-poll timeout [`LONG_POLL_MS`]), started on first use.
pub fn server(kind: ServerKind) -> &'static TestServer {
    static ELECTRIC: OnceLock<TestServer> = OnceLock::new();
    static NODE: OnceLock<TestServer> = OnceLock::new();
    match kind {
        ServerKind::Electric => start(&ELECTRIC, kind, LONG_POLL_MS),
        ServerKind::Node => start(&NODE, kind, LONG_POLL_MS),
    }
}

/// A second server of `kind` whose long-poll waits [`SLOW_LONG_POLL_MS`].
pub fn slow_server(kind: ServerKind) -> &'static TestServer {
    static ELECTRIC: OnceLock<TestServer> = OnceLock::new();
    static NODE: OnceLock<TestServer> = OnceLock::new();
    match kind {
        ServerKind::Electric => start(&ELECTRIC, kind, SLOW_LONG_POLL_MS),
        ServerKind::Node => start(&NODE, kind, SLOW_LONG_POLL_MS),
    }
}

/// Fast retries, so that transient failures cost milliseconds.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        multiplier: 2.0,
    }
}

/// The client settings every test starts from.
pub fn client_builder() -> ClientBuilder {
    Client::builder()
        .request_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .live_timeout(Duration::from_secs(5))
        .retry_policy(fast_retries())
}

/// A name no other stream in this process uses.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:08x}", std::process::id())
}

/// One test's view of a server: the server plus a fresh client (a client's connection pool
/// belongs to the runtime of the test that built it, so clients are never shared).
pub struct Ctx {
    pub server: &'static TestServer,
    pub client: Client,
}

impl Ctx {
    pub fn new(kind: ServerKind) -> Ctx {
        Ctx::on(server(kind))
    }

    pub fn on(server: &'static TestServer) -> Ctx {
        Ctx::with_client(server, client_builder().build().expect("client builds"))
    }

    pub fn with_client(server: &'static TestServer, client: Client) -> Ctx {
        Ctx { server, client }
    }

    pub fn kind(&self) -> ServerKind {
        self.server.kind()
    }

    /// A handle to a new, not yet created stream with a unique name.
    pub fn stream(&self, prefix: &str) -> Stream {
        self.stream_named(&unique_name(prefix))
    }

    /// A handle to the stream `name` on this server.
    pub fn stream_named(&self, name: &str) -> Stream {
        self.client
            .stream(&self.server.stream_url(name))
            .expect("stream URL is valid")
    }

    /// Creates a new stream of `content_type` with a unique name.
    pub async fn create(&self, prefix: &str, content_type: &str) -> Stream {
        let stream = self.stream(prefix);
        let created = stream
            .create(CreateOptions::new().content_type(content_type))
            .await
            .unwrap_or_else(|e| panic!("[{}] create {}: {e}", self.kind(), stream.url()));
        assert!(
            created.created,
            "[{}] a fresh stream is created",
            self.kind()
        );
        stream
    }
}

/// Fails the test if `future` takes longer than `secs` seconds (so a bug hangs no suite).
pub async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
}

/// Everything a catch-up read returns from `offset`: the bytes, the final offset and whether
/// the last chunk said the stream is closed.
pub struct CatchUp {
    pub data: Vec<u8>,
    pub chunks: Vec<Chunk>,
    pub offset: Offset,
    pub closed: bool,
}

impl CatchUp {
    /// Every JSON message of every chunk, parsed.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        self.chunks
            .iter()
            .flat_map(|c| {
                c.messages()
                    .expect("a JSON stream yields messages")
                    .to_vec()
            })
            .map(|m| serde_json::from_slice(&m).expect("messages are JSON"))
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.data.clone()).expect("UTF-8")
    }
}

/// Reads the stream from `offset` to its current tail (catch-up mode).
pub async fn catch_up(stream: &Stream, offset: Offset) -> CatchUp {
    let mut session = stream.read(ReadOptions::new().offset(offset).live(LiveMode::Off));
    let mut data = Vec::new();
    let mut chunks = Vec::new();
    let mut closed = false;
    let read = async {
        while let Some(chunk) = session.next_chunk().await.expect("catch-up read succeeds") {
            data.extend_from_slice(chunk.data());
            closed |= chunk.closed();
            chunks.push(chunk);
        }
    };
    within(20, "a catch-up read", read).await;
    CatchUp {
        data,
        chunks,
        offset: session.offset().clone(),
        closed,
    }
}

/// Pulls every chunk of a catch-up session (failing the test after 20 s).
pub async fn chunks_of(session: &mut ReadSession) -> Vec<Chunk> {
    within(20, "a catch-up read", async {
        let mut chunks = Vec::new();
        while let Some(chunk) = session.next_chunk().await.expect("the read succeeds") {
            chunks.push(chunk);
        }
        chunks
    })
    .await
}

/// Reads the whole stream from the beginning.
pub async fn read_all(stream: &Stream) -> CatchUp {
    catch_up(stream, Offset::BEGINNING).await
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// Every byte value 0..=255, twice, so that each appears in every base64 alignment too.
pub fn all_byte_values() -> Bytes {
    (0..=255u8)
        .chain((0..=255u8).rev())
        .collect::<Vec<u8>>()
        .into()
}

/// A hand-written HTTP "server" on 127.0.0.1 for answers no real server gives: it records each
/// request's head and answers with whatever `respond` returns for it (raw bytes, so it can also
/// answer garbage). Each connection serves one request and is then closed. The thread lives
/// until the test process exits.
pub struct FakeServer {
    pub base_url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// What a [`FakeServer`] does with one request.
pub enum Reply {
    /// Write these bytes, then close the connection.
    Bytes(Vec<u8>),
    /// Close the connection without writing anything.
    Close,
    /// Keep the connection open and never answer.
    Hang,
}

impl FakeServer {
    pub fn start(respond: impl Fn(&str) -> Reply + Send + 'static) -> FakeServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            let mut hung = Vec::new();
            for connection in listener.incoming() {
                let Ok(mut connection) = connection else {
                    continue;
                };
                let _ = connection.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut byte = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match connection.read(&mut byte) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&byte[..n]),
                    }
                }
                let head_end = buf
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(buf.len(), |p| p + 4);
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let body_len = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                let mut have = buf.len() - head_end;
                while have < body_len {
                    match connection.read(&mut byte) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => have += n,
                    }
                }
                log.lock().unwrap().push(head.clone());
                match respond(&head) {
                    Reply::Bytes(bytes) => {
                        let _ = connection.write_all(&bytes);
                        let _ = connection.flush();
                        let _ = connection.shutdown(std::net::Shutdown::Both);
                    }
                    Reply::Close => {
                        let _ = connection.shutdown(std::net::Shutdown::Both);
                    }
                    Reply::Hang => hung.push(connection),
                }
            }
        });
        FakeServer { base_url, requests }
    }

    /// The URL of a stream on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The heads of all requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A complete HTTP/1.1 response with `Connection: close` and a `Content-Length`.
pub fn http_response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Reply::Bytes(bytes)
}

/// A local port on which nothing listens (bound, then released).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

impl Ctx {
    /// The URL path of `stream` on this server (what fault injection's `path` matches).
    pub fn path_of(&self, stream: &Stream) -> String {
        stream
            .url()
            .strip_prefix(self.server.base_url())
            .expect("the stream lives on this server")
            .to_string()
    }
}

/// Producer options whose error callback collects background errors, and the collection.
pub fn error_sink() -> (
    std::sync::Arc<std::sync::Mutex<Vec<durable_streams_core::ProducerError>>>,
    durable_streams_core::ProducerOptions,
) {
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = errors.clone();
    let options = durable_streams_core::ProducerOptions {
        on_error: Some(std::sync::Arc::new(
            move |e: &durable_streams_core::ProducerError| {
                sink.lock().unwrap().push(e.clone());
            },
        )),
        ..durable_streams_core::ProducerOptions::default()
    };
    (errors, options)
}
