//! Catch-up read of a JSON stream of many small messages (`{"i":N,"v":"xxxxxxxxxx"}`, written
//! untimed by a producer), counting individual messages through `Chunk::messages()` (each
//! message's raw JSON text, validated, not deserialised into a value). Reports messages/s,
//! MB/s and client CPU per message of the median of `--runs` reads.
//!
//! Every chunk's first and last message must carry the expected sequence number and the total
//! must match, so a read that loses or repeats messages fails.

use std::time::{Duration, Instant};

use durable_streams_bench::{
    Flags, cpu_time, emit, fail, median, proc_status_bytes, run_on, runtime, start_server,
    thousands,
};
use durable_streams_core::{
    Client, CreateOptions, Error, ErrorKind, ProducerOptions, ReadOptions, Stream,
};
use serde_json::json;

const BENCH: &str = "catchup-json";

struct Read {
    messages: usize,
    bytes: usize,
    chunks: usize,
    elapsed: Duration,
    cpu: Duration,
}

fn main() {
    let flags = Flags::parse(
        BENCH,
        "catch-up read of a JSON stream, message by message",
        &[
            ("messages", "N: messages in the stream (default 1000000)"),
            (
                "runs",
                "R: measured full reads; the median is reported (default 3)",
            ),
        ],
    );
    let messages = flags.positive("messages", 1_000_000);
    let runs = flags.positive("runs", 5);

    let server = start_server(BENCH);
    let rt = runtime(BENCH);
    let url = server.stream_url("catchup-json");
    let (reads, write_s) = run_on(BENCH, &rt, async move {
        let client = Client::new()?;
        let stream = client.stream(&url)?;
        let write_s = write_messages(&stream, messages).await?;
        read(&stream, messages, Some(messages / 8)).await?; // warm-up
        let mut reads = Vec::new();
        for _ in 0..runs {
            reads.push(read(&stream, messages, None).await?);
        }
        Ok::<_, Error>((reads, write_s))
    })
    .unwrap_or_else(|e| fail(BENCH, e));

    let rates: Vec<f64> = reads
        .iter()
        .map(|r| r.messages as f64 / r.elapsed.as_secs_f64())
        .collect();
    let mid = median(&rates);
    let chosen = reads
        .iter()
        .zip(&rates)
        .find(|(_, rate)| **rate == mid)
        .map(|(r, _)| r)
        .unwrap_or(&reads[0]);
    let seconds = chosen.elapsed.as_secs_f64();
    let mb_per_s = chosen.bytes as f64 / 1e6 / seconds;
    let cpu_us = chosen.cpu.as_secs_f64() * 1e6 / chosen.messages as f64;
    let peak_rss_mib = proc_status_bytes("VmHWM").map_or(0.0, |b| b as f64 / 1048576.0);
    let line = format!(
        "catchup-json [rust-core] {} JSON messages in {} chunks: {} msg/s, {mb_per_s:.0} MB/s, {cpu_us:.3} us CPU/msg, {seconds:.2} s (median of {runs}; range {}-{} msg/s; written in {write_s:.1} s untimed)",
        thousands(messages as f64),
        thousands(chosen.chunks as f64),
        thousands(mid),
        thousands(rates.iter().copied().fold(f64::INFINITY, f64::min)),
        thousands(rates.iter().copied().fold(0.0, f64::max)),
    );
    emit(
        &flags,
        &line,
        json!({
            "benchmark": BENCH,
            "scenario": format!("{messages}msgs"),
            "title": format!("catch-up read {} JSON messages", thousands(messages as f64)),
            "layer": "rust-core",
            "messages": messages,
            "bytes": chosen.bytes,
            "chunks": chosen.chunks,
            "runs": runs,
            "elapsed_s": seconds,
            "messages_per_s": mid,
            "messages_per_s_runs": rates,
            "mb_per_s": mb_per_s,
            "cpu_us_per_message": cpu_us,
            "peak_rss_mib": peak_rss_mib,
            "write_s": write_s,
        }),
    );
}

fn message(i: usize) -> String {
    format!(r#"{{"i":{i},"v":"xxxxxxxxxx"}}"#)
}

/// The `i` of a message written by [`message`].
fn sequence_of(message: &[u8]) -> Option<usize> {
    let digits = message.strip_prefix(br#"{"i":"#)?;
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

async fn write_messages(stream: &Stream, messages: usize) -> Result<f64, Error> {
    stream
        .create(CreateOptions::new().content_type("application/json"))
        .await?;
    let started = Instant::now();
    let producer = stream.producer("bench-writer", ProducerOptions::default())?;
    for i in 0..messages {
        producer.append(message(i).as_bytes()).await?;
    }
    producer.flush().await?;
    Ok(started.elapsed().as_secs_f64())
}

/// Reads from the beginning (all, or until `stop_after` messages), checking sequence numbers.
async fn read(stream: &Stream, expected: usize, stop_after: Option<usize>) -> Result<Read, Error> {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut session = stream.read(ReadOptions::new());
    let (mut messages, mut bytes, mut chunks) = (0usize, 0usize, 0usize);
    while let Some(chunk) = session.next_chunk().await? {
        let Some(batch) = chunk.messages() else {
            return Err(corrupt("the stream was not read as JSON".into()));
        };
        if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
            let want_last = messages + batch.len() - 1;
            if sequence_of(first) != Some(messages) || sequence_of(last) != Some(want_last) {
                return Err(corrupt(format!(
                    "a chunk of {} messages does not run from {messages} to {want_last}",
                    batch.len()
                )));
            }
        }
        messages += batch.len();
        // Message bytes (the JSON texts, without the array's brackets and commas).
        bytes += batch.iter().map(|m| m.len()).sum::<usize>();
        chunks += 1;
        if stop_after.is_some_and(|limit| messages >= limit) {
            break;
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time() - cpu_before;
    if stop_after.is_none() && messages != expected {
        return Err(corrupt(format!(
            "read {messages} messages, expected {expected}"
        )));
    }
    Ok(Read {
        messages,
        bytes,
        chunks,
        elapsed,
        cpu,
    })
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorKind::Parse, message)
}
