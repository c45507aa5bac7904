//! `s2 lite` through the harness, and the TCP fault proxy in front of it.
//!
//! Lite listens on every interface, so the tests that start it are ignored by a plain
//! `cargo test`: `./build.sh test-s2` runs them with `--include-ignored` inside a network
//! namespace of its own. The refusal test runs everywhere and checks whichever behaviour applies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use durable_streams_test_harness::{
    HarnessError, S2Lite, S2LiteOptions, TcpFaultPlan, TcpFaultProxy, http,
    in_isolated_network_namespace,
};

/// Lite accepts any access token.
const AUTH: (&str, &str) = ("Authorization", "Bearer test-token");

fn start() -> S2Lite {
    S2Lite::start().unwrap_or_else(|e| panic!("starting s2 lite: {e}"))
}

fn get(url: &str) -> http::HttpResponse {
    http::request("GET", url, &[AUTH], &[]).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn health_status(endpoint: &str) -> u16 {
    get(&format!("{endpoint}/health")).status
}

/// `POST /v1/basins`: lite's REST API, plain HTTP/1.1.
fn create_basin(endpoint: &str, name: &str) -> http::HttpResponse {
    let body = format!(r#"{{"basin":"{name}"}}"#);
    http::request(
        "POST",
        &format!("{endpoint}/v1/basins"),
        &[AUTH, ("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("creating basin {name}: {e}"))
}

fn basin_names(endpoint: &str) -> Vec<String> {
    let resp = get(&format!("{endpoint}/v1/basins"));
    assert_eq!(resp.status, 200, "listing basins: {}", resp.text());
    let list: serde_json::Value = serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("basin list {:?}: {e}", resp.text()));
    list["basins"]
        .as_array()
        .unwrap_or_else(|| panic!("no basins array in {list}"))
        .iter()
        .filter_map(|basin| basin["name"].as_str().map(str::to_owned))
        .collect()
}

fn refuses_connections(endpoint: &str) -> bool {
    let address = endpoint.trim_start_matches("http://");
    TcpStream::connect(address).is_err()
}

#[test]
fn lite_is_refused_outside_an_isolated_network_namespace() {
    if in_isolated_network_namespace() {
        // Inside `./build.sh test-s2`: the same call must succeed.
        let lite = start();
        assert_eq!(health_status(lite.endpoint()), 200);
        return;
    }
    match S2Lite::start() {
        Err(HarnessError::NetworkNotIsolated(text)) => {
            for needle in [
                "0.0.0.0",
                "unshare -n",
                "ip link set lo up",
                "./build.sh test-s2",
            ] {
                assert!(text.contains(needle), "{needle:?} missing from: {text}");
            }
        }
        Err(other) => panic!("expected the namespace refusal, got: {other}"),
        Ok(lite) => panic!("lite started outside an isolated namespace: {lite:?}"),
    }
}

#[test]
fn ds_test_servers_s2_is_refused_outside_an_isolated_network_namespace() {
    if in_isolated_network_namespace() {
        return; // covered by ds_test_servers_s2_prints_the_endpoints_then_ready
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ds-test-servers"))
        .arg("s2")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running ds-test-servers: {e}"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("./build.sh test-s2"), "{stderr}");
    assert!(out.stdout.is_empty(), "no server line may be printed");
}

#[test]
fn ds_test_servers_refuses_options_of_the_other_server_family() {
    for args in [
        &["s2", "--durability-memory"][..],
        &["electric", "--port", "4000"][..],
        &["--local-root", "/tmp/x"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ds-test-servers"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running ds-test-servers: {e}"));
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: no server may start");
    }
}

#[test]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
fn lite_starts_and_answers_health() {
    let mut lite = start();
    assert_eq!(lite.endpoint(), format!("http://127.0.0.1:{}", lite.port()));
    assert!(lite.is_running());
    assert_eq!(lite.local_root(), None);
    assert_eq!(
        health_status(lite.endpoint()),
        200,
        "{}",
        lite.stderr_tail(20)
    );
    assert!(basin_names(lite.endpoint()).is_empty());
}

#[test]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
fn a_persistent_restart_keeps_the_port_and_the_basins() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut lite = S2Lite::start_persistent(&root.path().join("lite"))
        .unwrap_or_else(|e| panic!("starting persistent s2 lite: {e}"));
    let endpoint = lite.endpoint().to_string();
    let port = lite.port();

    let created = create_basin(&endpoint, "harness-kept");
    assert_eq!(created.status, 201, "{}", created.text());
    let basin: serde_json::Value = serde_json::from_slice(&created.body).expect("basin JSON");
    assert_eq!(basin["name"], "harness-kept", "{basin}");

    lite.restart()
        .unwrap_or_else(|e| panic!("restarting s2 lite: {e}"));
    assert_eq!(lite.port(), port);
    assert_eq!(lite.endpoint(), endpoint);
    assert_eq!(health_status(&endpoint), 200);
    assert_eq!(basin_names(&endpoint), ["harness-kept"]);
    let again = create_basin(&endpoint, "harness-kept");
    assert_eq!(
        again.status,
        409,
        "the basin still exists: {}",
        again.text()
    );
}

#[test]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
fn a_stopped_lite_refuses_connections_until_restarted_and_in_memory_data_is_gone() {
    let mut lite = start();
    let endpoint = lite.endpoint().to_string();
    assert_eq!(create_basin(&endpoint, "harness-forgotten").status, 201);

    lite.stop();
    assert!(!lite.is_running());
    assert!(refuses_connections(&endpoint));

    lite.restart()
        .unwrap_or_else(|e| panic!("restarting s2 lite: {e}"));
    assert_eq!(health_status(&endpoint), 200);
    assert!(
        basin_names(&endpoint).is_empty(),
        "an in-memory lite starts empty"
    );

    lite.kill();
    assert!(refuses_connections(&endpoint), "killed");
    lite.restart()
        .unwrap_or_else(|e| panic!("restarting after a kill: {e}"));
    assert_eq!(health_status(&endpoint), 200);
}

#[test]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
fn lite_starts_on_the_port_asked_for() {
    let port = {
        let probe = start();
        probe.port() // free again once the probe lite is gone
    };
    let lite = S2Lite::start_with(&S2LiteOptions {
        port: Some(port),
        local_root: None,
    })
    .unwrap_or_else(|e| panic!("starting s2 lite on {port}: {e}"));
    assert_eq!(lite.port(), port);
    assert_eq!(health_status(lite.endpoint()), 200);
}

#[test]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
fn another_lite_answering_on_the_port_is_not_taken_for_ours() {
    let first = start();
    let second = S2Lite::start_with(&S2LiteOptions {
        port: Some(first.port()),
        local_root: None,
    });
    match second {
        Err(HarnessError::S2LiteStart { stderr_tail, .. }) => {
            assert!(
                stderr_tail.contains("Address already in use"),
                "{stderr_tail}"
            );
        }
        Err(other) => panic!("expected a start failure, got: {other}"),
        Ok(lite) => panic!("the first lite's /health was taken for {lite:?}"),
    }
    assert_eq!(
        health_status(first.endpoint()),
        200,
        "the first lite is unharmed"
    );
}

/// Sends one HTTP/1.1 request in a single write (one chunk for the proxy) and returns what came
/// back before the connection closed.
fn raw_request(endpoint: &str, method: &str, path: &str, body: &str) -> std::io::Result<Vec<u8>> {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer test-token\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

#[test]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
fn the_tcp_proxy_relays_to_lite_and_drops_before_or_after_it_acts() {
    let lite = start();
    let proxy = TcpFaultProxy::start(lite.endpoint(), TcpFaultPlan::default())
        .unwrap_or_else(|e| panic!("starting the TCP proxy: {e}"));
    let through_proxy = proxy.endpoint();

    assert_eq!(health_status(&through_proxy), 200);
    let created = create_basin(&through_proxy, "harness-relayed");
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(proxy.connections() >= 2);
    assert_eq!(proxy.counts().faults(), 0);

    proxy.set_plan(TcpFaultPlan {
        drop_before: 1.0,
        ..TcpFaultPlan::default()
    });
    let answer = raw_request(
        &through_proxy,
        "POST",
        "/v1/basins",
        r#"{"basin":"harness-dropped-before"}"#,
    );
    assert!(
        answer.as_ref().map_or(true, Vec::is_empty),
        "no answer may come back: {answer:?}"
    );
    assert_eq!(proxy.counts().drop_before, 1);

    proxy.set_plan(TcpFaultPlan {
        drop_after: 1.0,
        ..TcpFaultPlan::default()
    });
    let answer = raw_request(
        &through_proxy,
        "POST",
        "/v1/basins",
        r#"{"basin":"harness-dropped-after"}"#,
    );
    assert!(
        answer.as_ref().map_or(true, Vec::is_empty),
        "the server's answer must not be relayed: {answer:?}"
    );
    assert_eq!(proxy.counts().drop_after, 1);

    // The server acted on the request dropped after forwarding, and never saw the other one.
    let mut names = basin_names(lite.endpoint());
    names.sort();
    assert_eq!(names, ["harness-dropped-after", "harness-relayed"]);
}

#[test]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
fn ds_test_servers_s2_prints_the_endpoints_then_ready() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ds-test-servers"))
        .arg("s2")
        .arg("--local-root")
        .arg(root.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning ds-test-servers: {e}"));
    let stdout = child.stdout.take().expect("stdout pipe");
    let mut lines = BufReader::new(stdout).lines();
    let announcement = lines
        .next()
        .expect("a server line")
        .expect("reading stdout");
    let ready = lines.next().expect("READY").expect("reading stdout");
    assert_eq!(ready, "READY");
    let fields: Vec<&str> = announcement.split(' ').collect();
    assert_eq!(fields.len(), 3, "{announcement:?}");
    assert_eq!(fields[0], "s2");
    assert!(
        fields[1].starts_with("http://127.0.0.1:"),
        "{announcement:?}"
    );
    assert_eq!(fields[1], fields[2], "account and basin endpoints are one");
    let endpoint = fields[1].to_string();
    assert_eq!(health_status(&endpoint), 200);
    assert_eq!(create_basin(&endpoint, "harness-cli").status, 201);

    drop(child.stdin.take()); // EOF: lite must stop and the binary exit
    let deadline = Instant::now() + Duration::from_secs(15);
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
    assert!(refuses_connections(&endpoint));
    assert!(
        std::fs::read_dir(root.path()).is_ok_and(|mut entries| entries.next().is_some()),
        "lite kept its data under --local-root"
    );
}
