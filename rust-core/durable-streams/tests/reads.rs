//! Reading streams against both servers: catch-up, long-poll, SSE and auto mode; offsets,
//! closure, cursors, and the `futures` stream adapter.

#[macro_use]
mod common;

use std::pin::Pin;
use std::time::{Duration, Instant};

use common::{Ctx, LONG_POLL_MS, all_byte_values, catch_up, pseudo_random_bytes, read_all, within};
use durable_streams_core::{Chunk, ErrorKind, LiveMode, Offset, ReadOptions, ReadSession, Stream};
use serde_json::json;

server_tests!(
    catch_up_round_trips_every_byte_value,
    catch_up_round_trips_a_one_mebibyte_random_payload,
    large_chunks_stay_intact_while_the_caller_holds_them,
    catch_up_from_a_saved_offset_returns_only_later_data,
    catch_up_with_offset_now_returns_no_data_but_the_tail,
    json_reads_yield_individual_messages,
    multibyte_text_round_trips_in_every_mode,
    long_poll_reader_at_the_tail_receives_a_later_append,
    long_poll_timeouts_neither_end_the_session_nor_yield_empty_chunks,
    long_poll_from_now_sees_only_new_data,
    sse_delivers_text_appends_live,
    sse_delivers_json_messages_live,
    sse_delivers_binary_data_byte_exact,
    sse_on_a_fresh_handle_learns_json_mode_first,
    sse_from_now_sees_only_new_data,
    auto_mode_catches_up_then_tails_text_and_binary,
    closing_the_stream_ends_a_waiting_long_poll_reader,
    closing_the_stream_ends_a_waiting_sse_reader,
    append_and_close_delivers_final_data_then_eof_to_live_readers,
    live_read_of_a_closed_stream_ends_without_waiting,
    unparseable_offset_is_rejected_by_the_server_as_invalid_offset,
    reading_a_missing_stream_is_not_found_in_every_mode,
    long_poll_session_echoes_the_cursor,
    deleting_the_stream_ends_live_readers_with_not_found,
    into_stream_yields_the_chunks_of_a_session,
    bounded_chunks_split_large_responses_into_partial_pieces,
    bounded_chunks_cut_json_between_messages,
    chunks_report_the_status_of_their_response,
);

const ALL_MODES: [LiveMode; 4] = [
    LiveMode::Off,
    LiveMode::LongPoll,
    LiveMode::Sse,
    LiveMode::Auto,
];

/// Pulls chunks until `wanted` bytes arrived, failing the test after 10 s.
async fn read_bytes(session: &mut ReadSession, wanted: usize) -> Vec<u8> {
    within(10, "reading the expected bytes", async {
        let mut data = Vec::new();
        while data.len() < wanted {
            let chunk = session
                .next_chunk()
                .await
                .unwrap_or_else(|e| panic!("read failed after {} bytes: {e}", data.len()))
                .unwrap_or_else(|| panic!("session ended after {} of {wanted} bytes", data.len()));
            data.extend_from_slice(chunk.data());
        }
        data
    })
    .await
}

/// Pulls chunks until one carries data (or messages), failing the test after 10 s.
async fn next_data_chunk(session: &mut ReadSession) -> Chunk {
    within(10, "waiting for a data chunk", async {
        loop {
            let chunk = session
                .next_chunk()
                .await
                .expect("read succeeds")
                .expect("session continues");
            if chunk.has_data() {
                return chunk;
            }
        }
    })
    .await
}

/// Pulls the first chunk and checks that it reports being up to date without data.
async fn expect_caught_up(session: &mut ReadSession) {
    let chunk = within(10, "the first chunk", session.next_chunk())
        .await
        .expect("read succeeds")
        .expect("session continues");
    assert!(chunk.up_to_date(), "{chunk:?}");
    assert!(!chunk.has_data(), "{chunk:?}");
}

/// Appends `data` from another task after `delay`.
fn append_later(
    stream: &Stream,
    delay: Duration,
    data: &'static str,
) -> tokio::task::JoinHandle<()> {
    let stream = stream.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        stream
            .append(data)
            .await
            .expect("the delayed append succeeds");
    })
}

