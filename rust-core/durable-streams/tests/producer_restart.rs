//! The idempotent producer when the server loses its producer state: Electric's server 0.1.5
//! (with its WAL) killed and restarted on the same data keeps the streams but forgets producers,
//! and answers the next batch with "expected sequence 0". With `auto_claim` the producer moves
//! to a new epoch and goes on (the batches in flight at the restart may be stored twice);
//! without it, it stops with one error and `restart` delivers what it kept (a close or detach
//! fails with that error). Against a server that keeps producer state, the same run through
//! connection faults stays exactly once.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    Ctx, FakeServer, client_builder, error_sink, http_response, read_all, unique_name, within,
};
use durable_streams_core::{
    CreateOptions, ErrorKind, EventKind, EventLevel, Producer, ProducerOptions, Stream, event_fn,
};
use durable_streams_test_harness::{FaultPlan, FaultProxy, ServerKind, TestServer};

server_tests!(exactly_once_through_connection_faults_with_auto_claim_when_the_server_keeps_state);

/// Messages of the 30,000-message runs.
const MESSAGES: usize = 30_000;
/// Server restarts during the Electric run.
const RESTARTS: u64 = 4;
const MAX_BATCH_ITEMS: usize = 100;
const MAX_IN_FLIGHT: usize = 2;

fn run_options(base: ProducerOptions) -> ProducerOptions {
    ProducerOptions {
        auto_claim: true,
        max_batch_items: MAX_BATCH_ITEMS,
        max_in_flight: MAX_IN_FLIGHT,
        linger: Duration::from_millis(2),
        ..base
    }
}

/// A fresh Electric server of this test alone (it gets killed), started off the runtime's
/// worker.
fn own_electric() -> TestServer {
    tokio::task::block_in_place(|| TestServer::start(ServerKind::Electric))
        .unwrap_or_else(|e| panic!("cannot start the electric server: {e}"))
}

fn restart(server: &mut TestServer) {
    tokio::task::block_in_place(|| server.restart())
        .unwrap_or_else(|e| panic!("restarting the electric server: {e}"));
}

async fn create_text_stream(stream: &Stream) {
    let created = stream
        .create(CreateOptions::new().content_type("text/plain"))
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", stream.url()));
    assert!(created.created);
}

/// Appends `0\n` .. `count-1\n` from a task, pausing now and then so that the run lasts long
/// enough for the test to act on the server meanwhile.
fn spawn_appender(producer: Arc<Producer>, count: usize) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for i in 0..count {
            producer
                .append(format!("{i}\n").as_bytes())
                .await
                .unwrap_or_else(|e| panic!("append {i}: {e}"));
            if i % 20 == 19 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    })
}

/// What a stream of numbered lines holds besides each number once, in order.
#[derive(Debug, Default)]
struct Repeats {
    /// Lines that repeat an earlier one.
    duplicates: usize,
    /// Runs of consecutive repeated lines.
    runs: usize,
    /// The longest run.
    longest: usize,
}

/// Checks that `text` holds every number below `count`, first appearances in order, and that
/// every repeat belongs to a run re-storing the lines just before it (what resending the
/// batches in flight at a restart produces): `a..=b` stored, then `x..=b` again, then `b+1`.
fn check_numbered_lines(text: &str, count: usize) -> Repeats {
    numbered_lines(text, count).unwrap_or_else(|problem| panic!("{problem}"))
}

