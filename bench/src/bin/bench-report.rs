//! Merges benchmark results into one report: prints the table (rows = scenario × layer) with a
//! PASS/MISS per target, writes `latest.json` (every result, machine info, targets) and draws
//! `latest.svg` (throughput of our client's layers next to the TypeScript client).
//!
//! Inputs: every `*.json` in `--results` (what `./build.sh bench` collected this run) and in
//! `--parts` (default `bench/results/parts`): result files dropped there by other steps, e.g. the
//! .NET benchmarks, are merged the same way. A file holds one result object, an array of them,
//! or `{"results": [...]}`; each result needs `benchmark`, `scenario` and `layer` (see
//! `bench/README.md`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use durable_streams_bench::{Flags, fail, thousands};
use serde_json::{Map, Value, json};

const BENCH: &str = "bench-report";

/// Our layers first, then the comparisons; the order of rows within a scenario.
const LAYERS: &[&str] = &[
    "rust-core",
    "c-abi",
    "dotnet",
    "typescript",
    "dotnet-httpclient",
];
const OURS: &[&str] = &["rust-core", "c-abi", "dotnet"];
/// Baselines of the throughput rows (layer, short label): every layer of ours against the
/// TypeScript client, the .NET package also against a plain `HttpClient` doing the same requests.
const COMPARED_WITH: &[(&str, &str)] = &[("typescript", "TS"), ("dotnet-httpclient", "HttpClient")];
/// Benchmarks in table order.
const BENCHMARKS: &[&str] = &[
    "producer-throughput",
    "append-latency",
    "catchup-bytes",
    "catchup-json",
    "live-latency",
    "call-overhead",
    "producer-memory",
];
/// Throughput rows: compared with the baselines (≥ 2×, [`COMPARED_WITH`]) and drawn in the chart.
const THROUGHPUT: &[(&str, &str, &str)] = &[
    ("producer-throughput", "messages_per_s", "msg/s"),
    ("catchup-bytes", "mb_per_s", "MB/s"),
    ("catchup-json", "messages_per_s", "msg/s"),
];

#[derive(Clone, Copy, PartialEq)]
enum Op {
    AtLeast,
    AtMost,
}

/// A target from issue 7, checked against every matching row.
struct Target {
    label: &'static str,
    benchmark: &'static str,
    scenarios: &'static [&'static str],
    layers: &'static [&'static str],
    metric: &'static str,
    op: Op,
    value: f64,
}

const TARGETS: &[Target] = &[
    Target {
        label: ">=1M msg/s",
        benchmark: "producer-throughput",
        scenarios: &["1000000x100B-1p", "1000000x100B-4p"],
        layers: OURS,
        metric: "messages_per_s",
        op: Op::AtLeast,
        value: 1e6,
    },
    Target {
        label: "<=0.5us CPU/msg",
        benchmark: "producer-throughput",
        scenarios: &["1000000x100B-1p", "1000000x100B-4p"],
        layers: OURS,
        metric: "cpu_us_per_message",
        op: Op::AtMost,
        value: 0.5,
    },
    Target {
        label: ">=1 GB/s",
        benchmark: "catchup-bytes",
        scenarios: &[],
        layers: OURS,
        metric: "mb_per_s",
        op: Op::AtLeast,
        value: 1000.0,
    },
    Target {
        label: ">=1M msg/s",
        benchmark: "catchup-json",
        scenarios: &[],
        layers: OURS,
        metric: "messages_per_s",
        op: Op::AtLeast,
        value: 1e6,
    },
    Target {
        label: "p50<=1ms",
        benchmark: "live-latency",
        scenarios: &["sse"],
        layers: OURS,
        metric: "p50_us",
        op: Op::AtMost,
        value: 1000.0,
    },
    Target {
        label: "p99<=5ms",
        benchmark: "live-latency",
        scenarios: &["sse"],
        layers: OURS,
        metric: "p99_us",
        op: Op::AtMost,
        value: 5000.0,
    },
    Target {
        label: "<=100ns/call",
        benchmark: "call-overhead",
        scenarios: &[
            "try-append-isolated",
            "try-append-delivering",
            "try-append-full",
            "epoch",
        ],
        layers: &["c-abi", "dotnet"],
        metric: "ns_per_call",
        op: Op::AtMost,
        value: 100.0,
    },
];