async fn catch_up_round_trips_every_byte_value(ctx: Ctx) {
    let stream = ctx.create("bytes-all", "application/octet-stream").await;
    let payload = all_byte_values();
    stream.append(payload.clone()).await.unwrap();
    let read = read_all(&stream).await;
    assert_eq!(read.data, payload);
    assert!(read.chunks.last().unwrap().up_to_date());
    assert!(
        read.chunks.iter().all(|c| c.messages().is_none()),
        "not a JSON stream"
    );
}

async fn catch_up_round_trips_a_one_mebibyte_random_payload(ctx: Ctx) {
    let stream = ctx.create("bytes-1mib", "application/octet-stream").await;
    let payload = pseudo_random_bytes(1 << 20, 0x5eed_1234);
    let appended = stream.append(payload.clone()).await.unwrap();
    let read = read_all(&stream).await;
    assert_eq!(read.data.len(), payload.len());
    assert!(read.data == payload, "1 MiB differs after a round trip");
    assert_eq!(read.offset, appended.next_offset);
}

/// Large responses are collected in buffers of their own: a later chunk must never reuse or
/// overwrite the memory of one the caller still holds.
async fn large_chunks_stay_intact_while_the_caller_holds_them(ctx: Ctx) {
    let stream = ctx.create("bytes-large", "application/octet-stream").await;
    let pieces: Vec<_> = (0..3u64)
        .map(|i| pseudo_random_bytes(5 << 20, 0xb16_0000 + i))
        .collect();
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    let mut held: Vec<Chunk> = Vec::new();
    let mut received = 0;
    for (i, piece) in pieces.iter().enumerate() {
        stream.append(piece.clone()).await.unwrap();
        let wanted = (i + 1) * piece.len();
        within(20, "reading the large pieces", async {
            while received < wanted {
                let chunk = session
                    .next_chunk()
                    .await
                    .unwrap()
                    .expect("session continues");
                received += chunk.data().len();
                held.push(chunk);
            }
        })
        .await;
        assert_eq!(received, wanted, "chunks end where the appends end");
    }
    let mut read = Vec::with_capacity(received);
    for chunk in &held {
        read.extend_from_slice(chunk.data());
    }
    assert!(read == pieces.concat(), "held chunks changed or lost data");
}

async fn catch_up_from_a_saved_offset_returns_only_later_data(ctx: Ctx) {
    let stream = ctx.create("saved-offset", "text/plain").await;
    stream.append("before ").await.unwrap();
    let first = read_all(&stream).await;
    assert_eq!(first.text(), "before ");
    let saved = Offset::parse(first.offset.as_str()).expect("a server offset parses");

    stream.append("after-1 ").await.unwrap();
    stream.append("after-2").await.unwrap();
    let later = catch_up(&stream, saved.clone()).await;
    assert_eq!(later.text(), "after-1 after-2");
    assert!(later.offset.as_str() > saved.as_str());

    let at_tail = catch_up(&stream, later.offset.clone()).await;
    assert!(at_tail.data.is_empty());
    assert_eq!(at_tail.offset, later.offset);
}

async fn catch_up_with_offset_now_returns_no_data_but_the_tail(ctx: Ctx) {
    for content_type in ["text/plain", "application/json"] {
        let stream = ctx.create("offset-now", content_type).await;
        if content_type == "application/json" {
            stream.append_json(&json!({"old": true})).await.unwrap();
        } else {
            stream.append("old data").await.unwrap();
        }
        let tail = stream.head().await.unwrap().next_offset;
        let read = catch_up(&stream, Offset::NOW).await;
        assert!(
            read.data.is_empty() || read.data == b"[]",
            "{:?}",
            read.data
        );
        assert_eq!(read.chunks.len(), 1, "one up-to-date chunk");
        let chunk = &read.chunks[0];
        assert!(!chunk.has_data() && chunk.up_to_date());
        assert_eq!(chunk.offset(), &tail);
        if content_type == "application/json" {
            assert_eq!(chunk.messages(), Some(&[][..]));
        }
    }
}

