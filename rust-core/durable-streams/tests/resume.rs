//! Resuming exactly inside a response: [`ReadOptions::skip_bytes`] with the offset and
//! [`Chunk::resume_skip`] of a partial piece, against both servers (and a fake server for
//! answers they do not give, such as a catch-up cut into several responses).

#[macro_use]
mod common;

use bytes::Bytes;
use common::{Ctx, FakeServer, LONG_POLL_MS, chunks_of, http_response, within};
use durable_streams_core::{Chunk, ErrorKind, LiveMode, Offset, ReadOptions, Stream};
use serde_json::json;

server_tests!(
    every_piece_resumes_exactly_after_itself,
    resuming_a_resumed_session_is_exact_too,
    skipping_the_whole_stream_reports_up_to_date_without_data,
    skipping_the_whole_closed_stream_reports_the_close,
    skipping_past_the_data_fails_clearly_in_every_mode,
    skipping_on_a_json_stream_is_an_invalid_argument,
    a_resumed_long_poll_catches_up_then_tails,
    a_resumed_sse_read_returns_exactly_the_rest,
    the_session_position_resumes_exactly,
);

const KIB: usize = 1024;
const MAX: usize = 64 * KIB;

/// `len` bytes in which every position is recognizable: each 4-byte group is its index.
fn positional_bytes(len: usize) -> Bytes {
    let mut out: Vec<u8> = (0u32..).flat_map(u32::to_be_bytes).take(len + 4).collect();
    out.truncate(len);
    Bytes::from(out)
}

/// A binary stream holding 300 KiB of [`positional_bytes`], appended in three requests.
async fn positional_stream(ctx: &Ctx, prefix: &str) -> (Stream, Bytes) {
    let stream = ctx.create(prefix, "application/octet-stream").await;
    let payload = positional_bytes(300 * KIB);
    for part in payload.chunks(100 * KIB) {
        stream.append(Bytes::copy_from_slice(part)).await.unwrap();
    }
    (stream, payload)
}

/// Options resuming exactly after `chunk`.
fn after(chunk: &Chunk) -> ReadOptions {
    let mut options = ReadOptions::new()
        .offset(chunk.offset().clone())
        .skip_bytes(chunk.resume_skip());
    options.cursor = chunk.cursor().map(str::to_owned);
    options
}

fn joined(chunks: &[Chunk]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.data().to_vec()).collect()
}

/// Where the first mismatch of `got` against `want` is, for a readable failure.
fn describe_mismatch(got: &[u8], want: &[u8]) -> String {
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    format!(
        "got {} bytes, want {}; first difference at {first:?}",
        got.len(),
        want.len()
    )
}

/// Checks that a catch-up of `chunks` (read with a bound of [`MAX`]) returned exactly `rest` and
/// ended up to date.
fn assert_rest(chunks: &[Chunk], rest: &[u8], what: &str) {
    assert_rest_within(chunks, rest, MAX, what);
}

fn assert_rest_within(chunks: &[Chunk], rest: &[u8], bound: usize, what: &str) {
    let data = joined(chunks);
    assert!(data == rest, "{what}: {}", describe_mismatch(&data, rest));
    let last = chunks.last().unwrap_or_else(|| panic!("{what}: no chunk"));
    assert!(
        last.up_to_date() && !last.partial(),
        "{what}: ends up to date"
    );
    for chunk in chunks {
        assert!(chunk.data().len() <= bound, "{what}: bounded pieces");
        if !chunk.partial() {
            assert_eq!(
                chunk.resume_skip(),
                0,
                "{what}: complete chunks skip nothing"
            );
        }
    }
}

async fn every_piece_resumes_exactly_after_itself(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-every").await;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(MAX));
    let chunks = chunks_of(&mut session).await;
    assert_rest(&chunks, &payload, "the first read");
    assert!(
        chunks.iter().filter(|c| c.partial()).count() >= 2,
        "300 KiB came in several pieces"
    );
    let mut delivered = 0usize;
    for (i, chunk) in chunks.iter().enumerate() {
        delivered += chunk.data().len();
        if chunk.partial() {
            assert_eq!(
                chunk.resume_skip(),
                delivered as u64,
                "piece {i}: one response from the start, so the skip counts every byte so far"
            );
            assert_eq!(chunk.offset(), &Offset::BEGINNING, "piece {i}");
        }
        for bound in [Some(MAX), None] {
            let mut options = after(chunk);
            options.max_chunk_bytes = bound;
            let mut resumed = stream.read(options);
            let rest = chunks_of(&mut resumed).await;
            let what = format!("resuming after piece {i} (bound {bound:?})");
            if delivered == payload.len() {
                // After the last chunk there is nothing more: one up-to-date chunk, no data.
                assert_eq!(rest.len(), 1, "{what}");
                assert!(!rest[0].has_data() && rest[0].up_to_date(), "{what}");
            } else {
                let bound = bound.unwrap_or(usize::MAX);
                assert_rest_within(&rest, &payload[delivered..], bound, &what);
            }
            assert_eq!(resumed.resume_skip(), 0, "{what}: the skip is done");
        }
    }
}

