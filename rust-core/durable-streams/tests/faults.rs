//! Failure handling, driven by the Node reference server's fault injection
//! (`POST /_test/inject-error`). Electric's server has no fault injection, so every test here
//! runs against Node only.
//!
//! A fault applies to the next `count` requests whose URL path (no query) equals `path` and,
//! when given, whose method equals `method`. Stream names are unique, so tests can run in
//! parallel; faults are never cleared globally (that would remove other tests' faults).
//!
//! Retries are counted through the fault counter: with `count: n`, an operation that fails
//! after `n` injected failures made at most `n` attempts, and a probe with retries disabled
//! tells whether faults are left.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Ctx, client_builder, read_all, within};
use durable_streams_core::{
    AppendOptions, CancellationToken, ErrorKind, LiveMode, ReadOptions, RetryPolicy, Stream,
    cancellable,
};
use durable_streams_test_harness::ServerKind;
use serde_json::{Value, json};

fn node() -> Ctx {
    let ctx = Ctx::new(ServerKind::Node);
    assert!(ctx.server.supports_fault_injection());
    ctx
}

fn inject(ctx: &Ctx, stream: &Stream, fault: Value) {
    let mut fault = fault;
    fault["path"] = Value::String(ctx.path_of(stream));
    ctx.server.inject_fault(&fault).expect("fault injected");
}

/// The Node server's context on a client whose fast retries may wait up to 5 s, so that a
/// server's `Retry-After` of a second or two is honoured in full (it is capped by `max_delay`).
fn node_honouring_retry_after() -> Ctx {
    let server = node().server;
    let policy = RetryPolicy {
        max_delay: Duration::from_secs(5),
        ..common::fast_retries()
    };
    let client = client_builder().retry_policy(policy).build().unwrap();
    Ctx::with_client(server, client)
}

