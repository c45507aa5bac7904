//! A fault-injecting HTTP/1.1 proxy for tests, usable in front of either server.
//!
//! The Node server's own fault injection acts before a request is processed. This proxy can also
//! act *after* the server has processed it: forward a write, then drop the connection or answer
//! 5xx instead of the server's reply. That is the case exactly-once delivery must survive: the
//! write was stored, but the client never learned it was.
//!
//! One thread per client connection, one upstream connection per client connection, requests
//! handled in order. Responses must be complete messages (not endless SSE or long-poll streams);
//! put the proxy in front of writes, and read through the server directly. Faults are drawn from a seeded generator, and every fault applied is counted,
//! so a test can check the faults really happened.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::HarnessError;

/// Which faults to inject, as probabilities per eligible request (checked in this order; at most
/// one fault per request, plus an optional delay).
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Only requests with this method are eligible (`None`: all).
    pub method: Option<String>,
    /// Answer 503 with `Retry-After: 0` without forwarding.
    pub unavailable_before: f64,
    /// Answer 429 with `Retry-After: 0` without forwarding.
    pub too_many_requests: f64,
    /// Close the connection without forwarding.
    pub drop_before: f64,
    /// Forward, then close the connection instead of relaying the answer.
    pub drop_after: f64,
    /// Forward, then answer 503 instead of relaying the answer.
    pub unavailable_after: f64,
    /// Delay the forwarding by `min_delay` to `max_delay` (uniformly drawn).
    pub delay: f64,
    /// The shortest delay.
    pub min_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Add this much to the `Producer-Seq` header of the first eligible request (0: never).
    pub skew_first_producer_seq: u64,
    /// Seed of the fault generator.
    pub seed: u64,
}

/// How many faults of each kind were applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Requests relayed untouched (possibly delayed).
    pub forwarded: u64,
    /// 503 answered before forwarding.
    pub unavailable_before: u64,
    /// 429 answered before forwarding.
    pub too_many_requests: u64,
    /// Connections closed before forwarding.
    pub drop_before: u64,
    /// Connections closed after the server processed the request.
    pub drop_after: u64,
    /// 503 answered after the server processed the request.
    pub unavailable_after: u64,
    /// Requests delayed.
    pub delayed: u64,
}

impl FaultCounts {
    /// Faults of every kind, delays excluded.
    pub fn faults(&self) -> u64 {
        self.unavailable_before
            + self.too_many_requests
            + self.drop_before
            + self.drop_after
            + self.unavailable_after
    }
}

struct Shared {
    upstream: SocketAddr,
    plan: FaultPlan,
    rng: Mutex<u64>,
    counts: Mutex<FaultCounts>,
    skew_pending: AtomicBool,
    stopping: AtomicBool,
    connections: AtomicU64,
}

/// A running proxy; stops accepting when dropped.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1` forwarding to the server at `upstream_base_url`
    /// (`http://host:port`).
    pub fn start(upstream_base_url: &str, plan: FaultPlan) -> Result<FaultProxy, HarnessError> {
        let authority = upstream_base_url
            .strip_prefix("http://")
            .map(|rest| rest.split('/').next().unwrap_or(rest))
            .ok_or_else(|| HarnessError::Http(format!("not an http URL: {upstream_base_url}")))?;
        let upstream: SocketAddr = authority
            .parse()
            .map_err(|e| HarnessError::Http(format!("{authority:?} is not host:port: {e}")))?;
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| HarnessError::Io {
                context: "binding the fault proxy".into(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| HarnessError::Io {
            context: "reading the fault proxy address".into(),
            source,
        })?;
        let shared = Arc::new(Shared {
            upstream,
            skew_pending: AtomicBool::new(plan.skew_first_producer_seq > 0),
            rng: Mutex::new(plan.seed | 1),
            plan,
            counts: Mutex::new(FaultCounts::default()),
            stopping: AtomicBool::new(false),
            connections: AtomicU64::new(0),
        });
        let accept_shared = shared.clone();
        thread::Builder::new()
            .name("fault-proxy-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .map_err(|source| HarnessError::Io {
                context: "starting the fault proxy".into(),
                source,
            })?;
        Ok(FaultProxy { address, shared })
    }

    /// The proxy's base URL (`http://127.0.0.1:port`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Rewrites a server URL (same server as upstream) to go through the proxy.
    pub fn proxied(&self, server_url: &str) -> String {
        let upstream = format!("http://{}", self.shared.upstream);
        match server_url.strip_prefix(&upstream) {
            Some(rest) => format!("{}{rest}", self.base_url()),
            None => server_url.to_string(),
        }
    }

    /// The faults applied so far.
    pub fn counts(&self) -> FaultCounts {
        *lock(&self.shared.counts)
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::Relaxed) {
            return;
        }
        let Ok(client) = client else { continue };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        let _ = thread::Builder::new()
            .name("fault-proxy-conn".into())
            .spawn(move || {
                // A broken connection just ends this thread; the client sees the break.
                let _ = serve(client, &shared);
            });
    }
}

/// One HTTP message: head (start line + headers, CRLF-terminated) and body.
struct Message {
    head: Vec<u8>,
    body: Vec<u8>,
}

enum Fault {
    None,
    StatusBefore(u16),
    DropBefore,
    DropAfter,
    StatusAfter(u16),
}

