//! A fault-injecting TCP proxy, for protocols the HTTP/1.1 [`FaultProxy`](crate::FaultProxy)
//! cannot parse: S2's SDK speaks HTTP/2 (h2c to `s2 lite`).
//!
//! It listens on 127.0.0.1 (a free port) and opens one upstream connection per client connection.
//! Two threads per connection relay the bytes, one each way. Faults are drawn from a seeded
//! generator for each client→server read chunk of at least [`TcpFaultPlan::min_chunk_bytes`]
//! (smaller chunks are HTTP/2 pings, settings and window updates, not requests): drop the
//! connection before forwarding the chunk, forward it and then drop the connection without
//! relaying the server's reply (the server acted on a request the client never hears about), or
//! delay it. Every fault applied is counted, so a test can check that the faults really happened.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::HarnessError;

/// Bytes read at a time from either side.
const RELAY_BUFFER_BYTES: usize = 16 * 1024;
/// How long connecting to the upstream may take.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which faults to inject, as probabilities per eligible client→server chunk (at most one drop
/// per chunk, plus an optional delay before it is forwarded).
#[derive(Debug, Clone, PartialEq)]
pub struct TcpFaultPlan {
    /// Seed of the fault generator (the same seed and traffic give the same faults).
    pub seed: u64,
    /// Close both sides without forwarding the chunk.
    pub drop_before: f64,
    /// Forward the chunk, wait [`drop_after_wait`](Self::drop_after_wait), then close both sides
    /// without relaying anything the server answered after the chunk.
    pub drop_after: f64,
    /// Sleep between `min_delay` and `max_delay` (uniformly drawn) before forwarding.
    pub delay: f64,
    /// The shortest delay.
    pub min_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Chunks shorter than this are always forwarded untouched (default 64 bytes).
    pub min_chunk_bytes: usize,
    /// How long a `drop_after` waits for the server to act on the chunk (default 50 ms).
    pub drop_after_wait: Duration,
}

impl Default for TcpFaultPlan {
    /// No faults.
    fn default() -> Self {
        TcpFaultPlan {
            seed: 0,
            drop_before: 0.0,
            drop_after: 0.0,
            delay: 0.0,
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            min_chunk_bytes: 64,
            drop_after_wait: Duration::from_millis(50),
        }
    }
}

/// How many chunks were forwarded and how many faults of each kind were applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFaultCounts {
    /// Eligible chunks forwarded without a drop (possibly delayed).
    pub forwarded: u64,
    /// Connections closed before forwarding a chunk.
    pub drop_before: u64,
    /// Connections closed after forwarding a chunk, without the server's reply.
    pub drop_after: u64,
    /// Chunks delayed.
    pub delayed: u64,
    /// Client connections closed because the upstream refused the connection (server down).
    pub upstream_unreachable: u64,
}

impl TcpFaultCounts {
    /// Dropped connections of both kinds (delays excluded).
    pub fn faults(&self) -> u64 {
        self.drop_before + self.drop_after
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    DropBefore,
    DropAfter,
}

/// Both sockets of one proxied connection, so that [`TcpFaultProxy`]'s drop can shut them down.
struct Sockets {
    client: TcpStream,
    upstream: TcpStream,
}

impl Sockets {
    fn shutdown(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.upstream.shutdown(Shutdown::Both);
    }
}

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<TcpFaultPlan>,
    rng: Mutex<u64>,
    counts: Mutex<TcpFaultCounts>,
    stopping: AtomicBool,
    connections: AtomicU64,
    open: Mutex<HashMap<u64, Sockets>>,
}

