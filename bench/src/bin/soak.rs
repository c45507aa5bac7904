//! Endurance soak: an idempotent producer appending small JSON messages at a steady rate and a
//! live SSE reader tailing the same stream from the beginning, both through injected faults, for
//! `--seconds` (default 60; `./build.sh bench` reads `DS_SOAK_SECONDS`). Checks that every message
//! is read exactly once and in order, and that the process's memory is flat after warm-up.
//!
//! Fault paths (all inside this process, so their threads and buffers count in the figures):
//!
//! * producer → interval relay → the harness's [`FaultProxy`] → Electric's server (memory
//!   durability). The proxy fails a random `--proxy-fault-rate` of the POSTs, split evenly between
//!   503 before forwarding, connection dropped before forwarding, connection dropped *after* the
//!   server stored the batch, and 503 after it stored it (the cases exactly-once must survive).
//! * reader → interval relay → the server. The harness proxy cannot carry endless SSE responses,
//!   so the reader's faults come from the relay.
//!
//! The relays are plain TCP relays that, every `--fault-secs` (default 20), apply the next fault
//! of a fixed rotation: abort the reader's connections (linger 0), abort the producer's, stall
//! both paths for `--stall-ms`, close both (FIN). The reader reopens its session from the offset
//! of the last chunk it got whenever `next_chunk` fails (the session also retries transient
//! failures itself).
//!
//! Every `--sample-secs` (default 5) it samples RSS (`/proc/self/statm`), anonymous RSS, glibc's
//! heap in use and free (`mallinfo2`, all arenas), threads (`/proc/self/task`), open fds
//! (`/proc/self/fd`) and the message counts. The verdict: exactly-once, and the RSS slope (least
//! squares over the samples after `--warmup-secs`, default half the run) at most `--max-slope`
//! MiB/min (default 0.1), or a fitted rise over that window of at most `NOISE_MIB` (short runs
//! cannot resolve 0.1 MiB/min). The result is written either way; a failure exits 1.
//!
//! Allocator checks: `--trim 1` calls `malloc_trim(0)` after every sample and records the RSS
//! after it (`rss_trimmed_mib`, with its own slope); the end of every run records RSS before and
//! after one `malloc_trim(0)`. Run with `MALLOC_ARENA_MAX=2` to compare arena behaviour (the
//! value is recorded in the result).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use durable_streams_bench::{Flags, emit, fail, merged, proc_status_bytes, runtime, start_server};
use durable_streams_core::{
    Client, CreateOptions, LiveMode, Offset, Producer, ProducerOptions, ReadOptions,
};
use durable_streams_test_harness::{FaultPlan, FaultProxy};
use serde_json::{Value, json};

const BENCH: &str = "soak";
const MIB: f64 = 1024.0 * 1024.0;
/// A fitted rise over the measured window below this is noise, whatever the slope: a 60 s run's
/// 30 s window cannot tell 0.1 MiB/min from a page or two of allocator churn.
const NOISE_MIB: f64 = 0.25;
/// How long the end of the run waits for the reader to catch up with the last acknowledged
/// message.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// After the reader has caught up, how long it keeps reading to catch late duplicates.
const DUPLICATE_WATCH: Duration = Duration::from_secs(2);

