//! Producer throughput: N messages of S bytes through P idempotent producers (one stream each)
//! into Electric's server in memory mode. Reports messages/s, MB/s and the client's CPU time per
//! message (user + system time of this process; the server runs in its own process).
//!
//! A warm-up run (a tenth of the messages) fills connection pools and allocator caches; then
//! `--runs` measured runs, each on fresh streams, and the median run is reported.
//!
//! Resent batches are counted from the client's `batch_retry` events: `overtaken` ones (a
//! pipelined batch reached the server before an earlier one) and `transient` ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use durable_streams_bench::{
    Flags, cpu_time, emit, fail, median, runtime, start_server, thousands,
};
use durable_streams_core::{
    Client, CreateOptions, Error, ErrorKind, EventKind, EventLevel, ProducerOptions, event_fn,
};
use durable_streams_test_harness::TestServer;
use serde_json::json;

const BENCH: &str = "producer-throughput";

struct Run {
    elapsed: Duration,
    cpu: Duration,
    batches: u64,
    overtaken: u64,
    other_resends: u64,
}

/// Resends heard from the client's events since the last `take`.
#[derive(Default)]
struct Resends {
    overtaken: AtomicU64,
    other: AtomicU64,
}

impl Resends {
    fn take(&self) -> (u64, u64) {
        (
            self.overtaken.swap(0, Ordering::Relaxed),
            self.other.swap(0, Ordering::Relaxed),
        )
    }
}

fn main() {
    let flags = Flags::parse(
        BENCH,
        "idempotent producer throughput (try_append, waiting with append when the buffer is full)",
        &[
            ("messages", "N: messages in total (default 1000000)"),
            ("size", "BYTES: message size (default 100)"),
            (
                "producers",
                "P: concurrent producers, one stream each (default 1)",
            ),
            (
                "runs",
                "R: measured runs; the median is reported (default 5)",
            ),
            (
                "max-in-flight",
                "N: batches each producer sends concurrently (default: the producer's default)",
            ),
        ],
    );
    let messages = flags.positive("messages", 1_000_000);
    let size = flags.positive("size", 100);
    let producers = flags.positive("producers", 1);
    let runs = flags.positive("runs", 5);
    let options = ProducerOptions {
        max_in_flight: flags.positive("max-in-flight", ProducerOptions::default().max_in_flight),
        ..ProducerOptions::default()
    };
    let per_producer = messages / producers;
    let messages = per_producer * producers;

    let server = start_server(BENCH);
    let rt = runtime(BENCH);
    // Warn and above only: acknowledged batches (debug) are never built, so counting costs
    // nothing unless a batch is resent.
    let resends = Arc::new(Resends::default());
    let heard = resends.clone();
    let sink = event_fn(EventLevel::Warn, move |event| {
        if event.kind == EventKind::BatchRetry {
            let counter = match event.field("reason") {
                Some("overtaken") => &heard.overtaken,
                _ => &heard.other,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let client = Client::builder()
        .event_sink(sink)
        .build()
        .unwrap_or_else(|e| fail(BENCH, e));
    let measure = |tag: String, per_producer: usize| {
        resends.take();
        let run = rt.block_on(run(
            &server,
            &client,
            &tag,
            per_producer,
            size,
            producers,
            &options,
        ));
        let (overtaken, other_resends) = resends.take();
        Run {
            overtaken,
            other_resends,
            ..run.unwrap_or_else(|e| fail(BENCH, e))
        }
    };
    measure("warmup".into(), (per_producer / 10).max(1));
    let results: Vec<Run> = (0..runs)
        .map(|i| measure(format!("run{i}"), per_producer))
        .collect();

    let rates: Vec<f64> = results
        .iter()
        .map(|r| messages as f64 / r.elapsed.as_secs_f64())
        .collect();
    let mid = median(&rates);
    let chosen = results
        .iter()
        .zip(&rates)
        .find(|(_, rate)| **rate == mid)
        .map(|(r, _)| r)
        .unwrap_or(&results[0]);
    let seconds = chosen.elapsed.as_secs_f64();
    let mb_per_s = (messages * size) as f64 / 1e6 / seconds;
    let cpu_us = chosen.cpu.as_secs_f64() * 1e6 / messages as f64;
    let plural = if producers == 1 { "" } else { "s" };
    let line = format!(
        "producer-throughput [rust-core] {} x {size} B, {producers} producer{plural}: {} msg/s, {mb_per_s:.1} MB/s, {cpu_us:.3} us CPU/msg, {} batches, {} resent overtaken, {} resent otherwise, max_in_flight {}, {seconds:.3} s (median of {runs}; range {}-{} msg/s)",
        thousands(messages as f64),
        thousands(mid),
        chosen.batches,
        chosen.overtaken,
        chosen.other_resends,
        options.max_in_flight,
        thousands(rates.iter().copied().fold(f64::INFINITY, f64::min)),
        thousands(rates.iter().copied().fold(0.0, f64::max)),
    );
    emit(
        &flags,
        &line,
        json!({
            "benchmark": BENCH,
            "scenario": format!("{messages}x{size}B-{producers}p"),
            "title": format!("producer {} x {size} B, {producers} producer{plural}", thousands(messages as f64)),
            "layer": "rust-core",
            "messages": messages,
            "message_bytes": size,
            "producers": producers,
            "runs": runs,
            "elapsed_s": seconds,
            "messages_per_s": mid,
            "messages_per_s_runs": rates,
            "mb_per_s": mb_per_s,
            "cpu_us_per_message": cpu_us,
            "batches": chosen.batches,
            "overtaken_resends": chosen.overtaken,
            "other_resends": chosen.other_resends,
            "max_in_flight": options.max_in_flight,
        }),
    );
}

async fn run(
    server: &TestServer,
    client: &Client,
    tag: &str,
    per_producer: usize,
    size: usize,
    producers: usize,
    options: &ProducerOptions,
) -> Result<Run, Error> {
    let mut streams = Vec::new();
    for p in 0..producers {
        let stream = client.stream(&server.stream_url(&format!("producer-{tag}-{p}")))?;
        stream
            .create(CreateOptions::new().content_type("application/octet-stream"))
            .await?;
        streams.push(stream);
    }
    let payload = vec![b'x'; size];
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (p, stream) in streams.into_iter().enumerate() {
        let payload = payload.clone();
        let options = options.clone();
        tasks.push(tokio::spawn(async move {
            let producer = stream.producer(format!("bench-{p}"), options)?;
            for _ in 0..per_producer {
                // The fast path never waits; only a full buffer falls back to the waiting append.
                match producer.try_append(&payload) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::BufferFull => {
                        producer.append(&payload).await?
                    }
                    Err(e) => return Err(e),
                }
            }
            producer.flush().await?;
            Ok::<u64, Error>(producer.next_seq())
        }));
    }
    let mut batches = 0;
    for task in tasks {
        batches += task
            .await
            .map_err(|e| Error::new(ErrorKind::Network, format!("producer task failed: {e}")))??;
    }
    Ok(Run {
        elapsed: started.elapsed(),
        cpu: cpu_time() - cpu_before,
        batches,
        overtaken: 0,
        other_resends: 0,
    })
}
