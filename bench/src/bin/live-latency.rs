//! Live delivery latency: the time from starting an append to a live reader in the same process
//! receiving it, over SSE or long-poll, p50/p99/p999.
//!
//! The stream is a JSON stream (the mode `LiveMode::Auto` tails with SSE); the reader is opened
//! with an explicit `LiveMode::Sse` or `LiveMode::LongPoll` from the tail. Appends go one at a
//! time: each waits until the reader has delivered it (and `--gap-us` more, so a long-poll reader
//! is parked again and threads go idle, as between sporadic real messages), so the figures are
//! latency, not queueing. With `--gap-us 0` the path stays hot and figures are lower. The
//! default gap, 300 µs, is the .NET benchmark's, slept exactly as there: both programs idle the
//! same way, so their rows compare (idling longer, e.g. Tokio's 1 ms timer, makes every wake-up
//! dearer on a virtual machine: about 200 µs p50 instead of 150 here). Each message carries its
//! sequence number, and the reader must deliver exactly the next one, so loss or duplication
//! fails. Besides append → delivery, the line reports the part after the append's answer (the
//! delivery alone, often 0: the reader's chunk arrived first).

use std::time::{Duration, Instant};

use bytes::Bytes;
use durable_streams_bench::{Flags, Samples, emit, fail, merged, run_on, runtime, start_server};
use durable_streams_core::{
    AppendOptions, Chunk, Client, CreateOptions, Error, ErrorKind, LiveMode, ReadOptions,
};
use serde_json::json;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::mpsc;

const BENCH: &str = "live-latency";
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    let flags = Flags::parse(
        BENCH,
        "append-to-delivery latency of a live reader",
        &[
            ("mode", "sse | long-poll (default sse)"),
            ("messages", "N: measured messages (default 10000)"),
            ("warmup", "N: messages before measuring (default 500)"),
            (
                "gap-us",
                "US: pause after each delivery before the next append (default 300)",
            ),
            (
                "caller",
                "tasks | threads: await operations in Tokio tasks (default), or start each on the \
                 runtime from plain threads and block for it, as a caller of the C ABI",
            ),
            (
                "workers",
                "N: worker threads of the client's Tokio runtime (default 2, as the C ABI's)",
            ),
        ],
    );
    let mode = match flags.str("mode").unwrap_or("sse") {
        "sse" => LiveMode::Sse,
        "long-poll" => LiveMode::LongPoll,
        other => fail(
            BENCH,
            format!("--mode {other:?}: expected sse or long-poll"),
        ),
    };
    let mode_name = if mode == LiveMode::Sse {
        "sse"
    } else {
        "long-poll"
    };
    let messages = flags.positive("messages", 10_000);
    let warmup = flags.get("warmup", 500usize);
    let gap = Duration::from_micros(flags.get("gap-us", 300u64));

    let server = start_server(BENCH);
    let workers = flags.positive("workers", 2);
    let rt = if workers == 2 {
        runtime(BENCH)
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("client-worker")
            .enable_all()
            .build()
            .unwrap_or_else(|e| fail(BENCH, format!("cannot start the Tokio runtime: {e}")))
    };
    let url = server.stream_url("live-latency");
    let from_threads = match flags.str("caller").unwrap_or("tasks") {
        "tasks" => false,
        "threads" => true,
        other => fail(
            BENCH,
            format!("--caller {other:?}: expected tasks or threads"),
        ),
    };
    let (mut samples, mut after_append) = if from_threads {
        run_from_threads(&rt, url, mode, warmup, messages, gap).unwrap_or_else(|e| fail(BENCH, e))
    } else {
        run_in_tasks(&rt, url, mode, warmup, messages, gap)
    };
    let caller = if from_threads {
        ", called from threads"
    } else {
        ""
    };
    let line = format!(
        "live-latency [rust-core{caller}] {mode_name}, JSON stream, {messages} messages one at a time: p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us; after the append's answer p50 {:.0} us, p99 {:.0} us",
        samples.percentile_us(50.0),
        samples.percentile_us(99.0),
        samples.percentile_us(99.9),
        samples.percentile_us(100.0),
        after_append.percentile_us(50.0),
        after_append.percentile_us(99.0),
    );
    let result = json!({
        "benchmark": BENCH,
        "scenario": mode_name,
        "title": format!("live delivery, {mode_name} (JSON stream)"),
        "layer": "rust-core",
        "mode": mode_name,
        "content_type": "application/json",
        "messages": messages,
        "warmup": warmup,
        "gap_us": gap.as_micros() as u64,
        "workers": workers,
        "caller": if from_threads { "threads" } else { "tasks" },
        "after_append_p50_us": after_append.percentile_us(50.0),
        "after_append_p99_us": after_append.percentile_us(99.0),
    });
    emit(&flags, &line, merged(result, samples.summary()));
}