/// A handle to `stream` on a client that never retries (to probe for leftover faults).
fn no_retry_handle(stream: &Stream) -> Stream {
    let client = client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let handle = client.stream(stream.url()).unwrap();
    if let Some(ct) = stream.content_type() {
        handle.set_content_type(&ct);
    }
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_on_503_is_honoured_for_head_and_reads() {
    let ctx = node_honouring_retry_after();
    let head_stream = ctx.create("retry-after-head", "text/plain").await;
    let read_stream = ctx.create("retry-after-read", "text/plain").await;
    read_stream.append("payload").await.unwrap();
    inject(
        &ctx,
        &head_stream,
        json!({"status": 503, "count": 2, "retryAfter": 1, "method": "HEAD"}),
    );
    inject(
        &ctx,
        &read_stream,
        json!({"status": 503, "count": 1, "retryAfter": 1, "method": "GET"}),
    );

    let started = Instant::now();
    let (head, read) = tokio::join!(
        async {
            let info = head_stream.head().await;
            (info, started.elapsed())
        },
        async {
            let read = read_all(&read_stream).await;
            (read, started.elapsed())
        }
    );
    let (info, head_elapsed) = head;
    assert!(info.is_ok(), "{info:?}");
    // The fast retry policy alone would retry within ~30 ms; two Retry-After: 1 waits take 2 s.
    assert!(
        head_elapsed >= Duration::from_millis(1900),
        "HEAD retried after {head_elapsed:?}"
    );
    let (read, read_elapsed) = read;
    assert_eq!(read.text(), "payload");
    assert!(
        read_elapsed >= Duration::from_millis(950),
        "read retried after {read_elapsed:?}"
    );
    assert!(head_elapsed < Duration::from_secs(6) && read_elapsed < Duration::from_secs(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_with_retry_after_is_retried_for_safe_operations_only() {
    let ctx = node_honouring_retry_after();
    let stream = ctx.create("rate-limited", "text/plain").await;
    stream.append("data").await.unwrap();

    // Close is idempotent, so it is retried after the server's hint.
    inject(
        &ctx,
        &stream,
        json!({"status": 429, "count": 1, "retryAfter": 1, "method": "POST"}),
    );
    let started = Instant::now();
    assert!(stream.close().await.unwrap().closed);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );

    // A plain append is not: the 429 is reported, with the server's hint.
    let other = ctx.create("rate-limited-append", "text/plain").await;
    inject(
        &ctx,
        &other,
        json!({"status": 429, "count": 1, "retryAfter": 7, "method": "POST"}),
    );
    let err = other.append("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.detail().retry_after_ms, Some(7000));
    assert!(read_all(&other).await.data.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_exhaust_retries_then_fail_with_server_error() {
    let ctx = node();
    let stream = ctx.create("retry-exhausted", "text/plain").await;
    // The fast policy makes 1 + 3 attempts; inject exactly that many failures.
    inject(
        &ctx,
        &stream,
        json!({"status": 503, "count": 4, "method": "HEAD"}),
    );
    let err = stream.head().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServerError, "{err}");
    assert_eq!(err.status(), Some(503));
    assert!(err.is_transient());
    assert!(!err.message().is_empty());
    // All four faults were used up by exactly four attempts.
    no_retry_handle(&stream)
        .head()
        .await
        .expect("no fault left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_on_append_is_not_retried() {
    let ctx = node();
    let stream = ctx.create("append-500", "text/plain").await;
    stream.append("before ").await.unwrap();
    for status in [500, 503] {
        inject(
            &ctx,
            &stream,
            json!({"status": status, "count": 1, "method": "POST"}),
        );
        let err = stream.append("lost").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ServerError, "{err}");
        assert_eq!(err.status(), Some(status));
        // A retry would have succeeded (the fault was used once) and stored "lost".
        assert_eq!(
            read_all(&stream).await.text(),
            "before ",
            "the append was sent once"
        );
    }
    stream.append("after").await.unwrap();
    assert_eq!(read_all(&stream).await.text(), "before after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_on_reads_are_retried() {
    let ctx = node();
    let stream = ctx.create("drop-read", "application/octet-stream").await;
    let payload = common::pseudo_random_bytes(10_000, 3);
    stream.append(payload.clone()).await.unwrap();

    inject(
        &ctx,
        &stream,
        json!({"dropConnection": true, "count": 2, "method": "GET"}),
    );
    assert_eq!(read_all(&stream).await.data, payload, "catch-up");

    for mode in [LiveMode::LongPoll, LiveMode::Sse] {
        inject(
            &ctx,
            &stream,
            json!({"dropConnection": true, "count": 2, "method": "GET"}),
        );
        let mut session = stream.read(ReadOptions::new().live(mode));
        let mut data = Vec::new();
        within(10, "a live read through dropped connections", async {
            while data.len() < payload.len() {
                let chunk = session.next_chunk().await.unwrap().unwrap();
                data.extend_from_slice(chunk.data());
            }
        })
        .await;
        assert!(data == payload, "{mode:?}");
    }

    inject(
        &ctx,
        &stream,
        json!({"dropConnection": true, "count": 1, "method": "HEAD"}),
    );
    stream.head().await.expect("HEAD is retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_during_a_live_session_is_retried_from_the_last_offset() {
    let ctx = node();
    let stream = ctx.create("live-failure", "text/plain").await;
    stream.append("one,").await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    let first = within(10, "catch-up", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.text().unwrap(), "one,");

    inject(
        &ctx,
        &stream,
        json!({"status": 503, "count": 1, "method": "GET"}),
    );
    stream.append("two").await.unwrap();
    let second = within(10, "a long-poll after a 503", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.text().unwrap(), "two", "no gap, no duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_shorter_than_the_timeout_succeed() {
    let ctx = node();
    let stream = ctx.create("short-delay", "text/plain").await;
    stream.append("x").await.unwrap();
    inject(&ctx, &stream, json!({"delayMs": 300, "count": 3}));
    let started = Instant::now();
    stream.head().await.unwrap();
    stream.append("y").await.unwrap();
    assert_eq!(read_all(&stream).await.text(), "xy");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_longer_than_the_request_timeout_is_a_timeout() {
    let ctx = node();
    let stream = ctx.create("long-delay", "text/plain").await;
    stream.append("x").await.unwrap();
    let client = client_builder()
        .request_timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let handle = client.stream(stream.url()).unwrap();

    inject(
        &ctx,
        &stream,
        json!({"delayMs": 1500, "count": 1, "method": "HEAD"}),
    );
    let started = Instant::now();
    let err = handle.head().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );

    inject(
        &ctx,
        &stream,
        json!({"delayMs": 1500, "count": 1, "method": "GET"}),
    );
    let err = handle
        .read(ReadOptions::new())
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_body_is_a_parse_error() {
    let ctx = node();
    let stream = ctx.create("truncated", "application/json").await;
    stream
        .append_json_messages([json!({"a": 1}), json!({"b": 2})])
        .await
        .unwrap();
    inject(
        &ctx,
        &stream,
        json!({"truncateBodyBytes": 9, "count": 1, "method": "GET"}),
    );
    let err = stream
        .read(ReadOptions::new())
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert_eq!(err.url(), Some(stream.url()));
    assert_eq!(err.status(), Some(200));
    // The fault was used once; the data is intact.
    assert_eq!(
        read_all(&stream).await.messages(),
        vec![json!({"a": 1}), json!({"b": 2})]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_json_body_is_a_parse_error() {
    let ctx = node();
    let stream = ctx.create("corrupt", "application/json").await;
    stream
        .append_json(&json!({"payload": "x".repeat(100)}))
        .await
        .unwrap();
    inject(
        &ctx,
        &stream,
        json!({"corruptBody": true, "count": 1, "method": "GET"}),
    );
    let err = stream
        .read(ReadOptions::new())
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert_eq!(read_all(&stream).await.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sse_event_types_are_ignored() {
    let ctx = node();
    let stream = ctx.create("sse-unknown-event", "application/json").await;
    stream.append_json(&json!({"n": 1})).await.unwrap();
    inject(
        &ctx,
        &stream,
        // Data that would fail if it were treated as a control event.
        json!({"injectSseEvent": {"eventType": "foo", "data": "{not json"}, "count": 1, "method": "GET"}),
    );
    let mut session = stream.read(ReadOptions::new().live(LiveMode::Sse));
    let chunk = within(10, "SSE after an unknown event", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    let messages: Vec<Value> = chunk
        .messages()
        .unwrap()
        .iter()
        .map(|m| serde_json::from_slice(m).unwrap())
        .collect();
    assert_eq!(messages, vec![json!({"n": 1})]);

    // Live data still flows on the same connection.
    let writer = {
        let stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            stream.append_json(&json!({"n": 2})).await.unwrap();
        })
    };
    let live = within(10, "live SSE data", async {
        loop {
            let chunk = session.next_chunk().await.unwrap().unwrap();
            if chunk.has_data() {
                return chunk;
            }
        }
    })
    .await;
    assert_eq!(live.data().as_ref(), br#"[{"n":2}]"#);
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sse_control_event_is_a_parse_error() {
    let ctx = node();
    let stream = ctx.create("sse-bad-control", "text/plain").await;
    stream.append("data").await.unwrap();
    inject(
        &ctx,
        &stream,
        json!({"injectSseEvent": {"eventType": "control", "data": "{not json"}, "count": 1, "method": "GET"}),
    );
    let mut session = stream.read(ReadOptions::new().live(LiveMode::Sse));
    let err = within(
        10,
        "SSE with a malformed control event",
        session.next_chunk(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert!(err.message().contains("control"), "{err}");
    assert!(session.is_finished());
    assert!(session.next_chunk().await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_and_bad_request_are_never_retried() {
    let ctx = node();
    let stream = ctx.create("no-retry", "text/plain").await;
    stream.append("data").await.unwrap();

    // Two injected failures: a client that retried would use both and then succeed.
    for (status, method, kind) in [
        (404, "HEAD", ErrorKind::NotFound),
        (400, "HEAD", ErrorKind::BadRequest),
        (404, "GET", ErrorKind::NotFound),
        (400, "GET", ErrorKind::InvalidOffset),
        (404, "POST", ErrorKind::NotFound),
        (409, "PUT", ErrorKind::Conflict),
    ] {
        inject(
            &ctx,
            &stream,
            json!({"status": status, "count": 2, "method": method}),
        );
        for attempt in 1..=2 {
            let err = match method {
                "HEAD" => stream.head().await.map(|_| ()),
                "GET" => stream
                    .read(ReadOptions::new())
                    .next_chunk()
                    .await
                    .map(|_| ()),
                "POST" => stream.close().await.map(|_| ()),
                _ => stream
                    .create(durable_streams_core::CreateOptions::new().content_type("text/plain"))
                    .await
                    .map(|_| ()),
            }
            .expect_err("the injected failure is reported");
            assert_eq!(
                err.kind(),
                kind,
                "{status} {method} attempt {attempt}: {err}"
            );
            assert_eq!(err.status(), Some(status));
        }
        // Exactly one request per call: the two faults are used up now.
        assert!(stream.head().await.is_ok(), "{status} {method}");
    }
    assert_eq!(read_all(&stream).await.text(), "data");
    assert!(
        !stream.head().await.unwrap().closed,
        "the injected close never ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_delayed_request_returns_promptly() {
    let ctx = node();
    let stream = ctx.create("cancel-delay", "text/plain").await;
    inject(
        &ctx,
        &stream,
        json!({"delayMs": 3000, "count": 1, "method": "POST"}),
    );
    let token = CancellationToken::new();
    let canceller = {
        let token = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            token.cancel();
        })
    };
    let started = Instant::now();
    let result = cancellable(
        &token,
        stream.append_with(Bytes::from_static(b"slow"), AppendOptions::new()),
    )
    .await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    canceller.await.unwrap();
}