async fn resuming_a_resumed_session_is_exact_too(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-twice").await;
    // Start 100 000 bytes in (not a multiple of the bound, nor of the 4-byte pattern).
    let first_skip = 100_000usize;
    let mut session = stream.read(
        ReadOptions::new()
            .max_chunk_bytes(MAX)
            .skip_bytes(first_skip as u64),
    );
    let chunks = chunks_of(&mut session).await;
    assert_rest(&chunks, &payload[first_skip..], "the skipped read");
    let mut delivered = first_skip;
    for (i, chunk) in chunks.iter().enumerate() {
        delivered += chunk.data().len();
        if chunk.partial() {
            assert_eq!(
                chunk.resume_skip(),
                delivered as u64,
                "piece {i}: the skip includes the skipped bytes"
            );
            let mut again = stream.read(after(chunk).max_chunk_bytes(MAX));
            let rest = chunks_of(&mut again).await;
            assert_rest(&rest, &payload[delivered..], &format!("after piece {i}"));
        }
    }
    assert!(
        chunks[0].partial(),
        "the rest of the response came in pieces"
    );
}

async fn skipping_the_whole_stream_reports_up_to_date_without_data(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-all").await;
    for bound in [Some(MAX), None] {
        let mut options = ReadOptions::new().skip_bytes(payload.len() as u64);
        options.max_chunk_bytes = bound;
        let mut session = stream.read(options);
        let chunks = chunks_of(&mut session).await;
        assert_eq!(chunks.len(), 1, "bound {bound:?}: one chunk");
        assert!(!chunks[0].has_data() && chunks[0].up_to_date(), "{bound:?}");
        assert!(!chunks[0].partial() && !chunks[0].closed(), "{bound:?}");
        let tail = stream.head().await.unwrap().next_offset;
        assert_eq!(
            chunks[0].offset(),
            &tail,
            "{bound:?}: positioned at the tail"
        );
        assert_eq!(session.offset(), &tail);
        assert_eq!(session.resume_skip(), 0);
    }
}

async fn skipping_the_whole_closed_stream_reports_the_close(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-closed").await;
    stream.close().await.unwrap();
    for mode in [LiveMode::Off, LiveMode::LongPoll] {
        let mut session = stream.read(
            ReadOptions::new()
                .live(mode)
                .max_chunk_bytes(MAX)
                .skip_bytes(payload.len() as u64),
        );
        let chunks = chunks_of(&mut session).await;
        assert_eq!(chunks.len(), 1, "{mode:?}: one chunk");
        assert!(!chunks[0].has_data(), "{mode:?}");
        assert!(chunks[0].closed() && chunks[0].up_to_date(), "{mode:?}");
        assert!(session.closed());
    }
}

async fn skipping_past_the_data_fails_clearly_in_every_mode(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-past").await;
    let beyond = payload.len() as u64 + 1;
    let modes = [
        LiveMode::Off,
        LiveMode::LongPoll,
        LiveMode::Sse,
        LiveMode::Auto,
    ];
    for mode in modes {
        for bound in [Some(MAX), None] {
            let mut options = ReadOptions::new().live(mode).skip_bytes(beyond);
            options.max_chunk_bytes = bound;
            let mut session = stream.read(options);
            // Well before the servers' long-poll timeout: failing must not wait for data.
            let error = within(5, "a read past the data", session.next_chunk())
                .await
                .expect_err("the resume point is past the data");
            let what = format!("{mode:?}, bound {bound:?}: {error}");
            assert_eq!(error.kind(), ErrorKind::InvalidOffset, "{what}");
            assert!(error.message().contains("past the data"), "{what}");
            assert!(error.message().contains(&beyond.to_string()), "{what}");
            assert!(session.next_chunk().await.unwrap().is_none(), "{what}");
        }
    }
    // From a saved offset too, and on a stream the reader waits on (long-poll at the tail).
    let tail = stream.head().await.unwrap().next_offset;
    let mut session = stream.read(
        ReadOptions::new()
            .offset(tail)
            .live(LiveMode::LongPoll)
            .skip_bytes(1),
    );
    let started = std::time::Instant::now();
    let error = within(5, "a skip at the tail", session.next_chunk())
        .await
        .expect_err("nothing to skip at the tail");
    assert_eq!(error.kind(), ErrorKind::InvalidOffset, "{error}");
    assert!(
        started.elapsed().as_millis() < u128::from(LONG_POLL_MS) * 3,
        "fails at once, not after waiting for data: {:?}",
        started.elapsed()
    );
}

