//! Client events (retries, dropped connections, reconnects, producer batches, fencing) and the
//! append retry settings, through the harness's fault proxy in front of each real server.

#[macro_use]
mod common;

use common::{
    Ctx, FakeServer, Reply, client_builder, fast_retries, http_response, read_all, unused_port,
    within,
};
use durable_streams_core::{
    AppendRetry, Client, ErrorKind, EventKind, EventLevel, EventSink, LiveMode, ProducerOptions,
    ReadOptions, RetryPolicy, Stream, event_fn,
};
use durable_streams_test_harness::{FaultPlan, FaultProxy};
use std::sync::{Arc, Mutex};
use std::time::Duration;

server_tests!(
    retries_are_reported_with_their_backoff_and_cause,
    plain_appends_are_sent_once_by_default,
    when_not_stored_retries_refusals_but_not_ambiguous_drops,
    at_least_once_retries_a_drop_after_the_server_stored_the_append,
    producer_batches_are_reported_with_their_counts,
    producer_batch_retries_are_reported,
    overtaken_batches_are_reported_as_retries_when_resent,
    fencing_and_epoch_claims_are_reported,
);

/// Everything a sink heard, as (kind, message, fields).
type Heard = Arc<Mutex<Vec<(EventKind, String, Vec<(String, String)>)>>>;

fn recorder() -> (Arc<dyn EventSink>, Heard) {
    let heard: Heard = Arc::default();
    let sink_heard = heard.clone();
    let sink = event_fn(EventLevel::Debug, move |event| {
        assert_eq!(event.level, event.kind.level());
        let fields = event
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        sink_heard
            .lock()
            .unwrap()
            .push((event.kind, event.message.to_owned(), fields));
    });
    (sink, heard)
}

fn of_kind(heard: &Heard, kind: EventKind) -> Vec<Vec<(String, String)>> {
    heard
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _, _)| *k == kind)
        .map(|(_, _, fields)| fields.clone())
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("field {name} missing in {fields:?}"))
}

fn proxy(ctx: &Ctx, plan: FaultPlan) -> FaultProxy {
    FaultProxy::start(ctx.server.base_url(), plan).expect("fault proxy")
}

/// `stream` seen through `proxy` by a client built from `client`.
fn through(proxy: &FaultProxy, client: &Client, stream: &Stream) -> Stream {
    let handle = client.stream(&proxy.proxied(stream.url())).unwrap();
    if let Some(ct) = stream.content_type() {
        handle.set_content_type(&ct);
    }
    handle
}

fn every_post(fault: impl FnOnce(&mut FaultPlan)) -> FaultPlan {
    let mut plan = FaultPlan {
        method: Some("POST".into()),
        seed: 11,
        ..FaultPlan::default()
    };
    fault(&mut plan);
    plan
}

async fn retries_are_reported_with_their_backoff_and_cause(ctx: Ctx) {
    let stream = ctx.create("ev-retry", "text/plain").await;
    stream.append("x").await.unwrap();
    let proxy = proxy(
        &ctx,
        FaultPlan {
            method: Some("HEAD".into()),
            unavailable_before: 1.0,
            ..FaultPlan::default()
        },
    );
    let (sink, heard) = recorder();
    let client = client_builder().event_sink(sink).build().unwrap();
    let error = through(&proxy, &client, &stream).head().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerError);
    let retries = of_kind(&heard, EventKind::Retry);
    let max_retries = client.retry_policy().max_retries as usize;
    assert_eq!(
        retries.len(),
        max_retries,
        "one event per retry: {retries:?}"
    );
    for (n, fields) in retries.iter().enumerate() {
        assert_eq!(field(fields, "operation"), "head");
        assert_eq!(field(fields, "attempt"), (n + 1).to_string());
        assert_eq!(field(fields, "status"), "503");
        assert_eq!(field(fields, "error_kind"), "SERVER_ERROR");
        let backoff: u64 = field(fields, "backoff_ms").parse().unwrap();
        assert!(backoff <= 200, "within the policy's max delay: {backoff}");
    }
}

async fn plain_appends_are_sent_once_by_default(ctx: Ctx) {
    let stream = ctx.create("ev-once", "text/plain").await;
    let proxy = proxy(&ctx, every_post(|p| p.unavailable_before = 1.0));
    let client = client_builder().build().unwrap();
    assert_eq!(client.append_retry(), AppendRetry::Never);
    let error = through(&proxy, &client, &stream)
        .append("a")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(proxy.counts().unavailable_before, 1, "exactly one attempt");
    assert_eq!(read_all(&stream).await.text(), "");
}

