//! Producer throughput: N messages of S bytes through one idempotent producer into Electric's
//! server in memory mode. Reports messages/s, MB/s and the client's CPU time per message
//! (user + system time of this process; the server runs in its own process).
//!
//! Usage: producer-throughput [--messages N] [--size BYTES] [--producers P] [--json PATH]

use std::time::{Duration, Instant};

use durable_streams_core::{Client, CreateOptions, ErrorKind, ProducerOptions};
use durable_streams_test_harness::{ServerKind, ServerOptions, TestServer};

struct Args {
    messages: usize,
    size: usize,
    producers: usize,
    json: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        messages: 1_000_000,
        size: 100,
        producers: 1,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--messages" => {
                args.messages = value()?.parse().map_err(|e| format!("--messages: {e}"))?
            }
            "--size" => args.size = value()?.parse().map_err(|e| format!("--size: {e}"))?,
            "--producers" => {
                args.producers = value()?.parse().map_err(|e| format!("--producers: {e}"))?
            }
            "--json" => args.json = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.producers == 0 || args.messages == 0 {
        return Err("--messages and --producers must be at least 1".into());
    }
    Ok(args)
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("producer-throughput: {problem}");
            std::process::exit(2);
        }
    };
    let server = TestServer::start_with(
        ServerKind::Electric,
        &ServerOptions {
            durability_memory: true,
            ..ServerOptions::default()
        },
    )
    .unwrap_or_else(|e| {
        eprintln!("cannot start the server: {e}");
        std::process::exit(1);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        });
    let result = runtime.block_on(run(&server, &args));
    match result {
        Ok(report) => {
            println!("{report}");
            if let Some(path) = &args.json {
                if let Err(e) = std::fs::write(path, report.to_json()) {
                    eprintln!("cannot write {path}: {e}");
                    std::process::exit(1);
                }
            }
        }
        Err(e) => {
            eprintln!("producer-throughput failed: {e}");
            std::process::exit(1);
        }
    }
}

struct Report {
    messages: usize,
    size: usize,
    producers: usize,
    elapsed: Duration,
    cpu: Duration,
    batches: u64,
}

impl Report {
    fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
    fn megabytes_per_second(&self) -> f64 {
        (self.messages * self.size) as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
    fn cpu_per_message_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.messages as f64
    }
    fn to_json(&self) -> String {
        serde_json::json!({
            "benchmark": "producer-throughput",
            "layer": "rust-core",
            "server": "electric (memory)",
            "messages": self.messages,
            "message_bytes": self.size,
            "producers": self.producers,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "messages_per_s": self.messages_per_second(),
            "mb_per_s": self.megabytes_per_second(),
            "client_cpu_us_per_message": self.cpu_per_message_us(),
            "batches": self.batches,
        })
        .to_string()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "producer {}x{} B, {} producer(s): {:.0} msg/s, {:.1} MB/s, {:.3} us CPU/msg, {} batches, {:.2} s",
            self.messages,
            self.size,
            self.producers,
            self.messages_per_second(),
            self.megabytes_per_second(),
            self.cpu_per_message_us(),
            self.batches,
            self.elapsed.as_secs_f64()
        )
    }
}

async fn run(server: &TestServer, args: &Args) -> Result<Report, durable_streams_core::Error> {
    let client = Client::new()?;
    let mut streams = Vec::new();
    for p in 0..args.producers {
        let stream = client.stream(&server.stream_url(&format!("bench-producer-{p}")))?;
        stream
            .create(CreateOptions::new().content_type("application/octet-stream"))
            .await?;
        streams.push(stream);
    }
    let payload = vec![b'x'; args.size];
    let per_producer = args.messages / args.producers;
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (p, stream) in streams.into_iter().enumerate() {
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let producer = stream.producer(format!("bench-{p}"), ProducerOptions::default())?;
            for _ in 0..per_producer {
                match producer.try_append(&payload) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::BufferFull => {
                        producer.append(&payload).await?
                    }
                    Err(e) => return Err(e),
                }
            }
            producer.flush().await?;
            Ok::<u64, durable_streams_core::Error>(producer.next_seq())
        }));
    }
    let mut batches = 0;
    for task in tasks {
        batches += task
            .await
            .map_err(|e| durable_streams_core::Error::new(ErrorKind::Network, e.to_string()))??;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time() - cpu_before;
    Ok(Report {
        messages: per_producer * args.producers,
        size: args.size,
        producers: args.producers,
        elapsed,
        cpu,
        batches,
    })
}