async fn json_reads_yield_individual_messages(ctx: Ctx) {
    let stream = ctx.create("json-read", "application/json").await;
    let values = [
        json!({"id": 1, "text": "caf\u{e9}"}),
        json!([1, [2, 3]]),
        json!("a string with \"quotes\" and \\ backslash"),
        json!(42.5),
        json!(null),
    ];
    for value in &values {
        stream.append_json(value).await.unwrap();
    }
    let read = read_all(&stream).await;
    assert_eq!(read.messages(), values);
    for chunk in &read.chunks {
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(chunk.data()).unwrap();
        assert_eq!(
            parsed.len(),
            chunk.messages().unwrap().len(),
            "data is the JSON array"
        );
    }

    // Long-poll delivers live JSON appends as messages too.
    let mut session = stream.read(
        ReadOptions::new()
            .offset(read.offset.clone())
            .live(LiveMode::LongPoll),
    );
    let writer = {
        let stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            stream
                .append_json_messages([json!({"live": 1}), json!({"live": 2})])
                .await
                .unwrap();
        })
    };
    let chunk = next_data_chunk(&mut session).await;
    let live: Vec<serde_json::Value> = chunk
        .messages()
        .unwrap()
        .iter()
        .map(|m| serde_json::from_slice(m).unwrap())
        .collect();
    assert_eq!(live, vec![json!({"live": 1}), json!({"live": 2})]);
    writer.await.unwrap();
}

async fn multibyte_text_round_trips_in_every_mode(ctx: Ctx) {
    const BEFORE: &str =
        "h\u{e9}llo \u{4e16}\u{754c} \u{1f680}\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}\n";
    const LIVE: &str =
        "\u{3053}\u{3093}\u{306b}\u{3061}\u{306f} \u{1f600} \u{d55c}\u{ad6d}\u{c5b4}";
    for mode in ALL_MODES {
        let stream = ctx.create("multibyte", "text/plain; charset=utf-8").await;
        stream.append(BEFORE).await.unwrap();
        let mut session = stream.read(ReadOptions::new().live(mode));
        let caught_up = read_bytes(&mut session, BEFORE.len()).await;
        assert_eq!(String::from_utf8(caught_up).unwrap(), BEFORE, "{mode:?}");
        if mode == LiveMode::Off {
            assert!(
                session.next_chunk().await.unwrap().is_none(),
                "catch-up ends"
            );
            continue;
        }
        let writer = append_later(&stream, Duration::from_millis(200), LIVE);
        let live = read_bytes(&mut session, LIVE.len()).await;
        assert_eq!(String::from_utf8(live).unwrap(), LIVE, "{mode:?}");
        writer.await.unwrap();
    }
}

async fn long_poll_reader_at_the_tail_receives_a_later_append(ctx: Ctx) {
    let stream = ctx.create("long-poll-live", "text/plain").await;
    stream.append("history ").await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    let first = next_data_chunk(&mut session).await;
    assert_eq!(first.text().unwrap(), "history ");
    assert!(first.up_to_date());

    let writer = append_later(&stream, Duration::from_millis(300), "live!");
    let started = Instant::now();
    let chunk = next_data_chunk(&mut session).await;
    assert_eq!(chunk.text().unwrap(), "live!");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the reader waited"
    );
    assert_eq!(session.offset(), chunk.offset());
    assert_eq!(chunk.offset(), &stream.head().await.unwrap().next_offset);
    writer.await.unwrap();
}

