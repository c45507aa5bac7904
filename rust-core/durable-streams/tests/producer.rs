//! The idempotent producer against both real servers: ordering, batching, pipelining, epochs,
//! close/detach, backpressure, and exactly-once delivery through injected faults.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Ctx, client_builder, error_sink, read_all, within};
use durable_streams_core::{
    Decorations, ErrorKind, Operation, Producer, ProducerOptions, Stream, TryAppendStatus,
    decorator_fn,
};
use durable_streams_test_harness::{FaultPlan, FaultProxy};

server_tests!(
    messages_arrive_once_and_in_order_across_many_batches,
    json_messages_are_batched_as_arrays_and_read_back_one_by_one,
    batches_respect_max_batch_items_and_max_batch_bytes,
    pipelined_batches_keep_their_order,
    a_newer_epoch_fences_the_older_producer,
    auto_claim_takes_the_server_epoch_plus_one,
    restart_moves_to_the_next_epoch_at_sequence_zero,
    close_appends_the_final_message_and_is_idempotent,
    detach_delivers_everything_and_leaves_the_stream_open,
    a_closed_stream_is_reported_as_stream_closed_not_a_gap,
    try_append_reports_full_and_append_waits_for_room,
    a_real_sequence_gap_reports_expected_and_received,
    dynamic_headers_are_computed_for_every_batch,
    a_missing_stream_fails_with_not_found,
    flush_reports_a_failure_that_happened_before_it_was_called,
    a_full_buffer_is_sent_without_waiting_for_linger,
    exactly_once_through_dropped_connections_5xx_429_and_delays,
    exactly_once_for_json_through_faults_after_the_server_stored_the_batch,
);

fn numbered_lines(count: usize) -> impl Iterator<Item = String> {
    (0..count).map(|i| format!("{i}\n"))
}

fn assert_lines(text: &str, count: usize, what: &str) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), count, "{what}: line count");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, i.to_string(), "{what}: line {i}");
    }
}

async fn append_all(producer: &Producer, messages: impl Iterator<Item = String>) {
    for message in messages {
        producer
            .append(message.as_bytes())
            .await
            .expect("append accepted");
    }
}

