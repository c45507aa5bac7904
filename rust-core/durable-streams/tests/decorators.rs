//! Dynamic headers and query parameters (`RequestDecorator`): sent on the wire, accepted by both
//! servers, computed once per request, and able to fail an operation.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    Ctx, FakeServer, LONG_POLL_MS, client_builder, http_response, read_all, slow_server, within,
};
use durable_streams_core::{
    CreateOptions, Decorations, Error, ErrorKind, LiveMode, Operation, ReadOptions, RequestInfo,
    decorator_fn,
};

server_tests!(
    decorated_requests_work_for_every_operation,
    decorator_runs_once_per_request,
    decorator_runs_again_for_each_long_poll_after_a_timeout,
    decorator_error_fails_the_operation_with_that_error,
    new_handles_learn_the_content_type_once_per_client,
);

/// A decorator that adds a rotating token header and a tenant query parameter, recording what it
/// was asked to decorate.
fn recording_client(log: Arc<Mutex<Vec<RequestInfo>>>) -> durable_streams_core::Client {
    let counter = AtomicUsize::new(0);
    client_builder()
        .header("x-ds-token", "static-default")
        .decorator(decorator_fn(move |info| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            log.lock().unwrap().push(info.clone());
            Ok(Decorations {
                headers: vec![("x-ds-token".into(), format!("token-{n}"))],
                query: vec![("tenant".into(), "t 1&2".into())],
            })
        }))
        .build()
        .unwrap()
}

fn count(log: &Mutex<Vec<RequestInfo>>, operation: Operation) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|i| i.operation == operation)
        .count()
}

async fn decorated_requests_work_for_every_operation(ctx: Ctx) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let ctx = Ctx::with_client(ctx.server, recording_client(log.clone()));
    let stream = ctx.create("decorated", "text/plain").await;
    stream.append("one ").await.unwrap();
    assert_eq!(
        stream.head().await.unwrap().content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(read_all(&stream).await.text(), "one ");
    for mode in [LiveMode::LongPoll, LiveMode::Sse] {
        let mut session = stream.read(ReadOptions::new().live(mode));
        let chunk = within(10, "a decorated live read", session.next_chunk())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(chunk.text().unwrap(), "one ", "{mode:?}");
    }
    stream.close().await.unwrap();
    stream.delete().await.unwrap();

    let log = log.lock().unwrap();
    let seen: Vec<(Operation, &str)> = log.iter().map(|i| (i.operation, i.method)).collect();
    for expected in [
        (Operation::Create, "PUT"),
        (Operation::Append, "POST"),
        (Operation::Head, "HEAD"),
        (Operation::Read, "GET"),
        (Operation::Close, "POST"),
        (Operation::Delete, "DELETE"),
    ] {
        assert!(
            seen.contains(&expected),
            "{expected:?} not decorated: {seen:?}"
        );
    }
    assert!(
        log.iter().all(|i| i.url == stream.url()),
        "the URL has no query added"
    );
}

async fn decorator_runs_once_per_request(ctx: Ctx) {
    // On the slow server (20 s long-poll timeout) no long-poll can time out by accident, so the
    // counts are exact.
    let log = Arc::new(Mutex::new(Vec::new()));
    let ctx = Ctx::with_client(slow_server(ctx.kind()), recording_client(log.clone()));
    let stream = ctx.create("decorator-count", "text/plain").await;
    assert_eq!(count(&log, Operation::Create), 1);
    stream.append("history").await.unwrap();
    assert_eq!(count(&log, Operation::Append), 1);
    assert_eq!(
        count(&log, Operation::Head),
        0,
        "the handle knows its content type"
    );

    // Long-poll: one catch-up request, then one request per long-poll.
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    let first = within(10, "catch-up", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.text().unwrap(), "history");
    assert_eq!(count(&log, Operation::Read), 1, "one catch-up request");
    for (i, text) in ["live-1", "live-2"].into_iter().enumerate() {
        let writer = {
            let stream = stream.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                stream.append(text).await.unwrap();
            })
        };
        let chunk = within(10, "a long-poll", session.next_chunk())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(chunk.text().unwrap(), text);
        writer.await.unwrap();
        assert_eq!(
            count(&log, Operation::Read),
            2 + i,
            "one more request per long-poll"
        );
    }

    // SSE: one request for the connection, however many chunks it carries.
    let before = count(&log, Operation::Read);
    let mut sse = stream.read(ReadOptions::new().live(LiveMode::Sse));
    let chunk = within(10, "SSE history", sse.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(chunk.has_data());
    let writer = {
        let stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            stream.append("sse-live").await.unwrap();
        })
    };
    let chunk = within(10, "SSE live data", async {
        loop {
            let chunk = sse.next_chunk().await.unwrap().unwrap();
            if chunk.has_data() {
                return chunk;
            }
        }
    })
    .await;
    assert_eq!(chunk.text().unwrap(), "sse-live");
    writer.await.unwrap();
    assert_eq!(
        count(&log, Operation::Read),
        before + 1,
        "one SSE connection"
    );
}