async fn long_poll_timeouts_neither_end_the_session_nor_yield_empty_chunks(ctx: Ctx) {
    let stream = ctx.create("long-poll-timeout", "text/plain").await;
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    expect_caught_up(&mut session).await;

    // Long enough for at least two server-side 204 timeouts before the data arrives.
    let delay = Duration::from_millis(LONG_POLL_MS * 2 + 400);
    let writer = append_later(&stream, delay, "after the timeouts");
    let started = Instant::now();
    let chunk = within(15, "the chunk after timeouts", session.next_chunk())
        .await
        .expect("timeouts are not errors")
        .expect("timeouts do not end the session");
    assert!(started.elapsed() >= delay - Duration::from_millis(100));
    assert!(chunk.has_data(), "no empty chunk for a 204: {chunk:?}");
    assert_eq!(chunk.text().unwrap(), "after the timeouts");
    assert!(!session.is_finished());
    writer.await.unwrap();
}

async fn long_poll_from_now_sees_only_new_data(ctx: Ctx) {
    let stream = ctx.create("long-poll-now", "text/plain").await;
    stream.append("old").await.unwrap();
    let mut session = stream.read(
        ReadOptions::new()
            .offset(Offset::NOW)
            .live(LiveMode::LongPoll),
    );
    let writer = append_later(&stream, Duration::from_millis(300), "new");
    let chunk = next_data_chunk(&mut session).await;
    assert_eq!(chunk.text().unwrap(), "new");
    writer.await.unwrap();
}

/// SSE cannot carry every text byte-exactly on these servers (both write `data:` without the
/// optional space and split lines at `\r` too): a line starting with a space loses it (SSE
/// parsers strip one, the reference TypeScript client included), and `\r\n` arrives as `\n`
/// (Node) or `\n\n` (Electric), a lone `\r` as `\n`. Catch-up and long-poll are byte-exact.
/// The texts here avoid those cases; `\n` line breaks round-trip.
async fn sse_delivers_text_appends_live(ctx: Ctx) {
    let stream = ctx.create("sse-text", "text/plain").await;
    stream.append("line one\nline two\n").await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(LiveMode::Sse));
    let history = read_bytes(&mut session, 18).await;
    assert_eq!(history, b"line one\nline two\n");

    let writer = append_later(&stream, Duration::from_millis(200), "live one");
    assert_eq!(read_bytes(&mut session, 8).await, b"live one");
    writer.await.unwrap();
    let writer = append_later(&stream, Duration::from_millis(100), "live two");
    assert_eq!(read_bytes(&mut session, 8).await, b"live two");
    writer.await.unwrap();
    assert_eq!(session.offset(), &stream.head().await.unwrap().next_offset);
}

async fn sse_delivers_json_messages_live(ctx: Ctx) {
    let stream = ctx.create("sse-json", "application/json").await;
    stream.append_json(&json!({"n": 0})).await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(LiveMode::Sse));
    let first = next_data_chunk(&mut session).await;
    let messages: Vec<serde_json::Value> = first
        .messages()
        .expect("JSON streams yield messages over SSE")
        .iter()
        .map(|m| serde_json::from_slice(m).unwrap())
        .collect();
    assert_eq!(messages, vec![json!({"n": 0})]);

    let writer = {
        let stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            stream
                .append_json_messages([json!({"n": 1}), json!([2, "two"]), json!({"n": 3})])
                .await
                .unwrap();
        })
    };
    let mut received = Vec::new();
    within(10, "live JSON messages", async {
        while received.len() < 3 {
            let chunk = next_data_chunk(&mut session).await;
            let parsed: Vec<serde_json::Value> = serde_json::from_slice(chunk.data()).unwrap();
            let messages = chunk.messages().unwrap();
            assert_eq!(parsed.len(), messages.len(), "data stays one JSON array");
            received.extend(
                messages
                    .iter()
                    .map(|m| serde_json::from_slice::<serde_json::Value>(m).unwrap()),
            );
        }
    })
    .await;
    assert_eq!(
        received,
        vec![json!({"n": 1}), json!([2, "two"]), json!({"n": 3})]
    );
    writer.await.unwrap();
}

