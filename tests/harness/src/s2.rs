//! `s2 lite`, the S2 server written by S2's authors (crate `s2-cli`), for tests of the S2 backend.
//!
//! Lite always listens on `0.0.0.0`, every interface, and has no flag to change that. So the
//! harness starts it only when this process is in a network namespace of its own with nothing but
//! the loopback interface (see [`in_isolated_network_namespace`]): nothing outside can reach it and
//! it reaches nothing. `./build.sh test-s2` runs the S2 tests that way (`unshare -n`, then
//! `ip link set lo up`). Clients use [`S2Lite::endpoint`] as both the account and the basin
//! endpoint, with any access token.
//!
//! ```no_run
//! use durable_streams_test_harness::S2Lite;
//!
//! let mut lite = S2Lite::start().expect("inside ./build.sh test-s2");
//! let endpoint = lite.endpoint().to_string(); // http://127.0.0.1:<port>
//! // ... exercise the S2 client against `endpoint` ...
//! lite.restart().expect("lite starts again on the same port");
//! ```

use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server_dir::ServerDir;
use crate::{HarnessError, READY_TIMEOUT, Watchdog, http};

/// How long a stopping lite gets to shut down after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What lite writes to stderr when its port is taken.
const ADDR_IN_USE: &str = "Address already in use";

/// Whether this process is in a network namespace where `s2 lite` may run: `lo` is its only
/// network interface and `lo` is up.
///
/// [`S2Lite::start`] refuses to start lite otherwise; tests and binaries can call this to say so
/// before they try.
pub fn in_isolated_network_namespace() -> bool {
    network_isolation_problem().is_none()
}

/// Why this process's network namespace is not isolated, or `None` when it is.
fn network_isolation_problem() -> Option<String> {
    // Not /sys/class/net: sysfs shows the namespace of whoever mounted it, and a plain
    // `unshare -n` keeps the host's /sys, so it would list the host's interfaces (and the host's
    // lo flags). /proc/self/net always belongs to this process's namespace.
    let dev = match fs::read_to_string("/proc/self/net/dev") {
        Ok(dev) => dev,
        Err(e) => {
            return Some(format!(
                "/proc/self/net/dev cannot be read ({e}), so the network namespace cannot be checked"
            ));
        }
    };
    let interfaces = interface_names(&dev);
    if interfaces != ["lo"] {
        return Some(format!(
            "its network interfaces are {}, not only lo",
            interfaces.join(", ")
        ));
    }
    if !loopback_is_up() {
        return Some("its loopback interface lo is down".to_string());
    }
    None
}

/// Interface names of a `/proc/net/dev` table (two header lines, then `name: counters`).
fn interface_names(dev: &str) -> Vec<String> {
    dev.lines()
        .skip(2)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, _)| name.trim().to_string())
        .collect()
}

/// Whether 127.0.0.1 answers. In a new namespace lo starts down: binding 127.0.0.1 still works
/// but connecting fails with "network unreachable" until `ip link set lo up`, so connecting to
/// our own listener is the direct test (and needs no ioctl).
fn loopback_is_up() -> bool {
    let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
        return false;
    };
    let Ok(address) = listener.local_addr() else {
        return false;
    };
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

fn refusal(problem: &str) -> HarnessError {
    HarnessError::NetworkNotIsolated(format!(
        "refusing to start s2 lite: it always listens on 0.0.0.0 (every interface), so it may run \
         only inside a network namespace of its own, and this process's is not ({problem}). Run \
         the tests inside a new network namespace with loopback up: `unshare -n` (as root; \
         `unshare -rn` otherwise), then `ip link set lo up`, then the tests in that namespace; \
         `./build.sh test-s2` does all of this"
    ))
}

/// Options for [`S2Lite::start_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S2LiteOptions {
    /// Port to listen on (`None`: a free one). Lite listens on it on every interface of the
    /// (isolated) namespace; clients use 127.0.0.1.
    pub port: Option<u16>,
    /// `--local-root`: keep the data in this directory (created if missing), so it survives
    /// [`S2Lite::restart`]. `None`: in memory, lost when lite stops.
    pub local_root: Option<PathBuf>,
}