/// One evaluated target.
struct Check {
    label: String,
    benchmark: String,
    scenario: String,
    layer: String,
    actual: f64,
    threshold: String,
    pass: bool,
}

fn main() {
    let flags = Flags::parse(
        BENCH,
        "merge benchmark results: table, latest.json, latest.svg",
        &[
            ("results", "DIR: result files of this run (required)"),
            (
                "parts",
                "DIR: extra result files to merge (default bench/results/parts)",
            ),
            ("out-json", "PATH: where to write the merged report"),
            ("out-svg", "PATH: where to draw the chart"),
            (
                "started-at",
                "EPOCH_SECONDS: when the run started (for its duration)",
            ),
            ("load-before", "TEXT: /proc/loadavg when the run started"),
        ],
    );
    let results_dir = PathBuf::from(
        flags
            .str("results")
            .unwrap_or_else(|| fail(BENCH, "--results DIR is required")),
    );
    let parts_dir = PathBuf::from(flags.str("parts").unwrap_or("bench/results/parts"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let started_at: u64 = flags.get("started-at", now);

    let mut results = load_dir(&results_dir, None);
    if parts_dir.is_dir() {
        results.extend(load_dir(&parts_dir, Some(started_at)));
    }
    if results.is_empty() {
        fail(BENCH, format!("no results in {}", results_dir.display()));
    }
    sort(&mut results);
    let checks = evaluate(&results);

    let table = render_table(&results, &checks);
    print!("{table}");

    let report = json!({
        "generated_at": utc(now),
        "duration_s": now.saturating_sub(started_at),
        "machine": machine(flags.str("load-before")),
        "results": results,
        "targets": checks.iter().map(|c| json!({
            "target": c.label,
            "benchmark": c.benchmark,
            "scenario": c.scenario,
            "layer": c.layer,
            "actual": c.actual,
            "threshold": c.threshold,
            "pass": c.pass,
        })).collect::<Vec<_>>(),
        "pending_layers": pending_layers(&results),
    });
    if let Some(path) = flags.str("out-json") {
        let text = serde_json::to_string_pretty(&report)
            .unwrap_or_else(|e| fail(BENCH, format!("cannot serialise the report: {e}")));
        std::fs::write(path, text + "\n")
            .unwrap_or_else(|e| fail(BENCH, format!("cannot write {path}: {e}")));
        println!("wrote {path}");
    }
    if let Some(path) = flags.str("out-svg") {
        std::fs::write(path, render_svg(&results))
            .unwrap_or_else(|e| fail(BENCH, format!("cannot write {path}: {e}")));
        println!("wrote {path}");
    }
}

// ---------------------------------------------------------------- loading

/// Every result in `dir/*.json`. Parts (with `run_started`) that predate the run are merged
/// with a warning, since they may be left over from an earlier run.
fn load_dir(dir: &Path, run_started: Option<u64>) -> Vec<Value> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| fail(BENCH, format!("cannot list {}: {e}", dir.display())));
    let mut paths: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let modified = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    // In the order they were written (the run order of build.sh), which orders the scenarios.
    paths.sort();
    let paths: Vec<PathBuf> = paths.into_iter().map(|(_, p)| p).collect();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| fail(BENCH, format!("cannot read {}: {e}", path.display())));
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| fail(BENCH, format!("{} is not JSON: {e}", path.display())));
        let items = match value {
            Value::Array(items) => items,
            Value::Object(mut object) if object.contains_key("results") => {
                match object.remove("results") {
                    Some(Value::Array(items)) => items,
                    _ => fail(
                        BENCH,
                        format!("{}: \"results\" is not an array", path.display()),
                    ),
                }
            }
            other => vec![other],
        };
        if let Some(started) = run_started {
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            if modified < started {
                eprintln!(
                    "note: {} predates this run ({} s older); merged anyway",
                    path.display(),
                    started - modified
                );
            }
        }
        let source = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for mut item in items {
            let valid = ["benchmark", "scenario", "layer"]
                .iter()
                .all(|k| item.get(k).is_some_and(Value::is_string));
            if !valid {
                eprintln!(
                    "note: skipping a result in {} without benchmark/scenario/layer strings",
                    path.display()
                );
                continue;
            }
            if let Some(object) = item.as_object_mut() {
                object
                    .entry("source")
                    .or_insert_with(|| Value::from(source.clone()));
            }
            out.push(item);
        }
    }
    out
}