/// A running TCP proxy; stops accepting and closes every connection when dropped.
pub struct TcpFaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TcpFaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpFaultProxy")
            .field("address", &self.address)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl TcpFaultProxy {
    /// Starts a proxy on 127.0.0.1 (a free port) in front of `upstream`: `127.0.0.1:port`, or
    /// an `http://127.0.0.1:port` endpoint.
    pub fn start(upstream: &str, plan: TcpFaultPlan) -> Result<TcpFaultProxy, HarnessError> {
        let upstream = parse_upstream(upstream)?;
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| HarnessError::Io {
                context: "binding the TCP fault proxy on 127.0.0.1".into(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| HarnessError::Io {
            context: "reading the TCP fault proxy address".into(),
            source,
        })?;
        let shared = Arc::new(Shared {
            upstream,
            rng: Mutex::new(plan.seed),
            plan: Mutex::new(plan),
            counts: Mutex::new(TcpFaultCounts::default()),
            stopping: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        });
        let accept_shared = shared.clone();
        let accept_thread = thread::Builder::new()
            .name("tcp-fault-proxy-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .map_err(|source| HarnessError::Io {
                context: "starting the TCP fault proxy".into(),
                source,
            })?;
        Ok(TcpFaultProxy {
            address,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// The proxy's endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The proxy's listening address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Replaces the fault plan (and reseeds the generator with its seed) for every chunk from
    /// now on, including on open connections. `TcpFaultPlan::default()` disables faults.
    pub fn set_plan(&self, plan: TcpFaultPlan) {
        *lock(&self.shared.rng) = plan.seed;
        *lock(&self.shared.plan) = plan;
    }

    /// Chunks forwarded and faults applied so far.
    pub fn counts(&self) -> TcpFaultCounts {
        *lock(&self.shared.counts)
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for TcpFaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(accept_thread) = self.accept_thread.take() {
            let _ = accept_thread.join();
        }
        // Shutting the sockets down ends every relay thread's blocking read or write.
        for sockets in lock(&self.shared.open).values() {
            sockets.shutdown();
        }
    }
}

fn parse_upstream(upstream: &str) -> Result<SocketAddr, HarnessError> {
    let authority = upstream.strip_prefix("http://").unwrap_or(upstream);
    let authority = authority.split('/').next().unwrap_or(authority);
    authority.parse().map_err(|e| {
        HarnessError::Http(format!(
            "TCP fault proxy upstream {upstream:?} is not host:port or http://host:port: {e}"
        ))
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        next_id += 1;
        let id = next_id;
        let shared = shared.clone();
        let _ = thread::Builder::new()
            .name("tcp-fault-proxy-conn".into())
            .spawn(move || serve(id, client, &shared));
    }
}

/// Relays one client connection until either side closes or a fault drops it.
fn serve(id: u64, client: TcpStream, shared: &Arc<Shared>) {
    let upstream = match TcpStream::connect_timeout(&shared.upstream, UPSTREAM_CONNECT_TIMEOUT) {
        Ok(upstream) => upstream,
        Err(_) => {
            lock(&shared.counts).upstream_unreachable += 1;
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (Ok(client_for_registry), Ok(upstream_for_registry)) =
        (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    {
        let mut open = lock(&shared.open);
        // The proxy may have been dropped while we connected: its sweep is over, so stop here.
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        open.insert(
            id,
            Sockets {
                client: client_for_registry,
                upstream: upstream_for_registry,
            },
        );
    }
    // Set before a drop_after's chunk is forwarded: from then on the server's bytes are discarded.
    let severed = Arc::new(AtomicBool::new(false));
    let replies = match (upstream.try_clone(), client.try_clone()) {
        (Ok(from), Ok(to)) => {
            let severed = severed.clone();
            thread::Builder::new()
                .name("tcp-fault-proxy-reply".into())
                .spawn(move || relay_replies(from, to, &severed))
                .ok()
        }
        _ => None,
    };
    if replies.is_some() {
        relay_requests(&client, &upstream, shared, &severed);
    }
    if let Some(replies) = replies {
        let _ = replies.join();
    }
    if let Some(sockets) = lock(&shared.open).remove(&id) {
        sockets.shutdown();
    }
}

/// Client → server, applying the fault plan to every chunk that is not tiny.
fn relay_requests(
    mut client: &TcpStream,
    mut upstream: &TcpStream,
    shared: &Shared,
    severed: &AtomicBool,
) {
    let close_both = || {
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
    };
    let mut buffer = vec![0u8; RELAY_BUFFER_BYTES];
    loop {
        let n = match client.read(&mut buffer) {
            Ok(0) => {
                // The client is done sending; the server may still answer.
                let _ = upstream.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                close_both();
                return;
            }
        };
        let (fault, delay, drop_after_wait) = draw(shared, n);
        if let Some(delay) = delay {
            thread::sleep(delay);
        }
        match fault {
            Fault::DropBefore => {
                close_both();
                return;
            }
            Fault::DropAfter => {
                severed.store(true, Ordering::SeqCst);
                let _ = upstream.write_all(&buffer[..n]);
                thread::sleep(drop_after_wait);
                close_both();
                return;
            }
            Fault::None => {
                if upstream.write_all(&buffer[..n]).is_err() {
                    close_both();
                    return;
                }
            }
        }
    }
}

/// Server → client, untouched, until a `drop_after` severs the connection.
fn relay_replies(mut upstream: TcpStream, mut client: TcpStream, severed: &AtomicBool) {
    let mut buffer = vec![0u8; RELAY_BUFFER_BYTES];
    loop {
        let n = match upstream.read(&mut buffer) {
            Ok(0) => {
                let _ = client.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
        };
        if severed.load(Ordering::SeqCst) {
            return; // the request side closes both sockets
        }
        if client.write_all(&buffer[..n]).is_err() {
            let _ = upstream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Draws the fault (and delay) for a client chunk of `len` bytes and counts it.
fn draw(shared: &Shared, len: usize) -> (Fault, Option<Duration>, Duration) {
    let plan = lock(&shared.plan).clone();
    if len < plan.min_chunk_bytes {
        return (Fault::None, None, plan.drop_after_wait);
    }
    let (delay, roll) = {
        let mut state = lock(&shared.rng);
        let delay = (next_unit(&mut state) < plan.delay).then(|| {
            let spread = plan.max_delay.saturating_sub(plan.min_delay);
            plan.min_delay + spread.mul_f64(next_unit(&mut state))
        });
        (delay, next_unit(&mut state))
    };
    let fault = if roll < plan.drop_before {
        Fault::DropBefore
    } else if roll < plan.drop_before + plan.drop_after {
        Fault::DropAfter
    } else {
        Fault::None
    };
    let mut counts = lock(&shared.counts);
    match fault {
        Fault::None => counts.forwarded += 1,
        Fault::DropBefore => counts.drop_before += 1,
        Fault::DropAfter => counts.drop_after += 1,
    }
    if delay.is_some() {
        counts.delayed += 1;
    }
    (fault, delay, plan.drop_after_wait)
}

/// A uniform draw in [0, 1) from a SplitMix64 state (any seed works, including 0).
fn next_unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    /// A TCP echo server on 127.0.0.1 that counts the bytes it received.
    struct EchoServer {
        address: SocketAddr,
        received: Arc<AtomicUsize>,
    }

    impl EchoServer {
        fn start() -> EchoServer {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            let address = listener.local_addr().unwrap();
            let received = Arc::new(AtomicUsize::new(0));
            let counter = received.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    let counter = counter.clone();
                    thread::spawn(move || {
                        let mut buffer = [0u8; 4096];
                        while let Ok(n) = stream.read(&mut buffer) {
                            if n == 0 {
                                return;
                            }
                            counter.fetch_add(n, Ordering::SeqCst);
                            if stream.write_all(&buffer[..n]).is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            EchoServer { address, received }
        }

        fn received(&self) -> usize {
            self.received.load(Ordering::SeqCst)
        }
    }

    fn connect(proxy: &TcpFaultProxy) -> TcpStream {
        let stream = TcpStream::connect(proxy.address()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
    }

    /// Reads exactly `len` bytes.
    fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
        let mut data = vec![0u8; len];
        stream.read_exact(&mut data).unwrap();
        data
    }

    /// True when the proxy closed the connection: EOF or a reset, not a timeout.
    fn closed_by_proxy(stream: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ),
        }
    }

    fn wait_until(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn bytes_are_relayed_both_ways_without_faults() {
        let echo = EchoServer::start();
        let proxy =
            TcpFaultProxy::start(&echo.address.to_string(), TcpFaultPlan::default()).unwrap();
        assert_eq!(proxy.endpoint(), format!("http://{}", proxy.address()));
        let mut client = connect(&proxy);
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let writer = {
            let mut client = client.try_clone().unwrap();
            let payload = payload.clone();
            thread::spawn(move || client.write_all(&payload).unwrap())
        };
        assert_eq!(read_exactly(&mut client, payload.len()), payload);
        writer.join().unwrap();
        assert_eq!(proxy.connections(), 1);
        let counts = proxy.counts();
        assert!(counts.forwarded > 0, "{counts:?}");
        assert_eq!(counts.faults(), 0, "{counts:?}");
    }

    #[test]
    fn an_http_endpoint_is_accepted_as_upstream() {
        let echo = EchoServer::start();
        let proxy = TcpFaultProxy::start(
            &format!("http://{}/ignored/path", echo.address),
            TcpFaultPlan::default(),
        )
        .unwrap();
        let mut client = connect(&proxy);
        client.write_all(b"ping").unwrap();
        assert_eq!(read_exactly(&mut client, 4), b"ping");
        assert!(TcpFaultProxy::start("not an address", TcpFaultPlan::default()).is_err());
    }

    #[test]
    fn drop_before_closes_without_forwarding() {
        let echo = EchoServer::start();
        let plan = TcpFaultPlan {
            drop_before: 1.0,
            ..TcpFaultPlan::default()
        };
        let proxy = TcpFaultProxy::start(&echo.address.to_string(), plan).unwrap();
        let mut client = connect(&proxy);
        client.write_all(&[7u8; 100]).unwrap();
        assert!(closed_by_proxy(&mut client));
        assert_eq!(echo.received(), 0, "the chunk must not reach the server");
        assert_eq!(proxy.counts().drop_before, 1);
    }

    #[test]
    fn drop_after_forwards_then_closes_without_the_reply() {
        let echo = EchoServer::start();
        let plan = TcpFaultPlan {
            drop_after: 1.0,
            ..TcpFaultPlan::default()
        };
        let proxy = TcpFaultProxy::start(&echo.address.to_string(), plan).unwrap();
        let mut client = connect(&proxy);
        client.write_all(&[9u8; 100]).unwrap();
        assert!(
            closed_by_proxy(&mut client),
            "no echoed byte may reach the client"
        );
        wait_until("the server to receive the chunk", || echo.received() == 100);
        assert_eq!(proxy.counts().drop_after, 1);
    }

    #[test]
    fn tiny_chunks_are_never_faulted() {
        let echo = EchoServer::start();
        let plan = TcpFaultPlan {
            drop_before: 1.0,
            min_chunk_bytes: 64,
            ..TcpFaultPlan::default()
        };
        let proxy = TcpFaultProxy::start(&echo.address.to_string(), plan).unwrap();
        let mut client = connect(&proxy);
        for _ in 0..3 {
            client.write_all(&[1u8; 63]).unwrap();
            assert_eq!(read_exactly(&mut client, 63), [1u8; 63]);
        }
        assert_eq!(proxy.counts(), TcpFaultCounts::default());
    }

    #[test]
    fn delays_hold_chunks_back() {
        let echo = EchoServer::start();
        let plan = TcpFaultPlan {
            delay: 1.0,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(200),
            ..TcpFaultPlan::default()
        };
        let proxy = TcpFaultProxy::start(&echo.address.to_string(), plan).unwrap();
        let mut client = connect(&proxy);
        let started = Instant::now();
        client.write_all(&[3u8; 100]).unwrap();
        assert_eq!(read_exactly(&mut client, 100), [3u8; 100]);
        assert!(started.elapsed() >= Duration::from_millis(200));
        let counts = proxy.counts();
        assert_eq!((counts.delayed, counts.forwarded), (1, 1), "{counts:?}");
    }

    #[test]
    fn faults_follow_the_seed() {
        let plan = TcpFaultPlan {
            seed: 42,
            drop_before: 0.3,
            drop_after: 0.3,
            ..TcpFaultPlan::default()
        };
        let draws = || {
            let proxy = TcpFaultProxy::start("127.0.0.1:9", plan.clone()).unwrap();
            (0..200)
                .map(|_| format!("{:?}", draw(&proxy.shared, 100).0))
                .collect::<Vec<_>>()
        };
        let first = draws();
        assert_eq!(first, draws());
        let drops = first.iter().filter(|f| f.starts_with("Drop")).count();
        assert!((80..160).contains(&drops), "{drops} drops of 200 at 60%");
    }

    #[test]
    fn set_plan_changes_faults_at_runtime() {
        let echo = EchoServer::start();
        let plan = TcpFaultPlan {
            drop_before: 1.0,
            ..TcpFaultPlan::default()
        };
        let proxy = TcpFaultProxy::start(&echo.address.to_string(), plan).unwrap();
        let mut dropped = connect(&proxy);
        dropped.write_all(&[5u8; 100]).unwrap();
        assert!(closed_by_proxy(&mut dropped));

        proxy.set_plan(TcpFaultPlan::default());
        let mut relayed = connect(&proxy);
        relayed.write_all(&[6u8; 100]).unwrap();
        assert_eq!(read_exactly(&mut relayed, 100), [6u8; 100]);
        assert_eq!(proxy.connections(), 2);
        let counts = proxy.counts();
        assert_eq!((counts.drop_before, counts.forwarded), (1, 1), "{counts:?}");
    }

    #[test]
    fn an_unreachable_upstream_closes_the_client_and_is_counted() {
        // A port that was free a moment ago: nothing listens there.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let proxy =
            TcpFaultProxy::start(&format!("127.0.0.1:{port}"), TcpFaultPlan::default()).unwrap();
        let mut client = connect(&proxy);
        assert!(closed_by_proxy(&mut client));
        wait_until("the refusal to be counted", || {
            proxy.counts().upstream_unreachable == 1
        });
    }

    #[test]
    fn dropping_the_proxy_closes_open_connections_and_stops_listening() {
        let echo = EchoServer::start();
        let proxy =
            TcpFaultProxy::start(&echo.address.to_string(), TcpFaultPlan::default()).unwrap();
        let address = proxy.address();
        let mut idle = connect(&proxy);
        idle.write_all(b"hello").unwrap();
        assert_eq!(read_exactly(&mut idle, 5), b"hello");
        let shared = Arc::downgrade(&proxy.shared);

        let started = Instant::now();
        drop(proxy);
        assert!(started.elapsed() < Duration::from_secs(2), "drop is prompt");
        assert!(closed_by_proxy(&mut idle), "the idle connection is closed");
        assert!(
            TcpStream::connect(address).is_err(),
            "nothing listens after drop"
        );
        // Every relay thread ends, releasing its share of the proxy state.
        wait_until("the relay threads to end", || shared.upgrade().is_none());
    }
}
