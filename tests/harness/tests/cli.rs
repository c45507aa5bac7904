//! The `ds-test-servers` binary: the contract C and .NET test suites rely on.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use durable_streams_test_harness::http;

#[test]
fn prints_servers_then_ready_and_stops_on_stdin_eof() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ds-test-servers"))
        .args(["both", "--long-poll-timeout-ms", "500"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning ds-test-servers: {e}"));
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout pipe"));

    let mut servers = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_else(|e| panic!("reading stdout: {e}"));
        if line == "READY" {
            break;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "line {line:?}");
        servers.push((
            fields[0].to_string(),
            fields[1].to_string(),
            fields[2].to_string(),
        ));
    }
    let kinds: Vec<&str> = servers.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, ["electric", "node"]);

    for (kind, base, prefix) in &servers {
        assert!(prefix.starts_with(base.as_str()), "{kind}");
        let url = format!("{prefix}/cli-stream");
        let resp = http::request("PUT", &url, &[("Content-Type", "text/plain")], &[])
            .unwrap_or_else(|e| panic!("{kind}: PUT {url}: {e}"));
        assert_eq!(resp.status, 201, "{kind}: PUT {url}");
    }

    drop(child.stdin.take()); // EOF: the servers must stop and the binary exit
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ds-test-servers did not exit after stdin EOF");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    for (kind, base, _) in &servers {
        let addr = base.trim_start_matches("http://");
        assert!(
            TcpStream::connect(addr).is_err(),
            "{kind} still accepting on {addr}"
        );
    }
}

#[test]
fn rejects_unknown_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_ds-test-servers"))
        .arg("--bogus")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running ds-test-servers: {e}"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}
