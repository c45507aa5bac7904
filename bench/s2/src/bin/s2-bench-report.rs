//! Merges the S2 benchmark results (`<layer>.json` arrays written by each layer's program) into
//! one table (Markdown), checks the targets and writes everything as JSON.
//!
//! Targets: the .NET package at least 2x S2's TypeScript SDK in records/s, within 15% of
//! s2-sdk used directly from Rust, and 0 managed bytes allocated per record on the producer's
//! span path.

use std::path::Path;

use durable_streams_bench::{Flags, fail, thousands};
use serde_json::{Value, json};

const BENCH: &str = "s2-bench-report";
const LAYERS: [(&str, &str); 5] = [
    ("s2-sdk", "s2-sdk (Rust)"),
    ("c-abi", "C ABI"),
    ("dotnet", ".NET S2.StreamStore (span submits)"),
    ("dotnet-appendasync", ".NET AppendAsync (default API)"),
    ("typescript", "TypeScript SDK"),
];

fn main() {
    let flags = Flags::parse(
        BENCH,
        "merge the S2 benchmark results, check the targets",
        &[
            ("results", "DIR: the <layer>.json files"),
            ("out-json", "PATH: every result and check"),
            ("out-md", "PATH: the table"),
            ("started-at", "UNIX SECONDS: when the run started"),
        ],
    );
    let dir = flags
        .str("results")
        .unwrap_or_else(|| fail(BENCH, "--results is required"));
    let results = load(Path::new(dir));
    if results.is_empty() {
        fail(BENCH, format!("no results in {dir}"));
    }
    let checks = evaluate(&results);
    let table = render(&results, &checks);
    println!("{table}");
    if let Some(path) = flags.str("out-md") {
        write(path, &table);
    }
    if let Some(path) = flags.str("out-json") {
        let started: u64 = flags.get("started-at", 0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let document = json!({
            "started_at_unix": started,
            "duration_s": now.saturating_sub(started),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "results": results,
            "checks": checks,
        });
        let text = serde_json::to_string_pretty(&document)
            .unwrap_or_else(|e| fail(BENCH, format!("cannot serialise: {e}")));
        write(path, &(text + "\n"));
    }
}

fn write(path: &str, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        fail(BENCH, format!("cannot write {path}: {e}"));
    }
}

fn load(dir: &Path) -> Vec<Value> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| fail(BENCH, format!("cannot list {}: {e}", dir.display())));
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut results = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| fail(BENCH, format!("cannot read {}: {e}", path.display())));
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => results.extend(items),
            Ok(item @ Value::Object(_)) => results.push(item),
            Ok(_) | Err(_) => fail(
                BENCH,
                format!("{} is not a JSON result or array", path.display()),
            ),
        }
    }
    results
}

fn find<'a>(results: &'a [Value], layer: &str, benchmark: &str, size: u64) -> Option<&'a Value> {
    results.iter().find(|r| {
        r["layer"] == layer
            && r["benchmark"] == benchmark
            && r["record_bytes"].as_u64() == Some(size)
    })
}

/// The throughput rows: (benchmark, record size) in table order.
fn rows(results: &[Value]) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = Vec::new();
    for r in results {
        let (Some(benchmark), Some(size)) = (r["benchmark"].as_str(), r["record_bytes"].as_u64())
        else {
            continue;
        };
        if benchmark != "append-latency" && !rows.iter().any(|(b, s)| b == benchmark && *s == size)
        {
            rows.push((benchmark.to_string(), size));
        }
    }
    rows.sort_by_key(|a| (a.0 != "producer", a.1));
    rows
}

fn check(name: String, measured: Option<f64>, target: f64, at_least: bool) -> Value {
    let status = match measured {
        None => "PENDING",
        Some(m) if (at_least && m >= target) || (!at_least && m <= target) => "PASS",
        Some(_) => "MISS",
    };
    json!({
        "check": name,
        "measured": measured,
        "target": target,
        "comparison": if at_least { ">=" } else { "<=" },
        "status": status,
    })
}

fn evaluate(results: &[Value]) -> Vec<Value> {
    let mut checks = Vec::new();
    let rate = |layer: &str, benchmark: &str, size: u64| {
        find(results, layer, benchmark, size).and_then(|r| r["records_per_s"].as_f64())
    };
    for (benchmark, size) in rows(results) {
        let dotnet = rate("dotnet", &benchmark, size);
        let ratio = |other: Option<f64>| dotnet.zip(other).map(|(d, o)| d / o);
        checks.push(check(
            format!("{benchmark} {size} B: .NET / TypeScript SDK (records/s)"),
            ratio(rate("typescript", &benchmark, size)),
            2.0,
            true,
        ));
        checks.push(check(
            format!("{benchmark} {size} B: .NET / s2-sdk (records/s)"),
            ratio(rate("s2-sdk", &benchmark, size)),
            0.85,
            true,
        ));
        if benchmark == "producer" {
            checks.push(check(
                format!("producer {size} B: .NET managed bytes allocated per record"),
                find(results, "dotnet", "producer", size)
                    .and_then(|r| r["alloc_bytes_per_record"].as_f64()),
                0.0,
                false,
            ));
        }
    }
    checks
}

