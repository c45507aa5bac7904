//! Per-operation headers (`AppendOptions::headers`, `CreateOptions::headers`,
//! `ReadOptions::headers`): on the wire for every request of the operation, above default and
//! decorated headers, below the protocol's own, and validated without quoting values.
//!
//! Neither real server reflects headers back, so the wire checks use a local fake server.

#[macro_use]
mod common;

use std::time::Duration;

use common::{Ctx, FakeServer, Reply, client_builder, http_response, within};
use durable_streams_core::{
    AppendOptions, Client, CreateOptions, Decorations, ErrorKind, LiveMode, MAX_HEADER_VALUE_LEN,
    ReadOptions, decorator_fn,
};

server_tests!(closing_with_an_empty_append_and_headers_is_idempotent);

const SECRET: &str = "S3CRET-SENTINEL";

/// The values of header `name` (case-insensitive) in a recorded request head.
fn header_values(head: &str, name: &str) -> Vec<String> {
    head.lines()
        .skip(1)
        .filter_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
        .collect()
}

fn method(head: &str) -> &str {
    head.split(' ').next().unwrap_or("")
}

/// A client whose default and decorated headers both set `x-layer` (and one name each of their
/// own), so that a per-request `x-layer` must beat both.
fn layered_client() -> Client {
    client_builder()
        .header("x-layer", "default")
        .header("x-default-only", "d")
        .decorator(decorator_fn(|_| {
            Ok(Decorations {
                headers: vec![
                    ("x-layer".into(), "decorated".into()),
                    ("x-decorated-only".into(), "dec".into()),
                ],
                query: vec![],
            })
        }))
        .build()
        .unwrap()
}

/// Answers every write and `HEAD` as a text stream at offset `1_1`.
fn write_server() -> FakeServer {
    FakeServer::start(|head| match method(head) {
        "PUT" => http_response(
            "201 Created",
            &[
                ("Content-Type", "text/plain"),
                ("Stream-Next-Offset", "1_1"),
            ],
            b"",
        ),
        "HEAD" => http_response(
            "200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Stream-Next-Offset", "1_1"),
            ],
            b"",
        ),
        _ => http_response("204 No Content", &[("Stream-Next-Offset", "1_1")], b""),
    })
}

