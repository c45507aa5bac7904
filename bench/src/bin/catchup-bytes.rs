//! Catch-up read of a large byte stream: `--mib` MiB (default 1024 = 1 GiB) written untimed by a
//! producer in 1 MiB messages, then read from the beginning in catch-up mode (`LiveMode::Off`).
//! Reports MB/s and client CPU per MB of the median of `--runs` reads.
//!
//! The stream holds a known pattern (byte at position p is p mod 251), and every chunk's first
//! and last byte and the total length are checked, so a read that skips, repeats or reorders
//! data fails instead of looking fast. The checks are O(1) per chunk.

use std::time::{Duration, Instant};

use durable_streams_bench::{
    Flags, cpu_time, emit, fail, median, proc_status_bytes, run_on, runtime, start_server,
    thousands,
};
use durable_streams_core::{
    Client, CreateOptions, Error, ErrorKind, ProducerOptions, ReadOptions, Stream,
};
use serde_json::json;

const BENCH: &str = "catchup-bytes";
const MIB: usize = 1024 * 1024;
const PERIOD: usize = 251;

struct Read {
    bytes: usize,
    chunks: usize,
    elapsed: Duration,
    cpu: Duration,
}

fn main() {
    let flags = Flags::parse(
        BENCH,
        "catch-up read of a large byte stream",
        &[
            ("mib", "N: stream size in MiB (default 1024)"),
            (
                "runs",
                "R: measured full reads; the median is reported (default 3)",
            ),
        ],
    );
    let mib = flags.positive("mib", 1024);
    let runs = flags.positive("runs", 3);
    let total = mib * MIB;

    let server = start_server(BENCH);
    let rt = runtime(BENCH);
    let url = server.stream_url("catchup-bytes");
    let (reads, write_s) = run_on(BENCH, &rt, async move {
        let client = Client::new()?;
        let stream = client.stream(&url)?;
        let write_s = write_pattern(&stream, mib).await?;
        // Warm-up: a partial read (connection, allocator, server caches).
        read(&stream, total, Some(total / 8)).await?;
        let mut reads = Vec::new();
        for _ in 0..runs {
            reads.push(read(&stream, total, None).await?);
        }
        Ok::<_, Error>((reads, write_s))
    })
    .unwrap_or_else(|e| fail(BENCH, e));

    let rates: Vec<f64> = reads
        .iter()
        .map(|r| r.bytes as f64 / 1e6 / r.elapsed.as_secs_f64())
        .collect();
    let mid = median(&rates);
    let chosen = reads
        .iter()
        .zip(&rates)
        .find(|(_, rate)| **rate == mid)
        .map(|(r, _)| r)
        .unwrap_or(&reads[0]);
    let cpu_us_per_mb = chosen.cpu.as_secs_f64() * 1e6 / (chosen.bytes as f64 / 1e6);
    let peak_rss_mib = proc_status_bytes("VmHWM").map_or(0.0, |b| b as f64 / 1048576.0);
    let line = format!(
        "catchup-bytes [rust-core] {mib} MiB in {} chunks: {mid:.0} MB/s, {cpu_us_per_mb:.0} us CPU/MB, {:.2} s (median of {runs}; range {:.0}-{:.0} MB/s; written in {write_s:.1} s untimed)",
        thousands(chosen.chunks as f64),
        chosen.elapsed.as_secs_f64(),
        rates.iter().copied().fold(f64::INFINITY, f64::min),
        rates.iter().copied().fold(0.0, f64::max),
    );
    emit(
        &flags,
        &line,
        json!({
            "benchmark": BENCH,
            "scenario": format!("{mib}MiB"),
            "title": format!("catch-up read {mib} MiB byte stream"),
            "layer": "rust-core",
            "bytes": total,
            "chunks": chosen.chunks,
            "runs": runs,
            "elapsed_s": chosen.elapsed.as_secs_f64(),
            "mb_per_s": mid,
            "mb_per_s_runs": rates,
            "cpu_us_per_mb": cpu_us_per_mb,
            "peak_rss_mib": peak_rss_mib,
            "write_s": write_s,
        }),
    );
}

/// Writes `mib` 1 MiB messages of the pattern through a producer; returns the seconds taken.
async fn write_pattern(stream: &Stream, mib: usize) -> Result<f64, Error> {
    stream
        .create(CreateOptions::new().content_type("application/octet-stream"))
        .await?;
    let started = Instant::now();
    let pattern: Vec<u8> = (0..MIB + PERIOD).map(|i| (i % PERIOD) as u8).collect();
    let producer = stream.producer("bench-writer", ProducerOptions::default())?;
    for i in 0..mib {
        let start = (i * MIB) % PERIOD;
        producer.append(&pattern[start..start + MIB]).await?;
    }
    producer.flush().await?;
    Ok(started.elapsed().as_secs_f64())
}

/// Reads the stream from the beginning (all of it, or until `stop_after` bytes), checking the
/// pattern at every chunk's ends and the total.
async fn read(stream: &Stream, total: usize, stop_after: Option<usize>) -> Result<Read, Error> {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut session = stream.read(ReadOptions::new());
    let (mut bytes, mut chunks) = (0usize, 0usize);
    while let Some(chunk) = session.next_chunk().await? {
        let data = chunk.data();
        if let (Some(&first), Some(&last)) = (data.first(), data.last()) {
            let end = bytes + data.len() - 1;
            if first as usize != bytes % PERIOD || last as usize != end % PERIOD {
                return Err(corrupt(format!(
                    "the chunk at byte {bytes} ({} bytes) does not hold the written pattern",
                    data.len()
                )));
            }
        }
        bytes += data.len();
        chunks += 1;
        if stop_after.is_some_and(|limit| bytes >= limit) {
            return Ok(Read {
                bytes,
                chunks,
                elapsed: started.elapsed(),
                cpu: cpu_time() - cpu_before,
            });
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time() - cpu_before;
    if bytes != total {
        return Err(corrupt(format!("read {bytes} bytes, expected {total}")));
    }
    Ok(Read {
        bytes,
        chunks,
        elapsed,
        cpu,
    })
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorKind::Parse, message)
}