fn serve(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    let mut upstream: Option<(BufReader<TcpStream>, TcpStream)> = None;
    loop {
        let Some(request) = read_message(&mut reader)? else {
            return Ok(());
        };
        let request_line =
            String::from_utf8_lossy(request.head.split(|b| *b == b'\n').next().unwrap_or(&[]))
                .to_string();
        let method = request_line.split(' ').next().unwrap_or("").to_string();
        let eligible = shared
            .plan
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&method));
        let (fault, delay) = if eligible {
            draw(shared)
        } else {
            (Fault::None, None)
        };
        if let Some(delay) = delay {
            thread::sleep(delay);
        }
        match fault {
            Fault::StatusBefore(status) => {
                write_status(&mut writer, status)?;
                continue;
            }
            Fault::DropBefore => {
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            _ => {}
        }
        let mut request = request;
        if eligible && shared.skew_pending.swap(false, Ordering::Relaxed) {
            request.head = skew_producer_seq(&request.head, shared.plan.skew_first_producer_seq);
        }
        if upstream.is_none() {
            let stream = TcpStream::connect(shared.upstream)?;
            stream.set_nodelay(true)?;
            upstream = Some((BufReader::new(stream.try_clone()?), stream));
        }
        let Some((up_reader, up_writer)) = upstream.as_mut() else {
            return Ok(());
        };
        up_writer.write_all(&request.head)?;
        up_writer.write_all(&request.body)?;
        let is_head = method.eq_ignore_ascii_case("HEAD");
        let Some(response) = read_response(up_reader, is_head)? else {
            return Ok(());
        };
        match fault {
            Fault::DropAfter => {
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Fault::StatusAfter(status) => write_status(&mut writer, status)?,
            _ => {
                writer.write_all(&response.head)?;
                writer.write_all(&response.body)?;
            }
        }
        if header(&response.head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return Ok(());
        }
    }
}

fn draw(shared: &Shared) -> (Fault, Option<Duration>) {
    let plan = &shared.plan;
    let mut rng = lock(&shared.rng);
    let mut next = || {
        // xorshift64*: deterministic per seed, good enough for fault schedules.
        *rng ^= *rng >> 12;
        *rng ^= *rng << 25;
        *rng ^= *rng >> 27;
        (rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let delay = (next() < plan.delay).then(|| {
        let spread = plan.max_delay.saturating_sub(plan.min_delay);
        plan.min_delay + spread.mul_f64(next())
    });
    let roll = next();
    let mut threshold = 0.0;
    let mut pick = |p: f64| {
        threshold += p;
        roll < threshold
    };
    let fault = if pick(plan.unavailable_before) {
        Fault::StatusBefore(503)
    } else if pick(plan.too_many_requests) {
        Fault::StatusBefore(429)
    } else if pick(plan.drop_before) {
        Fault::DropBefore
    } else if pick(plan.drop_after) {
        Fault::DropAfter
    } else if pick(plan.unavailable_after) {
        Fault::StatusAfter(503)
    } else {
        Fault::None
    };
    drop(rng);
    let mut counts = lock(&shared.counts);
    match fault {
        Fault::None => counts.forwarded += 1,
        Fault::StatusBefore(503) => counts.unavailable_before += 1,
        Fault::StatusBefore(_) => counts.too_many_requests += 1,
        Fault::DropBefore => counts.drop_before += 1,
        Fault::DropAfter => counts.drop_after += 1,
        Fault::StatusAfter(_) => counts.unavailable_after += 1,
    }
    if delay.is_some() {
        counts.delayed += 1;
    }
    (fault, delay)
}

fn write_status(writer: &mut TcpStream, status: u16) -> std::io::Result<()> {
    let body = b"injected by the test proxy";
    let reason = if status == 429 {
        "Too Many Requests"
    } else {
        "Service Unavailable"
    };
    write!(
        writer,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\nretry-after: 0\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )?;
    writer.write_all(body)
}

fn skew_producer_seq(head: &[u8], skew: u64) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(text.len() + 4);
    for line in text.split_inclusive("\r\n") {
        let lower = line.to_ascii_lowercase();
        match lower.strip_prefix("producer-seq:") {
            Some(value) => match value.trim().parse::<u64>() {
                Ok(seq) => out.push_str(&format!("producer-seq: {}\r\n", seq + skew)),
                Err(_) => out.push_str(line),
            },
            None => out.push_str(line),
        }
    }
    out.into_bytes()
}

fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

fn read_head(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        let blank = line == b"\r\n" || line == b"\n";
        head.extend_from_slice(&line);
        if blank && head.len() > line.len() {
            return Ok(Some(head));
        }
        if blank {
            head.clear();
        }
    }
}

fn read_message(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Message>> {
    let Some(head) = read_head(reader)? else {
        return Ok(None);
    };
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Message { head, body }))
}

/// Reads a response, keeping chunked bodies in their chunked form for relaying.
fn read_response(
    reader: &mut BufReader<TcpStream>,
    is_head: bool,
) -> std::io::Result<Option<Message>> {
    let Some(head) = read_head(reader)? else {
        return Ok(None);
    };
    let status: u16 = String::from_utf8_lossy(&head)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = Vec::new();
    if is_head || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Some(Message { head, body }));
    }
    if header(&head, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let mut size_line = Vec::new();
            reader.read_until(b'\n', &mut size_line)?;
            body.extend_from_slice(&size_line);
            let size_text = String::from_utf8_lossy(&size_line);
            let size = usize::from_str_radix(size_text.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            if size == 0 {
                return Ok(Some(Message { head, body }));
            }
        }
    }
    match header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok(Some(Message { head, body }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_seq_is_skewed_case_insensitively() {
        let head = b"POST /s HTTP/1.1\r\nProducer-Seq: 3\r\nhost: x\r\n\r\n";
        let skewed = String::from_utf8(skew_producer_seq(head, 5)).unwrap();
        assert!(skewed.contains("producer-seq: 8\r\n"));
        assert!(skewed.ends_with("\r\n\r\n"));
    }

    #[test]
    fn headers_are_found_by_name() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n";
        assert_eq!(header(head, "content-length").as_deref(), Some("12"));
        assert_eq!(header(head, "x"), None);
    }
}
