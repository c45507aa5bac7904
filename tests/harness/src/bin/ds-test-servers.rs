//! `ds-test-servers`: runs real Durable Streams servers for test suites in other
//! languages (C, .NET).
//!
//! ```text
//! ds-test-servers [electric|node|both] [--long-poll-timeout-ms N] [--durability-memory]
//! ds-test-servers s2 [--local-root DIR] [--port N]
//! ```
//!
//! Prints one line per server, `<kind> <base-url> <stream-prefix-url>`, then `READY`,
//! and keeps the servers running until stdin reaches EOF. So a caller starts it with a
//! pipe on stdin, reads lines up to `READY`, runs its tests, and closes the pipe. If
//! this process is killed instead, the servers still stop: Node exits when its stdin
//! pipe closes and Electric and S2 lite are killed by a watchdog (see the library docs).
//!
//! `s2` starts S2's `s2 lite` instead and prints `s2 <account-endpoint> <basin-endpoint>` (the
//! same URL twice). Lite listens on every interface, so it starts only inside a network
//! namespace of its own (`./build.sh test-s2`); `both` and `all` never include it.

use std::io::{Read, Write};
use std::process::ExitCode;

use std::path::PathBuf;

use durable_streams_test_harness::{
    S2Lite, S2LiteOptions, ServerKind, ServerOptions, TestServer, all_kinds,
};

const USAGE: &str =
    "usage: ds-test-servers [electric|node|both] [--long-poll-timeout-ms N] [--durability-memory]
       ds-test-servers s2 [--local-root DIR] [--port N]

Starts the servers on 127.0.0.1, prints `<kind> <base-url> <stream-prefix-url>` per
server and then `READY`, and stops them when stdin reaches EOF.

`s2` starts S2's `s2 lite` (in memory, or kept in --local-root DIR) and prints
`s2 <account-endpoint> <basin-endpoint>`. Lite listens on every interface, so it starts
only inside a network namespace of its own (`unshare -n`, then `ip link set lo up`; see
`./build.sh test-s2`). `both` and `all` do not include it.";

/// A started server, whichever kind: dropped = stopped.
enum Running {
    DurableStreams(TestServer),
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
            Running::S2(lite) => format!("s2 {} {}", lite.endpoint(), lite.endpoint()),
        }
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
        for kind in kinds {
            let server = TestServer::start_with(kind, &opts).map_err(|e| e.to_string())?;
            servers.push(Running::DurableStreams(server));
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
    drop(servers);
    Ok(())
}
