//! Single-append latency: plain `Stream::append` of S bytes, one at a time (each awaited before
//! the next), so every sample is one full HTTP round trip through the client: p50/p99/p999.
//! Also reports appends/s and client CPU per append. A warm-up opens the connection and settles
//! the allocator before sampling.

use std::time::Instant;

use bytes::Bytes;
use durable_streams_bench::{
    Flags, Samples, cpu_time, emit, fail, merged, run_on, runtime, start_server,
};
use durable_streams_core::{Client, CreateOptions, Error};
use serde_json::json;

const BENCH: &str = "append-latency";

fn main() {
    let flags = Flags::parse(
        BENCH,
        "latency of plain appends, one at a time",
        &[
            ("appends", "N: measured appends (default 10000)"),
            ("warmup", "N: appends before measuring (default 1000)"),
            ("size", "BYTES: append size (default 100)"),
        ],
    );
    let appends = flags.positive("appends", 10_000);
    let warmup = flags.get("warmup", 1_000usize);
    let size = flags.positive("size", 100);

    let server = start_server(BENCH);
    let rt = runtime(BENCH);
    let url = server.stream_url("append-latency");
    let (mut samples, elapsed, cpu) = run_on(BENCH, &rt, async move {
        let client = Client::new()?;
        let stream = client.stream(&url)?;
        stream
            .create(CreateOptions::new().content_type("application/octet-stream"))
            .await?;
        // Bytes clones share one buffer, so the loop measures the client, not a memcpy.
        let payload = Bytes::from(vec![b'x'; size]);
        for _ in 0..warmup {
            stream.append(payload.clone()).await?;
        }
        let mut samples = Samples::with_capacity(appends);
        let cpu_before = cpu_time();
        let started = Instant::now();
        for _ in 0..appends {
            let sent = Instant::now();
            stream.append(payload.clone()).await?;
            samples.record(sent.elapsed());
        }
        let elapsed = started.elapsed();
        let cpu = cpu_time() - cpu_before;
        // Every append must have landed: the tail offset moved by exactly what we wrote.
        let info = stream.head().await?;
        let mut read = stream.read(Default::default());
        let mut total = 0usize;
        while let Some(chunk) = read.next_chunk().await? {
            total += chunk.data().len();
        }
        if total != (warmup + appends) * size {
            return Err(Error::new(
                durable_streams_core::ErrorKind::Parse,
                format!(
                    "read back {total} bytes, expected {} (tail {})",
                    (warmup + appends) * size,
                    info.next_offset
                ),
            ));
        }
        Ok::<_, Error>((samples, elapsed, cpu))
    })
    .unwrap_or_else(|e| fail(BENCH, e));

    let per_s = appends as f64 / elapsed.as_secs_f64();
    let cpu_us = cpu.as_secs_f64() * 1e6 / appends as f64;
    let line = format!(
        "append-latency [rust-core] {appends} x {size} B one at a time: p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, {per_s:.0} appends/s, {cpu_us:.1} us CPU/append",
        samples.percentile_us(50.0),
        samples.percentile_us(99.0),
        samples.percentile_us(99.9),
    );
    let result = json!({
        "benchmark": BENCH,
        "scenario": format!("{size}B"),
        "title": format!("single append {size} B (one at a time)"),
        "layer": "rust-core",
        "appends": appends,
        "warmup": warmup,
        "message_bytes": size,
        "messages_per_s": per_s,
        "cpu_us_per_message": cpu_us,
    });
    emit(&flags, &line, merged(result, samples.summary()));
}