async fn when_not_stored_retries_refusals_but_not_ambiguous_drops(ctx: Ctx) {
    let stream = ctx.create("ev-not-stored", "text/plain").await;
    let client = client_builder()
        .append_retry(AppendRetry::WhenNotStored)
        .retry_policy(RetryPolicy {
            max_retries: 10,
            ..fast_retries()
        })
        .build()
        .unwrap();

    // 503 and 429 answered before the server saw the request: retried until it goes through.
    let refusing = proxy(
        &ctx,
        every_post(|p| {
            p.unavailable_before = 0.25;
            p.too_many_requests = 0.15;
        }),
    );
    let refused = through(&refusing, &client, &stream);
    for i in 0..20 {
        refused.append(format!("{i};")).await.unwrap();
    }
    let expected: String = (0..20).map(|i| format!("{i};")).collect();
    assert_eq!(read_all(&stream).await.text(), expected);
    let counts = refusing.counts();
    assert!(
        counts.unavailable_before + counts.too_many_requests > 0,
        "{counts:?}"
    );

    // A connection closed after the server stored the append: retrying could duplicate it.
    let dropping = proxy(&ctx, every_post(|p| p.drop_after = 1.0));
    let error = through(&dropping, &client, &stream)
        .append("dropped")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(!error.detail().not_sent);
    assert_eq!(dropping.counts().drop_after, 1, "not retried");
    assert_eq!(
        read_all(&stream).await.text(),
        format!("{expected}dropped"),
        "stored once, by the only attempt"
    );

    // Nothing listening: the request never left, so it is retried (and fails in the end).
    let (sink, heard) = recorder();
    client.set_event_sink(Some(sink));
    let closed_port = format!("http://127.0.0.1:{}/s", unused_port());
    let unreachable = client.stream(&closed_port).unwrap();
    unreachable.set_content_type("text/plain");
    let error = unreachable.append("x").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(error.detail().not_sent, "{error:?}");
    let retries = of_kind(&heard, EventKind::Retry);
    assert_eq!(retries.len(), client.retry_policy().max_retries as usize);
    assert_eq!(field(&retries[0], "operation"), "append");
    assert_eq!(field(&retries[0], "error_kind"), "NETWORK_ERROR");
}

async fn at_least_once_retries_a_drop_after_the_server_stored_the_append(ctx: Ctx) {
    let stream = ctx.create("ev-at-least", "text/plain").await;
    let client = client_builder()
        .append_retry(AppendRetry::AtLeastOnce)
        .build()
        .unwrap();
    // Dropped before the server: retried, stored once.
    let before = proxy(&ctx, every_post(|p| p.drop_before = 0.5));
    let handle = through(&before, &client, &stream);
    for i in 0..10 {
        handle.append(format!("{i};")).await.unwrap();
    }
    assert!(before.counts().drop_before > 0);
    let expected: String = (0..10).map(|i| format!("{i};")).collect();
    assert_eq!(read_all(&stream).await.text(), expected);

    // Dropped after the server stored it: the retry stores it again (the documented cost).
    let after = proxy(
        &ctx,
        FaultPlan {
            method: Some("POST".into()),
            drop_after: 1.0,
            ..FaultPlan::default()
        },
    );
    let error = through(&after, &client, &stream)
        .append("twice")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network);
    let attempts = after.counts().drop_after;
    assert_eq!(attempts, u64::from(client.retry_policy().max_retries) + 1);
    assert_eq!(
        read_all(&stream).await.text(),
        format!("{expected}{}", "twice".repeat(attempts as usize)),
        "every attempt was stored: at-least-once"
    );
}

