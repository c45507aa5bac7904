//! Starts real Durable Streams servers on `127.0.0.1` for integration tests.
//!
//! Two servers are supported (see [`ServerKind`]): Electric's Rust server
//! (`durable-streams-server`, crate `durable-streams`) and the Node.js reference server
//! (npm `@durable-streams/server`). Both are found or installed on first use under
//! `<workspace>/target/test-servers/`, started on a free port, checked to answer HTTP,
//! and stopped when the [`TestServer`] is dropped.
//!
//! [`TestServer::restart`] kills Electric's server (a crash) and starts it again on the same
//! port and data directory, for tests of what survives a server restart.
//!
//! [`S2Lite`] runs S2's `s2 lite` for the S2 backend, only inside a network namespace of its own
//! (it always listens on `0.0.0.0`; see [`s2`]), and [`TcpFaultProxy`] injects connection faults
//! at the TCP level, for HTTP/2 clients.
//!
//! The API is blocking and needs no async runtime, so it works from plain `#[test]`s,
//! from `#[tokio::test]`s and from the `ds-test-servers` binary used by other languages.
//!
//! ```no_run
//! use durable_streams_test_harness::{all_kinds, TestServer};
//!
//! for kind in all_kinds() {
//!     let server = TestServer::start(kind).expect("server starts");
//!     let url = server.stream_url("my-stream");
//!     // ... exercise the client against `url` ...
//! }
//! ```
//!
//! Environment overrides: `DS_TEST_SERVERS_DIR` (install dir), `DS_ELECTRIC_SERVER_BIN`
//! (prebuilt Electric binary), `DS_NODE_SERVER_DIR` (dir with the npm package),
//! `DS_NODE_BIN` / `DS_NPM_BIN` (node and npm executables).

pub mod http;
mod install;
pub mod proxy;
pub mod s2;
mod server_dir;
pub mod tcp_proxy;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use server_dir::ServerDir;

pub use install::{
    ELECTRIC_CRATE_VERSION, NODE_PACKAGE_VERSION, S2_CLI_CRATE_VERSION, electric_server_bin,
    node_server_dir, s2_lite_bin, test_servers_dir, workspace_dir,
};
pub use proxy::{FaultCounts, FaultPlan, FaultProxy};
pub use s2::{S2Lite, S2LiteOptions, in_isolated_network_namespace};
pub use tcp_proxy::{TcpFaultCounts, TcpFaultPlan, TcpFaultProxy};

/// How long a started server gets to answer HTTP before [`TestServer::start`] fails.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Stream path prefix of the Node reference server. It serves streams at any path, but
/// reserves `/v1/stream/__ds/...` for its own control routes, so `/v1/stream` is its
/// intended layout.
const NODE_STREAM_PREFIX: &str = "/v1/stream";
/// Electric's server serves streams at any path directly under the root (only
/// `/health` is taken).
const ELECTRIC_STREAM_PREFIX: &str = "";

/// A path that no test creates; `HEAD` on it must answer 404 once a server is up.
const PROBE_STREAM: &str = "__ds_harness_readiness_probe__";

/// Errors from starting, installing or talking to a test server.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Finding or installing a server failed.
    #[error("installing the {what} failed: {detail}")]
    Install {
        /// Which server.
        what: &'static str,
        /// What went wrong, including install log output.
        detail: String,
    },
    /// A server process could not be started or did not become ready.
    #[error(
        "starting the {kind} server failed: {detail}\n--- server stderr (tail) ---\n{stderr_tail}"
    )]
    Start {
        /// Which server.
        kind: ServerKind,
        /// What went wrong.
        detail: String,
        /// The last lines the server wrote to stderr.
        stderr_tail: String,
    },
    /// `s2 lite` could not be started or did not become ready.
    #[error("starting s2 lite failed: {detail}\n--- server stderr (tail) ---\n{stderr_tail}")]
    S2LiteStart {
        /// What went wrong.
        detail: String,
        /// The last lines the server wrote to stderr.
        stderr_tail: String,
    },
    /// `s2 lite` was not started because this process is not in a network namespace of its own
    /// (lite always listens on every interface); the text says how to run it.
    #[error("{0}")]
    NetworkNotIsolated(String),
    /// The server answered an HTTP request unexpectedly, or the response was malformed.
    #[error("HTTP error: {0}")]
    Http(String),
    /// The operation is not supported by this server (e.g. fault injection on Electric).
    #[error("{0}")]
    Unsupported(String),
}

