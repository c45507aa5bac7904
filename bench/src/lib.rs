//! Shared plumbing for the benchmark programs in `src/bin/`: command-line flags, the server and
//! runtime every benchmark uses, CPU time and peak memory of this process, latency percentiles,
//! and the JSON result each benchmark writes (merged by `bench-report`).
//!
//! Every benchmark is a program of its own (`cargo run --release -p durable-streams-bench --bin
//! <name> -- --help`), so each can run alone; `./build.sh bench` runs them all.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use durable_streams_test_harness::{ServerKind, ServerOptions, TestServer};
use serde_json::{Value, json};

/// Written into every result, so a result file says what it ran against.
pub const SERVER: &str = "electric durable-streams-server 0.1.5 (--durability memory)";

/// Prints `problem` prefixed with the benchmark's name and exits with status 1.
pub fn fail(bench: &str, problem: impl Display) -> ! {
    eprintln!("{bench}: {problem}");
    std::process::exit(1)
}

/// `--name value` flags. Every benchmark accepts `--json PATH` (where to write its result) and
/// `--help`.
pub struct Flags {
    bench: &'static str,
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses the process arguments; `known` lists the accepted flags (without `--`) with their
    /// help text. Exits with status 2 on an unknown flag or a missing value.
    pub fn parse(bench: &'static str, about: &str, known: &[(&str, &str)]) -> Flags {
        let usage = || {
            let mut text = format!("{bench}: {about}\n\nOptions:\n");
            for (name, help) in known
                .iter()
                .chain(&[("json", "PATH: write the result here")])
            {
                text.push_str(&format!("  --{name:<14} {help}\n"));
            }
            text
        };
        let mut values = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                print!("{}", usage());
                std::process::exit(0);
            }
            let name = arg.strip_prefix("--").unwrap_or("");
            if name != "json" && !known.iter().any(|(k, _)| *k == name) {
                eprintln!("{bench}: unknown argument {arg:?}\n\n{}", usage());
                std::process::exit(2);
            }
            let Some(value) = args.next() else {
                eprintln!("{bench}: {arg} needs a value");
                std::process::exit(2);
            };
            values.insert(name.to_string(), value);
        }
        Flags { bench, values }
    }

    /// The flag's value parsed as `T`, or `default` when absent. Exits on a malformed value.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> T
    where
        T::Err: Display,
    {
        match self.values.get(name) {
            None => default,
            Some(text) => text.parse().unwrap_or_else(|e| {
                eprintln!("{}: --{name} {text:?}: {e}", self.bench);
                std::process::exit(2)
            }),
        }
    }

    /// The flag's raw value.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Like [`Flags::get`], and the value must be at least 1.
    pub fn positive(&self, name: &str, default: usize) -> usize {
        let value = self.get(name, default);
        if value == 0 {
            eprintln!("{}: --{name} must be at least 1", self.bench);
            std::process::exit(2);
        }
        value
    }
}

/// Starts Electric's server in memory mode (no fsync), as every benchmark uses. The server is
/// a separate process, so its CPU time is not counted as the client's.
pub fn start_server(bench: &str) -> TestServer {
    TestServer::start_with(
        ServerKind::Electric,
        &ServerOptions {
            durability_memory: true,
            ..ServerOptions::default()
        },
    )
    .unwrap_or_else(|e| fail(bench, format!("cannot start Electric's server: {e}")))
}

/// The Tokio runtime the benchmarks run the client on: two workers, matching the two cores of
/// the reference machine (and the C ABI's default runtime).
pub fn runtime(bench: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Named so that profiles (`perf report --comm`) can tell them from the server's threads.
        .thread_name("client-worker")
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(bench, format!("cannot start the Tokio runtime: {e}")))
}

/// Runs `work` as a task on `rt`'s worker threads (where application code runs in a Tokio
/// program) and waits for it; `block_on` alone would run it on the main thread and add a thread
/// hop to every I/O wake-up. A panic in the task ends the benchmark with its message.
pub fn run_on<T: Send + 'static>(
    bench: &str,
    rt: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    rt.block_on(rt.spawn(work))
        .unwrap_or_else(|e| fail(bench, format!("the benchmark task failed: {e}")))
}

/// User + system CPU time of this process (all threads) so far.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_usec).unwrap_or(0) * 1000,
        )
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A field of `/proc/self/status` in bytes (`VmHWM`: peak RSS; `VmRSS`: current RSS).
pub fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field) && line[field.len()..].starts_with(':'))?;
    let kib: u64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Latency samples in nanoseconds; percentiles by nearest rank (exact, no bucketing).
