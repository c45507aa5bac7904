//! JSON responses returned in pieces of whole messages ([`ReadOptions::max_chunk_bytes`] on a
//! JSON stream) and resuming inside them ([`ReadOptions::skip_messages`] with a piece's
//! [`Chunk::resume_skip_messages`]), against both servers.

#[macro_use]
mod common;

use bytes::Bytes;
use common::{Ctx, FakeServer, chunks_of, http_response, within};
use durable_streams_core::{Chunk, ErrorKind, LiveMode, Offset, ReadOptions, Stream};
use serde_json::{Value, json};

server_tests!(
    json_responses_arrive_in_pieces_of_whole_messages,
    every_json_piece_resumes_exactly_after_itself,
    a_resumed_json_read_returns_exactly_the_rest_in_every_mode,
    skipping_past_the_messages_fails_clearly,
    skip_messages_is_refused_where_it_has_no_meaning,
);

const MAX: usize = 4 * 1024;

/// 3,000 messages of assorted shapes: small objects, strings holding `,`, `]` and escapes,
/// nested arrays, and some larger than a piece.
fn messages() -> Vec<Value> {
    (0..3_000)
        .map(|i| match i % 7 {
            0 => json!({"i": i, "v": "x".repeat(10)}),
            1 => json!(format!("s{i},]\"[\\,")),
            2 => json!([i, [i, {"k": [i]}], null, true]),
            3 if i % 500 == 3 => json!({"i": i, "big": "y".repeat(3 * MAX)}),
            4 => json!(i),
            5 => json!({"i": i, "h": "h\u{e9} 😀"}),
            _ => json!({"i": i, "nested": {"a": {"b": [1.5, -2.25]}}}),
        })
        .collect()
}

/// A JSON stream holding [`messages`], appended in three requests (so the server stores several
/// appends that one catch-up response joins).
async fn json_stream(ctx: &Ctx, prefix: &str) -> (Stream, Vec<Value>) {
    let stream = ctx.create(prefix, "application/json").await;
    let all = messages();
    for part in all.chunks(1_000) {
        stream
            .append_json_messages(part.iter().cloned())
            .await
            .unwrap();
    }
    (stream, all)
}

/// Fails with the first difference rather than printing thousands of messages.
fn assert_same(got: &[Value], want: &[Value], what: &str) {
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got == want,
        "{what}: got {} messages, want {}; first difference at {first:?}",
        got.len(),
        want.len()
    );
}

/// Options resuming exactly after `chunk`.
fn after(chunk: &Chunk) -> ReadOptions {
    let mut options = ReadOptions::new()
        .offset(chunk.offset().clone())
        .skip_messages(chunk.resume_skip_messages());
    options.cursor = chunk.cursor().map(str::to_owned);
    options
}

/// The messages of `chunks`, parsed, after checking that each chunk's data is a JSON array of
/// exactly its messages.
fn parsed(chunks: &[Chunk]) -> Vec<Value> {
    let mut out = Vec::new();
    for chunk in chunks {
        let messages = chunk.messages().expect("JSON chunks have messages");
        let array: Vec<Value> = if chunk.data().is_empty() {
            Vec::new()
        } else {
            serde_json::from_slice(chunk.data()).expect("each chunk's data is a JSON array")
        };
        let each: Vec<Value> = messages
            .iter()
            .map(|m| serde_json::from_slice(m).expect("each message is JSON"))
            .collect();
        assert_eq!(array, each, "the data holds exactly the chunk's messages");
        out.extend(each);
    }
    out
}