/// Which real server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// Electric's high-performance Rust server (`durable-streams-server`).
    Electric,
    /// The Node.js reference server (`@durable-streams/server`), with fault injection.
    Node,
}

impl ServerKind {
    /// Lower-case name: `"electric"` or `"node"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Electric => "electric",
            ServerKind::Node => "node",
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServerKind {
    type Err = HarnessError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "electric" | "rust" => Ok(ServerKind::Electric),
            "node" => Ok(ServerKind::Node),
            other => Err(HarnessError::Unsupported(format!(
                "unknown server kind {other:?} (expected electric or node)"
            ))),
        }
    }
}

/// Both servers, for tests that must run against each.
pub fn all_kinds() -> [ServerKind; 2] {
    [ServerKind::Electric, ServerKind::Node]
}

/// Options for [`TestServer::start_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// How long a `live=long-poll` read waits before answering 204 (default 1000 ms, so
    /// tests do not sit through the servers' 30 s default).
    pub long_poll_timeout_ms: u64,
    /// Electric only: `--durability memory` (no fsync) instead of the default `wal`.
    pub durability_memory: bool,
    /// Node only: enable webhook subscriptions (the server's `webhooks: true`). Deliveries go
    /// to the webhook URL of each subscription, which the server accepts only as `https://`
    /// or `http://localhost` / `http://127.0.0.x`. Electric's server has no subscriptions and
    /// ignores this.
    pub webhooks: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            long_poll_timeout_ms: 1000,
            durability_memory: false,
            webhooks: false,
        }
    }
}

/// A running server process; stopped (killed and reaped) on drop.
pub struct TestServer {
    kind: ServerKind,
    base_url: String,
    stream_prefix_url: String,
    child: Child,
    /// Node: the server exits when this pipe closes (also if we die without dropping).
    stdin: Option<ChildStdin>,
    /// Electric: a `sh` that kills the server when this process goes away without
    /// running `Drop` (SIGKILL, panics with `panic=abort`, never-dropped statics).
    watchdog: Option<Watchdog>,
    /// Electric: how to start the same server again (for [`TestServer::restart`]).
    launch: Option<ElectricLaunch>,
    stderr_path: PathBuf,
    // Declared last: removed only after the process is gone.
    _tempdir: ServerDir,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts a server of `kind` with [`ServerOptions::default`].
    pub fn start(kind: ServerKind) -> Result<TestServer, HarnessError> {
        Self::start_with(kind, &ServerOptions::default())
    }

    /// Starts a server of `kind`, installing it first if needed, and waits until it
    /// answers HTTP (at most [`READY_TIMEOUT`]).
    pub fn start_with(kind: ServerKind, opts: &ServerOptions) -> Result<TestServer, HarnessError> {
        match kind {
            ServerKind::Electric => start_electric(opts),
            ServerKind::Node => start_node(opts),
        }
    }

    /// Which server this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// Base URL without trailing slash, e.g. `http://127.0.0.1:43123`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// URL under which this server's streams live, without trailing slash:
    /// the base URL for Electric, `<base>/v1/stream` for Node.
    pub fn stream_prefix_url(&self) -> &str {
        &self.stream_prefix_url
    }

    /// Full URL of the stream `name` (leading slashes in `name` are ignored).
    pub fn stream_url(&self, name: &str) -> String {
        format!(
            "{}/{}",
            self.stream_prefix_url,
            name.trim_start_matches('/')
        )
    }

    /// Path part of [`stream_url`](Self::stream_url), e.g. `/v1/stream/name`: what
    /// fault injection's `path` and `Stream-Forked-From` expect.
    pub fn stream_path(&self, name: &str) -> String {
        let prefix = match self.kind {
            ServerKind::Electric => ELECTRIC_STREAM_PREFIX,
            ServerKind::Node => NODE_STREAM_PREFIX,
        };
        format!("{prefix}/{}", name.trim_start_matches('/'))
    }

    /// Whether [`inject_fault`](Self::inject_fault) works: true only for Node.
    pub fn supports_fault_injection(&self) -> bool {
        self.kind == ServerKind::Node
    }