/// Everything needed to start the same lite again.
#[derive(Debug, Clone)]
struct LiteLaunch {
    bin: PathBuf,
    port: u16,
    local_root: Option<PathBuf>,
}

impl LiteLaunch {
    fn spawn(&self, log: &Path) -> Result<Child, HarnessError> {
        let open_log = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| HarnessError::Io {
                    context: format!("opening {}", log.display()),
                    source,
                })
        };
        let (stdout, stderr): (File, File) = (open_log()?, open_log()?);
        let mut cmd = Command::new(&self.bin);
        cmd.arg("lite").arg("--port").arg(self.port.to_string());
        if let Some(root) = &self.local_root {
            cmd.arg("--local-root").arg(root);
        }
        cmd.env("NO_COLOR", "1") // a readable log for failure messages
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| HarnessError::S2LiteStart {
                detail: format!("spawning {} lite: {e}", self.bin.display()),
                stderr_tail: String::new(),
            })
    }
}

/// A lite process and the watchdog that kills it if this process dies first.
struct LiteProcess {
    child: Child,
    watchdog: Option<Watchdog>,
}

/// A running `s2 lite`; stopped when dropped.
pub struct S2Lite {
    launch: LiteLaunch,
    endpoint: String,
    process: Option<LiteProcess>,
    log_path: PathBuf,
    // Declared last: removed only after the process is gone.
    _dir: ServerDir,
}

impl std::fmt::Debug for S2Lite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S2Lite")
            .field("endpoint", &self.endpoint)
            .field("local_root", &self.launch.local_root)
            .field("pid", &self.process.as_ref().map(|p| p.child.id()))
            .finish_non_exhaustive()
    }
}

impl S2Lite {
    /// Starts an in-memory lite on a free port and waits until `GET /health` answers 200.
    ///
    /// Refused with [`HarnessError::NetworkNotIsolated`] outside an isolated network namespace.
    pub fn start() -> Result<S2Lite, HarnessError> {
        Self::start_with(&S2LiteOptions::default())
    }

    /// Starts a lite that keeps its data under `root` (`--local-root`), on a free port.
    pub fn start_persistent(root: &Path) -> Result<S2Lite, HarnessError> {
        Self::start_with(&S2LiteOptions {
            port: None,
            local_root: Some(root.to_path_buf()),
        })
    }

    /// Starts lite with `options`, installing it first if needed (see [`crate::s2_lite_bin`]).
    pub fn start_with(options: &S2LiteOptions) -> Result<S2Lite, HarnessError> {
        if let Some(problem) = network_isolation_problem() {
            return Err(refusal(&problem));
        }
        if let Some(root) = &options.local_root {
            fs::create_dir_all(root).map_err(|source| HarnessError::Io {
                context: format!("creating the lite root {}", root.display()),
                source,
            })?;
        }
        let bin = crate::s2_lite_bin()?;
        // A free port may be taken before lite binds it: pick another (unless one was asked for).
        let attempts = if options.port.is_some() { 1 } else { 3 };
        let mut attempt = 1;
        loop {
            let dir = crate::make_tempdir("ds-s2-lite-")?;
            let port = match options.port {
                Some(port) => port,
                None => crate::free_port()?,
            };
            let mut lite = S2Lite {
                launch: LiteLaunch {
                    bin: bin.clone(),
                    port,
                    local_root: options.local_root.clone(),
                },
                endpoint: format!("http://127.0.0.1:{port}"),
                process: None,
                log_path: dir.path().join("stderr.log"),
                _dir: dir,
            };
            match lite.spawn_and_wait_ready() {
                Ok(()) => return Ok(lite),
                Err(_) if attempt < attempts && lite.port_was_taken() => attempt += 1,
                Err(err) => return Err(err),
            }
        }
    }