fn text<'a>(result: &'a Value, key: &str) -> &'a str {
    result.get(key).and_then(Value::as_str).unwrap_or("")
}

fn number(result: &Value, key: &str) -> Option<f64> {
    result.get(key).and_then(Value::as_f64)
}

fn rank(list: &[&str], item: &str) -> usize {
    list.iter().position(|x| *x == item).unwrap_or(list.len())
}

/// Table order: benchmark, then scenario in order of first appearance, then layer.
fn sort(results: &mut [Value]) {
    let mut first_seen: Vec<(String, String)> = Vec::new();
    for r in results.iter() {
        let key = (
            text(r, "benchmark").to_owned(),
            text(r, "scenario").to_owned(),
        );
        if !first_seen.contains(&key) {
            first_seen.push(key);
        }
    }
    results.sort_by_key(|r| {
        let key = (
            text(r, "benchmark").to_owned(),
            text(r, "scenario").to_owned(),
        );
        (
            rank(BENCHMARKS, text(r, "benchmark")),
            first_seen.iter().position(|k| *k == key).unwrap_or(0),
            rank(LAYERS, text(r, "layer")),
        )
    });
}

// ---------------------------------------------------------------- targets

fn evaluate(results: &[Value]) -> Vec<Check> {
    let mut checks = Vec::new();
    for r in results {
        let (benchmark, scenario, layer) =
            (text(r, "benchmark"), text(r, "scenario"), text(r, "layer"));
        for t in TARGETS {
            let applies = t.benchmark == benchmark
                && (t.scenarios.is_empty() || t.scenarios.contains(&scenario))
                && t.layers.contains(&layer);
            if let (true, Some(actual)) = (applies, number(r, t.metric)) {
                let pass = match t.op {
                    Op::AtLeast => actual >= t.value,
                    Op::AtMost => actual <= t.value,
                };
                checks.push(Check {
                    label: t.label.to_owned(),
                    benchmark: benchmark.to_owned(),
                    scenario: scenario.to_owned(),
                    layer: layer.to_owned(),
                    actual,
                    threshold: format!(
                        "{} {} {}",
                        t.metric,
                        if t.op == Op::AtLeast { ">=" } else { "<=" },
                        t.value
                    ),
                    pass,
                });
            }
        }
        if r.get("within_limit").and_then(Value::as_bool).is_some() {
            let pass = r.get("within_limit").and_then(Value::as_bool) == Some(true);
            checks.push(Check {
                label: "RSS<=limit".into(),
                benchmark: benchmark.to_owned(),
                scenario: scenario.to_owned(),
                layer: layer.to_owned(),
                actual: number(r, "peak_rss_mib").unwrap_or(0.0),
                threshold: format!(
                    "peak_rss_mib <= {:.1}",
                    number(r, "limit_mib").unwrap_or(0.0)
                ),
                pass,
            });
        }
        // At least twice the TypeScript client on every throughput row, and for the .NET
        // package at least twice the plain HttpClient baseline as well.
        if let Some((_, metric, _)) = THROUGHPUT.iter().find(|(b, _, _)| *b == benchmark) {
            for &(baseline, short) in COMPARED_WITH {
                let applies = if baseline == "typescript" {
                    OURS.contains(&layer)
                } else {
                    layer == "dotnet"
                };
                if !applies {
                    continue;
                }
                let other = results.iter().find(|o| {
                    text(o, "benchmark") == benchmark
                        && text(o, "scenario") == scenario
                        && text(o, "layer") == baseline
                });
                if let (Some(ours), Some(theirs)) =
                    (number(r, metric), other.and_then(|t| number(t, metric)))
                {
                    let ratio = if theirs > 0.0 { ours / theirs } else { 0.0 };
                    checks.push(Check {
                        label: format!(">=2x{short} ({ratio:.1}x)"),
                        benchmark: benchmark.to_owned(),
                        scenario: scenario.to_owned(),
                        layer: layer.to_owned(),
                        actual: ratio,
                        threshold: format!("{metric} >= 2 x {baseline}"),
                        pass: ratio >= 2.0,
                    });
                }
            }
        }
    }
    checks
}