async fn sse_delivers_binary_data_byte_exact(ctx: Ctx) {
    let stream = ctx.create("sse-binary", "application/octet-stream").await;
    let history = all_byte_values();
    stream.append(history.clone()).await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(LiveMode::Sse));
    assert_eq!(read_bytes(&mut session, history.len()).await, history);

    // Lengths 1, 2 and 3 mod 3 exercise every base64 padding.
    let live = pseudo_random_bytes(64 * 1024 + 1, 77);
    let odd = live.slice(..2);
    let writer = {
        let stream = stream.clone();
        let (live, odd) = (live.clone(), odd.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            stream.append(live).await.unwrap();
            stream.append(odd).await.unwrap();
        })
    };
    let received = read_bytes(&mut session, live.len() + odd.len()).await;
    assert!(
        received[..live.len()] == live[..],
        "64 KiB differ after SSE/base64"
    );
    assert_eq!(&received[live.len()..], &odd[..]);
    writer.await.unwrap();
}

async fn sse_from_now_sees_only_new_data(ctx: Ctx) {
    let stream = ctx.create("sse-now", "text/plain").await;
    stream.append("old").await.unwrap();
    let mut session = stream.read(ReadOptions::new().offset(Offset::NOW).live(LiveMode::Sse));
    let writer = append_later(&stream, Duration::from_millis(300), "new");
    let chunk = next_data_chunk(&mut session).await;
    assert_eq!(chunk.text().unwrap(), "new");
    writer.await.unwrap();
}

async fn auto_mode_catches_up_then_tails_text_and_binary(ctx: Ctx) {
    for content_type in ["text/plain", "application/octet-stream"] {
        let stream = ctx.create("auto", content_type).await;
        stream.append("first,").await.unwrap();
        stream.append("second,").await.unwrap();
        let mut session = stream.read(ReadOptions::new().live(LiveMode::Auto));
        assert_eq!(
            read_bytes(&mut session, 13).await,
            b"first,second,",
            "{content_type}"
        );
        assert!(session.up_to_date());
        let writer = append_later(&stream, Duration::from_millis(200), "third");
        assert_eq!(
            read_bytes(&mut session, 5).await,
            b"third",
            "{content_type}"
        );
        writer.await.unwrap();
    }
}

/// Reads until the closed chunk and checks that the session then ends promptly.
async fn read_to_eof(session: &mut ReadSession) -> Vec<u8> {
    within(5, "reading to EOF", async {
        let mut data = Vec::new();
        loop {
            let chunk = session
                .next_chunk()
                .await
                .expect("read succeeds")
                .expect("the closed chunk comes before the end");
            data.extend_from_slice(chunk.data());
            if chunk.closed() {
                assert!(chunk.up_to_date());
                break;
            }
        }
        assert!(session.closed());
        assert!(
            session.next_chunk().await.unwrap().is_none(),
            "nothing after EOF"
        );
        assert!(session.is_finished());
        data
    })
    .await
}

async fn closing_the_stream_ends_a_waiting_long_poll_reader(ctx: Ctx) {
    closing_ends_a_waiting_reader(&ctx, LiveMode::LongPoll).await;
}

async fn closing_the_stream_ends_a_waiting_sse_reader(ctx: Ctx) {
    closing_ends_a_waiting_reader(&ctx, LiveMode::Sse).await;
}

async fn closing_ends_a_waiting_reader(ctx: &Ctx, mode: LiveMode) {
    let stream = ctx.create("close-while-waiting", "text/plain").await;
    stream.append("data").await.unwrap();
    let mut session = stream.read(ReadOptions::new().live(mode));
    assert_eq!(read_bytes(&mut session, 4).await, b"data");

    let closer = {
        let stream = stream.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            stream.close().await.unwrap();
        })
    };
    let started = Instant::now();
    let rest = read_to_eof(&mut session).await;
    assert!(rest.is_empty(), "{mode:?}: closing adds no data");
    assert!(
        started.elapsed() < Duration::from_millis(300 + LONG_POLL_MS * 3),
        "{mode:?}: EOF took {:?}",
        started.elapsed()
    );
    assert_eq!(session.offset(), &stream.head().await.unwrap().next_offset);
    closer.await.unwrap();
}