#[derive(Default)]
pub struct Samples {
    ns: Vec<u64>,
    sorted: bool,
}

impl Samples {
    /// Room for `n` samples, so recording never allocates during a measurement.
    pub fn with_capacity(n: usize) -> Samples {
        Samples {
            ns: Vec::with_capacity(n),
            sorted: false,
        }
    }

    /// Records one sample.
    pub fn record(&mut self, sample: Duration) {
        self.ns
            .push(u64::try_from(sample.as_nanos()).unwrap_or(u64::MAX));
        self.sorted = false;
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.ns.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.ns.is_empty()
    }

    /// The `p`-th percentile (0 < p <= 100) in microseconds; 0 without samples.
    pub fn percentile_us(&mut self, p: f64) -> f64 {
        if self.ns.is_empty() {
            return 0.0;
        }
        if !self.sorted {
            self.ns.sort_unstable();
            self.sorted = true;
        }
        // The epsilon keeps 99.9% of 1000 at rank 999 despite floating-point rounding.
        let rank = ((p / 100.0) * self.ns.len() as f64 - 1e-9).ceil() as usize;
        self.ns[rank.clamp(1, self.ns.len()) - 1] as f64 / 1000.0
    }

    /// Mean in microseconds.
    pub fn mean_us(&self) -> f64 {
        if self.ns.is_empty() {
            return 0.0;
        }
        self.ns.iter().map(|&n| n as f64).sum::<f64>() / self.ns.len() as f64 / 1000.0
    }

    /// `p50_us`, `p99_us`, `p999_us`, `mean_us`, `max_us` and `samples` as JSON fields.
    pub fn summary(&mut self) -> Value {
        json!({
            "p50_us": self.percentile_us(50.0),
            "p99_us": self.percentile_us(99.0),
            "p999_us": self.percentile_us(99.9),
            "max_us": self.percentile_us(100.0),
            "mean_us": self.mean_us(),
            "samples": self.len(),
        })
    }
}

/// The median of `values` (the upper one for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Prints the human-readable line and writes `result` (plus the server description) to the
/// `--json` path if one was given. `result` must be a JSON object with at least `benchmark`,
/// `scenario` and `layer` (see `bench/README.md` for the schema).
pub fn emit(flags: &Flags, line: &str, mut result: Value) {
    println!("{line}");
    if let Some(object) = result.as_object_mut() {
        object
            .entry("server")
            .or_insert_with(|| Value::from(SERVER));
    }
    if let Some(path) = flags.str("json") {
        let text = serde_json::to_string_pretty(&result)
            .unwrap_or_else(|e| fail(flags.bench, format!("cannot serialise the result: {e}")));
        if let Err(e) = std::fs::write(path, text + "\n") {
            fail(flags.bench, format!("cannot write {path}: {e}"));
        }
    }
}

/// Like [`emit`] for a benchmark with several results: prints every line and writes them as one
/// JSON array.
pub fn emit_all(flags: &Flags, results: Vec<(String, Value)>) {
    let mut values = Vec::new();
    for (line, mut result) in results {
        println!("{line}");
        if let Some(object) = result.as_object_mut() {
            object
                .entry("server")
                .or_insert_with(|| Value::from(SERVER));
        }
        values.push(result);
    }
    if let Some(path) = flags.str("json") {
        let text = serde_json::to_string_pretty(&values)
            .unwrap_or_else(|e| fail(flags.bench, format!("cannot serialise the results: {e}")));
        if let Err(e) = std::fs::write(path, text + "\n") {
            fail(flags.bench, format!("cannot write {path}: {e}"));
        }
    }
}

/// `base` with the fields of `extra` added (both JSON objects; `extra` wins on a clash).
pub fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(object), Value::Object(more)) = (base.as_object_mut(), extra) {
        object.extend(more);
    }
    base
}

/// A thousands-separated integer, for the human-readable lines (`1234567` → `1,234,567`).
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples = Samples::with_capacity(1000);
        for i in 1..=1000 {
            samples.record(Duration::from_micros(i));
        }
        assert_eq!(samples.percentile_us(50.0), 500.0);
        assert_eq!(samples.percentile_us(99.0), 990.0);
        assert_eq!(samples.percentile_us(99.9), 999.0);
        assert_eq!(samples.percentile_us(100.0), 1000.0);
    }

    #[test]
    fn medians_and_thousands() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(12.0), "12");
    }
}