    /// `http://127.0.0.1:<port>`: both the account and the basin endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port lite listens on (the same after [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.launch.port
    }

    /// The `--local-root` directory, if the data is kept on disk.
    pub fn local_root(&self) -> Option<&Path> {
        self.launch.local_root.as_deref()
    }

    /// Whether a lite process is running (false after [`stop`](Self::stop) or
    /// [`kill`](Self::kill), or if it exited on its own).
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| matches!(p.child.try_wait(), Ok(None)))
    }

    /// Stops lite (if running) and starts it again on the same port and root, waiting until it
    /// answers. With `--local-root` the data survives; in memory it is gone. Also starts a lite
    /// that was stopped with [`stop`](Self::stop) or [`kill`](Self::kill).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        // The old listener is gone once the process has exited; a few retries cover a bind that
        // still races with the kernel releasing the port.
        const ATTEMPTS: u32 = 20;
        let mut attempt = 1;
        loop {
            match self.spawn_and_wait_ready() {
                Ok(()) => return Ok(()),
                Err(_) if attempt < ATTEMPTS && self.port_was_taken() => {
                    std::thread::sleep(Duration::from_millis(100));
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Stops lite without starting it again (SIGTERM, then SIGKILL after a few seconds), e.g. to
    /// test a client against a server that is down. Connections are then refused on the port.
    pub fn stop(&mut self) {
        self.stop_process(true);
    }

    /// Kills lite with SIGKILL: a crash, no shutdown work. [`restart`](Self::restart) starts it
    /// again.
    pub fn kill(&mut self) {
        self.stop_process(false);
    }

    /// The last `lines` lines lite wrote to stdout and stderr (for failure messages).
    pub fn stderr_tail(&self, lines: usize) -> String {
        crate::file_tail(&self.log_path, lines)
    }

    fn spawn_and_wait_ready(&mut self) -> Result<(), HarnessError> {
        let child = self.launch.spawn(&self.log_path)?;
        let watchdog = Watchdog::spawn(child.id());
        self.process = Some(LiteProcess { child, watchdog });
        let result = self.wait_ready();
        if result.is_err() {
            self.stop_process(false);
        }
        result
    }

    fn port_was_taken(&self) -> bool {
        self.stderr_tail(20).contains(ADDR_IN_USE)
    }

    fn start_failure(&self, detail: String) -> HarnessError {
        HarnessError::S2LiteStart {
            detail,
            stderr_tail: self.stderr_tail(30),
        }
    }

    /// Polls `GET /health` until it answers 200; fails early if lite exits.
    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let health = format!("{}/health", self.endpoint);
        loop {
            let exited = match self.process.as_mut() {
                Some(process) => process.child.try_wait().ok().flatten(),
                None => return Err(self.start_failure("lite is not running".to_string())),
            };
            if let Some(status) = exited {
                return Err(self.start_failure(format!("lite exited during startup ({status})")));
            }
            let problem = match http::request_with_timeout(
                "GET",
                &health,
                &[],
                &[],
                Duration::from_secs(2),
            ) {
                // Another lite of this test run may hold the port (free ports race): it answers
                // /health too, and ours then exits with "Address already in use" (seen above).
                Ok(resp) if resp.status == 200 && self.listener_is_ours() => return Ok(()),
                Ok(resp) if resp.status == 200 => {
                    format!("another process answers on port {}", self.launch.port)
                }
                Ok(resp) => format!("GET {health} answered {}", resp.status),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(self.start_failure(format!(
                    "{health} did not answer 200 within {READY_TIMEOUT:?} (last: {problem})"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the socket listening on our port belongs to our lite (true when that cannot be
    /// told: no /proc).
    fn listener_is_ours(&self) -> bool {
        let Some(process) = &self.process else {
            return false;
        };
        let mut inodes = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            match fs::read_to_string(table) {
                Ok(text) => inodes.extend(listening_socket_inodes(&text, self.launch.port)),
                Err(_) => return true,
            }
        }
        let fds = format!("/proc/{}/fd", process.child.id());
        let Ok(entries) = fs::read_dir(&fds) else {
            return true;
        };
        entries.flatten().any(|entry| {
            fs::read_link(entry.path()).is_ok_and(|target| {
                let target = target.to_string_lossy();
                inodes
                    .iter()
                    .any(|inode| target == format!("socket:[{inode}]"))
            })
        })
    }

    /// Stops and reaps the process and its watchdog; `graceful` sends SIGTERM first.
    fn stop_process(&mut self, graceful: bool) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        if graceful && matches!(process.child.try_wait(), Ok(None)) {
            terminate_and_wait_for_exit(&process.child);
        }
        let _ = process.child.kill();
        // Stop the watchdog before reaping lite: until it is reaped its pid cannot be reused, so
        // the watchdog's `kill` can never hit an unrelated process.
        if let Some(watchdog) = process.watchdog.take() {
            watchdog.stop();
        }
        let _ = process.child.wait();
    }
}

impl Drop for S2Lite {
    fn drop(&mut self) {
        self.stop_process(true);
    }
}

/// Sends SIGTERM and waits (at most [`STOP_GRACE`]) until the process has exited, without reaping
/// it: the caller stops the watchdog first, then reaps (see `stop_process`).
fn terminate_and_wait_for_exit(child: &Child) {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    // An exited, unreaped process is a zombie ("Z" in /proc/<pid>/stat); without /proc, SIGKILL.
    let stat = PathBuf::from(format!("/proc/{pid}/stat"));
    if !sent || !stat.exists() {
        return;
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if fs::read_to_string(&stat).map_or(true, |s| process_state(&s) == Some('Z')) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Inodes of the sockets listening on `port` in a `/proc/net/tcp` or `tcp6` table (columns:
/// slot, local `ADDR:PORT` in hex, remote, state `0A` for LISTEN, ..., inode tenth).
fn listening_socket_inodes(table: &str, port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit_once(':')?.1;
            let listening =
                u16::from_str_radix(local_port, 16).ok()? == port && *fields.get(3)? == LISTEN;
            listening.then(|| fields.get(9).map(|inode| (*inode).to_string()))?
        })
        .collect()
}

/// The state letter of a `/proc/<pid>/stat` line: the field after the `(command)`, whose name may
/// itself hold spaces or parentheses.
fn process_state(stat: &str) -> Option<char> {
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.trim_start().chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_read_from_proc_net_dev() {
        let dev = "Inter-|   Receive                            |  Transmit\n \
                   face |bytes    packets errs drop fifo frame|bytes\n    \
                   lo:   78817    195    0    0    0     0   78817\n  \
                   eth0: 3652      90    0    0    0     0   5275\n";
        assert_eq!(interface_names(dev), ["lo", "eth0"]);
        assert!(interface_names("header\nheader\n").is_empty());
    }

    #[test]
    fn this_process_network_namespace_is_read() {
        let dev = fs::read_to_string("/proc/self/net/dev").expect("/proc/self/net/dev");
        assert!(
            interface_names(&dev).iter().any(|name| name == "lo"),
            "{dev}"
        );
    }

    #[test]
    fn the_refusal_says_how_to_run_lite() {
        let text = refusal("its network interfaces are lo, eth0, not only lo").to_string();
        for needle in [
            "0.0.0.0",
            "unshare -n",
            "ip link set lo up",
            "./build.sh test-s2",
            "eth0",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from: {text}");
        }
    }

    #[test]
    fn listening_sockets_are_found_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
             0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 264 1 0 100 0 0 10 0\n   \
             1: 0100007F:07E8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0 100 0 0 10 0\n   \
             2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0\n";
        assert_eq!(listening_socket_inodes(table, 2024), ["264"]);
        assert_eq!(listening_socket_inodes(table, 8080), ["777"]);
        assert!(listening_socket_inodes(table, 1).is_empty());
        assert!(listening_socket_inodes("header only\n", 2024).is_empty());
    }

    #[test]
    fn process_states_are_parsed_after_the_command_name() {
        assert_eq!(process_state("42 (s2) S 1 42 42 0"), Some('S'));
        assert_eq!(process_state("42 (a (b) c) Z 1 42"), Some('Z'));
        assert_eq!(process_state("garbage"), None);
    }
}
