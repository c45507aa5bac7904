// Producer throughput of the official TypeScript client: N messages of S bytes through P
// IdempotentProducers (one stream each), used as its README recommends: fire-and-forget
// `append()` in a loop, then `await flush()`. With several producers the appends are interleaved
// round-robin (Node runs one thread) and the flushes awaited together. Same scenarios and
// reporting as bench/src/bin/producer-throughput.rs: warm-up run, median of --runs.
//
// Note: the TypeScript producer has no buffer limit, so the loop never waits for the server;
// the Rust producer is bounded (64 MiB) and waits when full.

import {
  cpuSeconds,
  emit,
  fail,
  loadClient,
  median,
  nowSeconds,
  parseFlags,
  startServer,
  thousands,
} from "./common.mjs"

const BENCH = "producer-throughput"
const flags = parseFlags(BENCH, "TypeScript IdempotentProducer throughput", {
  messages: "N: messages in total (default 1000000)",
  size: "BYTES: message size (default 100)",
  producers: "P: concurrent producers, one stream each (default 1)",
  runs: "R: measured runs; the median is reported (default 5)",
})
const messages = flags.int("messages", 1_000_000)
const size = flags.int("size", 100)
const producers = flags.int("producers", 1)
const runs = flags.int("runs", 5)
const perProducer = Math.floor(messages / producers)
const total = perProducer * producers

const { client, version } = await loadClient(BENCH)
const { DurableStream, IdempotentProducer } = client
const server = await startServer(BENCH)

async function run(tag, count, verify) {
  const streams = []
  for (let p = 0; p < producers; p++) {
    streams.push(
      await DurableStream.create({
        url: `${server.prefix}/ts-producer-${tag}-${p}`,
        contentType: "application/octet-stream",
      })
    )
  }
  const errors = []
  const payload = new Uint8Array(size).fill(0x78)
  const cpuBefore = cpuSeconds()
  const started = nowSeconds()
  const all = streams.map(
    (stream, p) => new IdempotentProducer(stream, `bench-${p}`, { onError: (e) => errors.push(e) })
  )
  for (let i = 0; i < count; i++) {
    for (const producer of all) producer.append(payload)
  }
  await Promise.all(all.map((producer) => producer.flush()))
  const elapsed = nowSeconds() - started
  const cpu = cpuSeconds() - cpuBefore
  if (errors.length > 0) throw new Error(`the producer reported ${errors.length} errors: ${errors[0]}`)
  if (verify) {
    // Untimed: every byte must have landed.
    for (const stream of streams) {
      const body = await (await fetch(`${stream.url}?offset=-1`)).arrayBuffer()
      if (body.byteLength !== count * size) {
        throw new Error(`${stream.url} holds ${body.byteLength} bytes, expected ${count * size}`)
      }
    }
  }
  await Promise.all(all.map((producer) => producer.detach()))
  return { elapsed, cpu }
}

try {
  await run("warmup", Math.max(1, Math.floor(perProducer / 10)), false)
  const results = []
  for (let r = 0; r < runs; r++) results.push(await run(`run${r}`, perProducer, r === runs - 1))
  const rates = results.map((r) => total / r.elapsed)
  const mid = median(rates)
  const chosen = results[rates.indexOf(mid)]
  const mbPerS = (total * size) / 1e6 / chosen.elapsed
  const cpuUs = (chosen.cpu * 1e6) / total
  const plural = producers === 1 ? "" : "s"
  emit(
    flags,
    `producer-throughput [typescript ${version}] ${thousands(total)} x ${size} B, ${producers} producer${plural}: ${thousands(mid)} msg/s, ${mbPerS.toFixed(1)} MB/s, ${cpuUs.toFixed(3)} us CPU/msg, ${chosen.elapsed.toFixed(3)} s (median of ${runs}; range ${thousands(Math.min(...rates))}-${thousands(Math.max(...rates))} msg/s)`,
    {
      benchmark: BENCH,
      scenario: `${total}x${size}B-${producers}p`,
      title: `producer ${thousands(total)} x ${size} B, ${producers} producer${plural}`,
      messages: total,
      message_bytes: size,
      producers,
      runs,
      elapsed_s: chosen.elapsed,
      messages_per_s: mid,
      messages_per_s_runs: rates,
      mb_per_s: mbPerS,
      cpu_us_per_message: cpuUs,
    },
    version
  )
} catch (e) {
  fail(BENCH, e?.stack ?? e)
} finally {
  await server.stop()
}
