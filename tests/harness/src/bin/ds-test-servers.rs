//! `ds-test-servers`: runs real Durable Streams servers for test suites in other
//! languages (C, .NET).
//!
//! ```text
//! ds-test-servers [electric|node|both] [--long-poll-timeout-ms N] [--durability-memory]
//! ```
//!
//! Prints one line per server, `<kind> <base-url> <stream-prefix-url>`, then `READY`,
//! and keeps the servers running until stdin reaches EOF. So a caller starts it with a
//! pipe on stdin, reads lines up to `READY`, runs its tests, and closes the pipe. If
//! this process is killed instead, the servers still stop: Node exits when its stdin
//! pipe closes and Electric is killed by a watchdog (see the library docs).

use std::io::{Read, Write};
use std::process::ExitCode;

use durable_streams_test_harness::{ServerKind, ServerOptions, TestServer, all_kinds};

const USAGE: &str =
    "usage: ds-test-servers [electric|node|both] [--long-poll-timeout-ms N] [--durability-memory]

Starts the servers on 127.0.0.1, prints `<kind> <base-url> <stream-prefix-url>` per
server and then `READY`, and stops them when stdin reaches EOF.";

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
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "both" | "all" => kinds = all_kinds().to_vec(),
            "--long-poll-timeout-ms" => {
                let value = args.next().ok_or("--long-poll-timeout-ms needs a value")?;
                opts.long_poll_timeout_ms = value
                    .parse()
                    .map_err(|_| format!("bad --long-poll-timeout-ms {value:?}"))?;
            }
            "--durability-memory" => opts.durability_memory = true,
            other => {
                let kind: ServerKind = other
                    .parse()
                    .map_err(|_| format!("unknown argument {other:?}\n{USAGE}"))?;
                kinds = vec![kind];
            }
        }
    }

    // Start all first, so a failure prints no partial server list.
    let mut servers = Vec::new();
    for kind in kinds {
        let server = TestServer::start_with(kind, &opts).map_err(|e| e.to_string())?;
        servers.push(server);
    }

    let mut out = std::io::stdout().lock();
    for server in &servers {
        writeln!(
            out,
            "{} {} {}",
            server.kind(),
            server.base_url(),
            server.stream_prefix_url()
        )
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
