//! The S2 workloads through `s2-sdk` used directly from Rust: the baseline the C ABI, the .NET
//! package and S2's TypeScript SDK are compared with. The workloads are described in
//! `bench/s2/README.md`; every layer's program runs the same ones against the same lite.

use std::time::Instant;

use bytes::Bytes;
use durable_streams_bench::{Flags, Samples, cpu_time, emit_all, fail};
use futures_util::StreamExt;
use s2_sdk::S2;
use s2_sdk::S2Stream;
use s2_sdk::append_session::AppendSessionConfig;
use s2_sdk::producer::ProducerConfig;
use s2_sdk::types::{
    AppendInput, AppendRecord, AppendRecordBatch, BasinName, CreateBasinInput, CreateStreamInput,
    DeleteBasinInput, ReadFrom, ReadInput, ReadLimits, ReadSessionConfig, ReadStart, ReadStop,
    S2Config, S2Endpoints, StreamName,
};
use s2_streamstore_bench::{Workload, latency_result, producer_result, read_result};

const BENCH: &str = "s2-sdk-bench";
const LAYER: &str = "s2-sdk";

fn main() {
    let flags = Flags::parse(
        BENCH,
        "the S2 workloads through s2-sdk directly (bench/s2/README.md)",
        Workload::FLAGS,
    );
    let workload = Workload::from_flags(&flags);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("client-worker")
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(BENCH, format!("cannot start the Tokio runtime: {e}")));
    let results = rt
        .block_on(rt.spawn(run(workload)))
        .unwrap_or_else(|e| fail(BENCH, format!("the benchmark task failed: {e}")));
    emit_all(&flags, results);
}

fn check<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| fail(BENCH, format!("{what}: {e}")))
}

async fn run(workload: Workload) -> Vec<(String, serde_json::Value)> {
    let endpoints = check("endpoint", S2Endpoints::for_endpoint(&workload.endpoint));
    let s2 = check(
        "client",
        S2::new(
            S2Config::new("bench")
                .with_rustls_ring_crypto_provider()
                .with_endpoints(endpoints),
        ),
    );
    let basin_name: BasinName = check("basin name", workload.basin(LAYER).parse());
    // A basin left by an interrupted run would make create fail.
    let _ = s2
        .delete_basin(DeleteBasinInput::new(basin_name.clone()).with_ignore_not_found(true))
        .await;
    check(
        "create basin",
        s2.create_basin(CreateBasinInput::new(basin_name.clone()))
            .await,
    );
    let basin = s2.basin(basin_name.clone());
    let mut results = Vec::new();
    for (size, records) in workload.sizes() {
        let body = Bytes::from(vec![b'x'; size]);
        let warm = open(&basin, &format!("warmup-{size}")).await;
        produce(&warm, &body, (records / 10).max(1)).await;
        let mut runs = Vec::new();
        let mut reads = Vec::new();
        for run in 0..workload.runs {
            let stream = open(&basin, &format!("producer-{size}-{run}")).await;
            runs.push(produce(&stream, &body, records).await);
            reads.push(catch_up(&stream, size, records).await);
        }
        results.push(producer_result(LAYER, size, records, &runs));
        results.push(read_result(LAYER, size, records, &reads));
    }
    let stream = open(&basin, "latency").await;
    results.push(latency_result(
        LAYER,
        &mut append_latency(&stream, workload.latency_samples).await,
    ));
    check(
        "delete basin",
        s2.delete_basin(DeleteBasinInput::new(basin_name)).await,
    );
    results
}

async fn open(basin: &s2_sdk::S2Basin, name: &str) -> S2Stream {
    let name: StreamName = check("stream name", name.parse());
    check(
        "create stream",
        basin
            .create_stream(CreateStreamInput::new(name.clone()))
            .await,
    );
    basin.stream(name)
}

/// `records` records through a producer with its default settings; every acknowledgement is
/// awaited, in order, and must carry the next sequence number.
async fn produce(stream: &S2Stream, body: &Bytes, records: usize) -> (f64, f64) {
    let cpu = cpu_time();
    let started = Instant::now();
    let producer = stream.producer(ProducerConfig::new());
    let mut tickets = Vec::with_capacity(records);
    for _ in 0..records {
        let record = check("record", AppendRecord::new(body.clone()));
        tickets.push(check("submit", producer.submit(record).await));
    }
    check("close the producer", producer.close().await);
    for (i, ticket) in tickets.into_iter().enumerate() {
        let ack = check("acknowledgement", ticket.await);
        if ack.seq_num != i as u64 {
            fail(
                BENCH,
                format!("record {i} was acknowledged at {}", ack.seq_num),
            );
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tail = check("check tail", stream.check_tail().await);
    if tail.seq_num != records as u64 {
        fail(
            BENCH,
            format!("the stream holds {} records, not {records}", tail.seq_num),
        );
    }
    (elapsed, (cpu_time() - cpu).as_secs_f64())
}

/// The whole stream through a read session with a count limit (so it ends), checking every
/// sequence number and body length.
async fn catch_up(stream: &S2Stream, size: usize, records: usize) -> (f64, f64) {
    let cpu = cpu_time();
    let started = Instant::now();
    let input = ReadInput::new()
        .with_start(ReadStart::new().with_from(ReadFrom::SeqNum(0)))
        .with_stop(ReadStop::new().with_limits(ReadLimits::new().with_count(records)));
    let mut session = check(
        "read session",
        stream.read_session(input, ReadSessionConfig::new()).await,
    );
    let mut next = 0u64;
    while let Some(batch) = session.next().await {
        for record in check("read", batch).records {
            if record.seq_num != next || record.body.len() != size {
                fail(
                    BENCH,
                    format!(
                        "read seq {} ({} B), expected {next} ({size} B)",
                        record.seq_num,
                        record.body.len()
                    ),
                );
            }
            next += 1;
        }
    }
    if next != records as u64 {
        fail(BENCH, format!("read {next} records, not {records}"));
    }
    (
        started.elapsed().as_secs_f64(),
        (cpu_time() - cpu).as_secs_f64(),
    )
}

/// One 100 B record per batch through an append session, each waited for before the next.
async fn append_latency(stream: &S2Stream, samples: usize) -> Samples {
    let session = stream.append_session(AppendSessionConfig::new());
    let body = Bytes::from(vec![b'x'; 100]);
    let mut latencies = Samples::with_capacity(samples);
    for i in 0..samples + samples / 10 {
        let record = check("record", AppendRecord::new(body.clone()));
        let batch = check("batch", AppendRecordBatch::try_from_iter([record]));
        let started = Instant::now();
        let ticket = check("submit", session.submit(AppendInput::new(batch)).await);
        check("acknowledgement", ticket.await);
        if i >= samples / 10 {
            latencies.record(started.elapsed());
        }
    }
    check("close the session", session.close().await);
    latencies
}