async fn append_and_close_delivers_final_data_then_eof_to_live_readers(ctx: Ctx) {
    for mode in [LiveMode::LongPoll, LiveMode::Sse] {
        let stream = ctx.create("append-close-live", "text/plain").await;
        let mut session = stream.read(ReadOptions::new().live(mode));
        expect_caught_up(&mut session).await;
        let closer = {
            let stream = stream.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                stream.append_and_close("the end").await.unwrap();
            })
        };
        assert_eq!(read_to_eof(&mut session).await, b"the end", "{mode:?}");
        closer.await.unwrap();
    }
}

async fn live_read_of_a_closed_stream_ends_without_waiting(ctx: Ctx) {
    let stream = ctx.create("closed-live", "text/plain").await;
    stream.append_and_close("all").await.unwrap();
    for mode in ALL_MODES {
        let mut session = stream.read(ReadOptions::new().live(mode));
        assert_eq!(read_to_eof(&mut session).await, b"all", "{mode:?}");
        for offset in [session.offset().clone(), Offset::NOW] {
            let mut at_tail = stream.read(ReadOptions::new().offset(offset).live(mode));
            assert!(read_to_eof(&mut at_tail).await.is_empty(), "{mode:?}");
        }
    }
}

async fn unparseable_offset_is_rejected_by_the_server_as_invalid_offset(ctx: Ctx) {
    let stream = ctx.create("bad-offset", "text/plain").await;
    stream.append("data").await.unwrap();
    // Valid for the client (no forbidden characters) but not an offset either server minted.
    let garbage = Offset::parse("garbage_offset_zzz").unwrap();
    for mode in ALL_MODES {
        let mut session = stream.read(ReadOptions::new().offset(garbage.clone()).live(mode));
        let err = within(10, "reading from a garbage offset", session.next_chunk())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOffset, "{mode:?}: {err}");
        assert_eq!(err.status(), Some(400));
        assert!(session.is_finished());
    }
    for bad in ["a,b", "a&b", "a=b", "a?b", "a/b", "", "line\nbreak"] {
        let err = Offset::parse(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOffset, "{bad:?}");
        assert_eq!(err.status(), None, "rejected without I/O");
    }
}

async fn reading_a_missing_stream_is_not_found_in_every_mode(ctx: Ctx) {
    let stream = ctx.stream("read-missing");
    for mode in ALL_MODES {
        let err = within(
            10,
            "reading a missing stream",
            stream.read(ReadOptions::new().live(mode)).next_chunk(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{mode:?}: {err}");
        assert_eq!(err.url(), Some(stream.url()));
    }
}

async fn long_poll_session_echoes_the_cursor(ctx: Ctx) {
    let stream = ctx.create("cursor", "text/plain").await;
    let mut session = stream.read(ReadOptions::new().live(LiveMode::LongPoll));
    expect_caught_up(&mut session).await;

    let writer = append_later(&stream, Duration::from_millis(200), "one");
    let first = next_data_chunk(&mut session).await;
    writer.await.unwrap();
    let c1: u64 = first
        .cursor()
        .expect("long-poll responses carry a cursor")
        .parse()
        .expect("both servers use interval numbers");
    assert_eq!(session.cursor(), first.cursor());

    let writer = append_later(&stream, Duration::from_millis(200), "two");
    let second = next_data_chunk(&mut session).await;
    writer.await.unwrap();
    let c2: u64 = second.cursor().unwrap().parse().unwrap();
    // Servers answer a request whose `cursor` is at or past the current interval with a larger
    // one; without the echo the second cursor would equal the first (same 20 s interval).
    assert!(c2 > c1, "cursor {c1} was not echoed (got {c2})");

    // A session resumed with a saved cursor echoes it from the first live request.
    let resumed_from = session.offset().clone();
    let mut resumed = stream.read(
        ReadOptions::new()
            .offset(resumed_from)
            .live(LiveMode::LongPoll)
            .cursor(c2.to_string()),
    );
    expect_caught_up(&mut resumed).await;
    let writer = append_later(&stream, Duration::from_millis(200), "three");
    let third = next_data_chunk(&mut resumed).await;
    writer.await.unwrap();
    let c3: u64 = third.cursor().unwrap().parse().unwrap();
    assert!(c3 > c2, "saved cursor {c2} was not echoed (got {c3})");
}

async fn into_stream_yields_the_chunks_of_a_session(ctx: Ctx) {
    use futures_core::Stream as _;

    let stream = ctx.create("into-stream", "application/json").await;
    stream.append_json(&json!(1)).await.unwrap();
    stream.append_json(&json!(2)).await.unwrap();
    let mut chunks = stream.read(ReadOptions::new()).into_stream();
    let mut messages = Vec::new();
    let mut count = 0;
    within(10, "draining the chunk stream", async {
        while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx)).await
        {
            let chunk = item.expect("no error");
            count += 1;
            messages.extend(chunk.messages().unwrap().iter().map(|m| m.to_vec()));
        }
    })
    .await;
    assert!(count >= 1);
    assert_eq!(messages, vec![b"1".to_vec(), b"2".to_vec()]);
    // Exhausted streams stay exhausted.
    let again = std::future::poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx)).await;
    assert!(again.is_none());

    // Errors are yielded once, then the stream ends.
    let mut failing = ctx
        .stream("into-stream-missing")
        .read(ReadOptions::new())
        .into_stream();
    let first = std::future::poll_fn(|cx| Pin::new(&mut failing).poll_next(cx)).await;
    assert_eq!(first.unwrap().unwrap_err().kind(), ErrorKind::NotFound);
    let second = std::future::poll_fn(|cx| Pin::new(&mut failing).poll_next(cx)).await;
    assert!(second.is_none());
}

