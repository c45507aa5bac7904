//! The S2 backend against a real `s2 lite` server. Lite listens on every interface, so these
//! tests start it only inside a network namespace of their own: `./build.sh test-s2` runs them
//! there (they are ignored by a plain `cargo test`).

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use durable_streams_test_harness::{S2Lite, TcpFaultPlan, TcpFaultProxy};
use s2_streamstore_core::metrics::MetricsRequest;
use s2_streamstore_core::model::{
    AccessTokenRequest, BasinConfig, ListRequest, RetentionPolicy, StreamConfig,
    StreamReconfiguration,
};
use s2_streamstore_core::records::{self, NewRecord};
use s2_streamstore_core::{
    AppendConditions, AppendRecord, AppendSessionOptions, ClientOptions, ErrorKind,
    ProducerOptions, ReadRequest, ReadSessionOptions, ReadStart, RetryOptions, S2Client,
    StreamClient,
};

fn lite() -> S2Lite {
    S2Lite::start().unwrap_or_else(|e| panic!("s2 lite: {e}"))
}

fn client(endpoint: &str) -> S2Client {
    S2Client::new(&ClientOptions::for_endpoint(endpoint, "test-token")).expect("valid options")
}

async fn fresh_stream(client: &S2Client, basin: &str, stream: &str) -> StreamClient {
    client.ensure_basin(basin, None).await.expect("basin");
    client
        .create_stream(basin, stream, None)
        .await
        .expect("stream");
    client.stream(basin, stream).expect("names")
}

fn record(stream: &StreamClient, index: usize, body: impl Into<Bytes>) -> AppendRecord {
    records::to_append_record(stream.context("append"), index, NewRecord::body(body))
        .expect("valid record")
}

