//! Bad input and broken peers: malformed URLs, nothing listening, and local fake servers that
//! answer garbage, close early or never answer. Every case must end in a typed error, never a
//! panic or a hang. (No real Durable Streams server is involved.)

mod common;

use std::time::{Duration, Instant};

use common::{FakeServer, Reply, client_builder, http_response, unused_port, within};
use durable_streams_core::{
    Client, CreateOptions, Error, ErrorKind, LiveMode, Offset, ReadOptions, RetryPolicy, Stream,
};

const OFFSET: &str = "0000000000000000_0000000000000005";

fn no_retries() -> Client {
    client_builder()
        .request_timeout(Duration::from_secs(2))
        .live_timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Runs every kind of operation against `stream` and returns each outcome (errors only; an
/// operation that succeeds is reported as `None`).
async fn every_operation(stream: &Stream) -> Vec<(&'static str, Option<Error>)> {
    let mut outcomes = Vec::new();
    outcomes.push(("head", stream.head().await.err()));
    outcomes.push((
        "create",
        stream
            .create(CreateOptions::new().content_type("text/plain"))
            .await
            .err(),
    ));
    outcomes.push(("append", stream.append("x").await.err()));
    outcomes.push(("close", stream.close().await.err()));
    outcomes.push(("delete", stream.delete().await.err()));
    for mode in [
        LiveMode::Off,
        LiveMode::LongPoll,
        LiveMode::Sse,
        LiveMode::Auto,
    ] {
        let name = match mode {
            LiveMode::Off => "read",
            LiveMode::LongPoll => "read long-poll",
            LiveMode::Sse => "read sse",
            _ => "read auto",
        };
        let mut session = stream.read(ReadOptions::new().live(mode));
        let result = within(10, name, session.next_chunk()).await;
        outcomes.push((name, result.err()));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_stream_urls_are_invalid_arguments() {
    let client = Client::new().unwrap();
    for bad in [
        "",
        "   ",
        "not a url",
        "relative/path",
        "/absolute/path/without/base",
        "ftp://127.0.0.1/stream",
        "mailto:someone@example.com",
        "http://",
        "http://[::1",
        "http://127.0.0.1:99999/s",
        "http://127.0.0.1/s#fragment",
    ] {
        let err = client.stream(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        assert_eq!(err.status(), None);
        assert!(!err.message().is_empty());
    }

    let with_base = Client::builder()
        .base_url("http://127.0.0.1:1/v1/stream/")
        .build()
        .unwrap();
    assert_eq!(
        with_base.stream("a/b").unwrap().url(),
        "http://127.0.0.1:1/v1/stream/a/b"
    );
    for bad in ["not a url", "ftp://h/x", "http://", ""] {
        let err = Client::builder().base_url(bad).build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "base {bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_a_network_error() {
    let url = format!("http://127.0.0.1:{}/v1/stream/s", unused_port());
    let stream = no_retries().stream(&url).unwrap();
    stream.set_content_type("text/plain");
    let started = Instant::now();
    for (operation, err) in every_operation(&stream).await {
        let err = err.unwrap_or_else(|| panic!("{operation} succeeded without a server"));
        assert_eq!(err.kind(), ErrorKind::Network, "{operation}: {err}");
        assert_eq!(err.url(), Some(url.as_str()), "{operation}");
        assert_eq!(err.status(), None);
        assert!(err.is_transient());
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // With retries the outcome is the same, only later.
    let retrying = client_builder().build().unwrap().stream(&url).unwrap();
    let err = retrying.head().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_status_without_protocol_headers_is_a_parse_error() {
    let fake = FakeServer::start(|head| {
        let body: &[u8] = if head.starts_with("GET") {
            b"hello"
        } else {
            b""
        };
        http_response("200 OK", &[("Content-Type", "text/plain")], body)
    });
    let stream = no_retries().stream(&fake.url("/s")).unwrap();
    stream.set_content_type("text/plain");
    let err = stream.head().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "head: {err}");
    assert!(err.message().contains("Stream-Next-Offset"), "{err}");
    assert_eq!(err.url(), Some(stream.url()));
    for (name, err) in [
        ("append", stream.append("x").await.unwrap_err()),
        ("close", stream.close().await.unwrap_err()),
        (
            "read",
            stream
                .read(ReadOptions::new())
                .next_chunk()
                .await
                .unwrap_err(),
        ),
    ] {
        assert_eq!(err.kind(), ErrorKind::Parse, "{name}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_advances_is_a_parse_error_not_a_busy_loop() {
    // Always "200, no data, same offset, not up to date": a naive reader would poll forever.
    let fake = FakeServer::start(|_| {
        http_response(
            "200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Stream-Next-Offset", OFFSET),
            ],
            b"",
        )
    });
    let stream = no_retries().stream(&fake.url("/s")).unwrap();
    for mode in [LiveMode::Off, LiveMode::LongPoll] {
        let mut session = stream.read(ReadOptions::new().live(mode));
        let err = within(5, "a read that makes no progress", session.next_chunk())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parse, "{mode:?}: {err}");
    }
    assert!(
        fake.requests().len() <= 4,
        "{} requests",
        fake.requests().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_from_a_json_stream_is_a_parse_error() {
    let fake = FakeServer::start(|_| {
        http_response(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("Stream-Next-Offset", OFFSET),
                ("Stream-Up-To-Date", "true"),
            ],
            br#"[{"a":1},{"b":"#,
        )
    });
    let stream = no_retries().stream(&fake.url("/s")).unwrap();
    let err = stream
        .read(ReadOptions::new())
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert_eq!(err.status(), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_http_answers_are_network_errors() {
    let fake = FakeServer::start(|_| {
        Reply::Bytes(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 this is not HTTP\r\n\r\n".to_vec())
    });
    let stream = no_retries().stream(&fake.url("/s")).unwrap();
    stream.set_content_type("text/plain");
    for (operation, err) in every_operation(&stream).await {
        let err = err.unwrap_or_else(|| panic!("{operation} succeeded against garbage"));
        assert!(
            matches!(err.kind(), ErrorKind::Network | ErrorKind::Parse),
            "{operation}: {err}"
        );
        assert_eq!(err.url(), Some(stream.url()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_without_an_answer_are_network_errors() {
    let fake = FakeServer::start(|_| Reply::Close);
    let stream = no_retries().stream(&fake.url("/s")).unwrap();
    stream.set_content_type("text/plain");
    for (operation, err) in every_operation(&stream).await {
        let err = err.unwrap_or_else(|| panic!("{operation} succeeded against a closed socket"));
        assert_eq!(err.kind(), ErrorKind::Network, "{operation}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_is_a_network_error() {
    let fake = FakeServer::start(|_| {
        Reply::Bytes(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nStream-Next-Offset: {OFFSET}\r\n\
                 Content-Length: 1000\r\nConnection: close\r\n\r\nonly a few bytes"
            )
            .into_bytes(),
        )
    });
    let stream = no_retries().stream(&fake.url("/s")).unwrap();
    let err = stream
        .read(ReadOptions::new())
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_a_timeout() {
    let fake = FakeServer::start(|_| Reply::Hang);
    let client = client_builder()
        .request_timeout(Duration::from_millis(300))
        .live_timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let stream = client.stream(&fake.url("/s")).unwrap();
    stream.set_content_type("text/plain");
    let started = Instant::now();
    for (operation, err) in every_operation(&stream).await {
        let err = err.unwrap_or_else(|| panic!("{operation} succeeded without an answer"));
        assert_eq!(err.kind(), ErrorKind::Timeout, "{operation}: {err}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_request_answered_without_an_event_stream_is_a_typed_error() {
    let fake = FakeServer::start(|head| {
        if head.starts_with("HEAD") || !head.contains("live=sse") {
            http_response(
                "200 OK",
                &[
                    ("Content-Type", "text/plain"),
                    ("Stream-Next-Offset", OFFSET),
                    ("Stream-Up-To-Date", "true"),
                ],
                if head.starts_with("GET") {
                    b"catch-up"
                } else {
                    b""
                },
            )
        } else {
            http_response(
                "200 OK",
                &[("Content-Type", "text/plain")],
                b"not an event stream",
            )
        }
    });
    let stream = no_retries().stream(&fake.url("/s")).unwrap();
    let err = stream
        .read(ReadOptions::new().live(LiveMode::Sse))
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedStatus, "{err}");
    assert_eq!(err.status(), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_inside_an_event_stream_is_a_typed_error() {
    for (body, expected) in [
        // A control event that is not JSON.
        (&b"event: control\ndata: {oops\n\n"[..], ErrorKind::Parse),
        // Data that is not base64 on a binary stream.
        (
            &b"event: data\ndata: !!!\n\nevent: control\ndata: {\"streamNextOffset\":\"1_1\"}\n\n"
                [..],
            ErrorKind::Parse,
        ),
        // Bytes without any event, then the end of the response.
        (
            &b"\x00\x01\x02 random bytes without newline"[..],
            ErrorKind::Network,
        ),
    ] {
        let fake = FakeServer::start(move |_| {
            http_response(
                "200 OK",
                &[
                    ("Content-Type", "text/event-stream"),
                    ("Stream-SSE-Data-Encoding", "base64"),
                ],
                body,
            )
        });
        let stream = no_retries().stream(&fake.url("/s")).unwrap();
        stream.set_content_type("application/octet-stream");
        let mut session = stream.read(ReadOptions::new().live(LiveMode::Sse));
        let err = within(5, "SSE garbage", session.next_chunk())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), expected, "{err}");
        assert!(
            session.next_chunk().await.unwrap().is_none(),
            "the session ended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_statuses_are_typed_with_the_server_message() {
    let fake = FakeServer::start(|head| {
        let path = head.split_whitespace().nth(1).unwrap_or("");
        let (status, body): (&str, &[u8]) = if path.starts_with("/401") {
            ("401 Unauthorized", b"{\"message\":\"token expired\"}")
        } else if path.starts_with("/403") {
            ("403 Forbidden", b"{\"error\":\"not yours\"}")
        } else if path.starts_with("/410") {
            ("410 Gone", b"gone for good")
        } else if path.starts_with("/413") {
            ("413 Payload Too Large", b"too big")
        } else if path.starts_with("/429") {
            ("429 Too Many Requests", b"slow down")
        } else {
            ("418 I'm a teapot", b"short and stout")
        };
        http_response(status, &[("Content-Type", "text/plain")], body)
    });
    let client = no_retries();
    for (path, kind, message) in [
        ("/401", ErrorKind::Unauthorized, "token expired"),
        ("/403", ErrorKind::Forbidden, "not yours"),
        ("/410", ErrorKind::Gone, "gone for good"),
        ("/413", ErrorKind::PayloadTooLarge, "too big"),
        ("/429", ErrorKind::RateLimited, "slow down"),
        ("/418", ErrorKind::UnexpectedStatus, "short and stout"),
    ] {
        let stream = client.stream(&fake.url(path)).unwrap();
        stream.set_content_type("text/plain");
        let err = stream.append("x").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{path}: {err}");
        assert_eq!(err.message(), message);
        assert_eq!(
            err.status().map(|s| s.to_string()),
            Some(path[1..].to_string())
        );
    }
}

/// A one-request server that answers a catch-up read with `pieces` of the body, `gap` apart.
fn trickling_server(pieces: Vec<&'static [u8]>, gap: Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/s", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let Ok((mut connection, _)) = listener.accept() else {
            return;
        };
        let mut head = [0u8; 4096];
        let _ = connection.read(&mut head);
        let total: usize = pieces.iter().map(|p| p.len()).sum();
        let _ = write!(
            connection,
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\nStream-Next-Offset: 9_9\r\nStream-Up-To-Date: true\r\nConnection: close\r\n\r\n"
        );
        for piece in pieces {
            let _ = connection.write_all(piece);
            let _ = connection.flush();
            std::thread::sleep(gap);
        }
    });
    url
}

fn short_timeout_client() -> Client {
    client_builder()
        .request_timeout(Duration::from_millis(400))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_catch_up_body_may_take_longer_than_the_request_timeout_while_data_flows() {
    let pieces: Vec<&'static [u8]> = vec![b"0123456789"; 8];
    let url = trickling_server(pieces, Duration::from_millis(150));
    let stream = short_timeout_client().stream(&url).unwrap();
    stream.set_content_type("application/octet-stream");
    let started = Instant::now();
    let chunk = within(
        10,
        "slow body",
        stream.read(ReadOptions::new()).next_chunk(),
    )
    .await
    .unwrap()
    .expect("one chunk");
    assert!(
        started.elapsed() > Duration::from_millis(900),
        "the body took ~1.2 s"
    );
    assert_eq!(chunk.data().len(), 80);
    assert_eq!(chunk.offset().as_str(), "9_9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_body_that_stalls_for_the_request_timeout_fails_as_a_timeout() {
    let url = trickling_server(
        vec![b"0123456789", b"never sent in time"],
        Duration::from_secs(3),
    );
    let stream = short_timeout_client().stream(&url).unwrap();
    stream.set_content_type("application/octet-stream");
    let error = within(
        10,
        "stalled body",
        stream.read(ReadOptions::new()).next_chunk(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(error.message().contains("no data for"), "{error}");
    assert_eq!(error.url(), Some(url.as_str()));
}

/// A body that breaks off, then the full one: the catch-up is requested again and delivered
/// whole, once (and with bounded chunks, the break ends the session at the response's start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_body_that_breaks_off_is_requested_again() {
    const BODY: &[u8] = b"0123456789abcdefghij";
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = served.clone();
    let fake = FakeServer::start(move |_| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nStream-Next-Offset: 1_20\r\nStream-Up-To-Date: true\r\nConnection: close\r\n\r\n",
            BODY.len()
        );
        let mut bytes = head.into_bytes();
        // Every other request stops after half the body.
        bytes.extend_from_slice(if n % 2 == 0 { &BODY[..10] } else { BODY });
        Reply::Bytes(bytes)
    });
    let client = client_builder().build().unwrap();
    let stream = client.stream(&fake.url("/s")).unwrap();
    stream.set_content_type("application/octet-stream");
    let chunk = within(
        10,
        "retried catch-up",
        stream.read(ReadOptions::new()).next_chunk(),
    )
    .await
    .unwrap()
    .expect("data");
    assert_eq!(chunk.data().as_ref(), BODY);
    assert_eq!(fake.requests().len(), 2, "one retry");

    let mut bounded = stream.read(ReadOptions::new().max_chunk_bytes(4));
    let mut received = Vec::new();
    let error = within(10, "bounded read through a break", async {
        loop {
            match bounded.next_chunk().await {
                Ok(Some(chunk)) => received.extend_from_slice(chunk.data()),
                Ok(None) => panic!("the broken response cannot complete"),
                Err(error) => break error,
            }
        }
    })
    .await;
    assert_eq!(error.kind(), ErrorKind::Network, "{error}");
    assert_eq!(received, &BODY[..8], "whole pieces of what arrived");
    assert_eq!(
        bounded.offset(),
        &Offset::BEGINNING,
        "resume at the response's start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_capped_by_the_maximum_retry_delay() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let fake = FakeServer::start(move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            http_response("503 Service Unavailable", &[("Retry-After", "3600")], b"")
        } else {
            http_response(
                "200 OK",
                &[
                    ("Content-Type", "text/plain"),
                    ("Stream-Next-Offset", OFFSET),
                ],
                b"",
            )
        }
    });
    let client = client_builder()
        .retry_policy(RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
            multiplier: 2.0,
        })
        .build()
        .unwrap();
    let stream = client.stream(&fake.url("/s")).unwrap();
    let started = Instant::now();
    let info = within(10, "a head told to wait an hour", stream.head())
        .await
        .unwrap();
    assert_eq!(info.next_offset.as_str(), OFFSET);
    assert_eq!(fake.requests().len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_headers_on_a_read_error_do_not_make_it_a_producer_error() {
    let fake = FakeServer::start(|head| {
        if head.contains("/forbidden") {
            http_response(
                "403 Forbidden",
                &[("Producer-Epoch", "7")],
                br#"{"message":"no reading here"}"#,
            )
        } else {
            http_response(
                "409 Conflict",
                &[
                    ("Producer-Expected-Seq", "3"),
                    ("Producer-Received-Seq", "5"),
                ],
                br#"{"message":"misrouted"}"#,
            )
        }
    });
    let client = no_retries();
    for (path, kind, status, message) in [
        ("/conflict", ErrorKind::Conflict, 409, "misrouted"),
        ("/forbidden", ErrorKind::Forbidden, 403, "no reading here"),
    ] {
        let stream = client.stream(&fake.url(path)).unwrap();
        stream.set_content_type("text/plain");
        for mode in [LiveMode::Off, LiveMode::LongPoll, LiveMode::Sse] {
            let mut session = stream.read(ReadOptions::new().live(mode));
            let err = within(10, "a read", session.next_chunk())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), kind, "{path} {mode:?}: {err}");
            assert_eq!(err.status(), Some(status), "{path} {mode:?}");
            assert_eq!(err.message(), message, "{path} {mode:?}");
            assert_eq!(err.expected_seq(), None);
            assert_eq!(err.current_epoch(), None);
        }
        // A plain append is no producer's either.
        let err = stream.append("x").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{path} append: {err}");
    }
}
