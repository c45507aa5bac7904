//! Producer memory under back-pressure: a producer with `max_buffered_bytes` = 64 MiB appends
//! `--mib` MiB (default 1 GiB) with `Producer::append` (which waits for room) to a server that
//! is slower than the producer: the harness's fault proxy sits in front of it and delays every
//! POST by up to `--delay-ms`. Reports the process's peak RSS (`VmHWM`) and checks it stays
//! within the buffer limit plus a fixed allowance (see `ALLOWANCE_MIB`).
//!
//! The proxy runs inside this process, so its buffers (one request and one response per
//! connection, at most `max_in_flight` = 5 connections of about 1 MiB each) count against us too:
//! the figure is an upper bound for the producer alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use durable_streams_bench::{
    Flags, emit, fail, proc_status_bytes, run_on, runtime, start_server, thousands,
};
use durable_streams_core::{Client, CreateOptions, Error, ErrorKind, ProducerOptions};
use durable_streams_test_harness::{FaultPlan, FaultProxy};
use serde_json::json;

const BENCH: &str = "producer-memory";
const MIB: u64 = 1024 * 1024;
/// What the process may use beyond its RSS before the run plus `max_buffered_bytes`. Measured
/// with a 64 MiB buffer: growth is 74 MiB since the producer reuses its batch buffers (89-95 MiB
/// before, when freed batches left 20-30 MiB of fragmented free heap). Live heap beyond the
/// buffered payload is small (3 MiB: the proxy's request copies, about 5 × 1 MiB, and HTTP
/// buffers); 8 MiB is free heap, mostly left by the proxy's per-request copies. The result file
/// shows live and free heap at the peak.
const ALLOWANCE_MIB: u64 = 40;

/// RSS and glibc's heap statistics at one moment.
#[derive(Default, Clone, Copy)]
struct HeapSample {
    rss: u64,
    in_use: u64,
    free: u64,
}

impl HeapSample {
    fn now() -> HeapSample {
        // SAFETY: mallinfo2 only reads the allocator's counters (all arenas).
        let info = unsafe { libc::mallinfo2() };
        HeapSample {
            rss: proc_status_bytes("VmRSS").unwrap_or(0),
            in_use: (info.uordblks + info.hblkhd) as u64,
            free: info.fordblks as u64,
        }
    }
}

