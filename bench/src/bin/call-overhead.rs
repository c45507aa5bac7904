//! Cost of single calls through the Rust API, the baseline for the C ABI's figures
//! (`tests/c/bench_try_append.c` measures the same calls through `libdurable_streams`; the
//! difference is what the FFI layer costs).
//!
//! - `try_append` of 100 B, isolated: the producer points at a closed port, so nothing is
//!   delivered and no background work competes with the loop (buffer raised so it never fills).
//! - `try_append` of 100 B while a real server receives the batches (the everyday case).
//! - `try_append` when the buffer is full (the back-pressure fast path), through
//!   `try_append_status`, the call `ds_producer_try_append` makes (no error is built).
//! - `epoch()`: a trivial synchronous call.
//! - `flush()` with nothing pending, and `head()` against the local server: async round trips.
//!
//! Loops run on the main thread, as a C or .NET caller's would; ns per call is the median of
//! `--reps` repetitions after one warm-up repetition. Memory is kept warm: freed memory stays in
//! the process (`mallopt`), so a repetition reuses the pages of the one before, as a long-running
//! producer does. Without that, every 4 KiB page of a fresh 200 MB buffer costs a page fault
//! (about 40 messages), which is a property of the kernel, not of the call; the cold figure is
//! reported too (`cold_ns_per_call`).

use std::hint::black_box;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use durable_streams_bench::{
    Flags, Samples, emit_all, fail, median, merged, runtime, start_server, thousands,
};
use durable_streams_core::{
    Client, CreateOptions, Producer, ProducerOptions, Stream, TryAppendStatus,
};
use serde_json::{Value, json};

const BENCH: &str = "call-overhead";
const PAYLOAD: [u8; 100] = [b'x'; 100];

fn main() {
    let flags = Flags::parse(
        BENCH,
        "ns per call of the Rust API (baseline for the C ABI)",
        &[
            (
                "calls",
                "N: calls per repetition of a synchronous loop (default 2000000)",
            ),
            ("reps", "R: repetitions; the median is reported (default 5)"),
            (
                "round-trips",
                "N: async round trips measured (default 5000)",
            ),
            (
                "only",
                "SCENARIO: run just this one (e.g. try-append-full), for profiling",
            ),
        ],
    );
    let calls = flags.positive("calls", 2_000_000);
    let reps = flags.positive("reps", 5);
    let round_trips = flags.positive("round-trips", 5_000);
    let only = flags.str("only").map(str::to_owned);
    let wanted = |scenario: &str| only.as_deref().is_none_or(|o| o == scenario);

    keep_freed_memory();
    let server = start_server(BENCH);
    let rt = runtime(BENCH);
    let _entered = rt.enter();
    let client = Client::new().unwrap_or_else(|e| fail(BENCH, e));
    let stream = |url: &str| client.stream(url).unwrap_or_else(|e| fail(BENCH, e));
    let dead = stream(&format!("http://127.0.0.1:{}/nowhere", closed_port()));
    let live = stream(&server.stream_url("call-overhead"));
    rt.block_on(live.create(CreateOptions::new().content_type("application/octet-stream")))
        .unwrap_or_else(|e| fail(BENCH, e));

    // Room for every message of a repetition, so the loop never meets a full buffer.
    let roomy = ProducerOptions {
        max_buffered_bytes: (calls * PAYLOAD.len()).next_power_of_two() * 2,
        max_buffered_messages: calls * 2,
        content_type: Some("application/octet-stream".into()),
        ..ProducerOptions::default()
    };
    let mut results = Vec::new();

    if wanted("try-append-isolated") {
        let isolated = repeat(reps, || {
            let producer = producer(&dead, roomy.clone());
            append_loop(&producer, calls)
        });
        results.push(per_call(
            "try-append-isolated",
            "try_append 100 B (nothing delivered)",
            isolated,
            calls,
            reps,
        ));
    }

    if wanted("try-append-delivering") {
        let delivering = repeat(reps, || {
            let producer = producer(&live, roomy.clone());
            let ns = append_loop(&producer, calls);
            rt.block_on(producer.flush())
                .unwrap_or_else(|e| fail(BENCH, e));
            ns
        });
        results.push(per_call(
            "try-append-delivering",
            "try_append 100 B (server receiving)",
            delivering,
            calls,
            reps,
        ));
    }

    if wanted("try-append-full") {
        let full = repeat(reps, || {
            let producer = producer(
                &dead,
                ProducerOptions {
                    max_buffered_messages: 1,
                    linger: Duration::from_secs(600),
                    ..roomy.clone()
                },
            );
            if producer.try_append(&PAYLOAD).is_err() {
                fail(BENCH, "the first append to an empty buffer failed");
            }
            let started = Instant::now();
            for _ in 0..calls {
                match producer.try_append_status(black_box(&PAYLOAD)) {
                    Ok(TryAppendStatus::Full) => {}
                    other => fail(BENCH, format!("expected Full, got {other:?}")),
                }
            }
            started.elapsed().as_nanos() as f64 / calls as f64
        });
        results.push(per_call(
            "try-append-full",
            "try_append when full",
            full,
            calls,
            reps,
        ));
    }

    if wanted("epoch") {
        let epoch_producer = producer(&dead, roomy.clone());
        let epoch = repeat(reps, || {
            let started = Instant::now();
            let mut sum = 0u64;
            for _ in 0..calls * 5 {
                sum = sum.wrapping_add(black_box(&epoch_producer).epoch());
            }
            black_box(sum);
            started.elapsed().as_nanos() as f64 / (calls * 5) as f64
        });
        results.push(per_call(
            "epoch",
            "producer epoch (trivial call)",
            epoch,
            calls * 5,
            reps,
        ));
    }

    if wanted("flush-empty") {
        let flusher = producer(&live, roomy.clone());
        let mut flushes = Samples::with_capacity(round_trips * 4);
        rt.block_on(async {
            for i in 0..round_trips * 5 {
                let started = Instant::now();
                flusher.flush().await.unwrap_or_else(|e| fail(BENCH, e));
                if i >= round_trips {
                    flushes.record(started.elapsed());
                }
            }
        });
        results.push(round_trip(
            "flush-empty",
            "flush with nothing pending",
            &mut flushes,
        ));
    }

    if wanted("head") {
        let mut heads = Samples::with_capacity(round_trips);
        rt.block_on(async {
            for i in 0..round_trips + round_trips / 10 {
                let started = Instant::now();
                live.head().await.unwrap_or_else(|e| fail(BENCH, e));
                if i >= round_trips / 10 {
                    heads.record(started.elapsed());
                }
            }
        });
        results.push(round_trip("head", "head round trip (HTTP)", &mut heads));
    }

    emit_all(&flags, results);
}