fn main() {
    let flags = Flags::parse(
        BENCH,
        "producer + live SSE reader through injected faults: exactly-once and memory over time",
        &[
            ("seconds", "N: length of the run (default 60)"),
            ("rate", "N: messages appended per second (default 200)"),
            ("size", "BYTES: approximate message size (default 100)"),
            ("sample-secs", "N: sampling interval (default 5)"),
            (
                "fault-secs",
                "N: interval between relay faults (default 20)",
            ),
            ("stall-ms", "MS: length of a stall fault (default 3000)"),
            (
                "proxy-fault-rate",
                "P: share of POSTs the harness proxy fails (default 0.001)",
            ),
            (
                "warmup-secs",
                "N: samples before this are left out of the slope (default seconds/2)",
            ),
            (
                "max-slope",
                "MIB: RSS growth per minute allowed after warm-up (default 0.1)",
            ),
            (
                "trim",
                "0|1: malloc_trim(0) after every sample, recording RSS after it (default 0)",
            ),
            ("seed", "N: seed of the proxy's fault generator (default 7)"),
            (
                "events",
                "FILE: write every client event at info level and above (retries, reconnects, \
                 batch retries and failures), one line each with its time, to FILE",
            ),
        ],
    );
    let seconds = flags.positive("seconds", 60) as u64;
    let rate = flags.positive("rate", 200) as f64;
    let size = flags.get("size", 100usize);
    let sample_every = Duration::from_secs(flags.positive("sample-secs", 5) as u64);
    let fault_every = Duration::from_secs(flags.positive("fault-secs", 20) as u64);
    let stall = Duration::from_millis(flags.get("stall-ms", 3000u64));
    let proxy_rate: f64 = flags.get("proxy-fault-rate", 0.001f64);
    let warmup_secs = flags.get("warmup-secs", seconds / 2);
    let max_slope: f64 = flags.get("max-slope", 0.1f64);
    let trim = flags.get("trim", 0u8) != 0;
    let seed = flags.get("seed", 7u64);
    let events_path: Option<String> = flags.str("events").map(str::to_owned);
    if !(0.0..=1.0).contains(&proxy_rate) {
        fail(BENCH, "--proxy-fault-rate must be within 0..1");
    }

    let server = start_server(BENCH);
    let share = proxy_rate / 4.0;
    let proxy = FaultProxy::start(
        server.base_url(),
        FaultPlan {
            method: Some("POST".into()),
            unavailable_before: share,
            drop_before: share,
            drop_after: share,
            unavailable_after: share,
            seed,
            ..FaultPlan::default()
        },
    )
    .unwrap_or_else(|e| fail(BENCH, format!("cannot start the fault proxy: {e}")));
    let producer_relay = Relay::start(&proxy.base_url());
    let reader_relay = Relay::start(server.base_url());

    let direct_url = server.stream_url("soak");
    let producer_url = rebase(
        &proxy.proxied(&direct_url),
        &proxy.base_url(),
        &producer_relay,
    );
    let reader_url = rebase(&direct_url, server.base_url(), &reader_relay);

    let rt = runtime(BENCH);
    let client = match &events_path {
        None => Client::new(),
        Some(path) => Client::builder().event_sink(event_log(path)).build(),
    }
    .unwrap_or_else(|e| fail(BENCH, e));
    let setup_client = client.clone();
    rt.block_on(async move {
        setup_client
            .stream(&direct_url)?
            .create(CreateOptions::new().content_type("application/json"))
            .await
    })
    .unwrap_or_else(|e| fail(BENCH, format!("cannot create the stream: {e}")));

    let stats = Arc::new(Stats::default());
    let producer = {
        let _guard = rt.enter();
        let errors = stats.clone();
        let stream = client
            .stream(&producer_url)
            .unwrap_or_else(|e| fail(BENCH, e));
        let options = ProducerOptions {
            content_type: Some("application/json".into()),
            on_error: Some(Arc::new(move |e| {
                errors.producer_errors.fetch_add(1, Ordering::Relaxed);
                errors.note(format!("producer error: {e}"));
            })),
            ..ProducerOptions::default()
        };
        Arc::new(
            stream
                .producer("soak", options)
                .unwrap_or_else(|e| fail(BENCH, e)),
        )
    };
    let stop = Arc::new(AtomicBool::new(false));
    let producing = rt.spawn(produce(
        producer.clone(),
        stats.clone(),
        stop.clone(),
        rate,
        size,
    ));
    let reader_stream = client
        .stream(&reader_url)
        .unwrap_or_else(|e| fail(BENCH, e));
    let reading = rt.spawn(read(reader_stream, stats.clone()));

    println!(
        "soak: {seconds} s, {rate} msg/s of ~{size} B, relay fault every {} s, proxy fails {:.2}% of POSTs, sample every {} s",
        fault_every.as_secs(),
        proxy_rate * 100.0,
        sample_every.as_secs()
    );
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut samples: Vec<Sample> = Vec::new();
    let mut faults: Vec<Value> = Vec::new();
    let mut next_sample = started;
    let mut next_fault = started + fault_every;
    let mut fault_no = 0u64;
    loop {
        let now = Instant::now();
        if now >= next_sample {
            let sample = Sample::take(started, &stats, &producer, &proxy, fault_no, trim);
            eprintln!("{}", sample.line());
            samples.push(sample);
            next_sample += sample_every;
        }
        if now >= end {
            if samples.last().is_none_or(|s| s.t + 0.5 < seconds as f64) {
                let sample = Sample::take(started, &stats, &producer, &proxy, fault_no, trim);
                eprintln!("{}", sample.line());
                samples.push(sample);
            }
            break;
        }
        if now >= next_fault {
            let kind = FAULT_KINDS[(fault_no % FAULT_KINDS.len() as u64) as usize];
            let connections = match kind {
                "abort-reader" => reader_relay.cut(true),
                "abort-producer" => producer_relay.cut(true),
                "stall" => reader_relay.stall(stall) + producer_relay.stall(stall),
                _ => reader_relay.cut(false) + producer_relay.cut(false),
            };
            fault_no += 1;
            faults.push(json!({
                "t_s": round(started.elapsed().as_secs_f64(), 1),
                "kind": kind,
                "connections": connections,
            }));
            next_fault += fault_every;
        }
        let wake = next_sample.min(next_fault).min(end);
        thread::sleep(wake.saturating_duration_since(Instant::now()));
    }

    // Stop appending, wait for the last acknowledgement, then for the reader to catch up.
    stop.store(true, Ordering::Relaxed);
    let flushed = rt.block_on(producing);
    let produced = stats.produced.load(Ordering::Relaxed);
    match flushed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => stats.note(format!("producer flush failed: {e}")),
        Err(e) => stats.note(format!("the producer task failed: {e}")),
    }
    let drain_started = Instant::now();
    while stats.next_expected.load(Ordering::Relaxed) < produced
        && drain_started.elapsed() < DRAIN_TIMEOUT
    {
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(DUPLICATE_WATCH);
    reading.abort();
    let (unacked, _) = producer.buffered();
    let acked = producer.appended_count() - unacked as u64;
    let proxy_counts = proxy.counts();

    // One malloc_trim at the end: how much of the RSS was free heap the allocator kept.
    let rss_before_trim = statm_rss_mib();
    // SAFETY: malloc_trim only returns free memory to the kernel.
    unsafe { libc::malloc_trim(0) };
    let rss_after_trim = statm_rss_mib();

    let read_in_order = stats.next_expected.load(Ordering::Relaxed);
    let duplicates = stats.duplicates.load(Ordering::Relaxed);
    let missing = stats.missing.load(Ordering::Relaxed);
    let producer_errors = stats.producer_errors.load(Ordering::Relaxed);
    let exactly_once = produced > 0
        && acked == produced
        && read_in_order == produced
        && stats.messages_read.load(Ordering::Relaxed) == produced
        && duplicates == 0
        && missing == 0
        && producer_errors == 0;

    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.t >= warmup_secs as f64)
        .collect();
    let fit = |value: fn(&Sample) -> Option<f64>| -> Option<f64> {
        let points: Vec<(f64, f64)> = window
            .iter()
            .filter_map(|s| value(s).map(|v| (s.t / 60.0, v)))
            .collect();
        slope(&points)
    };
    let rss_slope = fit(|s| Some(s.rss_mib));
    let anon_slope = fit(|s| Some(s.rss_anon_mib));
    let heap_slope = fit(|s| Some(s.heap_in_use_mib));
    let trimmed_slope = fit(|s| s.rss_trimmed_mib);
    let window_minutes = window.last().map_or(0.0, |l| l.t - window[0].t) / 60.0;
    let fitted_rise = rss_slope.map(|s| s * window_minutes);
    let memory_flat = match (rss_slope, fitted_rise) {
        (Some(s), Some(rise)) => s <= max_slope || rise <= NOISE_MIB,
        _ => false,
    };
    let passed = exactly_once && memory_flat;

    print_table(&samples);
    let relay_faults = faults.len() as u64;
    let all_faults = relay_faults + proxy_counts.faults();
    let show = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:+.3}"));
    println!(
        "faults: {all_faults} ({relay_faults} relay: {}; {} proxy: {} 503-before, {} drop-before, {} drop-after, {} 503-after); reader resumes {}",
        FAULT_KINDS
            .iter()
            .map(|kind| {
                let n = faults.iter().filter(|f| f["kind"] == *kind).count();
                format!("{n} {kind}")
            })
            .collect::<Vec<_>>()
            .join(", "),
        proxy_counts.faults(),
        proxy_counts.unavailable_before,
        proxy_counts.drop_before,
        proxy_counts.drop_after,
        proxy_counts.unavailable_after,
        stats.resumes.load(Ordering::Relaxed),
    );
    let rss_first = samples.first().map_or(0.0, |s| s.rss_mib);
    let rss_last = samples.last().map_or(0.0, |s| s.rss_mib);
    let rss_peak = samples.iter().map(|s| s.rss_mib).fold(0.0, f64::max);
    println!(
        "slopes after {warmup_secs} s (MiB/min): RSS {}, anon RSS {}, heap in use {}, RSS after trim {}; RSS {rss_first:.1} -> {rss_last:.1} MiB (peak {rss_peak:.1}); malloc_trim at the end: {rss_before_trim:.1} -> {rss_after_trim:.1} MiB",
        show(rss_slope),
        show(anon_slope),
        show(heap_slope),
        show(trimmed_slope),
    );
    for note in stats.notes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        println!("  {note}");
    }
    let line = format!(
        "soak [rust-core] {seconds} s, {all_faults} faults: {produced} produced, {acked} acked, {read_in_order} read in order ({duplicates} duplicates, {missing} missing): exactly-once {}; RSS slope {} MiB/min (limit {max_slope}): {}; {}",
        if exactly_once { "PASS" } else { "FAIL" },
        show(rss_slope),
        match (rss_slope, memory_flat) {
            (None, _) => "not measured (under 3 samples after warm-up)",
            (_, true) => "flat",
            (_, false) => "GROWING",
        },
        if passed { "PASS" } else { "FAIL" },
    );
    let result = json!({
        "benchmark": BENCH,
        "scenario": "producer-sse-faults",
        "title": "soak: producer + live SSE reader through faults",
        "layer": "rust-core",
        "seconds": seconds,
        "rate": rate,
        "message_bytes": size,
        "sample_secs": sample_every.as_secs(),
        "fault_secs": fault_every.as_secs(),
        "stall_ms": stall.as_millis() as u64,
        "proxy_fault_rate": proxy_rate,
        "malloc_arena_max": std::env::var("MALLOC_ARENA_MAX").ok(),
        "trim_each_sample": trim,
        "produced": produced,
        "acked": acked,
        "messages_read": stats.messages_read.load(Ordering::Relaxed),
        "read_in_order": read_in_order,
        "duplicates": duplicates,
        "missing": missing,
        "producer_errors": producer_errors,
        "reader_resumes": stats.resumes.load(Ordering::Relaxed),
        "exactly_once": exactly_once,
    });
    let memory = json!({
        "faults": all_faults,
        "relay_faults": faults,
        "proxy_faults": {
            "forwarded": proxy_counts.forwarded,
            "unavailable_before": proxy_counts.unavailable_before,
            "drop_before": proxy_counts.drop_before,
            "drop_after": proxy_counts.drop_after,
            "unavailable_after": proxy_counts.unavailable_after,
        },
        "warmup_secs": warmup_secs,
        "max_slope_mib_per_min": max_slope,
        "noise_mib": NOISE_MIB,
        "rss_slope_mib_per_min": rss_slope,
        "rss_anon_slope_mib_per_min": anon_slope,
        "heap_in_use_slope_mib_per_min": heap_slope,
        "rss_trimmed_slope_mib_per_min": trimmed_slope,
        "fitted_rise_mib": fitted_rise,
        "memory_flat": memory_flat,
        "rss_first_mib": rss_first,
        "rss_last_mib": rss_last,
        "peak_rss_mib": rss_peak,
        "rss_before_final_trim_mib": rss_before_trim,
        "rss_after_final_trim_mib": rss_after_trim,
        "notes": *stats.notes.lock().unwrap_or_else(|p| p.into_inner()),
        "passed": passed,
        "samples": samples.iter().map(Sample::to_json).collect::<Vec<_>>(),
    });
    emit(&flags, &line, merged(result, memory));
    drop(proxy);
    drop(server);
    if !passed {
        std::process::exit(1);
    }
}