async fn deleting_the_stream_ends_live_readers_with_not_found(ctx: Ctx) {
    // After a delete, neither server ends an open SSE response or sends keep-alives on it, so
    // the reader notices through its live timeout (kept short here), reconnects and gets 404.
    let client = common::client_builder()
        .live_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let ctx = Ctx::with_client(ctx.server, client);
    for mode in [LiveMode::LongPoll, LiveMode::Sse] {
        let stream = ctx.create("delete-while-reading", "text/plain").await;
        stream.append("data").await.unwrap();
        let mut session = stream.read(ReadOptions::new().live(mode));
        assert_eq!(read_bytes(&mut session, 4).await, b"data");
        let deleter = {
            let stream = stream.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                stream.delete().await.unwrap();
            })
        };
        let err = within(6, "a live read of a deleted stream", session.next_chunk())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{mode:?}: {err}");
        assert!(session.is_finished());
        deleter.await.unwrap();
    }
}

async fn sse_on_a_fresh_handle_learns_json_mode_first(ctx: Ctx) {
    // SSE responses do not carry the stream's content type; a handle that has not seen it yet
    // must still split JSON messages.
    let stream = ctx.create("sse-fresh-json", "application/json").await;
    stream
        .append_json_messages([json!({"a": 1}), json!({"b": 2})])
        .await
        .unwrap();
    let fresh = common::client_builder()
        .build()
        .unwrap()
        .stream(stream.url())
        .unwrap();
    assert!(fresh.content_type().is_none());
    let mut session = fresh.read(ReadOptions::new().live(LiveMode::Sse));
    let chunk = next_data_chunk(&mut session).await;
    let messages: Vec<serde_json::Value> = chunk
        .messages()
        .expect("JSON mode was learned before the SSE request")
        .iter()
        .map(|m| serde_json::from_slice(m).unwrap())
        .collect();
    assert_eq!(messages, vec![json!({"a": 1}), json!({"b": 2})]);
    assert_eq!(session.content_type(), Some("application/json"));
}