/// Comparison layers with no result yet (the .NET rows, until their step drops parts).
fn pending_layers(results: &[Value]) -> Vec<&'static str> {
    let present: BTreeSet<&str> = results.iter().map(|r| text(r, "layer")).collect();
    LAYERS
        .iter()
        .copied()
        .filter(|l| !present.contains(l))
        .collect()
}

// ---------------------------------------------------------------- table

fn fmt_opt(value: Option<f64>, f: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), f)
}

fn cost(r: &Value) -> String {
    if let Some(v) = number(r, "cpu_us_per_message") {
        format!("{v:.3} us CPU/msg")
    } else if let Some(v) = number(r, "cpu_us_per_mb") {
        format!("{v:.0} us CPU/MB")
    } else if let Some(v) = number(r, "ns_per_call") {
        format!("{v:.1} ns/call")
    } else {
        "-".to_owned()
    }
}

/// The title of a (benchmark, scenario) group: the first row's, so layers whose programs word
/// it differently still share one heading.
fn group_title(results: &[Value], benchmark: &str, scenario: &str) -> String {
    results
        .iter()
        .find(|r| text(r, "benchmark") == benchmark && text(r, "scenario") == scenario)
        .and_then(|r| r.get("title").and_then(Value::as_str))
        .map_or_else(|| format!("{benchmark} {scenario}"), str::to_owned)
}

fn render_table(results: &[Value], checks: &[Check]) -> String {
    let header = [
        "scenario",
        "layer",
        "msg/s",
        "MB/s",
        "cost/unit",
        "p50 us",
        "p99 us",
        "p999 us",
        "peak RSS",
        "targets",
    ];
    let mut rows: Vec<[String; 10]> = Vec::new();
    let mut previous_scenario = String::new();
    let mut previous_benchmark = String::new();
    for (i, r) in results.iter().enumerate() {
        let (benchmark, scenario, layer) =
            (text(r, "benchmark"), text(r, "scenario"), text(r, "layer"));
        let title = group_title(results, benchmark, scenario);
        let marks: Vec<String> = checks
            .iter()
            .filter(|c| c.benchmark == benchmark && c.scenario == scenario && c.layer == layer)
            .map(|c| format!("{} {}", c.label, if c.pass { "PASS" } else { "MISS" }))
            .collect();
        let shown_title = if title == previous_scenario && benchmark == previous_benchmark {
            String::new()
        } else {
            title.clone()
        };
        rows.push([
            shown_title,
            layer.to_owned(),
            fmt_opt(number(r, "messages_per_s"), thousands),
            fmt_opt(number(r, "mb_per_s"), |v| format!("{v:.1}")),
            cost(r),
            fmt_opt(number(r, "p50_us"), |v| format!("{v:.1}")),
            fmt_opt(number(r, "p99_us"), |v| format!("{v:.1}")),
            fmt_opt(number(r, "p999_us"), |v| format!("{v:.1}")),
            fmt_opt(number(r, "peak_rss_mib"), |v| format!("{v:.1} MiB")),
            marks.join(", "),
        ]);
        previous_scenario = title;
        previous_benchmark = benchmark.to_owned();
        // The slot for the .NET rows of a compared throughput scenario, until they exist.
        let last_of_scenario = results
            .get(i + 1)
            .is_none_or(|n| text(n, "benchmark") != benchmark || text(n, "scenario") != scenario);
        let compared = THROUGHPUT.iter().any(|(b, _, _)| *b == benchmark);
        if last_of_scenario && compared {
            let missing: Vec<&str> = ["dotnet", "dotnet-httpclient"]
                .into_iter()
                .filter(|l| {
                    !results.iter().any(|o| {
                        text(o, "benchmark") == benchmark
                            && text(o, "scenario") == scenario
                            && text(o, "layer") == *l
                    })
                })
                .collect();
            if !missing.is_empty() {
                let mut row: [String; 10] = Default::default();
                row[1] = missing.join(", ");
                row[2] = "(pending)".into();
                rows.push(row);
            }
        }
    }
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths.iter()).enumerate() {
            let numeric = (2..=8).contains(&i);
            let pad = w.saturating_sub(cell.chars().count());
            if numeric {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
            s.push_str("  ");
        }
        s.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(&header.map(str::to_owned)));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &rows {
        out.push_str(&line(row));
    }
    let passed = checks.iter().filter(|c| c.pass).count();
    let _ = writeln!(
        out,
        "\ntargets: {passed} PASS, {} MISS (a miss does not fail the run)",
        checks.len() - passed
    );
    for c in checks.iter().filter(|c| !c.pass) {
        let _ = writeln!(
            out,
            "  MISS {} {} [{}]: {} (actual {:.3})",
            c.benchmark, c.scenario, c.layer, c.threshold, c.actual
        );
    }
    let pending = pending_layers(results);
    if !pending.is_empty() {
        let _ = writeln!(
            out,
            "layers without results yet: {} (drop their result files into bench/results/parts/)",
            pending.join(", ")
        );
    }
    out
}

