//! Subscriptions (PROTOCOL §6–7) against the Node reference server, which implements them, and
//! Electric's server, which does not: the control API, the pull-wake primitives and fencing,
//! and the pull worker (racing, heartbeats, crashes).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{FakeServer, client_builder, http_response, server, unique_name, within};
use durable_streams_core::{
    Ack, Client, CreateOptions, DeadLetters, ErrorKind, HandlerError, LinkType, LiveMode, Offset,
    PullWorker, ReadOptions, StreamBatch, Subscription, SubscriptionConfig, SubscriptionType,
};
use durable_streams_test_harness::ServerKind;

fn client_for(kind: ServerKind) -> Client {
    client_builder()
        .base_url(server(kind).stream_prefix_url())
        .build()
        .expect("client builds")
}

/// Creates a JSON stream at the stream-root-relative `path`, with `messages` in it.
async fn json_stream(client: &Client, path: &str, messages: &[serde_json::Value]) -> Offset {
    let stream = client.stream(path).unwrap();
    stream
        .create(CreateOptions::new().content_type("application/json"))
        .await
        .unwrap_or_else(|e| panic!("create {path}: {e}"));
    let mut tail = stream.head().await.unwrap().next_offset;
    if !messages.is_empty() {
        tail = stream
            .append_json_messages(messages.iter())
            .await
            .unwrap()
            .next_offset;
    }
    tail
}

async fn append(client: &Client, path: &str, message: serde_json::Value) -> Offset {
    client
        .stream(path)
        .unwrap()
        .append_json(&message)
        .await
        .unwrap()
        .next_offset
}

/// A pull-wake subscription over explicit streams with a fresh wake stream.
async fn pull_subscription(
    client: &Client,
    streams: &[&str],
    lease: Duration,
) -> (Subscription, String) {
    let wake = unique_name("wake");
    json_stream(client, &wake, &[]).await;
    let subscription = client.subscription(&unique_name("sub")).unwrap();
    let mut config = SubscriptionConfig::pull_wake(wake.clone()).lease_ttl(lease);
    for stream in streams {
        config = config.stream(*stream);
    }
    assert!(subscription.create(&config).await.unwrap().created);
    (subscription, wake)
}

async fn acked_offset(subscription: &Subscription, stream: &str) -> Offset {
    subscription
        .get()
        .await
        .unwrap()
        .stream(stream)
        .unwrap_or_else(|| panic!("{stream} is linked"))
        .acked_offset
        .clone()
}