async fn bounded_chunks_split_large_responses_into_partial_pieces(ctx: Ctx) {
    let stream = ctx.create("bounded", "application/octet-stream").await;
    let payload = pseudo_random_bytes(300 * 1024, 11);
    for piece in payload.chunks(100 * 1024) {
        stream
            .append(bytes::Bytes::copy_from_slice(piece))
            .await
            .unwrap();
    }
    let max = 64 * 1024;
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(max));
    let mut data = Vec::new();
    let mut chunks: Vec<Chunk> = Vec::new();
    within(20, "bounded catch-up", async {
        while let Some(chunk) = session.next_chunk().await.unwrap() {
            assert!(chunk.data().len() <= max, "{} bytes", chunk.data().len());
            data.extend_from_slice(chunk.data());
            chunks.push(chunk);
        }
    })
    .await;
    assert_eq!(data, payload, "every byte once, in order");
    assert!(chunks.iter().any(Chunk::partial), "300 KiB came in pieces");
    let last = chunks.last().expect("chunks");
    assert!(
        !last.partial() && last.up_to_date(),
        "the last piece completes the response"
    );
    let tail = stream.head().await.unwrap().next_offset;
    assert_eq!(last.offset(), &tail);
    for chunk in chunks.iter().filter(|c| c.partial()) {
        assert!(!chunk.up_to_date() && !chunk.closed());
        // A partial piece's offset is where its response began: resuming re-reads from there.
        let again = read_all_from(&stream, chunk.offset().clone()).await;
        assert!(payload.ends_with(&again) && again.len() >= chunk.data().len());
    }
}

async fn read_all_from(stream: &Stream, offset: Offset) -> Vec<u8> {
    let mut session = stream.read(ReadOptions::new().offset(offset));
    let mut data = Vec::new();
    while let Some(chunk) = session.next_chunk().await.unwrap() {
        data.extend_from_slice(chunk.data());
    }
    data
}

async fn bounded_chunks_cut_json_between_messages(ctx: Ctx) {
    let stream = ctx.create("bounded-json", "application/json").await;
    let values: Vec<serde_json::Value> = (0..200)
        .map(|i| json!({"i": i, "pad": "x".repeat(500)}))
        .collect();
    stream.append_json_messages(values.iter()).await.unwrap();
    let mut session = stream.read(ReadOptions::new().max_chunk_bytes(1024));
    let mut seen = Vec::new();
    let mut pieces = 0;
    while let Some(chunk) = session.next_chunk().await.unwrap() {
        // Each message is ~520 bytes: a piece of 1 KiB holds one or two, never part of one.
        let count = chunk.messages().map_or(0, <[bytes::Bytes]>::len);
        assert!(chunk.data().len() <= 1024 && count <= 1 + usize::from(!chunk.partial()));
        pieces += usize::from(chunk.partial());
        for message in chunk.messages().unwrap_or_default() {
            seen.push(serde_json::from_slice::<serde_json::Value>(message).unwrap());
        }
    }
    assert_eq!(seen, values);
    assert!(pieces >= 100, "{pieces} pieces");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_chunk_bound_is_an_invalid_argument_naming_it() {
    let client = common::client_builder().build().unwrap();
    let stream = client.stream("http://127.0.0.1:9/s").unwrap();
    let error = stream
        .read(ReadOptions::new().max_chunk_bytes(0))
        .next_chunk()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.message().starts_with("max_chunk_bytes"), "{error}");
}

async fn chunks_report_the_status_of_their_response(ctx: Ctx) {
    let stream = ctx.create("status", "text/plain").await;
    stream.append("old").await.unwrap();
    let mut catch_up = stream.read(ReadOptions::new());
    let chunk = catch_up.next_chunk().await.unwrap().expect("data");
    assert_eq!(
        (chunk.transport_status(), chunk.text().unwrap()),
        (200, "old")
    );
    // From `now`, long-poll waits; the server's timeout (a 204) is the first up-to-date signal.
    let mut tail = stream.read(
        ReadOptions::new()
            .offset(Offset::NOW)
            .live(LiveMode::LongPoll),
    );
    let chunk = within(10, "long-poll timeout", tail.next_chunk())
        .await
        .unwrap()
        .expect("up-to-date");
    assert!(chunk.up_to_date() && !chunk.has_data());
    assert_eq!(chunk.transport_status(), 204);
}