// ---------------------------------------------------------------- chart

fn color(layer: &str) -> &'static str {
    match layer {
        "rust-core" => "#2563eb",
        "c-abi" => "#7c3aed",
        "dotnet" => "#059669",
        "typescript" => "#f59e0b",
        "dotnet-httpclient" => "#9ca3af",
        _ => "#6b7280",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One chart group: title, unit, target (if any) and one bar per layer.
type Group<'a> = (String, &'a str, Option<f64>, Vec<(&'a str, f64)>);

/// Horizontal bar groups, one per throughput scenario, each scaled to its own largest bar; the
/// dashed line marks the target where there is one.
fn render_svg(results: &[Value]) -> String {
    const WIDTH: f64 = 860.0;
    const LABEL: f64 = 150.0;
    const BAR_MAX: f64 = 560.0;
    const BAR: f64 = 18.0;
    const GAP: f64 = 4.0;
    let mut groups: Vec<Group> = Vec::new();
    for r in results {
        let (benchmark, scenario, layer) =
            (text(r, "benchmark"), text(r, "scenario"), text(r, "layer"));
        let Some((_, metric, unit)) = THROUGHPUT.iter().find(|(b, _, _)| *b == benchmark) else {
            continue;
        };
        let Some(value) = number(r, metric) else {
            continue;
        };
        let title = group_title(results, benchmark, scenario);
        let target = TARGETS
            .iter()
            .find(|t| {
                t.benchmark == benchmark
                    && t.metric == *metric
                    && t.op == Op::AtLeast
                    && (t.scenarios.is_empty() || t.scenarios.contains(&scenario))
            })
            .map(|t| t.value);
        match groups.iter_mut().find(|g| g.0 == title) {
            Some(group) => group.3.push((layer, value)),
            None => groups.push((title, unit, target, vec![(layer, value)])),
        }
    }
    let mut body = String::new();
    let mut y = 56.0;
    for (title, unit, target, bars) in &groups {
        let max = bars
            .iter()
            .map(|b| b.1)
            .chain(*target)
            .fold(0.0f64, f64::max)
            .max(1e-9);
        let _ = writeln!(
            body,
            r#"<text x="10" y="{:.0}" font-weight="bold">{} ({unit})</text>"#,
            y,
            escape(title)
        );
        y += 8.0;
        let top = y;
        for (layer, value) in bars {
            let w = (value / max * BAR_MAX).max(1.0);
            let label = if *unit == "MB/s" {
                format!("{value:.0}")
            } else {
                thousands(*value)
            };
            let _ = writeln!(
                body,
                r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{layer}</text><rect x="{LABEL:.0}" y="{:.0}" width="{w:.1}" height="{BAR:.0}" fill="{}"/><text x="{:.1}" y="{:.0}">{label}</text>"#,
                LABEL - 8.0,
                y + BAR - 5.0,
                y,
                color(layer),
                LABEL + w + 6.0,
                y + BAR - 5.0,
            );
            y += BAR + GAP;
        }
        if let Some(t) = target {
            let x = LABEL + t / max * BAR_MAX;
            let _ = writeln!(
                body,
                r##"<line x1="{x:.1}" y1="{:.0}" x2="{x:.1}" y2="{:.0}" stroke="#dc2626" stroke-dasharray="4 3"/><text x="{x:.1}" y="{:.0}" fill="#dc2626" font-size="10" text-anchor="middle">target</text>"##,
                top - 2.0,
                y,
                y + 10.0,
            );
            y += 10.0;
        }
        y += 22.0;
    }
    let mut legend = String::new();
    let mut x = 10.0;
    let shown: BTreeSet<&str> = groups
        .iter()
        .flat_map(|g| g.3.iter().map(|b| b.0))
        .collect();
    for layer in LAYERS.iter().filter(|l| shown.contains(*l)) {
        let name = if *layer == "typescript" {
            "typescript (@durable-streams/client)"
        } else {
            layer
        };
        let _ = write!(
            legend,
            r#"<rect x="{x:.0}" y="30" width="12" height="12" fill="{}"/><text x="{:.0}" y="40">{name}</text>"#,
            color(layer),
            x + 16.0
        );
        x += 30.0 + name.len() as f64 * 6.5;
    }
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0}" height="{:.0}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" font-size="15" font-weight="bold">Durable Streams client throughput vs the TypeScript client (Electric server, memory mode, same machine)</text>
{legend}
{body}</svg>
"##,
        y + 10.0
    )
}

