//! `ds-test-servers`: runs real Durable Streams servers for test suites in other
//! languages (C, .NET).
//!
//! ```text
//! ds-test-servers [electric|node|both] [--long-poll-timeout-ms N] [--durability-memory]
//!                 [--faulty-posts PERCENT] [--webhooks]
//! ds-test-servers s2 [--local-root DIR] [--port N]
//! ```
//!
//! Prints one line per server, `<kind> <base-url> <stream-prefix-url>`, then `READY`,
//! and keeps the servers running until stdin reaches EOF. So a caller starts it with a
//! pipe on stdin, reads lines up to `READY`, runs its tests, and closes the pipe. If
//! this process is killed instead, the servers still stop: Node exits when its stdin
//! pipe closes and Electric and S2 lite are killed by a watchdog (see the library docs).
//!
//! `--faulty-posts PERCENT` also puts the harness's [`FaultProxy`] in front of each server and
//! prints `<kind>-faulty <proxy-base-url> <proxy-stream-prefix-url>`: that share of the POSTs
//! through it fail (a quarter each: 503 before forwarding, connection dropped before, dropped
//! after the server stored the append, 503 after it); at the end it prints what it did on
//! stderr. GETs pass untouched (it cannot carry endless SSE responses: read directly).
//!
//! `--webhooks` enables webhook subscriptions on the Node server (Electric's has none).
//!
//! `s2` starts S2's `s2 lite` instead and prints `s2 <account-endpoint> <basin-endpoint>` (the
//! same URL twice). Lite listens on every interface, so it starts only inside a network
//! namespace of its own (`./build.sh test-s2`); `both` and `all` never include it.

use std::io::{Read, Write};
use std::process::ExitCode;

use std::path::PathBuf;

use durable_streams_test_harness::{
    FaultPlan, FaultProxy, S2Lite, S2LiteOptions, ServerKind, ServerOptions, TestServer, all_kinds,
};

const USAGE: &str =
    "usage: ds-test-servers [electric|node|both] [--long-poll-timeout-ms N] [--durability-memory]
                       [--faulty-posts PERCENT] [--webhooks]
       ds-test-servers s2 [--local-root DIR] [--port N]

Starts the servers on 127.0.0.1, prints `<kind> <base-url> <stream-prefix-url>` per
server and then `READY`, and stops them when stdin reaches EOF.

--faulty-posts PERCENT also fronts each server with a fault-injecting proxy, announced as
`<kind>-faulty <proxy-base-url> <proxy-stream-prefix-url>`, that fails PERCENT % of the
POSTs (503 or a dropped connection, before or after the server acted); GETs pass untouched.

--webhooks enables webhook subscriptions on the Node server (`webhooks: true`); it delivers
to `http://127.0.0.x` / `http://localhost` receivers and serves its signing keys at
`<base-url>/v1/stream/__ds/jwks.json`. Electric's server has no subscriptions.

`s2` starts S2's `s2 lite` (in memory, or kept in --local-root DIR) and prints
`s2 <account-endpoint> <basin-endpoint>`. Lite listens on every interface, so it starts
only inside a network namespace of its own (`unshare -n`, then `ip link set lo up`; see
`./build.sh test-s2`). `both` and `all` do not include it.";

/// A started server, whichever kind: dropped = stopped.
enum Running {
    DurableStreams(TestServer),
    // A proxy in front of the server before it in the list.
    Faulty(ServerKind, FaultProxy, String),
    S2(S2Lite),
}

impl Running {
    /// The `<kind> <url> <url>` line announcing this server.
    fn announcement(&self) -> String {
        match self {
            Running::DurableStreams(server) => format!(
                "{} {} {}",
                server.kind(),
                server.base_url(),
                server.stream_prefix_url()
            ),
            Running::Faulty(kind, proxy, prefix) => {
                format!("{kind}-faulty {} {prefix}", proxy.base_url())
            }
            Running::S2(lite) => format!("s2 {} {}", lite.endpoint(), lite.endpoint()),
        }
    }
}