/// Polls `condition` every 20 ms for at most `secs` seconds.
async fn eventually(secs: u64, what: &str, mut condition: impl FnMut() -> bool) {
    within(secs, what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Every message a handler saw: (worker, stream, message).
type Seen = Arc<Mutex<Vec<(String, String, serde_json::Value)>>>;

fn record(seen: &Seen, worker: &str, batch: &StreamBatch) {
    for message in batch.messages().expect("JSON streams") {
        let value = serde_json::from_slice(message).unwrap();
        seen.lock()
            .unwrap()
            .push((worker.to_owned(), batch.stream().to_owned(), value));
    }
}

/// Runs `worker` on its own task with a handler that records what it sees and then waits
/// `delay`.
fn spawn_worker(worker: PullWorker, seen: Seen, delay: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let name = worker.name().to_owned();
        let result = worker
            .run(|batch: StreamBatch| {
                let seen = seen.clone();
                let name = name.clone();
                async move {
                    record(&seen, &name, &batch);
                    tokio::time::sleep(delay).await;
                    Ok::<(), std::io::Error>(())
                }
            })
            .await;
        panic!("worker {name} stopped: {result:?}");
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_round_trip_reconfirms_identical_and_refuses_different() {
    let client = client_for(ServerKind::Node);
    let group = unique_name("events");
    let a = format!("{group}/a");
    let manual = unique_name("manual");
    let tail_a = json_stream(&client, &a, &[serde_json::json!({"n": 1})]).await;
    json_stream(&client, &manual, &[]).await;
    let wake = unique_name("wake");
    json_stream(&client, &wake, &[]).await;

    let subscription = client.subscription(&unique_name("sub")).unwrap();
    let config = SubscriptionConfig::pull_wake(wake.clone())
        .pattern(format!("{group}/*"))
        .stream(manual.clone())
        .lease_ttl(Duration::from_secs(45))
        .description("round trip");
    let created = subscription.create(&config).await.unwrap();
    assert!(created.created, "201 on first create");
    let again = subscription.create(&config).await.unwrap();
    assert!(!again.created, "200 for an identical configuration");
    assert_eq!(again.subscription.id, subscription.id());

    let different = config.clone().description("something else");
    let err = subscription.create(&different).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SubscriptionConflict, "{err}");
    assert_eq!(err.status(), Some(409));

    let info = subscription.get().await.unwrap();
    assert_eq!(info.subscription_type, SubscriptionType::PullWake);
    assert_eq!(info.wake_stream.as_deref(), Some(wake.as_str()));
    assert_eq!(info.lease_ttl, Duration::from_secs(45));
    assert_eq!(info.pattern.as_deref(), Some(format!("{group}/*").as_str()));
    assert_eq!(info.description.as_deref(), Some("round trip"));
    assert!(info.webhook.is_none());
    let link = info.stream(&a).expect("the existing stream is backfilled");
    assert_eq!(link.link_type, LinkType::Glob);
    assert_eq!(link.acked_offset, tail_a, "linked at its tail: no replay");
    assert_eq!(info.stream(&manual).unwrap().link_type, LinkType::Explicit);

    // Explicit membership: adding a glob-linked stream makes it explicit; removing the
    // explicit link leaves the glob link.
    let extra = unique_name("extra");
    json_stream(&client, &extra, &[]).await;
    subscription
        .add_streams(&[extra.as_str(), a.as_str()])
        .await
        .unwrap();
    subscription.add_streams(&[extra.as_str()]).await.unwrap();
    let info = subscription.get().await.unwrap();
    assert_eq!(info.stream(&extra).unwrap().link_type, LinkType::Explicit);
    assert_eq!(info.stream(&a).unwrap().link_type, LinkType::Explicit);
    subscription.remove_stream(&a).await.unwrap();
    subscription.remove_stream(&extra).await.unwrap();
    subscription.remove_stream(&extra).await.unwrap();
    let info = subscription.get().await.unwrap();
    assert_eq!(info.stream(&a).unwrap().link_type, LinkType::Glob);
    assert!(info.stream(&extra).is_none());

    subscription.delete().await.unwrap();
    let err = subscription.get().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    subscription.delete().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_ack_or_release_after_fencing_is_refused_and_moves_no_cursor() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("fenced");
    let start = json_stream(&client, &events, &[]).await;
    let (subscription, _) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(1)).await;
    assert!(
        subscription.claim("a").await.unwrap().is_none(),
        "nothing pending yet"
    );
    let tail = append(&client, &events, serde_json::json!({"n": 1})).await;

    let stale = subscription
        .claim("a")
        .await
        .unwrap()
        .expect("work is pending");
    let err = subscription.claim("b").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyClaimed, "{err}");
    assert_eq!(err.generation(), Some(stale.generation()));
    assert!(err.message().contains("\"a\""), "names the holder: {err}");

    // No heartbeat: the lease runs out and the server issues a new wake, which b claims.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let current = subscription
        .claim("b")
        .await
        .unwrap()
        .expect("the wake is re-issued");
    assert!(current.generation() > stale.generation());
    assert_eq!(current.streams()[0].acked_offset, start);

    let acks = [Ack::new(events.clone(), tail.clone())];
    for (what, result) in [
        (
            "ack done",
            subscription.ack(&stale, &acks, true).await.map(drop),
        ),
        (
            "heartbeat",
            subscription.ack(&stale, &acks, false).await.map(drop),
        ),
        ("release", subscription.release(&stale).await),
    ] {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Fenced, "{what}: {err}");
    }
    assert_eq!(
        acked_offset(&subscription, &events).await,
        start,
        "no cursor moved"
    );

    let outcome = subscription.ack(&current, &acks, true).await.unwrap();
    assert!(!outcome.next_wake);
    assert_eq!(acked_offset(&subscription, &events).await, tail);
    let err = subscription.release(&current).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Fenced,
        "a finished wake is gone: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_race_for_one_wake_exactly_one_claims_the_other_waits_without_polling() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("race");
    json_stream(&client, &events, &[]).await;
    let (subscription, _) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(10)).await;
    let seen: Seen = Arc::default();
    let one = subscription.pull_worker("one").unwrap();
    let two = subscription.pull_worker("two").unwrap();
    let tasks = [
        spawn_worker(one.clone(), seen.clone(), Duration::from_secs(3)),
        spawn_worker(two.clone(), seen.clone(), Duration::from_secs(3)),
    ];
    eventually(10, "both workers start", || {
        one.stats().no_pending_work == 1 && two.stats().no_pending_work == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tail = append(&client, &events, serde_json::json!({"n": 1})).await;

    eventually(10, "one worker gets the message", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    eventually(5, "the loser is refused", || {
        one.stats().already_claimed + two.stats().already_claimed == 1
    })
    .await;
    let (winner, loser) = if one.stats().claims == 1 {
        (&one, &two)
    } else {
        (&two, &one)
    };
    let attempts = loser.stats().claim_attempts;
    assert_eq!(
        attempts,
        2,
        "startup claim plus one race: {:?}",
        loser.stats()
    );
    eventually(10, "the winner finishes", || {
        winner.stats().wakes_completed == 1
    })
    .await;
    // Nothing pending afterwards: the loser never claims again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        loser.stats().claim_attempts,
        attempts,
        "{:?}",
        loser.stats()
    );
    assert_eq!(loser.stats().claims, 0);
    assert_eq!(winner.stats().claims, 1);
    assert_eq!(seen.lock().unwrap().len(), 1, "handled exactly once");
    assert_eq!(acked_offset(&subscription, &events).await, tail);
    for task in tasks {
        task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_keeps_the_lease_alive_under_a_handler_slower_than_the_lease() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("slow");
    json_stream(&client, &events, &[]).await;
    let (subscription, _) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(1)).await;
    let seen: Seen = Arc::default();
    let slow = subscription.pull_worker("slow").unwrap();
    let task = spawn_worker(slow.clone(), seen.clone(), Duration::from_millis(3500));
    eventually(10, "the worker starts", || {
        slow.stats().no_pending_work == 1
    })
    .await;
    let tail = append(&client, &events, serde_json::json!({"n": 1})).await;
    eventually(5, "the slow handler starts", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;

    // Another worker arriving while the slow one works finds the lease held throughout.
    let other = subscription.pull_worker("other").unwrap();
    let other_task = spawn_worker(other.clone(), seen.clone(), Duration::ZERO);
    eventually(15, "the slow handler finishes", || {
        slow.stats().wakes_completed == 1
    })
    .await;
    let stats = slow.stats();
    assert_eq!(stats.leases_lost, 0, "{stats:?}");
    assert!(stats.heartbeats >= 3, "{stats:?}");
    assert_eq!(other.stats().claims, 0, "{:?}", other.stats());
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(acked_offset(&subscription, &events).await, tail);
    task.abort();
    other_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_dropped_mid_wake_leaves_the_range_to_the_next_after_the_lease_expires() {
    let client = client_for(ServerKind::Node);
    let first = unique_name("crash-first");
    let second = unique_name("crash-second");
    let start_first = json_stream(&client, &first, &[]).await;
    let start_second = json_stream(&client, &second, &[]).await;
    let (subscription, _) = pull_subscription(
        &client,
        &[first.as_str(), second.as_str()],
        Duration::from_secs(1),
    )
    .await;
    let tail_first = append(&client, &first, serde_json::json!({"s": 1, "n": 1})).await;
    append(&client, &second, serde_json::json!({"s": 2, "n": 1})).await;
    let tail_second = append(&client, &second, serde_json::json!({"s": 2, "n": 2})).await;

    // The doomed worker handles the first stream, then hangs in the second until dropped.
    let seen: Seen = Arc::default();
    let doomed = subscription.pull_worker("doomed").unwrap();
    let doomed_task = {
        let seen = seen.clone();
        let second = second.clone();
        let doomed = doomed.clone();
        tokio::spawn(async move {
            let _ = doomed
                .run(|batch: StreamBatch| {
                    let seen = seen.clone();
                    let hang = batch.stream() == second;
                    async move {
                        record(&seen, "doomed", &batch);
                        if hang {
                            std::future::pending::<()>().await;
                        }
                        Ok::<(), std::io::Error>(())
                    }
                })
                .await;
        })
    };
    eventually(10, "the doomed worker reaches the second stream", || {
        seen.lock()
            .unwrap()
            .iter()
            .any(|(_, stream, _)| *stream == second)
    })
    .await;
    // Kept alive by heartbeats for a while, then killed without a release.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    doomed_task.abort();
    let _ = doomed_task.await;
    assert_eq!(
        acked_offset(&subscription, &second).await,
        start_second,
        "the cursor never passes the unprocessed message"
    );
    let first_cursor = acked_offset(&subscription, &first).await;
    assert!(first_cursor == start_first || first_cursor == tail_first);

    let heir_seen: Seen = Arc::default();
    let heir = subscription.pull_worker("heir").unwrap();
    let heir_task = spawn_worker(heir.clone(), heir_seen.clone(), Duration::ZERO);
    eventually(15, "the heir finishes the wake", || {
        heir.stats().wakes_completed == 1
    })
    .await;
    let redone: Vec<_> = heir_seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, stream, _)| *stream == second)
        .map(|(_, _, value)| value.clone())
        .collect();
    assert_eq!(
        redone,
        vec![
            serde_json::json!({"s": 2, "n": 1}),
            serde_json::json!({"s": 2, "n": 2})
        ],
        "the same range again, from the cursor"
    );
    let first_again = heir_seen
        .lock()
        .unwrap()
        .iter()
        .any(|(_, s, _)| *s == first);
    assert_eq!(
        first_again,
        first_cursor == start_first,
        "the first stream is redone only if its progress was not acked"
    );
    assert_eq!(acked_offset(&subscription, &first).await, tail_first);
    assert_eq!(acked_offset(&subscription, &second).await, tail_second);
    heir_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_releases_the_wake_and_its_batch_is_delivered_again() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("failing");
    json_stream(&client, &events, &[]).await;
    let (subscription, _) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(5)).await;
    let tail = append(&client, &events, serde_json::json!({"n": 1})).await;
    let attempts = Arc::new(Mutex::new(0u32));
    let worker = subscription
        .pull_worker("flaky")
        .unwrap()
        .failure_backoff(Duration::from_millis(100));
    let task = {
        let worker = worker.clone();
        let attempts = attempts.clone();
        tokio::spawn(async move {
            let _ = worker
                .run(|_batch: StreamBatch| {
                    let attempts = attempts.clone();
                    async move {
                        let mut count = attempts.lock().unwrap();
                        *count += 1;
                        if *count == 1 {
                            Err("first attempt fails".to_string())
                        } else {
                            Ok(())
                        }
                    }
                })
                .await;
        })
    };
    eventually(10, "the retry succeeds", || {
        worker.stats().wakes_completed == 1
    })
    .await;
    let stats = worker.stats();
    assert_eq!(stats.handler_failures, 1, "{stats:?}");
    assert!(stats.last_error.unwrap().contains("first attempt fails"));
    assert_eq!(*attempts.lock().unwrap(), 2);
    assert_eq!(acked_offset(&subscription, &events).await, tail);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_errors_name_the_field_before_anything_is_sent() {
    // Nothing listens here: every error below comes from the checks, not from a server.
    let client = Client::builder()
        .base_url(format!(
            "http://127.0.0.1:{}/v1/stream",
            common::unused_port()
        ))
        .build()
        .unwrap();
    for bad in ["", "a/b", "with space", ".."] {
        let err = client.subscription(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().starts_with("id:"), "{bad:?}: {err}");
    }
    let err = Client::new().unwrap().subscription("s").unwrap_err();
    assert!(err.message().starts_with("base_url:"), "{err}");

    let subscription = client.subscription("s").unwrap();
    let cases = [
        (SubscriptionConfig::pull_wake("w"), "pattern:"),
        (
            SubscriptionConfig::pull_wake("w").pattern("events/a*"),
            "pattern:",
        ),
        (
            SubscriptionConfig::pull_wake("w").pattern("/x//y"),
            "pattern:",
        ),
        (
            SubscriptionConfig::pull_wake("").pattern("a"),
            "wake_stream:",
        ),
        (
            SubscriptionConfig::pull_wake("w")
                .pattern("a")
                .lease_ttl(Duration::from_millis(999)),
            "lease_ttl:",
        ),
        (
            SubscriptionConfig::pull_wake("w")
                .pattern("a")
                .lease_ttl(Duration::from_secs(601)),
            "lease_ttl:",
        ),
        (
            SubscriptionConfig::pull_wake("w").stream("a").stream("b/*"),
            "streams[1]:",
        ),
        (
            SubscriptionConfig::webhook("mailto:x@y").pattern("a"),
            "webhook.url:",
        ),
    ];
    for (config, field) in cases {
        let err = subscription.create(&config).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{field}: {err}");
        assert!(err.message().starts_with(field), "{field}: {err}");
    }
    let none: [&str; 0] = [];
    let err = subscription.add_streams(&none).await.unwrap_err();
    assert!(err.message().starts_with("streams:"), "{err}");
    let err = subscription
        .add_streams(&["ok", "__ds/x"])
        .await
        .unwrap_err();
    assert!(err.message().starts_with("streams[1]:"), "{err}");
    let err = subscription.remove_stream("").await.unwrap_err();
    assert!(err.message().starts_with("path:"), "{err}");
    let err = subscription.claim("").await.unwrap_err();
    assert!(err.message().starts_with("worker:"), "{err}");
    let err = subscription.pull_worker("bad\nname").unwrap_err();
    assert!(err.message().starts_with("worker:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_server_json_is_a_parse_error_naming_the_field() {
    let fake = FakeServer::start(|_| {
        http_response(
            "200 OK",
            &[("Content-Type", "application/json")],
            br#"{"id":"s","type":"pull-wake","lease_ttl_ms":"long","streams":[]}"#,
        )
    });
    let client = client_builder()
        .base_url(fake.url("/v1/stream"))
        .build()
        .unwrap();
    let err = client.subscription("s").unwrap().get().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse, "{err}");
    assert!(err.message().contains("`lease_ttl_ms`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn electric_fails_every_subscription_call_as_not_supported_and_creates_nothing() {
    let client = client_for(ServerKind::Electric);
    let id = unique_name("sub");
    let subscription = client.subscription(&id).unwrap();
    let config = SubscriptionConfig::pull_wake("wake").pattern("events/*");
    let worker = subscription.pull_worker("w").unwrap();
    let results = [
        ("create", subscription.create(&config).await.map(drop)),
        ("get", subscription.get().await.map(drop)),
        ("delete", subscription.delete().await),
        ("add_streams", subscription.add_streams(&["a"]).await),
        ("remove_stream", subscription.remove_stream("a").await),
        ("claim", subscription.claim("w").await.map(drop)),
        (
            "pull worker",
            worker
                .run(|_batch: StreamBatch| async { Ok::<(), std::io::Error>(()) })
                .await,
        ),
    ];
    for (what, result) in results {
        let err = result.expect_err(what);
        assert_eq!(
            err.kind(),
            ErrorKind::SubscriptionsNotSupported,
            "{what}: {err}"
        );
        assert!(
            err.to_string().contains("does not support subscriptions"),
            "{what}: {err}"
        );
    }
    // A fresh handle, straight to create: still refused, and no stream appeared at the path.
    let fresh = client.subscription(&id).unwrap();
    let err = fresh.create(&config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SubscriptionsNotSupported, "{err}");
    let reserved = client.stream(&format!("__ds/subscriptions/{id}")).unwrap();
    assert_eq!(
        reserved.head().await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_created_after_the_subscription_is_processed_from_its_first_message() {
    let client = client_for(ServerKind::Node);
    let group = unique_name("later");
    let wake = unique_name("wake");
    json_stream(&client, &wake, &[]).await;
    let subscription = client.subscription(&unique_name("sub")).unwrap();
    let config = SubscriptionConfig::pull_wake(wake).pattern(format!("{group}/**"));
    subscription.create(&config).await.unwrap();
    let seen: Seen = Arc::default();
    let worker = subscription.pull_worker("glob").unwrap();
    let task = spawn_worker(worker.clone(), seen.clone(), Duration::ZERO);
    eventually(10, "the worker starts", || {
        worker.stats().no_pending_work == 1
    })
    .await;

    let path = format!("{group}/deep/new");
    let messages: Vec<_> = (0..5).map(|n| serde_json::json!({ "n": n })).collect();
    let tail = json_stream(&client, &path, &messages).await;
    eventually(10, "every message is handled", || {
        seen.lock().unwrap().len() == 5
    })
    .await;
    let handled: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, v)| v.clone())
        .collect();
    assert_eq!(handled, messages, "from the first message, in order");
    eventually(10, "the wake is acked", || {
        worker.stats().wakes_completed >= 1
    })
    .await;
    let link = subscription.get().await.unwrap();
    let link = link.stream(&path).expect("linked by the pattern");
    assert_eq!(link.link_type, LinkType::Glob);
    assert_eq!(link.acked_offset, tail);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_many_glob_streams_survive_workers_crashing_at_random() {
    // The issue's scale: 10,000 messages over 20 streams matched by one glob, 3 workers.
    const STREAMS: usize = 20;
    const ROUNDS: usize = 25;
    const PER_APPEND: usize = 20;
    let client = client_for(ServerKind::Node);
    let group = unique_name("many");
    let wake = unique_name("wake");
    json_stream(&client, &wake, &[]).await;
    let subscription = client.subscription(&unique_name("sub")).unwrap();
    let config = SubscriptionConfig::pull_wake(wake)
        .pattern(format!("{group}/*"))
        .lease_ttl(Duration::from_secs(1));
    subscription.create(&config).await.unwrap();
    let paths: Vec<String> = (0..STREAMS).map(|i| format!("{group}/s{i}")).collect();
    for path in &paths {
        json_stream(&client, path, &[]).await;
    }

    let seen: Seen = Arc::default();
    let mut workers: Vec<(PullWorker, tokio::task::JoinHandle<()>)> = (0..3)
        .map(|i| {
            let worker = subscription.pull_worker(&format!("w{i}")).unwrap();
            let task = spawn_worker(worker.clone(), seen.clone(), Duration::from_millis(5));
            (worker, task)
        })
        .collect();
    let appender = {
        let client = client.clone();
        let paths = paths.clone();
        tokio::spawn(async move {
            for round in 0..ROUNDS {
                for (s, path) in paths.iter().enumerate() {
                    let batch: Vec<_> = (0..PER_APPEND)
                        .map(|k| serde_json::json!({ "s": s, "n": round * PER_APPEND + k }))
                        .collect();
                    let stream = client.stream(path).unwrap();
                    stream.append_json_messages(batch.iter()).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // Crash a worker every 300 ms while the appends go on (no release), starting a replacement each time.
    let total = STREAMS * ROUNDS * PER_APPEND;
    let mut crashes = 0;
    let mut state = 0x9e37_79b9_u64;
    let distinct = |seen: &Seen| {
        let mut set = std::collections::HashSet::new();
        for (_, _, value) in seen.lock().unwrap().iter() {
            set.insert(value.to_string());
        }
        set.len()
    };
    within(90, "every message is processed", async {
        while distinct(&seen) < total || !appender.is_finished() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if !appender.is_finished() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let victim = usize::try_from(state % 3).unwrap();
                workers[victim].1.abort();
                crashes += 1;
                let worker = subscription
                    .pull_worker(&format!("w{victim}-{crashes}"))
                    .unwrap();
                let task = spawn_worker(worker.clone(), seen.clone(), Duration::from_millis(5));
                workers[victim] = (worker, task);
            }
        }
    })
    .await;
    assert_eq!(distinct(&seen), total, "none lost");
    assert!(crashes >= 5, "workers crashed {crashes} times");
    // Each stream's messages were first seen in order, and every cursor reaches the tail.
    for (s, path) in paths.iter().enumerate() {
        let mut first_seen = Vec::new();
        for (_, _, value) in seen.lock().unwrap().iter().filter(|(_, p, _)| p == path) {
            let n = value["n"].as_u64().unwrap();
            if !first_seen.contains(&n) {
                first_seen.push(n);
            }
        }
        let expected: Vec<u64> = (0..u64::try_from(ROUNDS * PER_APPEND).unwrap()).collect();
        assert_eq!(first_seen, expected, "stream {s} in order");
        let tail = client
            .stream(path)
            .unwrap()
            .head()
            .await
            .unwrap()
            .next_offset;
        let cursor_done = async {
            while acked_offset(&subscription, path).await != tail {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        within(20, "the cursor reaches the tail", cursor_done).await;
    }
    for (_, task) in workers {
        task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_subscription_mid_wake_stops_the_worker_with_not_found() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("deleted");
    json_stream(&client, &events, &[]).await;
    let (subscription, _) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(1)).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let worker = subscription.pull_worker("orphan").unwrap();
    let run = {
        let worker = worker.clone();
        let started = started.clone();
        tokio::spawn(async move {
            worker
                .run(|_batch: StreamBatch| {
                    let started = started.clone();
                    async move {
                        started.notify_one();
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Ok::<(), std::io::Error>(())
                    }
                })
                .await
        })
    };
    eventually(10, "the worker starts", || {
        worker.stats().no_pending_work == 1
    })
    .await;
    append(&client, &events, serde_json::json!({"n": 1})).await;
    within(10, "the handler starts", started.notified()).await;
    subscription.delete().await.unwrap();
    let result = within(10, "the worker stops", run).await.unwrap();
    let err = result.expect_err("a deleted subscription ends the worker");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(worker.stats().wakes_completed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_extends_the_lease_and_its_acks_move_the_cursor() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("beat");
    let start = json_stream(&client, &events, &[]).await;
    let (subscription, _) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(1)).await;
    let first = append(&client, &events, serde_json::json!({"n": 1})).await;
    let tail = append(&client, &events, serde_json::json!({"n": 2})).await;
    let claim = subscription
        .claim("beating")
        .await
        .unwrap()
        .expect("pending");
    assert_eq!(claim.lease_ttl(), Duration::from_secs(1));
    assert_eq!(claim.streams()[0].tail_offset, tail);
    assert!(claim.streams()[0].has_pending);

    // Twice the lease, heartbeating: the lease holds.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(350)).await;
        subscription.heartbeat(&claim).await.unwrap();
    }
    let err = subscription.claim("rival").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyClaimed, "{err}");

    // An ack without done applies its offsets and keeps the claim.
    let partial = subscription
        .ack(&claim, &[Ack::new(events.clone(), first.clone())], false)
        .await
        .unwrap();
    assert!(!partial.next_wake);
    assert_eq!(acked_offset(&subscription, &events).await, first);
    let err = subscription
        .ack(
            &claim,
            &[Ack::new(events.clone(), Offset::BEGINNING)],
            false,
        )
        .await
        .unwrap_err();
    assert!(err.message().starts_with("acks[0].offset:"), "{err}");
    // Not in PROTOCOL.md: the reference server refuses a regressing ack with INVALID_OFFSET.
    let err = subscription
        .ack(&claim, &[Ack::new(events.clone(), start)], false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOffset, "{err}");
    assert_eq!(acked_offset(&subscription, &events).await, first);
    subscription
        .ack(&claim, &[Ack::new(events.clone(), tail.clone())], true)
        .await
        .unwrap();
    assert_eq!(acked_offset(&subscription, &events).await, tail);
    assert!(subscription.claim("rival").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_ends_when_its_wake_stream_is_closed_and_refuses_a_missing_one() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("closing");
    json_stream(&client, &events, &[]).await;
    let (subscription, wake) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(5)).await;
    let worker = subscription.pull_worker("closer").unwrap();
    let run = {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .run(|_batch: StreamBatch| async { Ok::<(), std::io::Error>(()) })
                .await
        })
    };
    eventually(10, "the worker starts", || {
        worker.stats().no_pending_work == 1
    })
    .await;
    client.stream(&wake).unwrap().close().await.unwrap();
    let result = within(10, "the worker ends", run).await.unwrap();
    assert!(result.is_ok(), "{result:?}");

    // A pull-wake subscription whose wake stream was never created.
    let orphan = client.subscription(&unique_name("sub")).unwrap();
    let missing = unique_name("missing-wake");
    orphan
        .create(&SubscriptionConfig::pull_wake(missing.clone()).stream(events.clone()))
        .await
        .unwrap();
    let err = orphan
        .pull_worker("w")
        .unwrap()
        .run(|_batch: StreamBatch| async { Ok::<(), std::io::Error>(()) })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.message().contains(&missing),
        "names the wake stream: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_keeps_failing_is_dead_lettered_and_the_others_are_processed() {
    let client = client_for(ServerKind::Node);
    let events = unique_name("poisoned");
    let dead = unique_name("dead");
    json_stream(&client, &events, &[]).await;
    json_stream(&client, &dead, &[]).await;
    let (subscription, _) =
        pull_subscription(&client, &[events.as_str()], Duration::from_secs(5)).await;
    let tail = client
        .stream(&events)
        .unwrap()
        .append_json_messages((1..=5).map(|n| serde_json::json!({ "n": n })))
        .await
        .unwrap()
        .next_offset;
    assert!(
        DeadLetters::new(client.stream(&dead).unwrap())
            .max_attempts(0)
            .is_err()
    );
    let dead_letters = DeadLetters::new(client.stream(&dead).unwrap())
        .max_attempts(3)
        .unwrap()
        .retry_delay(Duration::from_millis(5));
    let processed = Arc::new(Mutex::new(Vec::new()));
    let attempts_at_three = Arc::new(Mutex::new(0u32));
    let worker = subscription.pull_worker("dead-letters").unwrap();
    let task = {
        let worker = worker.clone();
        let processed = processed.clone();
        let attempts_at_three = attempts_at_three.clone();
        tokio::spawn(async move {
            let _ = worker
                .run(|batch: StreamBatch| {
                    let dead_letters = dead_letters.clone();
                    let processed = processed.clone();
                    let attempts_at_three = attempts_at_three.clone();
                    async move {
                        dead_letters
                            .handle(&batch, |message| {
                                let processed = processed.clone();
                                let attempts_at_three = attempts_at_three.clone();
                                async move {
                                    let value: serde_json::Value =
                                        serde_json::from_slice(&message).unwrap();
                                    let n = value["n"].as_i64().unwrap();
                                    if n == 3 {
                                        *attempts_at_three.lock().unwrap() += 1;
                                        return Err::<(), HandlerError>("poisoned order 3".into());
                                    }
                                    processed.lock().unwrap().push(n);
                                    Ok(())
                                }
                            })
                            .await
                    }
                })
                .await;
        })
    };
    eventually(15, "the cursor past the poisoned message", || {
        worker.stats().wakes_completed >= 1
    })
    .await;
    assert_eq!(acked_offset(&subscription, &events).await, tail);
    task.abort();
    assert_eq!(*processed.lock().unwrap(), vec![1, 2, 4, 5]);
    assert_eq!(*attempts_at_three.lock().unwrap(), 3);

    let mut read = client.stream(&dead).unwrap().read(
        ReadOptions::new()
            .offset(Offset::BEGINNING)
            .live(LiveMode::Off),
    );
    let mut letters = Vec::new();
    while let Some(chunk) = read.next_chunk().await.unwrap() {
        for message in chunk.messages().unwrap_or_default() {
            letters.push(serde_json::from_slice::<serde_json::Value>(message).unwrap());
        }
        if chunk.up_to_date() {
            break;
        }
    }
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["source_stream"], serde_json::json!(events));
    assert_eq!(letter["index"], 2);
    assert_eq!(letter["attempts"], 3);
    assert_eq!(letter["message"]["n"], 3);
    assert!(
        letter["error"]
            .as_str()
            .unwrap()
            .contains("poisoned order 3")
    );
    assert_eq!(letter["source_offset"].as_str(), Some(tail.as_str()));
}