async fn json_responses_arrive_in_pieces_of_whole_messages(ctx: Ctx) {
    let (stream, all) = json_stream(&ctx, "json-pieces").await;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(MAX));
    let chunks = chunks_of(&mut session).await;
    assert_same(&parsed(&chunks), &all, "every message once, in order");
    let pieces: Vec<&Chunk> = chunks.iter().filter(|c| c.partial()).collect();
    assert!(pieces.len() > 20, "{} pieces", pieces.len());
    let mut delivered = 0u64;
    for chunk in &chunks {
        let count = chunk.messages().map_or(0, <[Bytes]>::len);
        assert!(
            chunk.data().len() <= MAX || count == 1,
            "a piece is bounded unless it is one larger message ({} bytes, {count} messages)",
            chunk.data().len()
        );
        delivered += count as u64;
        if chunk.partial() {
            assert!(!chunk.up_to_date() && !chunk.closed());
            assert_eq!(chunk.resume_skip(), 0, "JSON pieces count messages");
            assert_eq!(chunk.offset(), &Offset::BEGINNING);
            // One response from the start on both servers: the skip counts every message.
            assert_eq!(chunk.resume_skip_messages(), delivered);
        } else {
            assert_eq!(chunk.resume_skip_messages(), 0);
        }
    }
    let last = chunks.last().expect("chunks");
    assert!(last.up_to_date() && !last.partial());
    // Without a bound the same read is one chunk per response, as before.
    let mut whole = stream.read(ReadOptions::new());
    let chunks = chunks_of(&mut whole).await;
    assert!(chunks.iter().all(|c| !c.partial()));
    assert_same(&parsed(&chunks), &all, "whole responses");
}

async fn every_json_piece_resumes_exactly_after_itself(ctx: Ctx) {
    let (stream, all) = json_stream(&ctx, "json-resume").await;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(MAX));
    let chunks = chunks_of(&mut session).await;
    let mut delivered = 0usize;
    for (i, chunk) in chunks.iter().enumerate() {
        delivered += chunk.messages().map_or(0, <[Bytes]>::len);
        // Every fifth piece, and the last two chunks, keep the test fast.
        if i % 5 != 0 && i + 2 < chunks.len() {
            continue;
        }
        for bound in [Some(MAX), None] {
            let mut options = after(chunk);
            options.max_chunk_bytes = bound;
            let mut resumed = stream.read(options);
            let rest = chunks_of(&mut resumed).await;
            let what = format!("resuming after chunk {i} (bound {bound:?})");
            assert_same(&parsed(&rest), &all[delivered..], &what);
            assert!(rest.last().is_some_and(Chunk::up_to_date), "{what}");
            assert_eq!(
                resumed.resume_skip_messages(),
                0,
                "{what}: the skip is done"
            );
        }
    }
}

async fn a_resumed_json_read_returns_exactly_the_rest_in_every_mode(ctx: Ctx) {
    let (stream, all) = json_stream(&ctx, "json-resume-live").await;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(MAX));
    let chunks = chunks_of(&mut session).await;
    let piece = chunks
        .iter()
        .filter(|c| c.partial())
        .nth(3)
        .expect("pieces");
    let delivered = usize::try_from(piece.resume_skip_messages()).unwrap();
    for mode in [LiveMode::LongPoll, LiveMode::Sse, LiveMode::Auto] {
        let mut live = stream.read(after(piece).live(mode));
        let mut got = Vec::new();
        within(20, "a live catch-up", async {
            loop {
                let chunk = live.next_chunk().await.unwrap().expect("the read goes on");
                got.extend(parsed(std::slice::from_ref(&chunk)));
                if chunk.up_to_date() {
                    break;
                }
            }
        })
        .await;
        assert_same(&got, &all[delivered..], &format!("{mode:?}"));
    }
}

async fn skipping_past_the_messages_fails_clearly(ctx: Ctx) {
    let stream = ctx.create("json-skip-past", "application/json").await;
    stream
        .append_json_messages([json!(1), json!(2), json!(3)])
        .await
        .unwrap();
    for mode in [LiveMode::Off, LiveMode::LongPoll, LiveMode::Sse] {
        for bound in [Some(2), None] {
            let mut options = ReadOptions::new().live(mode).skip_messages(4);
            options.max_chunk_bytes = bound;
            let mut session = stream.read(options);
            let error = within(10, "a skip past the messages", async {
                loop {
                    match session.next_chunk().await {
                        Ok(Some(chunk)) => assert!(!chunk.has_data(), "nothing before the error"),
                        Ok(None) => panic!("{mode:?}: the read ended without an error"),
                        Err(e) => break e,
                    }
                }
            })
            .await;
            let what = format!("{mode:?} {bound:?}: {error}");
            assert_eq!(error.kind(), ErrorKind::InvalidOffset, "{what}");
            assert!(
                error.message().contains(
                    "skip_messages is 4 from offset -1, but the stream has only 3 messages"
                ),
                "{what}"
            );
        }
    }
    // Skipping exactly every message reports up to date without data.
    let mut session = stream.read(ReadOptions::new().skip_messages(3));
    let chunks = chunks_of(&mut session).await;
    assert!(chunks.iter().all(|c| !c.has_data()));
    assert!(chunks.last().is_some_and(Chunk::up_to_date));
}