async fn messages_arrive_once_and_in_order_across_many_batches(ctx: Ctx) {
    let stream = ctx.create("prod-order", "text/plain").await;
    let producer = stream
        .producer(
            "order",
            ProducerOptions {
                max_batch_items: 37,
                linger: Duration::from_millis(1),
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    append_all(&producer, numbered_lines(5_000)).await;
    let offset = within(30, "flush", producer.flush()).await.unwrap();
    assert!(
        offset.is_some(),
        "flush returns the last acknowledged offset"
    );
    assert_eq!(offset, producer.last_acked_offset());
    assert!(
        producer.next_seq() >= 5_000 / 37,
        "batches were cut by count"
    );
    assert_eq!(producer.pending_count(), 0);
    assert_eq!(producer.in_flight_count(), 0);
    assert_eq!(producer.buffered(), (0, 0));
    let read = read_all(&stream).await;
    assert_lines(&read.text(), 5_000, "text stream");
    assert_eq!(&read.offset, offset.as_ref().unwrap());
}

async fn json_messages_are_batched_as_arrays_and_read_back_one_by_one(ctx: Ctx) {
    let stream = ctx.create("prod-json", "application/json").await;
    let producer = stream.producer("json", ProducerOptions::default()).unwrap();
    for i in 0..500 {
        producer
            .try_append_json(&serde_json::json!({"n": i, "tags": [i, "x"]}))
            .unwrap();
    }
    // An array value stays one message.
    producer.try_append_json(&[1, 2, 3]).unwrap();
    producer.flush().await.unwrap();
    let messages = read_all(&stream).await.messages();
    assert_eq!(messages.len(), 501);
    for (i, message) in messages.iter().take(500).enumerate() {
        assert_eq!(message["n"], i, "message {i}");
    }
    assert_eq!(messages[500], serde_json::json!([1, 2, 3]));
}

async fn batches_respect_max_batch_items_and_max_batch_bytes(ctx: Ctx) {
    let by_items = ctx.create("prod-items", "text/plain").await;
    let producer = by_items
        .producer(
            "items",
            ProducerOptions {
                max_batch_items: 10,
                linger: Duration::from_secs(60),
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    append_all(&producer, numbered_lines(100)).await;
    producer.flush().await.unwrap();
    assert_eq!(producer.next_seq(), 10, "100 messages in batches of 10");

    let by_bytes = ctx.create("prod-bytes", "application/octet-stream").await;
    let producer = by_bytes
        .producer(
            "bytes",
            ProducerOptions {
                max_batch_bytes: 1_000,
                linger: Duration::from_secs(60),
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    for i in 0..100u8 {
        producer.try_append(&[i; 100]).unwrap();
    }
    producer.flush().await.unwrap();
    assert_eq!(producer.next_seq(), 10, "10 KB in batches of at most 1 KB");
    let data = read_all(&by_bytes).await.data;
    assert_eq!(data.len(), 10_000);
    for (i, block) in data.chunks(100).enumerate() {
        assert!(block.iter().all(|b| usize::from(*b) == i), "block {i}");
    }
}

async fn pipelined_batches_keep_their_order(ctx: Ctx) {
    let stream = ctx.create("prod-pipe", "text/plain").await;
    // Random delays on every request make later batches overtake earlier ones on the wire.
    let proxy = FaultProxy::start(
        ctx.server.base_url(),
        FaultPlan {
            method: Some("POST".into()),
            delay: 1.0,
            max_delay: Duration::from_millis(25),
            seed: 7,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let proxied = ctx.client.stream(&proxy.proxied(stream.url())).unwrap();
    let producer = proxied
        .producer(
            "pipe",
            ProducerOptions {
                max_batch_items: 5,
                max_in_flight: 5,
                linger: Duration::ZERO,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    let peak = Arc::new(AtomicUsize::new(0));
    append_all(&producer, numbered_lines(1_000)).await;
    let flush = producer.flush();
    tokio::pin!(flush);
    let result = within(60, "pipelined flush", async {
        loop {
            tokio::select! {
                result = &mut flush => break result,
                () = tokio::time::sleep(Duration::from_millis(2)) => {
                    peak.fetch_max(producer.in_flight_count(), Ordering::Relaxed);
                }
            }
        }
    })
    .await;
    result.unwrap();
    assert!(
        peak.load(Ordering::Relaxed) > 1,
        "several batches were in flight at once"
    );
    assert!(
        peak.load(Ordering::Relaxed) <= 5,
        "never more than max_in_flight"
    );
    assert_lines(&read_all(&stream).await.text(), 1_000, "pipelined");
}

async fn a_newer_epoch_fences_the_older_producer(ctx: Ctx) {
    let stream = ctx.create("prod-fence", "text/plain").await;
    let (errors, options) = error_sink();
    let old = stream.producer("shared-id", options).unwrap();
    old.try_append(b"old-1\n").unwrap();
    old.flush().await.unwrap();

    let new = stream
        .producer(
            "shared-id",
            ProducerOptions {
                epoch: 1,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    new.try_append(b"new-1\n").unwrap();
    new.flush().await.unwrap();

    old.try_append(b"zombie\n").unwrap();
    let err = old.flush().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StaleEpoch, "{err}");
    assert_eq!(err.current_epoch(), Some(1));
    assert_eq!(err.status(), Some(403));
    assert!(err.url().is_some_and(|u| u.contains("prod-fence")));
    assert_eq!(
        old.try_append(b"again\n").unwrap_err().kind(),
        ErrorKind::StaleEpoch,
        "a fenced producer refuses appends until restarted"
    );
    {
        let errors = errors.lock().unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message_count, 1);
        assert_eq!(errors[0].seq_range, Some((1, 1)));
        assert_eq!(errors[0].epoch, 0);
    }
    assert_eq!(read_all(&stream).await.text(), "old-1\nnew-1\n");
}

async fn auto_claim_takes_the_server_epoch_plus_one(ctx: Ctx) {
    let stream = ctx.create("prod-claim", "text/plain").await;
    let first = stream
        .producer(
            "claimed",
            ProducerOptions {
                epoch: 3,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    first.try_append(b"epoch-3\n").unwrap();
    first.flush().await.unwrap();
    drop(first);

    let (errors, options) = error_sink();
    let claimer = stream
        .producer(
            "claimed",
            ProducerOptions {
                auto_claim: true,
                max_batch_items: 2,
                ..options
            },
        )
        .unwrap();
    append_all(&claimer, numbered_lines(20)).await;
    claimer.flush().await.unwrap();
    assert_eq!(claimer.epoch(), 4);
    assert!(
        errors.lock().unwrap().is_empty(),
        "claiming is not an error"
    );
    let text = read_all(&stream).await.text();
    let rest = text.strip_prefix("epoch-3\n").expect("earlier data first");
    assert_lines(rest, 20, "claimed");
}

async fn restart_moves_to_the_next_epoch_at_sequence_zero(ctx: Ctx) {
    let stream = ctx.create("prod-restart", "text/plain").await;
    let producer = stream
        .producer("restarter", ProducerOptions::default())
        .unwrap();
    producer.try_append(b"0\n").unwrap();
    producer.try_append(b"1\n").unwrap();
    assert_eq!(producer.restart().await.unwrap(), 1);
    assert_eq!((producer.epoch(), producer.next_seq()), (1, 0));
    producer.try_append(b"2\n").unwrap();
    producer.flush().await.unwrap();
    assert_eq!(producer.next_seq(), 1);
    assert_lines(&read_all(&stream).await.text(), 3, "across the restart");
}

async fn close_appends_the_final_message_and_is_idempotent(ctx: Ctx) {
    let stream = ctx.create("prod-close", "application/json").await;
    let producer = stream
        .producer("closer", ProducerOptions::default())
        .unwrap();
    producer.try_append(br#"{"n":1}"#).unwrap();
    producer.try_append(br#"{"n":2}"#).unwrap();
    let final_offset = within(20, "close", producer.close(Some(br#"{"n":3}"#)))
        .await
        .unwrap();
    assert!(final_offset.is_some());
    assert_eq!(
        producer.close(None).await.unwrap(),
        final_offset,
        "closing again returns the first result"
    );
    assert_eq!(
        producer.try_append(b"{}").unwrap_err().kind(),
        ErrorKind::ProducerClosed
    );
    let info = stream.head().await.unwrap();
    assert!(info.closed);
    assert_eq!(Some(info.next_offset), final_offset);
    let read = read_all(&stream).await;
    assert!(read.closed);
    let numbers: Vec<i64> = read
        .messages()
        .iter()
        .map(|m| m["n"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3]);

    let plain = ctx.create("prod-close-plain", "text/plain").await;
    let producer = plain
        .producer("closer", ProducerOptions::default())
        .unwrap();
    producer.try_append(b"only").unwrap();
    producer.close(None).await.unwrap();
    let read = read_all(&plain).await;
    assert_eq!((read.text().as_str(), read.closed), ("only", true));
}

async fn detach_delivers_everything_and_leaves_the_stream_open(ctx: Ctx) {
    let stream = ctx.create("prod-detach", "text/plain").await;
    let producer = stream
        .producer(
            "detacher",
            ProducerOptions {
                linger: Duration::from_secs(60),
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    append_all(&producer, numbered_lines(10)).await;
    within(20, "detach", producer.detach()).await.unwrap();
    assert_eq!(
        producer.try_append(b"late").unwrap_err().kind(),
        ErrorKind::ProducerClosed
    );
    assert!(!stream.head().await.unwrap().closed);
    assert_lines(&read_all(&stream).await.text(), 10, "detached");
    // Another instance continues the same producer id in a new epoch.
    let successor = stream
        .producer(
            "detacher",
            ProducerOptions {
                epoch: 1,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    successor.try_append(b"10\n").unwrap();
    successor.flush().await.unwrap();
    assert_lines(&read_all(&stream).await.text(), 11, "continued");
}

async fn a_closed_stream_is_reported_as_stream_closed_not_a_gap(ctx: Ctx) {
    let stream = ctx.create("prod-closed", "text/plain").await;
    let (errors, options) = error_sink();
    let producer = stream.producer("late-writer", options).unwrap();
    producer.try_append(b"before\n").unwrap();
    producer.flush().await.unwrap();
    stream.close().await.unwrap();
    producer.try_append(b"after\n").unwrap();
    let err = producer.flush().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamClosed, "{err}");
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        errors.lock().unwrap()[0].error.kind(),
        ErrorKind::StreamClosed
    );
    assert_eq!(read_all(&stream).await.text(), "before\n");
}

async fn try_append_reports_full_and_append_waits_for_room(ctx: Ctx) {
    let stream = ctx.create("prod-full", "text/plain").await;
    // Every batch takes half a second: room comes back only when one is acknowledged.
    let proxy = FaultProxy::start(
        ctx.server.base_url(),
        FaultPlan {
            method: Some("POST".into()),
            delay: 1.0,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_millis(500),
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let proxied = ctx.client.stream(&proxy.proxied(stream.url())).unwrap();
    let producer = Arc::new(
        proxied
            .producer(
                "bounded",
                ProducerOptions {
                    max_buffered_messages: 5,
                    linger: Duration::from_secs(60),
                    ..ProducerOptions::default()
                },
            )
            .unwrap(),
    );
    append_all(&producer, numbered_lines(5)).await;
    let full = producer.try_append(b"5\n").unwrap_err();
    assert_eq!(full.kind(), ErrorKind::BufferFull);
    assert_eq!(
        producer.try_append_status(b"5\n").unwrap(),
        TryAppendStatus::Full
    );
    assert_eq!(producer.buffered(), (5, 10));

    let waiting = {
        let producer = producer.clone();
        tokio::spawn(async move { producer.append(b"5\n").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "append waits while the buffer is full"
    );
    within(10, "the waiting append", waiting)
        .await
        .unwrap()
        .unwrap();
    producer.flush().await.unwrap();
    assert_lines(&read_all(&stream).await.text(), 6, "bounded");

    let bytes = ctx
        .create("prod-full-bytes", "application/octet-stream")
        .await;
    let producer = bytes
        .producer(
            "bounded-bytes",
            ProducerOptions {
                max_buffered_bytes: 10,
                linger: Duration::from_secs(60),
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    producer.try_append(&[1; 6]).unwrap();
    assert_eq!(
        producer.try_append(&[2; 6]).unwrap_err().kind(),
        ErrorKind::BufferFull
    );
    assert_eq!(
        producer.try_append(&[3; 11]).unwrap_err().kind(),
        ErrorKind::InvalidArgument,
        "a message that can never fit is refused outright"
    );
}

async fn a_real_sequence_gap_reports_expected_and_received(ctx: Ctx) {
    let stream = ctx.create("prod-gap", "text/plain").await;
    let first = stream
        .producer("gappy", ProducerOptions::default())
        .unwrap();
    first.try_append(b"seq-0\n").unwrap();
    first.flush().await.unwrap();
    // The proxy adds 5 to the next batch's sequence number, as a lost batch would.
    let proxy = FaultProxy::start(
        ctx.server.base_url(),
        FaultPlan {
            method: Some("POST".into()),
            skew_first_producer_seq: 5,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let proxied = ctx.client.stream(&proxy.proxied(stream.url())).unwrap();
    let (errors, options) = error_sink();
    // Same id and epoch: the server holds sequence 0, and receives 0 + 5.
    let producer = proxied.producer("gappy", options).unwrap();
    producer.try_append(b"never\n").unwrap();
    let gap = producer.flush().await.unwrap_err();
    assert_eq!(gap.kind(), ErrorKind::SequenceGap, "{gap}");
    assert_eq!(gap.status(), Some(409));
    assert_eq!((gap.expected_seq(), gap.received_seq()), (Some(1), Some(5)));
    assert_eq!(errors.lock().unwrap()[0].seq_range, Some((0, 0)));
    assert_eq!(read_all(&stream).await.text(), "seq-0\n");
}

async fn dynamic_headers_are_computed_for_every_batch(ctx: Ctx) {
    let stream = ctx.create("prod-dyn", "text/plain").await;
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let client = client_builder()
        .header("x-static", "always")
        .decorator(decorator_fn(move |info| {
            if info.operation == Operation::ProducerBatch {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Decorations {
                headers: vec![("authorization".into(), "Bearer rotating".into())],
                query: vec![],
            })
        }))
        .build()
        .unwrap();
    let handle = client.stream(stream.url()).unwrap();
    let producer = handle
        .producer(
            "decorated",
            ProducerOptions {
                max_batch_items: 3,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    append_all(&producer, numbered_lines(30)).await;
    producer.flush().await.unwrap();
    // Once per request: at least once per batch (more when a pipelined batch is resent).
    assert!(calls.load(Ordering::Relaxed) >= producer.next_seq());
    assert_lines(&read_all(&stream).await.text(), 30, "decorated");
}

async fn a_missing_stream_fails_with_not_found(ctx: Ctx) {
    let stream: Stream = ctx.stream("prod-missing");
    let producer = stream
        .producer(
            "nobody",
            ProducerOptions {
                content_type: Some("text/plain".into()),
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    producer.try_append(b"x").unwrap();
    let err = within(20, "flush", producer.flush()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.url().is_some_and(|u| u.contains("prod-missing")));

    let no_content_type = ctx
        .stream("prod-missing-ct")
        .producer("p", ProducerOptions::default())
        .unwrap();
    no_content_type.try_append(b"x").unwrap();
    assert_eq!(
        no_content_type.flush().await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        stream
            .producer("", ProducerOptions::default())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

async fn flush_reports_a_failure_that_happened_before_it_was_called(ctx: Ctx) {
    let stream = ctx.create("prod-early-failure", "text/plain").await;
    let (errors, options) = error_sink();
    let old = stream
        .producer(
            "early",
            ProducerOptions {
                linger: Duration::ZERO,
                ..options
            },
        )
        .unwrap();
    let newer = stream
        .producer(
            "early",
            ProducerOptions {
                epoch: 1,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    newer.try_append(b"newer\n").unwrap();
    newer.flush().await.unwrap();
    old.try_append(b"fenced\n").unwrap();
    within(10, "the background failure", async {
        while errors.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let err = old.flush().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StaleEpoch, "{err}");
    assert_eq!(old.restart().await.unwrap(), 2);
    old.try_append(b"after restart\n").unwrap();
    old.flush().await.unwrap();
    assert_eq!(read_all(&stream).await.text(), "newer\nafter restart\n");
}

async fn a_full_buffer_is_sent_without_waiting_for_linger(ctx: Ctx) {
    let stream = ctx.create("prod-full-linger", "text/plain").await;
    let producer = stream
        .producer(
            "patient",
            ProducerOptions {
                max_buffered_messages: 5,
                linger: Duration::from_secs(3600),
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    // The sixth append finds the buffer full; the five must go out now, not in an hour.
    within(
        10,
        "appends past a full buffer",
        append_all(&producer, numbered_lines(12)),
    )
    .await;
    producer.flush().await.unwrap();
    assert_lines(&read_all(&stream).await.text(), 12, "past a full buffer");
}

fn faulty_plan(seed: u64) -> FaultPlan {
    FaultPlan {
        method: Some("POST".into()),
        unavailable_before: 0.04,
        too_many_requests: 0.03,
        drop_before: 0.04,
        drop_after: 0.06,
        unavailable_after: 0.04,
        delay: 0.2,
        max_delay: Duration::from_millis(20),
        seed,
        ..FaultPlan::default()
    }
}

async fn exactly_once_through_dropped_connections_5xx_429_and_delays(ctx: Ctx) {
    const MESSAGES: usize = 100_000;
    let stream = ctx.create("prod-faults", "text/plain").await;
    let proxy = FaultProxy::start(ctx.server.base_url(), faulty_plan(0x5eed)).unwrap();
    let proxied = ctx.client.stream(&proxy.proxied(stream.url())).unwrap();
    let (errors, options) = error_sink();
    let producer = proxied
        .producer(
            "exactly-once",
            ProducerOptions {
                max_batch_items: 250,
                max_in_flight: 5,
                linger: Duration::from_millis(1),
                ..options
            },
        )
        .unwrap();
    append_all(&producer, numbered_lines(MESSAGES)).await;
    within(120, "flush through faults", producer.flush())
        .await
        .unwrap();
    assert!(errors.lock().unwrap().is_empty(), "no batch failed");
    let counts = proxy.counts();
    assert!(
        counts.drop_after > 0,
        "some batches were stored but unacknowledged: {counts:?}"
    );
    assert!(counts.unavailable_after > 0, "{counts:?}");
    assert!(
        counts.drop_before > 0 && counts.unavailable_before > 0,
        "{counts:?}"
    );
    assert!(
        counts.too_many_requests > 0 && counts.delayed > 0,
        "{counts:?}"
    );
    assert_lines(&read_all(&stream).await.text(), MESSAGES, "through faults");
}

async fn exactly_once_for_json_through_faults_after_the_server_stored_the_batch(ctx: Ctx) {
    const MESSAGES: usize = 20_000;
    let stream = ctx.create("prod-faults-json", "application/json").await;
    let plan = FaultPlan {
        method: Some("POST".into()),
        drop_after: 0.15,
        unavailable_after: 0.1,
        seed: 0xfeed,
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(ctx.server.base_url(), plan).unwrap();
    let proxied = ctx.client.stream(&proxy.proxied(stream.url())).unwrap();
    let producer = proxied
        .producer(
            "exactly-once-json",
            ProducerOptions {
                max_batch_items: 100,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    for i in 0..MESSAGES {
        producer
            .append_json(&serde_json::json!({ "i": i }))
            .await
            .unwrap();
    }
    within(120, "flush through faults", producer.flush())
        .await
        .unwrap();
    assert!(proxy.counts().drop_after > 0);
    let messages = read_all(&stream).await.messages();
    assert_eq!(messages.len(), MESSAGES);
    for (i, message) in messages.iter().enumerate() {
        assert_eq!(message["i"], i, "message {i}");
    }
}

#[tokio::test]
async fn producer_ids_and_content_types_a_header_cannot_carry_are_rejected_at_creation() {
    // No server: the checks happen before any request.
    let client = client_builder().build().unwrap();
    let stream = client.stream("http://127.0.0.1:9/never").unwrap();
    let refused = |id: &str, options: ProducerOptions| {
        let error = stream.producer(id, options).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{id:?}: {error}");
        error.message().to_owned()
    };
    let huge = "p".repeat(64 * 1024);
    for id in ["", "a\r\nb", "line\n", "nul\0", huge.as_str(), " padded"] {
        let message = refused(id, ProducerOptions::default());
        assert!(message.starts_with("producer_id"), "{id:?}: {message}");
        assert!(message.len() < 200, "the id is not echoed: {message}");
    }
    for content_type in ["text/plain\r\nX-Injected: 1", "text/plain\n", ""] {
        let options = ProducerOptions {
            content_type: Some(content_type.to_owned()),
            ..ProducerOptions::default()
        };
        let message = refused("p", options);
        assert!(
            message.starts_with("content_type"),
            "{content_type:?}: {message}"
        );
    }
    let limit = "p".repeat(1024);
    assert!(stream.producer(limit, ProducerOptions::default()).is_ok());
}