/// The one value of `name`, failing when it is missing or repeated.
fn single(head: &str, name: &str) -> String {
    let values = header_values(head, name);
    assert_eq!(values.len(), 1, "{name} in {head}");
    values[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_headers_beat_defaults_and_decorations_but_not_protocol_headers() {
    let fake = write_server();
    let stream = layered_client().stream(&fake.url("/s")).unwrap();
    let options = AppendOptions::new()
        .seq("0002")
        .content_type("text/plain")
        .header("x-layer", "per-request")
        .header("x-tenant", "t1")
        .header("Content-Type", "application/evil")
        .header("Stream-Seq", "9999");
    stream
        .append_with("hello".into(), options.clone())
        .await
        .unwrap();
    // Without a content type the append first learns it with HEAD: that carries them too.
    let learning = layered_client().stream(&fake.url("/learn")).unwrap();
    learning
        .append_with("x".into(), AppendOptions::new().header("x-tenant", "t2"))
        .await
        .unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    let post = &requests[0];
    assert_eq!(method(post), "POST");
    assert_eq!(single(post, "x-layer"), "per-request");
    assert_eq!(single(post, "x-tenant"), "t1");
    assert_eq!(single(post, "x-default-only"), "d");
    assert_eq!(single(post, "x-decorated-only"), "dec");
    assert_eq!(single(post, "content-type"), "text/plain", "protocol wins");
    assert_eq!(single(post, "stream-seq"), "0002", "protocol wins");
    assert_eq!(method(&requests[1]), "HEAD");
    assert_eq!(single(&requests[1], "x-tenant"), "t2");
    assert_eq!(method(&requests[2]), "POST");
    assert_eq!(single(&requests[2], "x-tenant"), "t2");

    // The options' Debug output names headers but never shows their values.
    let shown = format!("{:?}", AppendOptions::new().header("authorization", SECRET));
    assert!(
        shown.contains("authorization") && !shown.contains(SECRET),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_with_an_empty_append_sends_the_headers_and_stream_closed() {
    let fake = write_server();
    let stream = layered_client().stream(&fake.url("/s")).unwrap();
    let options = AppendOptions::new()
        .close(true)
        .header("x-layer", "per-request")
        .header("Stream-Closed", "false");
    let result = stream
        .append_with(bytes::Bytes::new(), options)
        .await
        .unwrap();
    assert_eq!(result.next_offset.as_str(), "1_1");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "no HEAD for a close: {requests:?}");
    let post = &requests[0];
    assert_eq!(method(post), "POST");
    assert_eq!(single(post, "x-layer"), "per-request");
    assert_eq!(single(post, "stream-closed"), "true", "protocol wins");
    assert!(header_values(post, "content-type").is_empty(), "{post}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_with_headers_is_retried_like_close() {
    // The default append_retry (never) must not apply: a bare close is idempotent.
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = attempts.clone();
    let fake = FakeServer::start(move |_head| {
        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            http_response("503 Service Unavailable", &[], b"busy")
        } else {
            http_response(
                "204 No Content",
                &[("Stream-Next-Offset", "1_1"), ("Stream-Closed", "true")],
                b"",
            )
        }
    });
    let stream = client_builder()
        .build()
        .unwrap()
        .stream(&fake.url("/s"))
        .unwrap();
    let options = AppendOptions::new().close(true).header("x-tenant", "t1");
    let result = within(
        10,
        "close",
        stream.append_with(bytes::Bytes::new(), options),
    )
    .await
    .unwrap();
    assert!(result.closed);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2);
    // An append with data keeps the append policy: sent once.
    attempts.store(0, std::sync::atomic::Ordering::SeqCst);
    let once = stream
        .append_with(
            bytes::Bytes::from_static(b"x"),
            AppendOptions::new().content_type("text/plain").close(true),
        )
        .await;
    assert!(once.is_err());
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_headers_are_sent_below_the_protocol_headers() {
    let fake = write_server();
    let stream = layered_client().stream(&fake.url("/s")).unwrap();
    let options = CreateOptions::new()
        .content_type("text/plain")
        .ttl(Duration::from_secs(60))
        .header("x-layer", "per-request")
        .header("Content-Type", "application/evil")
        .header("Stream-TTL", "1");
    let created = stream.create(options).await.unwrap();
    assert!(created.created);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let put = &requests[0];
    assert_eq!(method(put), "PUT");
    assert_eq!(single(put, "x-layer"), "per-request");
    assert_eq!(single(put, "x-decorated-only"), "dec");
    assert_eq!(single(put, "content-type"), "text/plain", "protocol wins");
    assert_eq!(single(put, "stream-ttl"), "60", "protocol wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_headers_go_on_every_catch_up_and_long_poll_request() {
    let fake = FakeServer::start(|head| {
        let line = head.lines().next().unwrap_or("");
        let data = |offset, up_to_date: bool, body: &'static [u8]| {
            let mut headers = vec![
                ("Content-Type", "text/plain"),
                ("Stream-Next-Offset", offset),
            ];
            if up_to_date {
                headers.push(("Stream-Up-To-Date", "true"));
            }
            http_response("200 OK", &headers, body)
        };
        if line.contains("live=long-poll") {
            http_response(
                "204 No Content",
                &[("Stream-Next-Offset", "2_2"), ("Stream-Closed", "true")],
                b"",
            )
        } else if line.contains("offset=-1") {
            data("1_1", false, b"ab")
        } else {
            data("2_2", true, b"c")
        }
    });
    let stream = layered_client().stream(&fake.url("/s")).unwrap();
    let mut session = stream.read(
        ReadOptions::new()
            .live(LiveMode::LongPoll)
            .header("x-layer", "per-request")
            .header("x-tenant", "t1"),
    );
    let mut text = String::new();
    while let Some(chunk) = within(10, "the read", session.next_chunk()).await.unwrap() {
        text.push_str(std::str::from_utf8(chunk.data()).unwrap());
    }
    assert_eq!(text, "abc");
    assert!(session.closed());

    let requests = fake.requests();
    assert_eq!(
        requests.len(),
        3,
        "two catch-ups and a long-poll: {requests:?}"
    );
    assert!(
        requests[2]
            .lines()
            .next()
            .unwrap()
            .contains("live=long-poll")
    );
    for head in &requests {
        assert_eq!(method(head), "GET");
        assert_eq!(single(head, "x-layer"), "per-request", "{head}");
        assert_eq!(single(head, "x-tenant"), "t1", "{head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_headers_go_on_every_sse_connection_and_can_be_replaced() {
    const FIRST: &[u8] =
        b"event: data\ndata: a\n\nevent: control\ndata: {\"streamNextOffset\":\"1_1\"}\n\n";
    const SECOND: &[u8] = b"event: data\ndata: b\n\nevent: control\ndata: {\"streamNextOffset\":\"2_2\",\"streamClosed\":true}\n\n";
    let fake = FakeServer::start(|head| {
        let line = head.lines().next().unwrap_or("");
        match method(head) {
            "HEAD" => http_response(
                "200 OK",
                &[
                    ("Content-Type", "text/plain"),
                    ("Stream-Next-Offset", "0_0"),
                ],
                b"",
            ),
            // The server ends the first response after one control event; the client
            // reconnects from 1_1.
            _ if line.contains("offset=1_1") => {
                http_response("200 OK", &[("Content-Type", "text/event-stream")], SECOND)
            }
            _ => http_response("200 OK", &[("Content-Type", "text/event-stream")], FIRST),
        }
    });
    let stream = layered_client().stream(&fake.url("/s")).unwrap();
    let mut session = stream.read(
        ReadOptions::new()
            .live(LiveMode::Sse)
            .header("x-tenant", "t1"),
    );
    let first = within(10, "first SSE chunk", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.data().as_ref(), b"a");
    // Between chunks: the reconnect sends the replacement.
    session
        .set_headers(&[("x-tenant".into(), "t2".into())])
        .unwrap();
    let second = within(10, "second SSE chunk", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.data().as_ref(), b"b");
    assert!(second.closed());

    let requests = fake.requests();
    let methods: Vec<&str> = requests.iter().map(|h| method(h)).collect();
    assert_eq!(methods, ["HEAD", "GET", "GET"], "{requests:?}");
    assert_eq!(
        single(&requests[0], "x-tenant"),
        "t1",
        "the HEAD learning JSON mode"
    );
    assert_eq!(single(&requests[1], "x-tenant"), "t1");
    assert!(requests[2].lines().next().unwrap().contains("live=sse"));
    assert_eq!(single(&requests[2], "x-tenant"), "t2", "the reconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_headers_fail_before_sending_and_name_the_header_not_the_value() {
    let fake = FakeServer::start(|_| Reply::Close);
    let stream = client_builder()
        .build()
        .unwrap()
        .stream(&fake.url("/s"))
        .unwrap();
    stream.set_content_type("text/plain");
    let long = format!("{SECRET}{}", "v".repeat(MAX_HEADER_VALUE_LEN));
    let cases: [(&str, &str, &str); 5] = [
        ("bad name", "v", "not a valid header name"),
        ("", "v", "not a valid header name"),
        (
            "authorization",
            "Bearer S3CRET-SENTINEL\r\nX-Injected: 1",
            "not allow",
        ),
        ("x-token", "S3CRET-SENTINEL\u{e9}", "non-ASCII"),
        ("x-big", &long, "at most 8192"),
    ];
    for (name, value, problem) in cases {
        let quoted = format!("{name:?}");
        let header = [(name.to_owned(), value.to_owned())];
        let append = stream
            .append_with("x".into(), AppendOptions::new().header(name, value))
            .await
            .unwrap_err();
        let close = stream
            .append_with(
                bytes::Bytes::new(),
                AppendOptions::new().close(true).header(name, value),
            )
            .await
            .unwrap_err();
        let create = stream
            .create(CreateOptions::new().header(name, value))
            .await
            .unwrap_err();
        let mut session = stream.read(ReadOptions::new().header(name, value));
        let read = session.next_chunk().await.unwrap_err();
        assert!(session.is_finished());
        let mut session = stream.read(ReadOptions::new());
        let set = session.set_headers(&header).unwrap_err();
        for (operation, err) in [
            ("append", append),
            ("close", close),
            ("create", create),
            ("read", read),
            ("set_headers", set),
        ] {
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{operation}: {err}");
            assert!(err.message().starts_with("headers:"), "{operation}: {err}");
            assert!(err.message().contains(&quoted), "{operation}: {err}");
            assert!(err.message().contains(problem), "{operation}: {err}");
            assert_eq!(err.url(), Some(stream.url()), "{operation}");
            let text = format!("{err} {err:?}");
            assert!(!text.contains(SECRET), "{operation}: {text}");
        }
    }
    assert!(fake.requests().is_empty(), "nothing was sent");
}

/// On a real server: closing with an empty append (what bindings use to close with headers)
/// stays idempotent, like `close()`.
async fn closing_with_an_empty_append_and_headers_is_idempotent(ctx: Ctx) {
    let stream = ctx.create("close-with-headers", "text/plain").await;
    stream.append("data").await.unwrap();
    let close = || AppendOptions::new().close(true).header("x-tenant", "t1");
    let first = stream
        .append_with(bytes::Bytes::new(), close())
        .await
        .unwrap();
    assert!(first.closed);
    let again = stream
        .append_with(bytes::Bytes::new(), close())
        .await
        .unwrap();
    assert!(again.closed);
    assert_eq!(again.next_offset, first.next_offset);
    let err = stream
        .append_with("late".into(), AppendOptions::new().header("x-tenant", "t1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamClosed, "{err}");
}