    /// Node only: `POST {base}/_test/inject-error` with `fault` as the JSON body.
    ///
    /// `fault` needs `path` (a URL path such as [`stream_path`](Self::stream_path)
    /// returns, no query) and at least one of `status`, `delayMs`, `dropConnection`,
    /// `truncateBodyBytes`, `corruptBody`, `injectSseEvent`; optional: `count`
    /// (default 1), `retryAfter` (seconds), `probability` (0..1), `method`,
    /// `jitterMs`. One fault per path: a new one replaces the old.
    pub fn inject_fault(&self, fault: &serde_json::Value) -> Result<(), HarnessError> {
        self.require_fault_injection()?;
        let body = serde_json::to_vec(fault)
            .map_err(|e| HarnessError::Http(format!("serializing fault: {e}")))?;
        let resp = http::request(
            "POST",
            &format!("{}/_test/inject-error", self.base_url),
            &[("Content-Type", "application/json")],
            &body,
        )?;
        expect_ok(&resp, "inject-error")
    }

    /// Node only: `DELETE {base}/_test/inject-error`, removing all injected faults.
    pub fn clear_faults(&self) -> Result<(), HarnessError> {
        self.require_fault_injection()?;
        let resp = http::request(
            "DELETE",
            &format!("{}/_test/inject-error", self.base_url),
            &[],
            &[],
        )?;
        expect_ok(&resp, "clear faults")
    }

    /// The last `lines` lines the server wrote to stderr (for failure messages).
    pub fn stderr_tail(&self, lines: usize) -> String {
        file_tail(&self.stderr_path, lines)
    }

