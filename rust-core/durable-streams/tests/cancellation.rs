//! Cancellation and time limits of live reads, against both servers started with a long
//! (20 s) long-poll timeout, so that a waiting request really stays pending.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Ctx, client_builder, slow_server, within};
use durable_streams_core::{
    CancellationToken, Decorations, ErrorKind, LiveMode, ReadOptions, ReadSession, RetryPolicy,
    cancellable, decorator_fn,
};
use durable_streams_test_harness::ServerKind;

server_tests!(
    cancelling_a_waiting_long_poll_returns_cancelled_promptly_and_the_session_resumes,
    cancelling_a_waiting_sse_read_returns_cancelled_promptly_and_the_session_resumes,
    a_token_cancelled_beforehand_stops_operations_before_any_request,
    live_timeout_shorter_than_the_server_long_poll_fails_with_timeout_instead_of_hanging,
    sse_with_live_timeout_shorter_than_server_keepalive_reconnects_and_delivers,
);

/// The slow server of the same kind as `ctx`.
fn slow(ctx: Ctx) -> Ctx {
    Ctx::on(slow_server(ctx.kind()))
}

async fn caught_up(session: &mut ReadSession) {
    let chunk = within(10, "catching up", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(chunk.up_to_date());
}

async fn cancelling_a_waiting_long_poll_returns_cancelled_promptly_and_the_session_resumes(
    ctx: Ctx,
) {
    cancel_waiting_read(slow(ctx), LiveMode::LongPoll).await;
}

async fn cancelling_a_waiting_sse_read_returns_cancelled_promptly_and_the_session_resumes(
    ctx: Ctx,
) {
    cancel_waiting_read(slow(ctx), LiveMode::Sse).await;
}

async fn cancel_waiting_read(ctx: Ctx, mode: LiveMode) {
    let stream = ctx.create("cancel-live", "text/plain").await;
    stream.append("history").await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(mode));
    caught_up(&mut session).await;

    let token = CancellationToken::new();
    let canceller = {
        let token = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            token.cancel();
        })
    };
    let started = Instant::now();
    let err = within(
        5,
        "a cancelled live read",
        cancellable(&token, session.next_chunk()),
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{mode:?}: {err}");
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_millis(1500),
        "{mode:?}: cancelled after {elapsed:?}"
    );
    canceller.await.unwrap();

    // Cancelling dropped the request, not the session: it resumes from its offset.
    assert!(!session.is_finished());
    // (No leading space: both servers write `data:` without the optional space, so SSE parsers,
    // this client's and the reference TypeScript client's alike, strip a payload's own.)
    stream.append("and more").await.unwrap();
    let chunk = within(10, "reading after a cancellation", session.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(chunk.text().unwrap(), "and more", "{mode:?}");
}

async fn a_token_cancelled_beforehand_stops_operations_before_any_request(ctx: Ctx) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let client = client_builder()
        .decorator(decorator_fn(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Decorations::default())
        }))
        .build()
        .unwrap();
    let ctx = Ctx::with_client(slow_server(ctx.kind()), client);
    let stream = ctx.create("cancel-early", "text/plain").await;
    let before = calls.load(Ordering::SeqCst);

    let token = CancellationToken::new();
    token.cancel();
    let append = cancellable(&token, stream.append("never")).await;
    assert_eq!(append.unwrap_err().kind(), ErrorKind::Cancelled);
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    let read = cancellable(&token, session.next_chunk()).await;
    assert_eq!(read.unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(calls.load(Ordering::SeqCst), before, "nothing was sent");
    assert!(
        common::read_all(&stream).await.data.is_empty(),
        "the append never ran"
    );
}

async fn live_timeout_shorter_than_the_server_long_poll_fails_with_timeout_instead_of_hanging(
    ctx: Ctx,
) {
    // A misconfiguration: the client gives up on a long-poll after 400 ms while the server holds
    // it for 20 s. Each attempt times out; after the retries the read fails with Timeout.
    let server = slow_server(ctx.kind());
    let client = client_builder()
        .live_timeout(Duration::from_millis(400))
        .retry_policy(RetryPolicy {
            max_retries: 1,
            ..common::fast_retries()
        })
        .build()
        .unwrap();
    let ctx = Ctx::with_client(server, client);
    let stream = ctx.create("short-live-timeout", "text/plain").await;
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    caught_up(&mut session).await;

    let started = Instant::now();
    let err = within(
        5,
        "a long-poll with a short live timeout",
        session.next_chunk(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "two attempts of 400 ms"
    );
    assert!(session.is_finished());
}

async fn sse_with_live_timeout_shorter_than_server_keepalive_reconnects_and_delivers(ctx: Ctx) {
    // The server stays silent for 20 s at the tail; the client treats 400 ms of silence as a
    // dead connection and reconnects from its offset. Data appended meanwhile still arrives.
    let kind: ServerKind = ctx.kind();
    let client = client_builder()
        .live_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let ctx = Ctx::with_client(slow_server(kind), client);
    let stream = ctx.create("sse-short-live-timeout", "text/plain").await;
    stream.append("history").await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(LiveMode::Sse));
    caught_up(&mut session).await;

    let writer = {
        let stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            stream.append("after reconnects").await.unwrap();
        })
    };
    let chunk = within(10, "SSE data after silent periods", async {
        loop {
            let chunk = session
                .next_chunk()
                .await
                .expect("reconnects are not errors")
                .unwrap();
            if chunk.has_data() {
                return chunk;
            }
        }
    })
    .await;
    assert_eq!(chunk.text().unwrap(), "after reconnects", "[{kind}]");
    writer.await.unwrap();
}