async fn decorator_runs_again_for_each_long_poll_after_a_timeout(ctx: Ctx) {
    // A long-poll that times out on the server (204) is a request too, and the next one is
    // decorated again, so a long-lived reader picks up rotated tokens.
    let log = Arc::new(Mutex::new(Vec::new()));
    let ctx = Ctx::with_client(ctx.server, recording_client(log.clone()));
    let stream = ctx.create("decorator-timeouts", "text/plain").await;
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    let first = within(10, "catch-up", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(first.up_to_date() && !first.has_data());
    assert_eq!(count(&log, Operation::Read), 1);

    let writer = {
        let stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(LONG_POLL_MS * 2 + 300)).await;
            stream.append("late").await.unwrap();
        })
    };
    let chunk = within(10, "a long-poll after timeouts", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(chunk.text().unwrap(), "late");
    writer.await.unwrap();
    // The catch-up, at least two 204s, and the long-poll that got the data.
    let reads = count(&log, Operation::Read);
    assert!(reads >= 4, "every long-poll was decorated ({reads} reads)");
}

async fn decorator_error_fails_the_operation_with_that_error(ctx: Ctx) {
    // Create the stream with a plain client, then use one whose decorator always fails.
    let stream = ctx.create("decorator-error", "text/plain").await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let failing = client_builder()
        .decorator(decorator_fn(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Err(Error::new(ErrorKind::Unauthorized, "token refresh failed"))
        }))
        .build()
        .unwrap();
    let handle = failing.stream(stream.url()).unwrap();
    handle.set_content_type("text/plain");

    let results = [
        handle.head().await.map(|_| ()),
        handle.append("x").await.map(|_| ()),
        handle.create(CreateOptions::new()).await.map(|_| ()),
        handle.close().await.map(|_| ()),
        handle.delete().await,
        handle
            .read(ReadOptions::new())
            .next_chunk()
            .await
            .map(|_| ()),
        handle
            .read(ReadOptions::new().live(LiveMode::Sse))
            .next_chunk()
            .await
            .map(|_| ()),
    ];
    for result in results {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
        assert_eq!(err.message(), "token refresh failed");
        assert_eq!(err.url(), Some(stream.url()), "the error names the stream");
        assert_eq!(err.status(), None, "no request was sent");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        7,
        "one call per operation, no retries"
    );
    // Nothing happened to the stream.
    assert!(!stream.head().await.unwrap().closed);
}

/// The decorations really reach the wire: checked against a local fake server, since neither
/// real server reflects headers back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decorations_are_sent_as_headers_and_query_parameters() {
    let fake = FakeServer::start(|_| {
        http_response(
            "200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Stream-Next-Offset", "0000000000000000_0000000000000005"),
            ],
            b"",
        )
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let client = recording_client(log);
    let stream = client.stream(&fake.url("/v1/stream/s")).unwrap();
    stream.head().await.unwrap();
    stream.head().await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for (i, head) in requests.iter().enumerate() {
        let lower = head.to_ascii_lowercase();
        let request_line = head.lines().next().unwrap();
        assert_eq!(
            request_line, "HEAD /v1/stream/s?tenant=t+1%262 HTTP/1.1",
            "{head}"
        );
        let token = format!("x-ds-token: token-{}", i + 1);
        assert!(lower.contains(&token), "rotated token missing: {head}");
        assert!(
            !lower.contains("static-default"),
            "the decorated header replaces the default"
        );
    }
}

/// `client.stream(url)?.append(..)` in a loop: the first handle asks with one `HEAD`, every later
/// handle of the same client reuses what it learned; deleting the stream forgets it.
async fn new_handles_learn_the_content_type_once_per_client(ctx: Ctx) {
    let created = ctx.create("content-type-once", "text/plain").await;
    let url = created.url().to_string();
    let log = Arc::new(Mutex::new(Vec::new()));
    let client = recording_client(log.clone());
    for word in ["one ", "two ", "three "] {
        client.stream(&url).unwrap().append(word).await.unwrap();
    }
    assert_eq!(
        count(&log, Operation::Head),
        1,
        "one HEAD for three handles"
    );
    assert_eq!(count(&log, Operation::Append), 3);
    assert_eq!(
        client.stream(&url).unwrap().content_type().as_deref(),
        Some("text/plain")
    );
    assert_eq!(read_all(&created).await.text(), "one two three ");

    client.stream(&url).unwrap().delete().await.unwrap();
    assert_eq!(client.stream(&url).unwrap().content_type(), None);
    let recreated = client.stream(&url).unwrap();
    recreated
        .create(CreateOptions::new().content_type("application/json"))
        .await
        .unwrap();
    client.stream(&url).unwrap().append("[1]").await.unwrap();
    assert_eq!(
        count(&log, Operation::Head),
        1,
        "create taught the new type"
    );
    assert_eq!(
        read_all(&recreated).await.messages(),
        vec![serde_json::json!(1)]
    );
}