    /// Electric only: kills the server with SIGKILL (a crash: no shutdown work) and starts it
    /// again on the same port and data directory, waiting until it answers HTTP. Requests in
    /// flight fail; connections are refused until the new process listens.
    ///
    /// The Node server keeps its streams in memory, so it cannot be restarted with its data:
    /// that is [`HarnessError::Unsupported`].
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        let Some(launch) = self.launch.clone() else {
            return Err(HarnessError::Unsupported(format!(
                "the {} server keeps its streams in memory: it cannot be restarted with its data",
                self.kind
            )));
        };
        self.stop_process();
        // The old listener is gone once the process is reaped; a few retries cover a bind that
        // still races with the kernel releasing the port.
        const ATTEMPTS: u32 = 20;
        let mut attempt = 1;
        loop {
            let stderr = OpenOptions::new()
                .append(true)
                .open(&self.stderr_path)
                .map_err(|source| HarnessError::Io {
                    context: format!("opening {}", self.stderr_path.display()),
                    source,
                })?;
            self.child = launch.spawn(stderr)?;
            self.watchdog = Watchdog::spawn(self.child.id());
            match wait_ready(self) {
                Ok(()) => return Ok(()),
                Err(_) if attempt < ATTEMPTS && self.stderr_tail(5).contains("AddrInUse") => {
                    self.stop_process();
                    std::thread::sleep(Duration::from_millis(100));
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Kills and reaps the server process and its watchdog.
    fn stop_process(&mut self) {
        let _ = self.child.kill();
        // Stop the watchdog before reaping the server: until it is reaped its pid cannot
        // be reused, so the watchdog's `kill` can never hit an unrelated process.
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.stop();
        }
        let _ = self.child.wait();
    }

    fn require_fault_injection(&self) -> Result<(), HarnessError> {
        if self.supports_fault_injection() {
            Ok(())
        } else {
            Err(HarnessError::Unsupported(format!(
                "fault injection is not supported by the {} server (only node has /_test/inject-error)",
                self.kind
            )))
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Node stops gracefully when its stdin closes; give it a moment before killing.
        if let Some(stdin) = self.stdin.take() {
            drop(stdin);
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.stop_process();
    }
}

fn expect_ok(resp: &http::HttpResponse, what: &str) -> Result<(), HarnessError> {
    if resp.status == 200 {
        Ok(())
    } else {
        Err(HarnessError::Http(format!(
            "{what} answered {}: {}",
            resp.status,
            resp.text()
        )))
    }
}

/// Everything needed to start an Electric server process, again if need be.
#[derive(Debug, Clone)]
struct ElectricLaunch {
    bin: PathBuf,
    port: u16,
    data_dir: PathBuf,
    opts: ServerOptions,
}

impl ElectricLaunch {
    fn spawn(&self, stderr: File) -> Result<Child, HarnessError> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--long-poll-timeout-ms")
            .arg(self.opts.long_poll_timeout_ms.to_string());
        if self.opts.durability_memory {
            cmd.arg("--durability").arg("memory");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| HarnessError::Start {
                kind: ServerKind::Electric,
                detail: format!("spawning {}: {e}", self.bin.display()),
                stderr_tail: String::new(),
            })
    }
}

fn start_electric(opts: &ServerOptions) -> Result<TestServer, HarnessError> {
    let bin = electric_server_bin()?;
    // The port is free when we pick it but may be taken before the server binds it.
    const ATTEMPTS: u32 = 3;
    let mut attempt = 1;
    loop {
        let tempdir = make_tempdir("ds-electric-")?;
        let launch = ElectricLaunch {
            bin: bin.clone(),
            port: free_port()?,
            data_dir: tempdir.path().join("data"),
            opts: opts.clone(),
        };
        let stderr_path = tempdir.path().join("stderr.log");
        let child = launch.spawn(create_file(&stderr_path)?)?;
        let watchdog = Watchdog::spawn(child.id());
        let base_url = format!("http://127.0.0.1:{}", launch.port);
        let mut server = TestServer {
            kind: ServerKind::Electric,
            stream_prefix_url: format!("{base_url}{ELECTRIC_STREAM_PREFIX}"),
            base_url,
            child,
            stdin: None,
            watchdog,
            launch: Some(launch),
            stderr_path,
            _tempdir: tempdir,
        };
        match wait_ready(&mut server) {
            Ok(()) => return Ok(server),
            // Electric panics with "bind failed: ... AddrInUse" when the port was taken.
            Err(_) if attempt < ATTEMPTS && server.stderr_tail(20).contains("AddrInUse") => {
                drop(server);
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

fn start_node(opts: &ServerOptions) -> Result<TestServer, HarnessError> {
    let dir = node_server_dir()?;
    let tempdir = make_tempdir("ds-node-")?;
    let stderr_path = tempdir.path().join("stderr.log");
    let stderr = create_file(&stderr_path)?;
    let node = install::non_empty_env("DS_NODE_BIN").unwrap_or_else(|| "node".to_string());
    // Port 0: the kernel picks a free port and the server reports it, so no race.
    let mut child = Command::new(&node)
        .arg("start.mjs")
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--long-poll-timeout-ms",
        ])
        .arg(opts.long_poll_timeout_ms.to_string())
        .args(opts.webhooks.then_some("--webhooks"))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| HarnessError::Start {
            kind: ServerKind::Node,
            detail: format!("spawning {node} start.mjs in {}: {e}", dir.display()),
            stderr_tail: String::new(),
        })?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();

    // Read "READY <url>" on a thread so the wait can time out; keep draining stdout
    // afterwards so the server never blocks on a full pipe.
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("READY ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.trim().trim_end_matches('/').to_string());
                    }
                }
            }
        });
    }
    let ready = rx.recv_timeout(READY_TIMEOUT);
    let mut server = TestServer {
        kind: ServerKind::Node,
        base_url: String::new(),
        stream_prefix_url: String::new(),
        child,
        stdin,
        watchdog: None,
        launch: None,
        stderr_path,
        _tempdir: tempdir,
    };
    let base_url = match ready {
        Ok(url) => url,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(server.start_failure(format!("no READY line within {READY_TIMEOUT:?}")));
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(server.start_failure("start.mjs exited without printing READY".to_string()));
        }
    };
    if !base_url.starts_with("http://127.0.0.1:") {
        return Err(server.start_failure(format!("unexpected server URL {base_url:?}")));
    }
    server.stream_prefix_url = format!("{base_url}{NODE_STREAM_PREFIX}");
    server.base_url = base_url;
    wait_ready(&mut server)?;
    Ok(server)
}

impl TestServer {
    fn start_failure(&self, detail: String) -> HarnessError {
        HarnessError::Start {
            kind: self.kind,
            detail,
            stderr_tail: self.stderr_tail(30),
        }
    }
}

