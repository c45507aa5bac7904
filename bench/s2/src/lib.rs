//! What every S2 benchmark program shares: the workload flags and the result records (the C,
//! Node and .NET programs write the same JSON fields; `s2-bench-report` merges them). See
//! `bench/s2/README.md`.

use durable_streams_bench::{Flags, Samples, fail, median, thousands};
use serde_json::{Value, json};

/// Written into every result.
pub const SERVER: &str = "s2 lite (s2-cli 0.43.4, in memory)";

/// Record sizes and counts, run count and latency samples, and the lite to run against.
pub struct Workload {
    /// The lite endpoint (both APIs), e.g. `http://127.0.0.1:4566`.
    pub endpoint: String,
    /// Records of 100 B per producer run.
    pub small_records: usize,
    /// Records of `large_bytes` per producer run.
    pub large_records: usize,
    /// The large record size.
    pub large_bytes: usize,
    /// Measured runs (after one warm-up of a tenth of the records); the median is reported.
    pub runs: usize,
    /// Append-session acknowledgements measured (after a tenth as many warm-up ones).
    pub latency_samples: usize,
}

impl Workload {
    /// The flags every layer's program accepts.
    pub const FLAGS: &'static [(&'static str, &'static str)] = &[
        (
            "endpoint",
            "URL: the s2 lite to run against (required; both APIs)",
        ),
        (
            "small-records",
            "N: 100 B records per producer run (default 200000)",
        ),
        (
            "large-records",
            "N: large records per producer run (default 20000)",
        ),
        ("large-bytes", "BYTES: the large record size (default 8192)"),
        (
            "runs",
            "R: measured runs; the median is reported (default 3)",
        ),
        (
            "latency-samples",
            "N: append-session acknowledgements measured (default 2000)",
        ),
    ];

    /// From parsed flags; exits when `--endpoint` is missing.
    pub fn from_flags(flags: &Flags) -> Workload {
        let endpoint = flags
            .str("endpoint")
            .unwrap_or_else(|| fail("s2 bench", "--endpoint is required"))
            .to_string();
        Workload {
            endpoint,
            small_records: flags.positive("small-records", 200_000),
            large_records: flags.positive("large-records", 20_000),
            large_bytes: flags.positive("large-bytes", 8192),
            runs: flags.positive("runs", 3),
            latency_samples: flags.positive("latency-samples", 2000),
        }
    }

    /// (record size, records per run) for the two producer workloads.
    pub fn sizes(&self) -> [(usize, usize); 2] {
        [
            (100, self.small_records),
            (self.large_bytes, self.large_records),
        ]
    }

    /// The basin a layer's program works in (created fresh, deleted at the end).
    pub fn basin(&self, layer: &str) -> String {
        format!("bench-{layer}")
    }
}

fn mib_per_s(records: usize, size: usize, seconds: f64) -> f64 {
    records as f64 * size as f64 / (1024.0 * 1024.0) / seconds
}

/// A throughput result from (elapsed s, CPU s) per run: the median run by elapsed time.
fn throughput(
    benchmark: &str,
    verb: &str,
    layer: &str,
    size: usize,
    records: usize,
    runs: &[(f64, f64)],
) -> (String, Value) {
    let elapsed = median(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
    let cpu = runs
        .iter()
        .find(|r| r.0 == elapsed)
        .map(|r| r.1)
        .unwrap_or(0.0);
    let per_s = records as f64 / elapsed;
    let line = format!(
        "{layer:<11} {benchmark:<9} {size:>5} B: {} records/s, {:.1} MiB/s, {:.2} µs CPU/record ({verb})",
        thousands(per_s),
        mib_per_s(records, size, elapsed),
        cpu * 1e6 / records as f64,
    );
    let result = json!({
        "suite": "s2",
        "benchmark": benchmark,
        "scenario": format!("{records}x{size}B"),
        "layer": layer,
        "record_bytes": size,
        "records": records,
        "records_per_s": per_s,
        "mib_per_s": mib_per_s(records, size, elapsed),
        "cpu_us_per_record": cpu * 1e6 / records as f64,
        "runs_s": runs.iter().map(|r| r.0).collect::<Vec<_>>(),
        "server": SERVER,
    });
    (line, result)
}

/// The producer result of a layer.
pub fn producer_result(
    layer: &str,
    size: usize,
    records: usize,
    runs: &[(f64, f64)],
) -> (String, Value) {
    throughput("producer", "written", layer, size, records, runs)
}

/// The catch-up read result of a layer.
pub fn read_result(
    layer: &str,
    size: usize,
    records: usize,
    runs: &[(f64, f64)],
) -> (String, Value) {
    throughput("catch-up", "read", layer, size, records, runs)
}

/// The append-session acknowledgement latency result of a layer.
pub fn latency_result(layer: &str, samples: &mut Samples) -> (String, Value) {
    let line = format!(
        "{layer:<11} ack latency 100 B: p50 {:.0} µs, p99 {:.0} µs ({} samples)",
        samples.percentile_us(50.0),
        samples.percentile_us(99.0),
        samples.len()
    );
    let mut result = json!({
        "suite": "s2",
        "benchmark": "append-latency",
        "scenario": "1x100B",
        "layer": layer,
        "record_bytes": 100,
        "server": SERVER,
    });
    if let (Some(object), Value::Object(summary)) = (result.as_object_mut(), samples.summary()) {
        object.extend(summary);
    }
    (line, result)
}