async fn read_all(stream: &StreamClient) -> Vec<(u64, Bytes)> {
    let tail = stream.check_tail().await.expect("tail").seq_num;
    let mut out = Vec::new();
    while (out.len() as u64) < tail {
        let batch = stream
            .read(&ReadRequest::from(ReadStart::SeqNum(out.len() as u64)))
            .await
            .expect("read");
        assert!(
            !batch.records.is_empty(),
            "a read below the tail returns records"
        );
        out.extend(batch.records.into_iter().map(|r| (r.seq_num, r.body)));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn basins_and_streams_are_created_configured_listed_and_deleted() {
    let server = lite();
    let client = client(server.endpoint());
    let config = BasinConfig {
        default_stream_config: Some(StreamConfig {
            retention_policy: Some(RetentionPolicy::Age(3600)),
            ..StreamConfig::default()
        }),
        create_stream_on_append: true,
        ..BasinConfig::default()
    };
    let created = client
        .create_basin("crud-basin", Some(&config))
        .await
        .expect("create basin");
    assert_eq!(created.name, "crud-basin");
    let again = client
        .create_basin("crud-basin", None)
        .await
        .expect_err("exists");
    assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{again}");
    assert_eq!(again.status(), Some(409));
    let ensured = client
        .ensure_basin("crud-basin", Some(&config))
        .await
        .expect("ensure");
    assert!(!ensured.created);
    assert!(
        !ensured.config_updated,
        "the same configuration changes nothing"
    );
    let read_back = client.basin_config("crud-basin").await.expect("config");
    assert!(read_back.create_stream_on_append);
    assert_eq!(
        read_back
            .default_stream_config
            .and_then(|c| c.retention_policy),
        Some(RetentionPolicy::Age(3600))
    );

    let stream = client
        .ensure_stream("crud-basin", "orders", None)
        .await
        .expect("ensure stream");
    assert!(stream.created);
    let change: StreamReconfiguration =
        serde_json::from_str(r#"{"retention_policy":{"age":60}}"#).expect("JSON");
    let changed = client
        .reconfigure_stream("crud-basin", "orders", &change)
        .await
        .expect("reconfigure");
    assert_eq!(changed.retention_policy, Some(RetentionPolicy::Age(60)));
    let page = client
        .list_streams("crud-basin", &ListRequest::default())
        .await
        .expect("list streams");
    assert_eq!(
        page.items
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["orders"]
    );
    let basins = client
        .list_basins(&ListRequest {
            prefix: Some("crud-".into()),
            ..ListRequest::default()
        })
        .await
        .expect("list basins");
    assert_eq!(basins.items.len(), 1);

    client
        .delete_stream("crud-basin", "orders", false)
        .await
        .expect("delete stream");
    client
        .delete_stream("crud-basin", "never-was", true)
        .await
        .expect("ignored missing stream");
    let missing = client
        .stream_config("crud-basin", "never-was")
        .await
        .expect_err("missing");
    assert_eq!(missing.kind(), ErrorKind::StreamNotFound, "{missing}");
    assert_eq!(missing.stream(), Some("never-was"));
    let missing = client
        .basin_config("no-such-basin")
        .await
        .expect_err("missing");
    assert_eq!(missing.kind(), ErrorKind::BasinNotFound, "{missing}");
    assert!(missing.to_string().contains("no-such-basin"), "{missing}");
    client
        .delete_basin("crud-basin", false)
        .await
        .expect("delete basin");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn appends_with_headers_read_back_from_every_start_kind() {
    let server = lite();
    let client = client(server.endpoint());
    let stream = fresh_stream(&client, "read-basin", "events").await;
    let with_headers = records::to_append_record(
        stream.context("append"),
        0,
        NewRecord {
            body: Bytes::from_static(b"first"),
            headers: vec![(Bytes::from_static(b"type"), Bytes::from_static(b"created"))],
            timestamp: None,
        },
    )
    .expect("record");
    let ack = stream
        .append(
            vec![
                with_headers,
                record(&stream, 1, "second"),
                record(&stream, 2, "third"),
            ],
            &AppendConditions::default(),
        )
        .await
        .expect("append");
    assert_eq!(
        (ack.start.seq_num, ack.end.seq_num, ack.tail.seq_num),
        (0, 3, 3)
    );
    assert_eq!(stream.check_tail().await.expect("tail").seq_num, 3);

    let all = stream
        .read(&ReadRequest::from(ReadStart::SeqNum(0)))
        .await
        .expect("read");
    assert_eq!(all.records.len(), 3);
    assert_eq!(all.records[0].headers.len(), 1);
    assert_eq!(&*all.records[0].headers[0].name, b"type");
    assert_eq!(&*all.records[0].headers[0].value, b"created");
    let from_one = stream
        .read(&ReadRequest {
            count: Some(1),
            ..ReadRequest::from(ReadStart::SeqNum(1))
        })
        .await
        .expect("read");
    assert_eq!(from_one.records.len(), 1);
    assert_eq!(&*from_one.records[0].body, b"second");
    let last = stream
        .read(&ReadRequest::from(ReadStart::TailOffset(1)))
        .await
        .expect("read");
    assert_eq!(&*last.records[0].body, b"third");
    let by_time = stream
        .read(&ReadRequest::from(ReadStart::Timestamp(
            all.records[2].timestamp,
        )))
        .await
        .expect("read");
    assert_eq!(by_time.records.last().map(|r| r.seq_num), Some(2));

    let past = stream
        .read(&ReadRequest::from(ReadStart::SeqNum(10)))
        .await
        .expect_err("past the tail");
    assert_eq!(past.kind(), ErrorKind::ReadUnwritten, "{past}");
    assert_eq!(past.tail().map(|t| t.seq_num), Some(3));
    assert_eq!(past.status(), Some(416));
    // Clamped, the read starts at the tail: with no wait that is still "nothing written there"
    // (S2 answers 416 for a unary read at the tail that may not wait), with a wait it is an empty
    // batch once the wait ends.
    let clamped = stream
        .read(&ReadRequest {
            clamp_to_tail: true,
            ..ReadRequest::from(ReadStart::SeqNum(10))
        })
        .await
        .expect_err("at the tail, no wait");
    assert_eq!(clamped.kind(), ErrorKind::ReadUnwritten, "{clamped}");
    let clamped = stream
        .read(&ReadRequest {
            clamp_to_tail: true,
            wait_secs: Some(1),
            ..ReadRequest::from(ReadStart::SeqNum(10))
        })
        .await
        .expect("clamped, waiting");
    assert!(clamped.records.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn conditions_fences_and_trims_are_enforced_with_the_servers_values() {
    let server = lite();
    let client = client(server.endpoint());
    let stream = fresh_stream(&client, "cond-basin", "ledger").await;
    let only_at = |seq| AppendConditions {
        match_seq_num: Some(seq),
        ..AppendConditions::default()
    };
    stream
        .append(vec![record(&stream, 0, "a")], &only_at(0))
        .await
        .expect("first");
    let conflict = stream
        .append(vec![record(&stream, 0, "a again")], &only_at(0))
        .await
        .expect_err("stale match_seq_num");
    assert_eq!(conflict.kind(), ErrorKind::SeqNumMismatch, "{conflict}");
    assert_eq!(conflict.expected_seq_num(), Some(1));
    assert_eq!(conflict.status(), Some(412));
    assert_eq!(conflict.code(), Some("seq_num_mismatch"));

    let fence = records::fence_record(stream.context("fence"), "writer-1").expect("fence");
    stream
        .append(vec![fence], &AppendConditions::default())
        .await
        .expect("fence");
    let fenced = stream
        .append(
            vec![record(&stream, 0, "intruder")],
            &AppendConditions {
                fencing_token: Some("writer-2".into()),
                ..AppendConditions::default()
            },
        )
        .await
        .expect_err("wrong token");
    assert_eq!(fenced.kind(), ErrorKind::FencingTokenMismatch, "{fenced}");
    assert_eq!(fenced.expected_fencing_token(), Some("writer-1"));
    stream
        .append(
            vec![record(&stream, 0, "owner")],
            &AppendConditions {
                fencing_token: Some("writer-1".into()),
                ..AppendConditions::default()
            },
        )
        .await
        .expect("right token");

    stream
        .append(
            vec![records::trim_record(2)],
            &AppendConditions {
                fencing_token: Some("writer-1".into()),
                ..AppendConditions::default()
            },
        )
        .await
        .expect("trim");
    let batch = stream
        .read(&ReadRequest {
            ignore_command_records: true,
            ..ReadRequest::from(ReadStart::SeqNum(0))
        })
        .await
        .expect("read");
    assert!(
        batch.records.iter().all(|r| !r.is_command_record()),
        "command records left out"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn append_sessions_and_producers_acknowledge_in_order() {
    let server = lite();
    let client = client(server.endpoint());
    let stream = fresh_stream(&client, "sess-basin", "pipelined").await;
    let session = stream
        .append_session(&AppendSessionOptions::default())
        .expect("session");
    let mut acks = Vec::new();
    for batch in 0..100 {
        let records = (0..10)
            .map(|i| record(&stream, i, format!("batch {batch} record {i}")))
            .collect();
        acks.push(
            session
                .submit(records, &AppendConditions::default())
                .await
                .expect("submitted"),
        );
    }
    for (batch, ack) in acks.into_iter().enumerate() {
        let ack = ack.await.expect("acknowledged");
        assert_eq!(ack.start.seq_num, batch as u64 * 10);
    }
    session.close().await.expect("close");
    let closed = session
        .submit(
            vec![record(&stream, 0, "late")],
            &AppendConditions::default(),
        )
        .await;
    assert_eq!(closed.err().map(|e| e.kind()), Some(ErrorKind::Closed));

    let producer = stream
        .producer(&ProducerOptions {
            match_seq_num: Some(1000),
            ..ProducerOptions::default()
        })
        .expect("producer");
    let mut tickets = Vec::new();
    for i in 0..5000 {
        tickets.push(
            producer
                .submit(record(&stream, 0, format!("p{i}")))
                .await
                .expect("submit"),
        );
    }
    for (i, ticket) in tickets.into_iter().enumerate() {
        assert_eq!(ticket.await.expect("ack").seq_num, 1000 + i as u64);
    }
    producer.close().await.expect("close");
    let all = read_all(&stream).await;
    assert_eq!(all.len(), 6000);
    assert!(all.iter().enumerate().all(|(i, (seq, _))| *seq == i as u64));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn read_sessions_follow_the_tail() {
    let server = lite();
    let client = client(server.endpoint());
    let stream = fresh_stream(&client, "tail-basin", "live").await;
    stream
        .append(
            vec![record(&stream, 0, "before")],
            &AppendConditions::default(),
        )
        .await
        .expect("append");
    let mut session = stream
        .read_session(
            &ReadRequest::from(ReadStart::SeqNum(0)),
            ReadSessionOptions::default(),
        )
        .await
        .expect("session");
    let first = session.next().await.expect("a batch").expect("ok");
    assert_eq!(&*first.records[0].body, b"before");
    let writer = stream.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = records::to_append_record(writer.context("append"), 0, NewRecord::body("after"))
            .expect("record");
        writer.append(vec![r], &AppendConditions::default()).await
    });
    let mut seen = Vec::new();
    while seen.is_empty() {
        let batch = tokio::time::timeout(Duration::from_secs(10), session.next())
            .await
            .expect("a live batch within 10 s")
            .expect("not ended")
            .expect("ok");
        seen.extend(batch.records.into_iter().map(|r| r.body));
    }
    assert_eq!(&*seen[0], b"after");
    assert_eq!(session.next_seq_num(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn unsupported_features_bad_input_and_dead_endpoints_fail_clearly() {
    let server = lite();
    let client = client(server.endpoint());
    let request: AccessTokenRequest =
        serde_json::from_str(r#"{"id":"ci","scope":{"ops":["read"]}}"#).expect("JSON");
    let unsupported = client
        .issue_access_token(&request)
        .await
        .expect_err("lite has no access tokens");
    assert_eq!(unsupported.kind(), ErrorKind::NotSupported, "{unsupported}");
    assert!(
        unsupported
            .to_string()
            .contains("not supported by this server"),
        "{unsupported}"
    );
    let metrics: MetricsRequest =
        serde_json::from_str(r#"{"set":"storage","start":1,"end":2}"#).expect("JSON");
    client
        .ensure_basin("lite-basin", None)
        .await
        .expect("basin");
    let results = [
        client.list_access_tokens(&Default::default()).await.err(),
        client.revoke_access_token("ci").await.err(),
        client.list_locations().await.err(),
        client.default_location().await.err(),
        client.set_default_location("aws:us-east-1").await.err(),
        client.basin_metrics("lite-basin", &metrics).await.err(),
        client
            .stream_metrics("lite-basin", "any", &metrics)
            .await
            .err(),
        client
            .account_metrics(&MetricsRequest {
                set: "active-basins".into(),
                ..metrics.clone()
            })
            .await
            .err(),
    ];
    for (i, error) in results.into_iter().enumerate() {
        let error = error.unwrap_or_else(|| panic!("call {i} succeeded on lite"));
        assert_eq!(error.kind(), ErrorKind::NotSupported, "call {i}: {error}");
        assert_eq!(error.status(), Some(501), "call {i}: {error}");
    }

    let bad = client
        .create_basin("Bad_Name", None)
        .await
        .expect_err("name");
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
    assert!(bad.to_string().contains("invalid basin"), "{bad}");
    let bad = client
        .stream("ok-basin-name", "")
        .expect_err("empty stream name");
    assert!(bad.to_string().contains("invalid stream"), "{bad}");

    let stream = fresh_stream(&client, "input-basin", "s").await;
    let too_many = (0..1001).map(|i| record(&stream, i, "x")).collect();
    let error = stream
        .append(too_many, &AppendConditions::default())
        .await
        .expect_err("over the limit");
    assert!(error.to_string().contains("1001 records"), "{error}");
    assert_eq!(
        stream.check_tail().await.expect("tail").seq_num,
        0,
        "nothing was sent"
    );

    let dead = S2Client::new(&ClientOptions {
        connect_timeout_ms: Some(500),
        retry: Some(RetryOptions {
            max_attempts: Some(1),
            ..RetryOptions::default()
        }),
        ..ClientOptions::for_endpoint("http://127.0.0.1:9", "t")
    })
    .expect("options");
    let error = tokio::time::timeout(
        Duration::from_secs(20),
        dead.list_basins(&ListRequest::default()),
    )
    .await
    .expect("no hang")
    .expect_err("nothing listens");
    assert_eq!(error.kind(), ErrorKind::Network, "{error}");
}

/// Sends `total` records through `proxy` with a producer that conditions every batch on
/// `match_seq_num`; after any failure it asks the server (directly) for the tail and resumes
/// from there, so a batch the server stored before the connection broke is never sent twice.
async fn produce_exactly_once(direct: &StreamClient, proxied: &StreamClient, total: u64) -> u32 {
    let mut restarts = 0;
    loop {
        let next = direct.check_tail().await.expect("tail").seq_num;
        if next >= total {
            return restarts;
        }
        let producer = proxied
            .producer(&ProducerOptions {
                match_seq_num: Some(next),
                ..ProducerOptions::default()
            })
            .expect("producer");
        let mut tickets = Vec::new();
        let mut failed = false;
        for i in next..total {
            match producer.submit(record(proxied, 0, format!("{i:08}"))).await {
                Ok(ticket) => tickets.push(ticket),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        for ticket in tickets {
            if ticket.await.is_err() {
                failed = true;
            }
        }
        if producer.close().await.is_err() {
            failed = true;
        }
        if failed {
            restarts += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn a_conditioned_producer_stores_every_record_exactly_once_through_faults() {
    let server = lite();
    let direct = client(server.endpoint());
    let stream = fresh_stream(&direct, "fault-basin", "exactly-once").await;
    let proxy = TcpFaultProxy::start(
        server.endpoint(),
        TcpFaultPlan {
            // A producer writes its batches in few, large TCP chunks (about a hundred for the
            // whole run), so the rates are per chunk, not per record.
            seed: 15,
            drop_before: 0.05,
            drop_after: 0.05,
            delay: 0.05,
            max_delay: Duration::from_millis(20),
            min_chunk_bytes: 1024,
            ..TcpFaultPlan::default()
        },
    )
    .expect("proxy");
    let proxied = S2Client::new(&ClientOptions {
        retry: Some(RetryOptions {
            max_attempts: Some(5),
            min_base_delay_ms: Some(10),
            max_base_delay_ms: Some(100),
            ..RetryOptions::default()
        }),
        ..ClientOptions::for_endpoint(&proxy.endpoint(), "t")
    })
    .expect("options")
    .stream("fault-basin", "exactly-once")
    .expect("names");
    let total = 100_000;
    let restarts = produce_exactly_once(&stream, &proxied, total).await;
    let counts = proxy.counts();
    eprintln!("exactly-once through faults: {restarts} producer restarts, {counts:?}");
    assert!(
        counts.drop_before > 0 && counts.drop_after > 0,
        "the proxy dropped connections both before and after the server stored a batch: {counts:?}"
    );
    let all = read_all(&stream).await;
    assert_eq!(
        all.len() as u64,
        total,
        "restarts: {restarts}, faults: {counts:?}"
    );
    let mut seen = HashSet::new();
    for (i, (seq, body)) in all.iter().enumerate() {
        assert_eq!(*seq, i as u64);
        assert_eq!(&**body, format!("{i:08}").as_bytes(), "record {i} in order");
        assert!(seen.insert(body.clone()), "record {i} stored twice");
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs s2 lite inside its own network namespace: ./build.sh test-s2"]
async fn a_read_session_resumes_after_the_server_restarts() {
    let root = tempfile_dir();
    let mut server = S2Lite::start_persistent(&root).expect("persistent lite");
    let client = S2Client::new(&ClientOptions {
        retry: Some(RetryOptions {
            max_attempts: Some(20),
            min_base_delay_ms: Some(50),
            max_base_delay_ms: Some(500),
            ..RetryOptions::default()
        }),
        ..ClientOptions::for_endpoint(server.endpoint(), "t")
    })
    .expect("options");
    let stream = fresh_stream(&client, "restart-basin", "durable").await;
    let batch = |from: usize| {
        (from..from + 100)
            .map(|i| record(&stream, 0, format!("{i}")))
            .collect()
    };
    stream
        .append(batch(0), &AppendConditions::default())
        .await
        .expect("before");
    let mut session = stream
        .read_session(
            &ReadRequest::from(ReadStart::SeqNum(0)),
            ReadSessionOptions {
                retry_forever: true,
            },
        )
        .await
        .expect("session");
    let mut bodies = Vec::new();
    while bodies.len() < 100 {
        let batch = session.next().await.expect("batch").expect("ok");
        bodies.extend(batch.records.into_iter().map(|r| r.body));
    }
    server.restart().expect("restart");
    stream
        .append(batch(100), &AppendConditions::default())
        .await
        .expect("after");
    while bodies.len() < 200 {
        let batch = tokio::time::timeout(Duration::from_secs(60), session.next())
            .await
            .expect("resumed within 60 s")
            .expect("not ended")
            .expect("ok");
        bodies.extend(batch.records.into_iter().map(|r| r.body));
    }
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(
            &**body,
            i.to_string().as_bytes(),
            "record {i}: nothing lost or repeated"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("s2-lite-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