/// Polls until the server answers `HEAD <probe stream>` with 404 (Electric: and
/// `GET /health` with 200, which tells it apart from another server that might have
/// grabbed the port). Fails early if the process exits.
fn wait_ready(server: &mut TestServer) -> Result<(), HarnessError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let probe = server.stream_url(PROBE_STREAM);
    let health = format!("{}/health", server.base_url);
    let short = Duration::from_secs(2);
    let mut last_problem = String::from("no answer yet");
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(server.start_failure(format!("server exited during startup ({status})")));
        }
        let answered = match http::request_with_timeout("HEAD", &probe, &[], &[], short) {
            Ok(resp) if resp.status == 404 => true,
            Ok(resp) => {
                last_problem = format!("HEAD {probe} answered {}", resp.status);
                false
            }
            Err(e) => {
                last_problem = e.to_string();
                false
            }
        };
        if answered && server.kind == ServerKind::Electric {
            match http::request_with_timeout("GET", &health, &[], &[], short) {
                Ok(resp) if resp.status == 200 && resp.body == b"ok" => {}
                Ok(resp) => {
                    return Err(server.start_failure(format!(
                        "GET {health} answered {} {:?}: is another server on this port?",
                        resp.status,
                        resp.text()
                    )));
                }
                Err(e) => last_problem = e.to_string(),
            }
        }
        if answered {
            // A server that lost the port race may still be exiting: re-check.
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(
                    server.start_failure(format!("server exited during startup ({status})"))
                );
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(server.start_failure(format!(
                "{} did not answer within {READY_TIMEOUT:?} (last: {last_problem})",
                server.base_url
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| HarnessError::Io {
            context: "binding 127.0.0.1:0 to find a free port".to_string(),
            source,
        })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| HarnessError::Io {
            context: "reading the free port".to_string(),
            source,
        })
}

/// The file naming the process that owns a server directory.
const OWNER_FILE: &str = "owner.pid";

/// A fresh directory for one server, marked with this process's id. Servers kept in statics
/// (shared by a test binary) are never dropped, so their directories outlive the process:
/// directories whose owner has exited are removed first.
fn make_tempdir(prefix: &str) -> Result<ServerDir, HarnessError> {
    remove_orphaned_dirs(prefix);
    let dir = ServerDir::create(prefix).map_err(|source| HarnessError::Io {
        context: "creating a temporary directory".to_string(),
        source,
    })?;
    let owner = dir.path().join(OWNER_FILE);
    std::fs::write(&owner, std::process::id().to_string()).map_err(|source| HarnessError::Io {
        context: format!("writing {}", owner.display()),
        source,
    })?;
    Ok(dir)
}

/// Removes `prefix*` directories in the temporary directory whose owner process is gone.
fn remove_orphaned_dirs(prefix: &str) {
    // Liveness is read from /proc: elsewhere, keep everything.
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        let owner = std::fs::read_to_string(path.join(OWNER_FILE))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok());
        // Without an owner file the directory is mid-creation (or from an older harness): leave it.
        if let Some(pid) = owner {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

fn create_file(path: &Path) -> Result<File, HarnessError> {
    File::create(path).map_err(|source| HarnessError::Io {
        context: format!("creating {}", path.display()),
        source,
    })
}

/// The last `lines` lines of a (log) file, reading at most its last 64 KiB.
pub(crate) fn file_tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return format!("(cannot read {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    let mut buf = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut buf).is_err() {
        return format!("(cannot read {})", path.display());
    }
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Kills a server if this process disappears without dropping its [`TestServer`].
///
/// `sh` waits for EOF on a pipe only we hold, then kills the pid. The pipe closes
/// when we drop the watchdog or when this process dies for any reason.
struct Watchdog {
    child: Child,
}

impl Watchdog {
    #[cfg(unix)]
    fn spawn(pid: u32) -> Option<Watchdog> {
        Command::new("sh")
            .arg("-c")
            .arg(r#"cat >/dev/null; kill -9 "$1" 2>/dev/null; exit 0"#)
            .arg("ds-harness-watchdog")
            .arg(pid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok() // Best effort: without it we still stop the server on drop.
            .map(|child| Watchdog { child })
    }

    #[cfg(not(unix))]
    fn spawn(_pid: u32) -> Option<Watchdog> {
        None
    }

    /// Closes the pipe and waits (briefly) for the watchdog to finish.
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_of_exited_owners_are_removed_and_live_ones_kept() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let prefix = "ds-harness-sweep-test-";
        let mut exited = Command::new("true").spawn().expect("spawn true");
        let dead_pid = exited.id();
        exited.wait().expect("wait");
        let orphan = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .unwrap()
            .keep();
        std::fs::write(orphan.join(OWNER_FILE), dead_pid.to_string()).unwrap();
        std::fs::write(orphan.join("data"), b"left behind").unwrap();
        let unmarked = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();

        let mine = make_tempdir(prefix).unwrap();
        assert!(!orphan.exists(), "the exited owner's directory is removed");
        assert!(
            unmarked.path().exists(),
            "a directory without an owner file is kept"
        );
        let owner = std::fs::read_to_string(mine.path().join(OWNER_FILE)).unwrap();
        assert_eq!(owner, std::process::id().to_string());
        make_tempdir(prefix).unwrap();
        assert!(mine.path().exists(), "a live owner's directory is kept");
    }
}
