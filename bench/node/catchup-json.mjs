// Catch-up read of a JSON stream of many small messages with the official TypeScript client:
// `stream({ live: false })` consumed with `subscribeJson` (batches of items with their offsets,
// the counterpart of our chunks of messages) up to the up-to-date batch. The client parses every
// message into a JavaScript value (its only JSON read API); ours hands out each message's raw
// JSON text, validated. The stream (same messages as bench/src/bin/catchup-json.rs) is written
// untimed with plain POSTs of 10,000-message arrays. Each batch's first and last `i` and the
// total are checked. Median of --runs reads.

import {
  consume,
  cpuSeconds,
  emit,
  fail,
  loadClient,
  median,
  nowSeconds,
  parseFlags,
  post,
  put,
  startServer,
  thousands,
} from "./common.mjs"

const BENCH = "catchup-json"
const flags = parseFlags(BENCH, "TypeScript client: catch-up read of a JSON stream", {
  messages: "N: messages in the stream (default 1000000)",
  runs: "R: measured full reads; the median is reported (default 5)",
})
const messages = flags.int("messages", 1_000_000)
const runs = flags.int("runs", 5)

const { client, version } = await loadClient(BENCH)
const server = await startServer(BENCH)

async function read(url) {
  const cpuBefore = cpuSeconds()
  const started = nowSeconds()
  const response = await client.stream({ url, live: false, json: true })
  let count = 0
  let batches = 0
  await consume(response, "subscribeJson", (batch) => {
    const items = batch.items
    if (items.length > 0) {
      const last = count + items.length - 1
      if (items[0].i !== count || items[items.length - 1].i !== last) {
        throw new Error(`a batch of ${items.length} messages does not run from ${count} to ${last}`)
      }
    }
    count += items.length
    batches++
  })
  const elapsed = nowSeconds() - started
  const cpu = cpuSeconds() - cpuBefore
  if (count !== messages) throw new Error(`read ${count} messages, expected ${messages}`)
  return { count, batches, elapsed, cpu }
}

try {
  const url = `${server.prefix}/ts-catchup-json`
  const writeStarted = nowSeconds()
  await put(url, "application/json")
  let bytes = 0
  for (let start = 0; start < messages; start += 10_000) {
    const end = Math.min(messages, start + 10_000)
    const parts = []
    for (let i = start; i < end; i++) parts.push(`{"i":${i},"v":"xxxxxxxxxx"}`)
    for (const part of parts) bytes += part.length // message bytes, as the Rust benchmark counts
    const body = `[${parts.join(",")}]`
    await post(url, body, "application/json")
  }
  const writeS = nowSeconds() - writeStarted
  await read(url) // warm-up
  const reads = []
  for (let r = 0; r < runs; r++) reads.push(await read(url))
  const rates = reads.map((r) => r.count / r.elapsed)
  const mid = median(rates)
  const chosen = reads[rates.indexOf(mid)]
  const cpuUs = (chosen.cpu * 1e6) / chosen.count
  const mbPerS = bytes / 1e6 / chosen.elapsed
  emit(
    flags,
    `catchup-json [typescript ${version}] ${thousands(messages)} JSON messages in ${chosen.batches} batches: ${thousands(mid)} msg/s, ${mbPerS.toFixed(0)} MB/s, ${cpuUs.toFixed(3)} us CPU/msg, ${chosen.elapsed.toFixed(2)} s (median of ${runs}; range ${thousands(Math.min(...rates))}-${thousands(Math.max(...rates))} msg/s; written in ${writeS.toFixed(1)} s untimed)`,
    {
      benchmark: BENCH,
      scenario: `${messages}msgs`,
      title: `catch-up read ${thousands(messages)} JSON messages`,
      messages,
      bytes,
      chunks: chosen.batches,
      runs,
      elapsed_s: chosen.elapsed,
      messages_per_s: mid,
      messages_per_s_runs: rates,
      mb_per_s: mbPerS,
      cpu_us_per_message: cpuUs,
      peak_rss_mib: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
      write_s: writeS,
    },
    version
  )
} catch (e) {
  fail(BENCH, e?.stack ?? e)
} finally {
  await server.stop()
}