/// The relay faults, applied in this order, round and round.
const FAULT_KINDS: [&str; 4] = ["abort-reader", "abort-producer", "stall", "close-both"];

#[derive(Default)]
struct Stats {
    produced: AtomicU64,
    /// Messages delivered to the reader, duplicates included.
    messages_read: AtomicU64,
    /// The sequence number the reader expects next (= messages read in order).
    next_expected: AtomicU64,
    duplicates: AtomicU64,
    missing: AtomicU64,
    resumes: AtomicU64,
    producer_errors: AtomicU64,
    /// The first anomalies, for the report.
    notes: Mutex<Vec<String>>,
}

impl Stats {
    fn note(&self, note: String) {
        let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        if notes.len() < 20 {
            notes.push(note);
        }
    }
}

/// Appends `{"i":N,"pad":"..."}` at `rate` per second until `stop`, then flushes.
async fn produce(
    producer: Arc<Producer>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    rate: f64,
    size: usize,
) -> durable_streams_core::Result<()> {
    let pad = "x".repeat(size.saturating_sub(20));
    let started = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(5));
    let mut next = 0u64;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while next < due {
            producer
                .append(format!(r#"{{"i":{next},"pad":"{pad}"}}"#).as_bytes())
                .await?;
            next += 1;
            stats.produced.store(next, Ordering::Relaxed);
        }
    }
    producer.flush().await?;
    Ok(())
}