async fn skipping_on_a_json_stream_is_an_invalid_argument(ctx: Ctx) {
    let stream = ctx.create("resume-json", "application/json").await;
    stream
        .append_json_messages([json!({"a": 1}), json!({"b": 2})])
        .await
        .unwrap();
    // A fresh handle does not know the content type: the first response tells it.
    let fresh = common::client_builder()
        .build()
        .unwrap()
        .stream(stream.url())
        .unwrap();
    for handle in [&stream, &fresh] {
        for mode in [LiveMode::Off, LiveMode::LongPoll, LiveMode::Sse] {
            let mut session = handle.read(ReadOptions::new().live(mode).skip_bytes(3));
            let error = within(5, "a JSON read with a skip", session.next_chunk())
                .await
                .expect_err("JSON streams cannot skip bytes");
            let what = format!("{mode:?}: {error}");
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{what}");
            assert!(error.message().starts_with("skip_bytes"), "{what}");
        }
    }
    // A zero skip is the default and changes nothing.
    let mut session = stream.read(ReadOptions::new().skip_bytes(0));
    let chunks = chunks_of(&mut session).await;
    let count: usize = chunks
        .iter()
        .map(|c| c.messages().map_or(0, <[Bytes]>::len))
        .sum();
    assert_eq!(count, 2);
}

async fn a_resumed_long_poll_catches_up_then_tails(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-live").await;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(MAX));
    let first = within(10, "the first piece", session.next_chunk())
        .await
        .unwrap()
        .expect("a piece");
    assert!(first.partial());
    drop(session);
    let delivered = first.data().len();
    let mut live = stream.read(after(&first).live(LiveMode::LongPoll).max_chunk_bytes(MAX));
    let mut data = Vec::new();
    within(20, "catching up", async {
        loop {
            let chunk = live
                .next_chunk()
                .await
                .unwrap()
                .expect("a live session goes on");
            data.extend_from_slice(chunk.data());
            if chunk.up_to_date() {
                break;
            }
        }
    })
    .await;
    assert!(
        data == payload[delivered..],
        "{}",
        describe_mismatch(&data, &payload[delivered..])
    );
    let appender = stream.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        appender.append("later").await.unwrap();
    });
    let mut later = Vec::new();
    within(10, "the later append", async {
        while later.len() < 5 {
            let chunk = live.next_chunk().await.unwrap().expect("live");
            later.extend_from_slice(chunk.data());
        }
    })
    .await;
    task.await.unwrap();
    assert_eq!(later, b"later");
}

async fn a_resumed_sse_read_returns_exactly_the_rest(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-sse").await;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(MAX));
    let chunks = chunks_of(&mut session).await;
    // The second piece: its skip counts two pieces.
    let piece = chunks
        .iter()
        .filter(|c| c.partial())
        .nth(1)
        .expect("pieces");
    let delivered = usize::try_from(piece.resume_skip()).unwrap();
    let mut sse = stream.read(after(piece).live(LiveMode::Sse));
    let mut data = Vec::new();
    within(20, "an SSE catch-up", async {
        loop {
            let chunk = sse.next_chunk().await.unwrap().expect("SSE goes on");
            data.extend_from_slice(chunk.data());
            if chunk.up_to_date() {
                break;
            }
        }
    })
    .await;
    assert!(
        data == payload[delivered..],
        "{}",
        describe_mismatch(&data, &payload[delivered..])
    );
}

