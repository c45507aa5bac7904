//! Starts the real servers and checks the harness contract against them.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use durable_streams_test_harness::{
    HarnessError, ServerKind, ServerOptions, TestServer, all_kinds, http,
};
use serde_json::json;

fn start(kind: ServerKind) -> TestServer {
    match TestServer::start(kind) {
        Ok(server) => server,
        Err(e) => panic!("starting {kind}: {e}"),
    }
}

fn req(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> http::HttpResponse {
    match http::request(method, url, headers, body) {
        Ok(resp) => resp,
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

#[test]
fn each_server_answers_and_creates_streams() {
    for kind in all_kinds() {
        let server = start(kind);
        assert_eq!(server.kind(), kind);
        assert!(server.base_url().starts_with("http://127.0.0.1:"));
        assert!(!server.base_url().ends_with('/'));
        assert!(server.stream_url("s").starts_with(server.base_url()));

        let missing = req("HEAD", &server.stream_url("missing"), &[], &[]);
        assert_eq!(missing.status, 404, "{kind}: HEAD on a missing stream");

        let url = server.stream_url("harness-put");
        let text = [("Content-Type", "text/plain")];
        let created = req("PUT", &url, &text, &[]);
        assert_eq!(created.status, 201, "{kind}: PUT {url}: {}", created.text());
        assert!(created.header("stream-next-offset").is_some(), "{kind}");

        let appended = req("POST", &url, &text, b"hello");
        assert_eq!(appended.status, 204, "{kind}: POST: {}", appended.text());

        let read = req("GET", &format!("{url}?offset=-1"), &[], &[]);
        assert_eq!(read.status, 200, "{kind}: GET");
        assert_eq!(read.body, b"hello", "{kind}: GET body");
        assert_eq!(read.header("stream-up-to-date"), Some("true"), "{kind}");
    }
}

#[test]
fn stream_paths_match_stream_urls() {
    for kind in all_kinds() {
        let server = start(kind);
        let url = server.stream_url("/a/b");
        assert_eq!(
            url,
            format!("{}{}", server.base_url(), server.stream_path("a/b"))
        );
        assert!(server.stream_prefix_url().starts_with(server.base_url()));
    }
}

#[test]
fn long_poll_timeout_option_is_applied() {
    let opts = ServerOptions {
        long_poll_timeout_ms: 300,
        durability_memory: true,
        ..ServerOptions::default()
    };
    for kind in all_kinds() {
        let server = TestServer::start_with(kind, &opts).unwrap_or_else(|e| panic!("{e}"));
        let url = server.stream_url("lp");
        assert_eq!(
            req("PUT", &url, &[("Content-Type", "text/plain")], &[]).status,
            201
        );
        let started = Instant::now();
        let resp = req("GET", &format!("{url}?offset=now&live=long-poll"), &[], &[]);
        assert_eq!(resp.status, 204, "{kind}: long-poll timeout answers 204");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{kind}: long-poll took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn node_fault_injection_changes_responses() {
    let server = start(ServerKind::Node);
    assert!(server.supports_fault_injection());
    let url = server.stream_url("faulty");
    assert_eq!(
        req("PUT", &url, &[("Content-Type", "text/plain")], &[]).status,
        201
    );

    server
        .inject_fault(&json!({
            "path": server.stream_path("faulty"),
            "status": 503,
            "retryAfter": 2,
            "count": 2,
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        let resp = req("GET", &format!("{url}?offset=-1"), &[], &[]);
        assert_eq!(resp.status, 503);
        assert_eq!(resp.header("retry-after"), Some("2"));
    }
    // count exhausted
    assert_eq!(
        req("GET", &format!("{url}?offset=-1"), &[], &[]).status,
        200
    );

    server
        .inject_fault(&json!({"path": server.stream_path("faulty"), "status": 500, "count": 5}))
        .unwrap_or_else(|e| panic!("{e}"));
    server.clear_faults().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        req("GET", &format!("{url}?offset=-1"), &[], &[]).status,
        200
    );

    // The endpoint rejects a fault without a fault type.
    let rejected = server.inject_fault(&json!({"path": "/x"}));
    assert!(
        matches!(rejected, Err(HarnessError::Http(_))),
        "{rejected:?}"
    );
}

#[test]
fn electric_rejects_fault_injection_clearly() {
    let server = start(ServerKind::Electric);
    assert!(!server.supports_fault_injection());
    let err = server.inject_fault(&json!({"path": "/x", "status": 503}));
    match err {
        Err(HarnessError::Unsupported(msg)) => assert!(msg.contains("electric"), "{msg}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(matches!(
        server.clear_faults(),
        Err(HarnessError::Unsupported(_))
    ));
}

#[test]
fn drop_stops_the_server() {
    for kind in all_kinds() {
        let server = start(kind);
        let addr = server.base_url().trim_start_matches("http://").to_string();
        assert!(
            TcpStream::connect(&addr).is_ok(),
            "{kind}: accepting before drop"
        );
        drop(server);
        // The listener is closed once the process is reaped, which drop waits for.
        assert!(
            TcpStream::connect_timeout(
                &addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}")),
                Duration::from_secs(1)
            )
            .is_err(),
            "{kind}: still accepting on {addr} after drop"
        );
    }
}

#[test]
fn electric_restarts_on_the_same_port_with_its_data() {
    let mut server = start(ServerKind::Electric);
    let base_url = server.base_url().to_string();
    let url = server.stream_url("harness-restart");
    let text = [("Content-Type", "text/plain")];
    assert_eq!(req("PUT", &url, &text, &[]).status, 201);
    assert_eq!(req("POST", &url, &text, b"before").status, 204);
    for _ in 0..2 {
        server.restart().unwrap_or_else(|e| panic!("restart: {e}"));
        assert_eq!(server.base_url(), base_url, "the same port");
    }
    let read = req("GET", &format!("{url}?offset=-1"), &[], &[]);
    assert_eq!(read.status, 200, "the stream survives: {}", read.text());
    assert_eq!(read.body, b"before");
    assert_eq!(req("POST", &url, &text, b" after").status, 204);
}

#[test]
fn node_cannot_be_restarted_with_its_data() {
    let mut server = start(ServerKind::Node);
    match server.restart() {
        Err(HarnessError::Unsupported(msg)) => assert!(msg.contains("node"), "{msg}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    // Still the running server.
    assert_eq!(
        req("HEAD", &server.stream_url("missing"), &[], &[]).status,
        404
    );
}