// ---------------------------------------------------------------- machine

fn machine(load_before: Option<&str>) -> Value {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown", str::trim)
        .to_owned();
    let meminfo = read("/proc/meminfo");
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut object = Map::new();
    object.insert(
        "cores".into(),
        json!(std::thread::available_parallelism().map_or(0, |n| n.get())),
    );
    object.insert("cpu".into(), json!(model));
    object.insert(
        "memory_gib".into(),
        json!((mem_kib as f64 / 1048576.0 * 10.0).round() / 10.0),
    );
    object.insert(
        "kernel".into(),
        json!(read("/proc/sys/kernel/osrelease").trim()),
    );
    object.insert(
        "loadavg_at_start".into(),
        json!(load_before.map(str::trim).unwrap_or("")),
    );
    object.insert("loadavg_at_end".into(), json!(read("/proc/loadavg").trim()));
    object.insert(
        "note".into(),
        json!("client and server share the machine's cores; other work may have been running"),
    );
    Value::Object(object)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (civil-from-days, no time-zone data needed).
fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_764_030_978), "2025-11-25T00:36:18Z");
    }

    #[test]
    fn typescript_comparison_and_targets_are_checked() {
        let results = vec![
            json!({"benchmark": "producer-throughput", "scenario": "1000000x100B-1p",
                   "layer": "rust-core", "messages_per_s": 4e6, "cpu_us_per_message": 0.1}),
            json!({"benchmark": "producer-throughput", "scenario": "1000000x100B-1p",
                   "layer": "typescript", "messages_per_s": 1e6}),
        ];
        let checks = evaluate(&results);
        assert_eq!(checks.len(), 3);
        assert!(checks.iter().all(|c| c.pass));
        assert!(checks.iter().any(|c| c.label.starts_with(">=2xTS (4.0x)")));
        let svg = render_svg(&results);
        assert!(svg.starts_with("<svg") && svg.contains("typescript"));
    }

    #[test]
    fn dotnet_is_also_compared_with_the_httpclient_baseline() {
        let row = |layer: &str, rate: f64| {
            json!({"benchmark": "catchup-json", "scenario": "1000000msgs", "layer": layer,
                   "messages_per_s": rate})
        };
        let results = vec![
            row("dotnet", 6e6),
            row("typescript", 2e6),
            row("dotnet-httpclient", 4e6),
        ];
        let checks = evaluate(&results);
        let labels: Vec<(&str, &str, bool)> = checks
            .iter()
            .map(|c| (c.layer.as_str(), c.label.as_str(), c.pass))
            .collect();
        assert!(labels.contains(&("dotnet", ">=1M msg/s", true)));
        assert!(labels.contains(&("dotnet", ">=2xTS (3.0x)", true)));
        assert!(labels.contains(&("dotnet", ">=2xHttpClient (1.5x)", false)));
        // The baseline itself is not held to any target.
        assert!(
            !labels
                .iter()
                .any(|(layer, _, _)| *layer == "dotnet-httpclient")
        );
    }
}