async fn the_session_position_resumes_exactly(ctx: Ctx) {
    let (stream, payload) = positional_stream(&ctx, "resume-session").await;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(MAX).skip_bytes(10));
    assert_eq!(
        session.resume_skip(),
        10,
        "before the first read: the skip asked"
    );
    let first = within(10, "a piece", session.next_chunk())
        .await
        .unwrap()
        .expect("a piece");
    assert!(first.partial());
    assert_eq!(session.resume_skip(), first.resume_skip());
    assert_eq!(session.offset(), first.offset());
    let error = session.set_skip_bytes(0).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert!(error.message().starts_with("skip_bytes"), "{error}");
    let mut options = ReadOptions::new()
        .offset(session.offset().clone())
        .skip_bytes(session.resume_skip());
    options.cursor = session.cursor().map(str::to_owned);
    let mut resumed = stream.read(options);
    let rest = chunks_of(&mut resumed).await;
    let delivered = 10 + first.data().len();
    assert!(joined(&rest) == payload[delivered..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_from_now_is_an_invalid_argument() {
    let client = common::client_builder().build().unwrap();
    let stream = client.stream("http://127.0.0.1:9/s").unwrap();
    for mode in [LiveMode::LongPoll, LiveMode::Sse, LiveMode::Auto] {
        let error = stream
            .read(
                ReadOptions::new()
                    .offset(Offset::NOW)
                    .live(mode)
                    .skip_bytes(1),
            )
            .next_chunk()
            .await
            .unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::InvalidArgument,
            "{mode:?}: {error}"
        );
        assert!(error.message().starts_with("skip_bytes"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_skip_bytes_works_only_before_the_first_read() {
    let client = common::client_builder().build().unwrap();
    let stream = client.stream("http://127.0.0.1:9/s").unwrap();
    stream.set_content_type("text/plain");
    let mut session = stream.read(
        ReadOptions::new()
            .offset(Offset::NOW)
            .live(LiveMode::LongPoll),
    );
    session.set_skip_bytes(5).unwrap();
    assert_eq!(session.resume_skip(), 5);
    let error = session.next_chunk().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    let error = session.set_skip_bytes(0).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert!(error.message().contains("before the first read"), "{error}");
}

/// A stream served as three responses of 10 bytes each (`0`-`9`, `a`-`j`, `k`-`t`), the last up
/// to date: what a server that cuts a catch-up into several responses answers.
fn three_response_server() -> FakeServer {
    FakeServer::start(|head| {
        let (body, next, up_to_date): (&[u8], &str, bool) = if head.contains("offset=-1") {
            (b"0123456789", "0000000000000000_0000000000000010", false)
        } else if head.contains("offset=0000000000000000_0000000000000010") {
            (b"abcdefghij", "0000000000000000_0000000000000020", false)
        } else if head.contains("offset=0000000000000000_0000000000000020") {
            (b"klmnopqrst", "0000000000000000_0000000000000030", true)
        } else {
            (b"", "0000000000000000_0000000000000030", true)
        };
        let mut headers = vec![
            ("Content-Type", "application/octet-stream"),
            ("Stream-Next-Offset", next),
        ];
        if up_to_date {
            headers.push(("Stream-Up-To-Date", "true"));
        }
        http_response("200 OK", &headers, body)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_spans_several_responses() {
    let fake = three_response_server();
    let client = common::client_builder().build().unwrap();
    let stream = client.stream(&fake.url("/s")).unwrap();
    let all = b"0123456789abcdefghijklmnopqrst";
    for skip in 0..=all.len() {
        for bound in [None, Some(4), Some(64)] {
            let mut options = ReadOptions::new().skip_bytes(skip as u64);
            options.max_chunk_bytes = bound;
            let mut session = stream.read(options);
            let chunks = chunks_of(&mut session).await;
            let what = format!("skip {skip}, bound {bound:?}");
            assert_eq!(joined(&chunks), all[skip..], "{what}");
            // Fully skipped responses yield no chunk; the up-to-date one always does.
            assert!(
                chunks.iter().all(|c| c.has_data() || c.up_to_date()),
                "{what}"
            );
            let last = chunks.last().expect("a chunk");
            assert!(last.up_to_date(), "{what}");
            assert_eq!(last.offset().as_str(), "0000000000000000_0000000000000030");
            // Every piece resumes exactly, from its own response's start.
            let mut delivered = skip;
            for chunk in &chunks {
                delivered += chunk.data().len();
                let mut again = stream.read(after(chunk).max_chunk_bytes(3));
                let rest = chunks_of(&mut again).await;
                assert_eq!(joined(&rest), all[delivered..], "{what}, after a piece");
            }
        }
    }
    let error = stream
        .read(ReadOptions::new().skip_bytes(31))
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidOffset, "{error}");
    assert!(
        error.message().contains("has only 30 bytes"),
        "{}",
        error.message()
    );
}