/// The proxy plan for `--faulty-posts PERCENT`: a quarter of the share for each way to fail.
fn faulty_posts(percent: f64, seed: u64) -> FaultPlan {
    let each = percent / 100.0 / 4.0;
    FaultPlan {
        method: Some("POST".into()),
        unavailable_before: each,
        drop_before: each,
        drop_after: each,
        unavailable_after: each,
        seed,
        ..FaultPlan::default()
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("ds-test-servers: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut kinds: Vec<ServerKind> = all_kinds().to_vec();
    let mut opts = ServerOptions::default();
    let mut s2_selected = false;
    let mut lite_options = S2LiteOptions::default();
    // Options given for one family of servers are refused with the other.
    let mut durable_streams_option: Option<&'static str> = None;
    let mut s2_option: Option<&'static str> = None;
    let mut faulty_percent: Option<f64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "both" | "all" => {
                kinds = all_kinds().to_vec();
                s2_selected = false;
            }
            "s2" => s2_selected = true,
            "--long-poll-timeout-ms" => {
                let value = args.next().ok_or("--long-poll-timeout-ms needs a value")?;
                opts.long_poll_timeout_ms = value
                    .parse()
                    .map_err(|_| format!("bad --long-poll-timeout-ms {value:?}"))?;
                durable_streams_option = Some("--long-poll-timeout-ms");
            }
            "--durability-memory" => {
                opts.durability_memory = true;
                durable_streams_option = Some("--durability-memory");
            }
            "--webhooks" => {
                opts.webhooks = true;
                durable_streams_option = Some("--webhooks");
            }
            "--faulty-posts" => {
                let value = args.next().ok_or("--faulty-posts needs a percentage")?;
                let percent: f64 = value
                    .parse()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| format!("bad --faulty-posts {value:?} (0-100)"))?;
                faulty_percent = Some(percent);
                durable_streams_option = Some("--faulty-posts");
            }
            "--local-root" => {
                let value = args.next().ok_or("--local-root needs a directory")?;
                lite_options.local_root = Some(PathBuf::from(value));
                s2_option = Some("--local-root");
            }
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                let port = value.parse().map_err(|_| format!("bad --port {value:?}"))?;
                lite_options.port = Some(port);
                s2_option = Some("--port");
            }
            other => {
                let kind: ServerKind = other
                    .parse()
                    .map_err(|_| format!("unknown argument {other:?}\n{USAGE}"))?;
                kinds = vec![kind];
                s2_selected = false;
            }
        }
    }
    match (s2_selected, durable_streams_option, s2_option) {
        (true, Some(option), _) => return Err(format!("{option} is not an s2 option\n{USAGE}")),
        (false, _, Some(option)) => return Err(format!("{option} needs the s2 kind\n{USAGE}")),
        _ => {}
    }

    // Start all first, so a failure prints no partial server list.
    let mut servers = Vec::new();
    if s2_selected {
        let lite = S2Lite::start_with(&lite_options).map_err(|e| e.to_string())?;
        servers.push(Running::S2(lite));
    } else {
        for (seed, kind) in kinds.into_iter().enumerate() {
            let server = TestServer::start_with(kind, &opts).map_err(|e| e.to_string())?;
            let faulty = match faulty_percent {
                Some(percent) => {
                    let proxy =
                        FaultProxy::start(server.base_url(), faulty_posts(percent, seed as u64))
                            .map_err(|e| e.to_string())?;
                    let prefix = server.stream_prefix_url().replacen(
                        server.base_url(),
                        &proxy.base_url(),
                        1,
                    );
                    Some(Running::Faulty(kind, proxy, prefix))
                }
                None => None,
            };
            servers.push(Running::DurableStreams(server));
            servers.extend(faulty);
        }
    }

    let mut out = std::io::stdout().lock();
    for server in &servers {
        writeln!(out, "{}", server.announcement())
            .map_err(|e| format!("writing to stdout: {e}"))?;
    }
    writeln!(out, "READY")
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing to stdout: {e}"))?;
    drop(out);

    // Block until the caller closes our stdin (or it errors), then drop = stop.
    let mut sink = [0u8; 1024];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    for server in &servers {
        if let Running::Faulty(kind, proxy, _) = server {
            eprintln!("ds-test-servers: {kind}-faulty: {:?}", proxy.counts());
        }
    }
    drop(servers);
    Ok(())
}