fn numbered_lines(text: &str, count: usize) -> Result<Repeats, String> {
    let mut repeats = Repeats::default();
    let mut next_new = 0usize;
    // The last value and the length of the open run of repeats, if any.
    let mut run: Option<(usize, usize)> = None;
    for (line_no, line) in text.lines().enumerate() {
        let value: usize = line
            .parse()
            .map_err(|_| format!("line {line_no} is not a number: {line:?}"))?;
        let length = match run {
            Some((last, length)) if value == last + 1 => length + 1,
            Some((last, _)) => {
                return Err(format!(
                    "line {line_no}: {value} where the run of repeats continues with {}",
                    last + 1
                ));
            }
            None if value == next_new => {
                next_new += 1;
                continue;
            }
            None if value > next_new => {
                return Err(format!(
                    "line {line_no}: {value} appears before {next_new} (lost or out of order)"
                ));
            }
            None => {
                repeats.runs += 1;
                1
            }
        };
        // A run must repeat everything from its start up to the last new line.
        repeats.duplicates += 1;
        repeats.longest = repeats.longest.max(length);
        run = (value + 1 < next_new).then_some((value, length));
    }
    if run.is_some() {
        return Err(format!(
            "the stream ends inside a run of repeats: {repeats:?}"
        ));
    }
    if next_new != count {
        return Err(format!("{next_new} of {count} messages are present"));
    }
    Ok(repeats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_claim_continues_across_server_restarts_that_forget_producer_state() {
    let mut server = own_electric();
    let claims: Arc<Mutex<Vec<String>>> = Arc::default();
    let heard = claims.clone();
    let sink = event_fn(EventLevel::Debug, move |event| {
        let reason = event.fields.iter().find(|(name, _)| *name == "reason");
        if event.kind == EventKind::EpochClaimed {
            if let Some((_, reason)) = reason {
                heard.lock().unwrap().push(reason.to_string());
            }
        }
    });
    let client = client_builder().event_sink(sink).build().unwrap();
    let stream = client
        .stream(&server.stream_url(&unique_name("restarts")))
        .unwrap();
    create_text_stream(&stream).await;
    let (errors, options) = error_sink();
    let producer = Arc::new(stream.producer("restarts", run_options(options)).unwrap());
    let appender = spawn_appender(producer.clone(), MESSAGES);
    let started = std::time::Instant::now();
    for k in 1..=RESTARTS {
        // Spread over the run, while batches are on the wire, and each once the producer has
        // recovered from the previous one (a few batches of its new epoch acknowledged), so
        // that every restart costs one new epoch.
        let due = (MESSAGES as u64) * k / (RESTARTS + 1);
        within(60, "the producer's progress", async {
            while producer.appended_count() < due
                || producer.epoch() < k - 1
                || producer.next_seq() < 3
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        restart(&mut server);
    }
    within(60, "the appender", appender).await.unwrap();
    within(60, "flush after the restarts", producer.flush())
        .await
        .unwrap_or_else(|e| panic!("flush: {e}\n{}", server.stderr_tail(20)));
    let elapsed = started.elapsed();
    assert!(
        errors.lock().unwrap().is_empty(),
        "auto_claim reports no failure: {:?}",
        errors.lock().unwrap()
    );
    let reasons = claims.lock().unwrap().clone();
    assert_eq!(
        reasons,
        vec!["state_lost"; RESTARTS as usize],
        "one epoch claim per restart, each for the lost state"
    );
    assert_eq!(producer.epoch(), RESTARTS, "one new epoch per restart");

    let repeats = check_numbered_lines(&read_all(&stream).await.text(), MESSAGES);
    println!(
        "{MESSAGES} messages across {RESTARTS} restarts of the electric server in {elapsed:?}: \
         {} duplicates in {} runs (longest {})",
        repeats.duplicates, repeats.runs, repeats.longest
    );
    // The documented window: at most the batches in flight at each restart.
    assert!(
        repeats.runs as u64 <= RESTARTS,
        "duplicates only at the restarts: {repeats:?}"
    );
    assert!(
        repeats.longest <= MAX_IN_FLIGHT * MAX_BATCH_ITEMS,
        "a run of duplicates is at most the batches in flight: {repeats:?}"
    );
}

/// The same run against a server that keeps producer state, through a proxy that drops
/// connections before and after the server stored a batch: exactly once, no new epoch.
async fn exactly_once_through_connection_faults_with_auto_claim_when_the_server_keeps_state(
    ctx: Ctx,
) {
    let stream = ctx.create("restart-faults", "text/plain").await;
    let plan = FaultPlan {
        method: Some("POST".into()),
        drop_before: 0.05,
        drop_after: 0.08,
        unavailable_after: 0.03,
        seed: 0x7e57,
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(ctx.server.base_url(), plan).unwrap();
    let proxied = ctx.client.stream(&proxy.proxied(stream.url())).unwrap();
    let (errors, options) = error_sink();
    let producer = Arc::new(proxied.producer("faults", run_options(options)).unwrap());
    within(
        60,
        "the appender",
        spawn_appender(producer.clone(), MESSAGES),
    )
    .await
    .unwrap();
    within(60, "flush through faults", producer.flush())
        .await
        .unwrap();
    assert!(errors.lock().unwrap().is_empty(), "no batch failed");
    assert_eq!(producer.epoch(), 0, "no epoch change");
    let counts = proxy.counts();
    assert!(
        counts.drop_after > 0 && counts.drop_before > 0,
        "the faults happened: {counts:?}"
    );
    let repeats = check_numbered_lines(&read_all(&stream).await.text(), MESSAGES);
    assert_eq!(repeats.duplicates, 0, "exactly once: {repeats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auto_claim_a_lost_state_is_one_error_and_restart_delivers_the_kept_messages() {
    let mut server = own_electric();
    let client = client_builder().build().unwrap();
    let stream = client
        .stream(&server.stream_url(&unique_name("lost-state")))
        .unwrap();
    create_text_stream(&stream).await;
    let (errors, options) = error_sink();
    let producer = stream
        .producer(
            "forgotten",
            ProducerOptions {
                max_batch_items: 10,
                linger: Duration::from_millis(1),
                ..options
            },
        )
        .unwrap();
    for i in 0..200 {
        producer.try_append(format!("{i}\n").as_bytes()).unwrap();
    }
    producer.flush().await.unwrap();
    let sent_seq = producer.next_seq();
    assert!(sent_seq > 1, "several batches of epoch 0 are acknowledged");

    restart(&mut server);
    // The first batch after the restart may be refused before the loop ends (a loaded machine
    // can pause this thread longer than a round trip): appends stop at the first refusal.
    let mut kept = 0;
    for i in 200..300 {
        match producer.try_append(format!("{i}\n").as_bytes()) {
            Ok(_) => kept += 1,
            Err(refused) => {
                assert_eq!(refused.kind(), ErrorKind::ProducerStateLost, "{refused}");
                break;
            }
        }
    }
    assert!(kept > 0, "the first append after the restart is accepted");
    within(20, "the error report", async {
        while errors.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let expected = format!(
        "the server lost this producer's state (it expects seq 0 at epoch 0; we sent seq {sent_seq}): restart the producer to continue under a new epoch"
    );
    let reported = errors.lock().unwrap()[0].clone();
    assert_eq!(reported.error.kind(), ErrorKind::ProducerStateLost);
    assert_eq!(reported.error.message(), expected);
    assert_eq!(reported.error.expected_seq(), Some(0));
    assert_eq!(reported.message_count, 0, "nothing is dropped");
    assert_eq!(reported.epoch, 0);

    // Appends and flushes fail with that error, and nothing more is reported.
    for _ in 0..1_000 {
        let refused = producer.try_append(b"refused\n").unwrap_err();
        assert_eq!(refused.message(), expected);
    }
    let flushed = producer.flush().await.unwrap_err();
    assert_eq!(flushed.message(), expected);
    assert_eq!(
        producer.buffered().0,
        kept,
        "the unacknowledged messages are kept"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(errors.lock().unwrap().len(), 1, "one error in all");

    assert_eq!(producer.restart().await.unwrap(), 1);
    for i in 200 + kept..310 {
        producer.try_append(format!("{i}\n").as_bytes()).unwrap();
    }
    within(20, "flush after restart", producer.flush())
        .await
        .unwrap();
    assert_eq!(errors.lock().unwrap().len(), 1);
    // Nothing was in flight when the server restarted: exactly once.
    let repeats = check_numbered_lines(&read_all(&stream).await.text(), 310);
    assert_eq!(repeats.duplicates, 0, "{repeats:?}");
}

/// A server that stores sequence 0 and then answers every later batch as if it had forgotten
/// the producer.
fn forgetful_server() -> FakeServer {
    FakeServer::start(|head| {
        let seq = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("producer-seq")
                .then(|| value.trim().to_owned())
        });
        match seq.as_deref() {
            None | Some("0") => http_response(
                "200 OK",
                &[("Stream-Next-Offset", "0000000000000000_0000000000000001")],
                b"",
            ),
            Some(seq) => http_response(
                "409 Conflict",
                &[
                    ("Producer-Expected-Seq", "0"),
                    ("Producer-Received-Seq", seq),
                ],
                b"producer sequence gap",
            ),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_or_detach_after_a_lost_state_fails_with_it_instead_of_waiting_for_restart() {
    let server = forgetful_server();
    let client = client_builder().build().unwrap();
    let stream = client.stream(&server.url("forgetful")).unwrap();
    for ending in ["close", "detach"] {
        let (errors, options) = error_sink();
        let producer = stream
            .producer(
                format!("forgotten-{ending}"),
                ProducerOptions {
                    content_type: Some("text/plain".into()),
                    linger: Duration::ZERO,
                    ..options
                },
            )
            .unwrap();
        producer.try_append(b"stored\n").unwrap();
        producer.flush().await.unwrap();
        producer.try_append(b"forgotten\n").unwrap();
        let result = match ending {
            "close" => within(10, "close", producer.close(None)).await.map(drop),
            _ => within(10, "detach", producer.detach()).await,
        };
        let error = result.unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::ProducerStateLost,
            "{ending}: {error}"
        );
        assert!(
            error
                .message()
                .starts_with("the server lost this producer's state"),
            "{ending}: {error}"
        );
        assert_eq!(errors.lock().unwrap().len(), 1, "{ending}: one report");
    }
}

#[test]
fn repeat_runs_are_counted_and_anything_else_is_rejected() {
    let lines = |values: &[usize]| values.iter().map(|v| format!("{v}\n")).collect::<String>();
    let clean = check_numbered_lines(&lines(&[0, 1, 2, 3]), 4);
    assert_eq!(clean.duplicates, 0);
    let twice = check_numbered_lines(&lines(&[0, 1, 2, 1, 2, 3, 4, 4, 5]), 6);
    assert_eq!((twice.duplicates, twice.runs, twice.longest), (3, 2, 2));
    for bad in [
        &[0, 2, 1][..],    // out of order
        &[0, 1, 0, 2][..], // a run that stops short of the last new line
        &[0, 1][..],       // one missing
        &[0, 1, 2, 1][..], // ends inside a run
    ] {
        assert!(
            numbered_lines(&lines(bad), 3).is_err(),
            "{bad:?} is rejected"
        );
    }
}