/// Appender and reader as Tokio tasks. Returns append → delivery and delivery after the
/// append's answer.
fn run_in_tasks(
    rt: &Runtime,
    url: String,
    mode: LiveMode,
    warmup: usize,
    messages: usize,
    gap: Duration,
) -> (Samples, Samples) {
    run_on(BENCH, rt, async move {
        let client = Client::new()?;
        let stream = client.stream(&url)?;
        stream
            .create(CreateOptions::new().content_type("application/json"))
            .await?;
        let tail = stream.head().await?.next_offset;
        let (delivered_tx, mut delivered) = mpsc::unbounded_channel::<(u64, Instant)>();
        let reader_stream = stream.clone();
        let reader = tokio::spawn(async move {
            let mut session = reader_stream.read(ReadOptions::new().offset(tail).live(mode));
            while let Some(chunk) = session.next_chunk().await? {
                // Taken before looking at the messages: delivery is when the chunk arrives.
                let arrived = Instant::now();
                if !forward_messages(&chunk, arrived, |m| delivered_tx.send(m).is_ok())? {
                    return Ok(());
                }
            }
            Ok::<(), Error>(())
        });

        let mut latencies = Latencies::new(messages, warmup);
        let options = AppendOptions::new().content_type("application/json");
        for i in 0..(warmup + messages) as u64 {
            let body = Bytes::from(format!(r#"{{"i":{i}}}"#));
            let sent = Instant::now();
            stream.append_with(body, options.clone()).await?;
            let appended = Instant::now();
            let (got, arrived) = tokio::time::timeout(DELIVERY_TIMEOUT, delivered.recv())
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        format!("message {i} was not delivered within {DELIVERY_TIMEOUT:?}"),
                    )
                })?
                .ok_or_else(|| Error::new(ErrorKind::Network, "the reader stopped".to_string()))?;
            latencies.record(i, got, sent, appended, arrived)?;
            if gap >= Duration::from_millis(1) {
                tokio::time::sleep(gap).await;
            } else if !gap.is_zero() {
                // Tokio's timer would round this up to about 1 ms: sleep exactly on a blocking
                // thread instead (as the .NET benchmark's `usleep`), leaving the workers free.
                tokio::task::spawn_blocking(move || std::thread::sleep(gap))
                    .await
                    .map_err(|e| Error::new(ErrorKind::Network, format!("the gap's sleep: {e}")))?;
            }
        }
        reader.abort();
        Ok::<_, Error>((latencies.total, latencies.after_append))
    })
    .unwrap_or_else(|e| fail(BENCH, e))
}