async fn skip_messages_is_refused_where_it_has_no_meaning(ctx: Ctx) {
    let bytes = ctx.create("json-skip-bytes-stream", "text/plain").await;
    bytes.append(Bytes::from_static(b"hello")).await.unwrap();
    let json = ctx
        .create("json-skip-json-stream", "application/json")
        .await;
    json.append_json_messages([json!(1)]).await.unwrap();
    let cases: [(&Stream, ReadOptions, &str); 3] = [
        (
            &bytes,
            ReadOptions::new().skip_messages(1),
            "only JSON streams",
        ),
        (
            &json,
            ReadOptions::new().skip_messages(1).skip_bytes(1),
            "cannot be combined with skip_bytes",
        ),
        (
            &json,
            ReadOptions::new()
                .offset(Offset::NOW)
                .live(LiveMode::LongPoll)
                .skip_messages(1),
            "cannot be used with offset \"now\"",
        ),
    ];
    for (stream, options, says) in cases {
        let mut session = stream.read(options);
        let error = within(5, "a refused skip", session.next_chunk())
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
        assert!(error.message().starts_with("skip_messages"), "{error}");
        assert!(error.message().contains(says), "{error}");
    }
    // Setting one skip before the first read replaces both options' values.
    let mut session = json.read(ReadOptions::new().skip_messages(1).skip_bytes(1));
    session.set_skip_messages(1).unwrap();
    let chunks = chunks_of(&mut session).await;
    assert!(
        chunks.iter().all(|c| !c.has_data()),
        "the one message skipped"
    );
    assert!(chunks.last().is_some_and(Chunk::up_to_date));
    let mut session = json.read(ReadOptions::new());
    assert!(session.next_chunk().await.unwrap().is_some());
    let error = session.set_skip_messages(1).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.message().starts_with("skip_messages"), "{error}");
}

/// A server answering one JSON catch-up with a body that breaks the JSON rules after several
/// pieces' worth of valid messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_json_response_fails_after_its_valid_pieces() {
    let mut body = String::from("[");
    for i in 0..2_000 {
        body.push_str(&format!("{{\"i\":{i}}},"));
    }
    body.push_str("{\"broken\": tru}]");
    let server = FakeServer::start(move |_| {
        http_response(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("Stream-Next-Offset", "0000000000000001_0000000000000001"),
                ("Stream-Up-To-Date", "true"),
            ],
            body.as_bytes(),
        )
    });
    let client = common::client_builder().build().unwrap();
    let stream = client.stream(&server.url("/broken")).unwrap();
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(1024));
    let mut seen = 0;
    let error = within(10, "a malformed response", async {
        loop {
            match session.next_chunk().await {
                Ok(Some(chunk)) => {
                    assert!(chunk.partial(), "no complete chunk from a broken response");
                    seen += chunk.messages().map_or(0, <[Bytes]>::len);
                }
                Ok(None) => panic!("ended without an error"),
                Err(e) => break e,
            }
        }
    })
    .await;
    assert_eq!(error.kind(), ErrorKind::Parse, "{error}");
    assert!(
        error.message().contains("not a valid JSON array"),
        "{error}"
    );
    assert!(error.message().contains("invalid literal"), "{error}");
    assert!(
        seen > 1_000 && seen <= 2_000,
        "{seen} messages before the error"
    );
    assert!(
        session.next_chunk().await.unwrap().is_none(),
        "the session ended"
    );
}