async fn producer_batches_are_reported_with_their_counts(ctx: Ctx) {
    let stream = ctx.create("ev-batches", "text/plain").await;
    let (sink, heard) = recorder();
    let client = client_builder().event_sink(sink).build().unwrap();
    let handle = client.stream(stream.url()).unwrap();
    let producer = handle
        .producer(
            "ev-batcher",
            ProducerOptions {
                max_batch_items: 7,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    for i in 0..100 {
        producer.append(format!("{i:03}").as_bytes()).await.unwrap();
    }
    producer.flush().await.unwrap();
    let sent = of_kind(&heard, EventKind::BatchSent);
    let messages: u64 = sent
        .iter()
        .map(|f| field(f, "messages").parse::<u64>().unwrap())
        .sum();
    let bytes: u64 = sent
        .iter()
        .map(|f| field(f, "bytes").parse::<u64>().unwrap())
        .sum();
    assert_eq!(messages, 100);
    assert_eq!(bytes, 300);
    assert!(
        sent.len() >= 100 / 7,
        "batches of at most 7: {}",
        sent.len()
    );
    let mut seqs: Vec<u64> = sent
        .iter()
        .map(|f| field(f, "seq").parse().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..sent.len() as u64).collect::<Vec<_>>());
    for fields in &sent {
        assert_eq!(field(fields, "producer_id"), "ev-batcher");
        assert_eq!(field(fields, "epoch"), "0");
        assert_eq!(field(fields, "attempts"), "1");
        assert_eq!(field(fields, "duplicate"), "false");
    }
}

async fn producer_batch_retries_are_reported(ctx: Ctx) {
    let stream = ctx.create("ev-batch-retry", "text/plain").await;
    let proxy = proxy(&ctx, every_post(|p| p.unavailable_after = 0.5));
    let (sink, heard) = recorder();
    let client = client_builder().event_sink(sink).build().unwrap();
    let producer = through(&proxy, &client, &stream)
        .producer("ev-retrier", ProducerOptions::default())
        .unwrap();
    for i in 0..30 {
        producer.append(format!("{i};").as_bytes()).await.unwrap();
        if i % 3 == 0 {
            producer.flush().await.unwrap();
        }
    }
    producer.flush().await.unwrap();
    let expected: String = (0..30).map(|i| format!("{i};")).collect();
    assert_eq!(read_all(&stream).await.text(), expected, "exactly once");
    let retries = of_kind(&heard, EventKind::BatchRetry);
    assert_eq!(retries.len() as u64, proxy.counts().unavailable_after);
    assert!(!retries.is_empty());
    assert_eq!(field(&retries[0], "status"), "503");
    // A batch stored before its 503 is acknowledged as a duplicate when resent.
    let sent = of_kind(&heard, EventKind::BatchSent);
    assert!(
        sent.iter().any(|f| field(f, "duplicate") == "true"),
        "{sent:?}"
    );
}

async fn overtaken_batches_are_reported_as_retries_when_resent(ctx: Ctx) {
    let stream = ctx.create("ev-overtaken", "text/plain").await;
    // Random delays on every POST make pipelined batches reach the server out of order.
    let proxy = proxy(
        &ctx,
        every_post(|p| {
            p.delay = 1.0;
            p.max_delay = Duration::from_millis(20);
        }),
    );
    let (sink, heard) = recorder();
    let client = client_builder().event_sink(sink).build().unwrap();
    let producer = through(&proxy, &client, &stream)
        .producer(
            "ev-overtaken",
            ProducerOptions {
                max_batch_items: 4,
                max_in_flight: 5,
                linger: Duration::ZERO,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    for i in 0..800 {
        producer.append(format!("{i};").as_bytes()).await.unwrap();
    }
    within(60, "flush", producer.flush()).await.unwrap();
    let expected: String = (0..800).map(|i| format!("{i};")).collect();
    assert_eq!(read_all(&stream).await.text(), expected, "exactly once");

    let retries = of_kind(&heard, EventKind::BatchRetry);
    let overtaken: Vec<_> = retries
        .iter()
        .filter(|f| field(f, "reason") == "overtaken")
        .collect();
    assert!(
        !overtaken.is_empty(),
        "some batch was overtaken: {retries:?}"
    );
    assert_eq!(overtaken.len(), retries.len(), "no transient failures");
    for fields in &overtaken {
        assert_eq!(field(fields, "producer_id"), "ev-overtaken");
        assert_eq!(field(fields, "epoch"), "0");
        assert_eq!(field(fields, "error_kind"), "SEQUENCE_GAP");
        assert_eq!(field(fields, "status"), "409");
        assert_eq!(field(fields, "backoff_ms"), "0");
        assert!(field(fields, "attempt").parse::<u32>().unwrap() >= 1);
        assert!(field(fields, "seq").parse::<u64>().unwrap() > 0);
    }
    // Every request is accounted for: acknowledged once, or refused and then resent.
    let sent = of_kind(&heard, EventKind::BatchSent);
    assert_eq!(
        proxy.counts().forwarded,
        (sent.len() + overtaken.len()) as u64,
        "POSTs = acknowledged batches + overtaken resends"
    );
    assert_eq!(sent.len() as u64, producer.next_seq());
}

async fn fencing_and_epoch_claims_are_reported(ctx: Ctx) {
    let stream = ctx.create("ev-fence", "text/plain").await;
    let newer = stream
        .producer(
            "ev-fenced",
            ProducerOptions {
                epoch: 5,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    newer.append(b"from-5;").await.unwrap();
    newer.flush().await.unwrap();

    let (sink, heard) = recorder();
    let client = client_builder().event_sink(sink).build().unwrap();
    let claimer = client
        .stream(stream.url())
        .unwrap()
        .producer(
            "ev-fenced",
            ProducerOptions {
                epoch: 1,
                auto_claim: true,
                ..ProducerOptions::default()
            },
        )
        .unwrap();
    claimer.append(b"claimed;").await.unwrap();
    claimer.flush().await.unwrap();
    let fenced = of_kind(&heard, EventKind::Fenced);
    assert_eq!(fenced.len(), 1, "{fenced:?}");
    assert_eq!(field(&fenced[0], "epoch"), "1");
    assert_eq!(field(&fenced[0], "current_epoch"), "5");
    assert_eq!(field(&fenced[0], "auto_claim"), "true");
    let claimed = of_kind(&heard, EventKind::EpochClaimed);
    assert_eq!(claimed.len(), 1);
    assert_eq!(field(&claimed[0], "epoch"), "6");
    assert_eq!(field(&claimed[0], "previous_epoch"), "1");

    // Without auto-claim the producer fails: its lost messages are reported.
    let (sink, heard) = recorder();
    client.set_event_sink(Some(sink));
    let stale = client
        .stream(stream.url())
        .unwrap()
        .producer("ev-fenced", ProducerOptions::default())
        .unwrap();
    stale.append(b"lost;").await.unwrap();
    assert_eq!(
        stale.flush().await.unwrap_err().kind(),
        ErrorKind::StaleEpoch
    );
    let failed = of_kind(&heard, EventKind::BatchFailed);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(field(&failed[0], "messages"), "1");
    assert_eq!(field(&failed[0], "error_kind"), "STALE_EPOCH");
    assert_eq!(field(&failed[0], "status"), "403");
    assert_eq!(of_kind(&heard, EventKind::Fenced).len(), 1);
    assert_eq!(read_all(&stream).await.text(), "from-5;claimed;");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sse_connection_is_reported_and_the_reader_reconnects() {
    const FIRST: &[u8] =
        b"event: data\ndata: [\"a\"]\n\nevent: control\ndata: {\"streamNextOffset\":\"1_1\"}\n\n";
    const SECOND: &[u8] = b"event: data\ndata: [\"b\"]\n\nevent: control\ndata: {\"streamNextOffset\":\"2_2\",\"streamClosed\":true}\n\n";
    let fake = FakeServer::start(|head| {
        if head.contains("offset=-1") {
            // Promises more than it sends, then closes: the connection breaks mid-response.
            let mut bytes = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n",
                FIRST.len() + 100
            )
            .into_bytes();
            bytes.extend_from_slice(FIRST);
            Reply::Bytes(bytes)
        } else {
            http_response("200 OK", &[("Content-Type", "text/event-stream")], SECOND)
        }
    });
    let (sink, heard) = recorder();
    let client = client_builder().event_sink(sink).build().unwrap();
    let stream = client.stream(&fake.url("/s")).unwrap();
    stream.set_content_type("application/json");
    let mut reader = stream.read(ReadOptions::new().live(LiveMode::Sse));
    let mut seen = Vec::new();
    within(10, "SSE across a dropped connection", async {
        while let Some(chunk) = reader.next_chunk().await.unwrap() {
            seen.extend(
                chunk
                    .messages()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| m.to_vec()),
            );
        }
    })
    .await;
    assert_eq!(seen, [b"\"a\"".to_vec(), b"\"b\"".to_vec()]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[1].contains("offset=1_1"),
        "resumed from the last control event"
    );

    let dropped = of_kind(&heard, EventKind::ConnectionDropped);
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(field(&dropped[0], "mode"), "sse");
    assert_eq!(field(&dropped[0], "offset"), "1_1");
    assert_eq!(field(&dropped[0], "failures"), "1");
    assert_eq!(field(&dropped[0], "error_kind"), "NETWORK_ERROR");
    let reconnects = of_kind(&heard, EventKind::Reconnect);
    assert_eq!(reconnects.len(), 1, "{reconnects:?}");
    assert_eq!(field(&reconnects[0], "offset"), "1_1");
    assert_eq!(field(&reconnects[0], "reason"), "dropped");
    let kinds: Vec<EventKind> = heard.lock().unwrap().iter().map(|e| e.0).collect();
    assert_eq!(kinds, [EventKind::ConnectionDropped, EventKind::Reconnect]);
}