fn main() {
    let flags = Flags::parse(
        BENCH,
        "peak RSS of a producer with a 64 MiB buffer feeding a slow server",
        &[
            ("mib", "N: MiB appended in total (default 1024)"),
            ("size", "BYTES: message size (default 1024)"),
            ("buffer-mib", "N: max_buffered_bytes in MiB (default 64)"),
            (
                "linger-ms",
                "MS: the producer's linger (default 5, the default)",
            ),
            (
                "delay-ms",
                "MS: each POST is delayed by up to this much (default 10)",
            ),
        ],
    );
    let total = flags.positive("mib", 1024) as u64 * MIB;
    let size = flags.positive("size", 1024);
    let buffer = flags.positive("buffer-mib", 64) as u64 * MIB;
    let delay = Duration::from_millis(flags.get("delay-ms", 10u64));
    let linger = Duration::from_millis(flags.get("linger-ms", 5u64));
    let count = total / size as u64;

    let server = start_server(BENCH);
    let proxy = FaultProxy::start(
        server.base_url(),
        FaultPlan {
            method: Some("POST".into()),
            delay: 1.0,
            max_delay: delay,
            seed: 7,
            ..FaultPlan::default()
        },
    )
    .unwrap_or_else(|e| fail(BENCH, format!("cannot start the fault proxy: {e}")));
    let rt = runtime(BENCH);
    let direct_url = server.stream_url("producer-memory");
    let proxied_url = proxy.proxied(&direct_url);

    // Samples RSS and the allocator's view while the producer runs, to explain the peak: live
    // heap (what the program holds) versus free heap the allocator keeps (fragmentation).
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = HeapSample::default();
            while sampling.load(Ordering::Relaxed) {
                let sample = HeapSample::now();
                if sample.rss >= peak.rss {
                    peak = sample;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };

    let (baseline, waits, mean_in_flight, batches, elapsed) = run_on(BENCH, &rt, async move {
        let client = Client::new()?;
        client
            .stream(&direct_url)?
            .create(CreateOptions::new().content_type("application/octet-stream"))
            .await?;
        let stream = client.stream(&proxied_url)?;
        let producer = stream.producer(
            "bench-memory",
            ProducerOptions {
                max_buffered_bytes: usize::try_from(buffer).unwrap_or(usize::MAX),
                content_type: Some("application/octet-stream".into()),
                linger,
                ..ProducerOptions::default()
            },
        )?;
        let payload = vec![b'm'; size];
        let baseline = proc_status_bytes("VmRSS").unwrap_or(0);
        let started = Instant::now();
        let mut waits = 0u64;
        let mut in_flight_at_wait = 0u64;
        for _ in 0..count {
            match producer.try_append(&payload) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::BufferFull => {
                    waits += 1;
                    in_flight_at_wait += producer.in_flight_count() as u64;
                    producer.append(&payload).await?;
                }
                Err(e) => return Err(e),
            }
        }
        producer.flush().await?;
        let mean_in_flight = in_flight_at_wait as f64 / waits.max(1) as f64;
        let elapsed = started.elapsed();
        Ok::<_, Error>((
            baseline,
            waits,
            mean_in_flight,
            producer.next_seq(),
            elapsed,
        ))
    })
    .unwrap_or_else(|e| fail(BENCH, e));
    sampling.store(false, Ordering::Relaxed);
    let at_peak = sampler.join().unwrap_or_default();

    let peak = proc_status_bytes("VmHWM")
        .unwrap_or_else(|| fail(BENCH, "cannot read VmHWM from /proc/self/status"));
    let limit = baseline + buffer + ALLOWANCE_MIB * MIB;
    let mb = |b: u64| b as f64 / MIB as f64;
    let pass = peak <= limit;
    let line = format!(
        "producer-memory [rust-core] {} MiB as {} x {size} B through a slow server ({} POSTs delayed), {} MiB buffer: peak RSS {:.1} MiB (baseline {:.1} MiB, growth {:.1} MiB, limit {:.1} MiB: {}; at the sampled peak the heap held {:.1} MiB live + {:.1} MiB free), waited for room {} times, {:.1} MB/s",
        total / MIB,
        thousands(count as f64),
        proxy.counts().delayed,
        buffer / MIB,
        mb(peak),
        mb(baseline),
        mb(peak.saturating_sub(baseline)),
        mb(limit),
        if pass { "within" } else { "EXCEEDED" },
        mb(at_peak.in_use),
        mb(at_peak.free),
        thousands(waits as f64),
        total as f64 / 1e6 / elapsed.as_secs_f64(),
    );
    emit(
        &flags,
        &line,
        json!({
            "benchmark": BENCH,
            "scenario": format!("{}MiB-buffer-{size}B", buffer / MIB),
            "title": format!("producer memory, {} MiB buffer, slow server, {size} B messages", buffer / MIB),
            "layer": "rust-core",
            "total_bytes": total,
            "message_bytes": size,
            "messages": count,
            "max_buffered_bytes": buffer,
            "post_delay_max_ms": delay.as_millis() as u64,
            "linger_ms": linger.as_millis() as u64,
            "posts_delayed": proxy.counts().delayed,
            "waits_for_room": waits,
            "mean_in_flight_when_waiting": mean_in_flight,
            // Batches are numbered once; a batch that overtook an earlier one on the way to the
            // server (random delays, 5 in flight) is refused with 409 and sent again.
            "batches": batches,
            "mean_batch_kib": total as f64 / 1024.0 / batches.max(1) as f64,
            "posts_per_batch": proxy.counts().delayed as f64 / batches.max(1) as f64,
            "elapsed_s": elapsed.as_secs_f64(),
            "mb_per_s": total as f64 / 1e6 / elapsed.as_secs_f64(),
            "baseline_rss_mib": mb(baseline),
            "peak_rss_mib": mb(peak),
            "sampled_max_rss_mib": mb(at_peak.rss),
            "heap_in_use_mib_at_peak": mb(at_peak.in_use),
            "heap_free_retained_mib_at_peak": mb(at_peak.free),
            "growth_mib": mb(peak.saturating_sub(baseline)),
            "limit_mib": mb(limit),
            "allowance_mib": ALLOWANCE_MIB,
            "within_limit": pass,
        }),
    );
    if waits == 0 {
        fail(
            BENCH,
            "the producer never waited for room: the server was not slower, so the buffer limit was not exercised",
        );
    }
    if !pass {
        fail(BENCH, "peak RSS exceeded the buffer limit plus allowance");
    }
}