/// A port with nothing listening (bound, then released), so connections are refused at once.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| fail(BENCH, format!("cannot bind a local port: {e}")));
    listener
        .local_addr()
        .unwrap_or_else(|e| fail(BENCH, format!("cannot read the bound port: {e}")))
        .port()
}

fn producer(stream: &Stream, options: ProducerOptions) -> Producer {
    stream
        .producer("bench-calls", options)
        .unwrap_or_else(|e| fail(BENCH, e))
}

/// `calls` accepted 100-byte appends; ns per call.
fn append_loop(producer: &Producer, calls: usize) -> f64 {
    let started = Instant::now();
    for i in 0..calls {
        if let Err(e) = producer.try_append(black_box(&PAYLOAD)) {
            fail(BENCH, format!("append {i} failed: {e}"));
        }
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

/// One warm-up repetition (returned first, "cold"), then `reps` measured ones.
fn repeat(reps: usize, mut measure: impl FnMut() -> f64) -> (f64, Vec<f64>) {
    let cold = measure();
    (cold, (0..reps).map(|_| measure()).collect())
}

/// Keeps freed memory in the process (no `munmap` of large blocks, no heap trimming), so that
/// repeated runs measure calls on warm memory rather than page faults.
fn keep_freed_memory() {
    // SAFETY: mallopt only changes glibc's allocation thresholds; called before other threads
    // allocate heavily.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn per_call(
    scenario: &str,
    title: &str,
    (cold, runs): (f64, Vec<f64>),
    calls: usize,
    reps: usize,
) -> (String, Value) {
    let ns = median(&runs);
    let line = format!(
        "call-overhead [rust-core] {title}: {ns:.1} ns/call (median of {reps} x {} calls; range {:.1}-{:.1}; cold {cold:.1})",
        thousands(calls as f64),
        runs.iter().copied().fold(f64::INFINITY, f64::min),
        runs.iter().copied().fold(0.0, f64::max),
    );
    let result = json!({
        "benchmark": BENCH,
        "scenario": scenario,
        "title": title,
        "layer": "rust-core",
        "ns_per_call": ns,
        "ns_per_call_runs": runs,
        "cold_ns_per_call": cold,
        "calls": calls,
    });
    (line, result)
}

fn round_trip(scenario: &str, title: &str, samples: &mut Samples) -> (String, Value) {
    let line = format!(
        "call-overhead [rust-core] {title}: p50 {:.2} us, p99 {:.2} us, mean {:.2} us ({} round trips)",
        samples.percentile_us(50.0),
        samples.percentile_us(99.0),
        samples.mean_us(),
        samples.len(),
    );
    let result = json!({
        "benchmark": BENCH,
        "scenario": scenario,
        "title": title,
        "layer": "rust-core",
    });
    (line, merged(result, samples.summary()))
}