/// Appends from this thread and the reader's loop on a thread of its own, each operation
/// started on the runtime and waited for on a blocking channel: the pattern of a caller of the
/// C ABI (the .NET package among them), where an operation starts by waking a runtime worker
/// and its completion wakes the caller's thread.
fn run_from_threads(
    rt: &Runtime,
    url: String,
    mode: LiveMode,
    warmup: usize,
    messages: usize,
    gap: Duration,
) -> Result<(Samples, Samples), Error> {
    let handle = rt.handle();
    let client = Client::new()?;
    let stream = client.stream(&url)?;
    let setup = stream.clone();
    let tail = call(handle, async move {
        setup
            .create(CreateOptions::new().content_type("application/json"))
            .await?;
        Ok(setup.head().await?.next_offset)
    })?;
    let (delivered_tx, delivered) = std::sync::mpsc::channel::<(u64, Instant)>();
    let reader_stream = stream.clone();
    let reader_handle = handle.clone();
    // Not joined: it waits on a long-poll until the runtime is dropped at the end.
    std::thread::spawn(move || -> Result<(), Error> {
        let mut session = reader_stream.read(ReadOptions::new().offset(tail).live(mode));
        loop {
            let (back, next) = call(&reader_handle, async move {
                let next = session.next_chunk().await;
                Ok((session, next))
            })?;
            session = back;
            let Some(chunk) = next? else {
                return Ok(());
            };
            let arrived = Instant::now();
            if !forward_messages(&chunk, arrived, |m| delivered_tx.send(m).is_ok())? {
                return Ok(());
            }
        }
    });

    let mut latencies = Latencies::new(messages, warmup);
    let options = AppendOptions::new().content_type("application/json");
    for i in 0..(warmup + messages) as u64 {
        let body = Bytes::from(format!(r#"{{"i":{i}}}"#));
        let (appender, options) = (stream.clone(), options.clone());
        let sent = Instant::now();
        call(handle, async move {
            appender.append_with(body, options).await.map(|_| ())
        })?;
        let appended = Instant::now();
        let (got, arrived) = delivered.recv_timeout(DELIVERY_TIMEOUT).map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("message {i} was not delivered within {DELIVERY_TIMEOUT:?} (or the reader stopped)"),
            )
        })?;
        latencies.record(i, got, sent, appended, arrived)?;
        if !gap.is_zero() {
            std::thread::sleep(gap);
        }
    }
    Ok((latencies.total, latencies.after_append))
}

/// Runs `operation` on the runtime from a thread outside it and blocks until it is done.
fn call<T: Send + 'static>(
    handle: &Handle,
    operation: impl Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    let (done, result) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = done.send(operation.await);
    });
    result
        .recv()
        .map_err(|_| Error::new(ErrorKind::Network, "the runtime dropped the operation"))?
}

/// The `i` of a message `{"i":N}`.
/// Hands every message of `chunk`, which arrived at `arrived`, to `send` with its sequence
/// number; false once `send` reports the receiver gone.
fn forward_messages(
    chunk: &Chunk,
    arrived: Instant,
    mut send: impl FnMut((u64, Instant)) -> bool,
) -> Result<bool, Error> {
    for message in chunk.messages().unwrap_or_default() {
        let i = sequence_of(message)
            .ok_or_else(|| Error::new(ErrorKind::Parse, "a message without a sequence number"))?;
        if !send((i, arrived)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One run's samples: append to delivery, and the part after the append's answer (the
/// delivery alone), both without the warm-up messages.
struct Latencies {
    warmup: u64,
    total: Samples,
    after_append: Samples,
}

impl Latencies {
    fn new(messages: usize, warmup: usize) -> Latencies {
        Latencies {
            warmup: warmup as u64,
            total: Samples::with_capacity(messages),
            after_append: Samples::with_capacity(messages),
        }
    }

    /// Checks that message `i` is the one delivered (`got`) and records its times.
    fn record(
        &mut self,
        i: u64,
        got: u64,
        sent: Instant,
        appended: Instant,
        arrived: Instant,
    ) -> Result<(), Error> {
        if got != i {
            return Err(Error::new(
                ErrorKind::Parse,
                format!("expected message {i}, the reader delivered {got}"),
            ));
        }
        if i >= self.warmup {
            self.total.record(arrived.saturating_duration_since(sent));
            self.after_append
                .record(arrived.saturating_duration_since(appended));
        }
        Ok(())
    }
}

fn sequence_of(message: &[u8]) -> Option<u64> {
    let digits = message.strip_prefix(br#"{"i":"#)?;
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}