/// The cell of a row a layer has no result for: "pending" when the layer did not run at all,
/// "–" when it ran but does not measure this row (the default-API producer column).
fn missing(results: &[Value], layer: &str) -> String {
    if results.iter().any(|r| r["layer"] == layer) {
        "–".to_string()
    } else {
        "pending".to_string()
    }
}

fn render(results: &[Value], checks: &[Value]) -> String {
    let mut out = String::from("| workload |");
    for (_, title) in LAYERS {
        out.push_str(&format!(" {title} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(LAYERS.len()));
    out.push('\n');
    for (benchmark, size) in rows(results) {
        let records = find(results, "s2-sdk", &benchmark, size)
            .or_else(|| {
                results
                    .iter()
                    .find(|r| r["benchmark"] == benchmark.as_str())
            })
            .and_then(|r| r["records"].as_u64())
            .unwrap_or(0);
        out.push_str(&format!(
            "| {benchmark} {} × {size} B |",
            thousands(records as f64)
        ));
        for (layer, _) in LAYERS {
            let cell = find(results, layer, &benchmark, size).map_or_else(
                || missing(results, layer),
                |r| {
                    let mut cell = format!(
                        "{} rec/s, {:.1} MiB/s, {:.2} µs CPU/rec",
                        thousands(r["records_per_s"].as_f64().unwrap_or(0.0)),
                        r["mib_per_s"].as_f64().unwrap_or(0.0),
                        r["cpu_us_per_record"].as_f64().unwrap_or(0.0)
                    );
                    if let Some(bytes) = r["alloc_bytes_per_record"].as_f64() {
                        cell.push_str(&format!(", {bytes:.0} B alloc/rec"));
                    }
                    cell
                },
            );
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str("| append-session ack latency, 1 × 100 B |");
    for (layer, _) in LAYERS {
        let cell = find(results, layer, "append-latency", 100).map_or_else(
            || missing(results, layer),
            |r| {
                format!(
                    "p50 {:.0} µs, p99 {:.0} µs",
                    r["p50_us"].as_f64().unwrap_or(0.0),
                    r["p99_us"].as_f64().unwrap_or(0.0)
                )
            },
        );
        out.push_str(&format!(" {cell} |"));
    }
    out.push_str("\n\n| target | measured | status |\n|---|---|---|\n");
    for c in checks {
        let measured = c["measured"]
            .as_f64()
            .map_or_else(|| "–".to_string(), |m| format!("{m:.2}"));
        out.push_str(&format!(
            "| {} {} {} | {measured} | {} |\n",
            c["check"].as_str().unwrap_or(""),
            c["comparison"].as_str().unwrap_or(""),
            c["target"],
            c["status"].as_str().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(layer: &str, benchmark: &str, size: u64, rate: f64) -> Value {
        json!({"layer": layer, "benchmark": benchmark, "record_bytes": size, "records": 10,
               "records_per_s": rate, "mib_per_s": 1.0, "cpu_us_per_record": 1.0})
    }

    #[test]
    fn dotnet_is_checked_against_typescript_and_the_sdk() {
        let results = vec![
            result("s2-sdk", "producer", 100, 100.0),
            result("typescript", "producer", 100, 40.0),
            result("dotnet", "producer", 100, 90.0),
        ];
        let checks = evaluate(&results);
        let status = |name: &str| {
            checks
                .iter()
                .find(|c| c["check"].as_str().is_some_and(|n| n.contains(name)))
                .map(|c| c["status"].as_str().unwrap_or("").to_string())
        };
        assert_eq!(status("TypeScript").as_deref(), Some("PASS"));
        assert_eq!(status("s2-sdk").as_deref(), Some("PASS"));
        assert_eq!(status("allocated").as_deref(), Some("PENDING"));
    }

    #[test]
    fn a_missing_layer_is_pending_not_a_pass() {
        let results = vec![result("s2-sdk", "catch-up", 100, 100.0)];
        let checks = evaluate(&results);
        assert!(checks.iter().all(|c| c["status"] == "PENDING"));
        let table = render(&results, &checks);
        assert!(table.contains("pending"), "{table}");
    }

    #[test]
    fn a_slow_dotnet_misses() {
        let results = vec![
            result("s2-sdk", "producer", 100, 100.0),
            result("dotnet", "producer", 100, 50.0),
        ];
        let checks = evaluate(&results);
        assert!(checks.iter().any(|c| c["status"] == "MISS"));
    }
}