/// Tails the stream over SSE from the beginning, checking the sequence numbers; reopens the
/// session from the last chunk's offset whenever it fails. Runs until aborted.
async fn read(stream: durable_streams_core::Stream, stats: Arc<Stats>) {
    let mut offset = Offset::BEGINNING;
    let mut expected = 0u64;
    loop {
        let mut session = stream.read(
            ReadOptions::new()
                .offset(offset.clone())
                .live(LiveMode::Sse),
        );
        loop {
            match session.next_chunk().await {
                Ok(Some(chunk)) => {
                    for message in chunk.messages().unwrap_or_default() {
                        stats.messages_read.fetch_add(1, Ordering::Relaxed);
                        match sequence_of(message) {
                            Some(i) if i == expected => expected += 1,
                            Some(i) if i < expected => {
                                stats.duplicates.fetch_add(1, Ordering::Relaxed);
                                stats.note(format!("duplicate {i} (expected {expected})"));
                            }
                            Some(i) => {
                                stats.missing.fetch_add(i - expected, Ordering::Relaxed);
                                stats.note(format!("missing {expected}..{i}"));
                                expected = i + 1;
                            }
                            None => stats.note("a message without a sequence number".into()),
                        }
                    }
                    stats.next_expected.store(expected, Ordering::Relaxed);
                    offset = chunk.offset().clone();
                }
                Ok(None) => {
                    stats.note("the read session ended (stream closed?)".into());
                    return;
                }
                Err(_) => {
                    stats.resumes.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
    }
}

/// The `i` of a message `{"i":N,...}`.
fn sequence_of(message: &[u8]) -> Option<u64> {
    let digits = message.strip_prefix(br#"{"i":"#)?;
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// One sample of the process and the counters.
struct Sample {
    t: f64,
    rss_mib: f64,
    rss_anon_mib: f64,
    rss_trimmed_mib: Option<f64>,
    heap_in_use_mib: f64,
    heap_free_mib: f64,
    threads: usize,
    fds: usize,
    produced: u64,
    acked: u64,
    read: u64,
    faults: u64,
}

impl Sample {
    fn take(
        started: Instant,
        stats: &Stats,
        producer: &Producer,
        proxy: &FaultProxy,
        relay_faults: u64,
        trim: bool,
    ) -> Sample {
        // SAFETY: mallinfo2 only reads the allocator's counters (all arenas).
        let info = unsafe { libc::mallinfo2() };
        let rss_mib = statm_rss_mib();
        let rss_trimmed_mib = trim.then(|| {
            // SAFETY: malloc_trim only returns free memory to the kernel.
            unsafe { libc::malloc_trim(0) };
            statm_rss_mib()
        });
        let (unacked, _) = producer.buffered();
        Sample {
            t: round(started.elapsed().as_secs_f64(), 1),
            rss_mib,
            rss_anon_mib: proc_status_bytes("RssAnon").unwrap_or(0) as f64 / MIB,
            rss_trimmed_mib,
            heap_in_use_mib: (info.uordblks + info.hblkhd) as f64 / MIB,
            heap_free_mib: info.fordblks as f64 / MIB,
            threads: count_entries("/proc/self/task"),
            fds: count_entries("/proc/self/fd"),
            produced: stats.produced.load(Ordering::Relaxed),
            acked: producer.appended_count() - unacked as u64,
            read: stats.next_expected.load(Ordering::Relaxed),
            faults: relay_faults + proxy.counts().faults(),
        }
    }

    fn line(&self) -> String {
        format!(
            "soak: t={:.0}s rss={:.2} MiB anon={:.2} heap={:.2}+{:.2} free{} threads={} fds={} produced={} acked={} read={} faults={}",
            self.t,
            self.rss_mib,
            self.rss_anon_mib,
            self.heap_in_use_mib,
            self.heap_free_mib,
            self.rss_trimmed_mib
                .map_or_else(String::new, |v| format!(" trimmed={v:.2}")),
            self.threads,
            self.fds,
            self.produced,
            self.acked,
            self.read,
            self.faults
        )
    }

    fn to_json(&self) -> Value {
        json!({
            "t_s": self.t,
            "rss_mib": round(self.rss_mib, 3),
            "rss_anon_mib": round(self.rss_anon_mib, 3),
            "rss_trimmed_mib": self.rss_trimmed_mib.map(|v| round(v, 3)),
            "heap_in_use_mib": round(self.heap_in_use_mib, 3),
            "heap_free_mib": round(self.heap_free_mib, 3),
            "threads": self.threads,
            "fds": self.fds,
            "produced": self.produced,
            "acked": self.acked,
            "read": self.read,
            "faults": self.faults,
        })
    }
}

/// The curve, at most about 25 rows (every k-th sample, and the last).
fn print_table(samples: &[Sample]) {
    println!(
        "{:>7}  {:>8}  {:>8}  {:>9}  {:>9}  {:>7}  {:>4}  {:>9}  {:>9}  {:>6}",
        "t (s)",
        "RSS MiB",
        "anon MiB",
        "heap used",
        "heap free",
        "threads",
        "fds",
        "acked",
        "read",
        "faults"
    );
    let step = samples.len().div_ceil(24).max(1);
    for (i, s) in samples.iter().enumerate() {
        if i % step != 0 && i + 1 != samples.len() {
            continue;
        }
        println!(
            "{:>7.0}  {:>8.2}  {:>8.2}  {:>9.2}  {:>9.2}  {:>7}  {:>4}  {:>9}  {:>9}  {:>6}",
            s.t,
            s.rss_mib,
            s.rss_anon_mib,
            s.heap_in_use_mib,
            s.heap_free_mib,
            s.threads,
            s.fds,
            s.acked,
            s.read,
            s.faults
        );
    }
}

/// Least-squares slope of `points` (x, y); `None` with fewer than 3 points.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Resident set size from `/proc/self/statm` (pages × page size), in MiB.
fn statm_rss_mib() -> f64 {
    let pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    (pages * page) as f64 / MIB
}

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// `url` (which starts with `from`) moved to the relay.
fn rebase(url: &str, from: &str, relay: &Relay) -> String {
    match url.strip_prefix(from) {
        Some(rest) => format!("http://{}{rest}", relay.address),
        None => fail(BENCH, format!("{url} is not under {from}")),
    }
}

/// A TCP relay on 127.0.0.1 that can cut or stall every connection it carries, on demand. Two
/// threads per connection (one per direction); the connections are few (the producer's and the
/// reader's).
struct Relay {
    address: SocketAddr,
    shared: Arc<RelayShared>,
}

struct RelayShared {
    upstream: SocketAddr,
    connections: Mutex<HashMap<u64, (TcpStream, TcpStream)>>,
    next_id: AtomicU64,
    paused: AtomicBool,
}

impl Relay {
    fn start(upstream_base_url: &str) -> Relay {
        let upstream: SocketAddr = upstream_base_url
            .strip_prefix("http://")
            .and_then(|a| a.split('/').next()?.parse().ok())
            .unwrap_or_else(|| fail(BENCH, format!("{upstream_base_url} is not http://ip:port")));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| fail(BENCH, format!("cannot bind a relay: {e}")));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| fail(BENCH, format!("cannot read the relay's address: {e}")));
        let shared = Arc::new(RelayShared {
            upstream,
            connections: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            paused: AtomicBool::new(false),
        });
        let accept = shared.clone();
        thread::Builder::new()
            .name("soak-relay-accept".into())
            .spawn(move || {
                for client in listener.incoming().flatten() {
                    let _ = accept.clone().open(client);
                }
            })
            .unwrap_or_else(|e| fail(BENCH, format!("cannot start a relay: {e}")));
        Relay { address, shared }
    }

    /// Closes every connection now: with `abort`, with linger 0 (the peer sees a reset where
    /// the kernel can still send one), else with a FIN. Returns how many were cut.
    fn cut(&self, abort: bool) -> usize {
        let cut: Vec<(TcpStream, TcpStream)> = {
            let mut connections = self
                .shared
                .connections
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            connections.drain().map(|(_, pair)| pair).collect()
        };
        for (client, upstream) in &cut {
            if abort {
                set_linger_zero(client);
                set_linger_zero(upstream);
            }
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
        }
        cut.len()
    }

    /// Stops forwarding in both directions for `length`. Returns the connections affected.
    fn stall(&self, length: Duration) -> usize {
        self.shared.paused.store(true, Ordering::Relaxed);
        let shared = self.shared.clone();
        thread::spawn(move || {
            thread::sleep(length);
            shared.paused.store(false, Ordering::Relaxed);
        });
        self.shared
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

impl RelayShared {
    fn open(self: Arc<Self>, client: TcpStream) -> std::io::Result<()> {
        let upstream = TcpStream::connect(self.upstream)?;
        client.set_nodelay(true)?;
        upstream.set_nodelay(true)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (client.try_clone()?, upstream.try_clone()?));
        let (client_in, upstream_out) = (client.try_clone()?, upstream.try_clone()?);
        let back = self.clone();
        thread::Builder::new()
            .name("soak-relay-up".into())
            .spawn(move || back.pump(id, client_in, upstream_out))?;
        thread::Builder::new()
            .name("soak-relay-down".into())
            .spawn(move || self.pump(id, upstream, client))?;
        Ok(())
    }

    /// Copies `from` to `to` until either ends, then closes both and forgets the connection.
    fn pump(&self, id: u64, mut from: TcpStream, mut to: TcpStream) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            while self.paused.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(10));
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// An event sink that appends each event as one line (seconds since the start, kind, stream,
/// fields, message) to `path`, so that a stall or a burst of retries in a long run can be read
/// next to the samples afterwards.
fn event_log(path: &str) -> std::sync::Arc<dyn durable_streams_core::EventSink> {
    use std::io::Write;
    let file = std::fs::File::create(path)
        .unwrap_or_else(|e| fail(BENCH, format!("cannot create {path}: {e}")));
    let file = std::sync::Mutex::new(std::io::LineWriter::new(file));
    let started = Instant::now();
    durable_streams_core::event_fn(durable_streams_core::EventLevel::Info, move |event| {
        let fields = event
            .fields
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        // A failed write must not disturb the run: the log is a diagnostic aid.
        let _ = writeln!(
            file,
            "{:.3} {} {} {} | {}",
            started.elapsed().as_secs_f64(),
            event.kind.name(),
            event.stream_url,
            fields,
            event.message
        );
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_is_least_squares_per_unit_of_x() {
        let points: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 5.0 + 0.5 * i as f64)).collect();
        assert!((slope(&points).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(slope(&points[..2]), None);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn sequence_numbers_are_read_from_the_message() {
        assert_eq!(sequence_of(br#"{"i":42,"pad":"xx"}"#), Some(42));
        assert_eq!(sequence_of(br#"{"pad":"xx"}"#), None);
    }
}
