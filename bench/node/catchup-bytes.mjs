// Catch-up read of a large byte stream with the official TypeScript client: `stream({ live:
// false })` consumed with `subscribeBytes` (chunks with their offsets, the counterpart of our
// `next_chunk`) up to the up-to-date chunk. The stream (--mib MiB, same pattern as
// bench/src/bin/catchup-bytes.rs: byte p is p mod 251) is written untimed with plain 1 MiB POSTs.
// Every chunk's first and last byte and the total are checked. Median of --runs reads.

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
} from "./common.mjs"

const BENCH = "catchup-bytes"
const MIB = 1024 * 1024
const PERIOD = 251
const flags = parseFlags(BENCH, "TypeScript client: catch-up read of a large byte stream", {
  mib: "N: stream size in MiB (default 1024)",
  runs: "R: measured full reads; the median is reported (default 3)",
})
const mib = flags.int("mib", 1024)
const runs = flags.int("runs", 3)
const total = mib * MIB

const { client, version } = await loadClient(BENCH)
const server = await startServer(BENCH)

async function read(url) {
  const cpuBefore = cpuSeconds()
  const started = nowSeconds()
  const response = await client.stream({ url, live: false })
  let bytes = 0
  let chunks = 0
  await consume(response, "subscribeBytes", (chunk) => {
    const data = chunk.data
    if (data.length > 0) {
      const end = bytes + data.length - 1
      if (data[0] !== bytes % PERIOD || data[data.length - 1] !== end % PERIOD) {
        throw new Error(`the chunk at byte ${bytes} (${data.length} bytes) does not hold the written pattern`)
      }
    }
    bytes += data.length
    chunks++
  })
  const elapsed = nowSeconds() - started
  const cpu = cpuSeconds() - cpuBefore
  if (bytes !== total) throw new Error(`read ${bytes} bytes, expected ${total}`)
  return { bytes, chunks, elapsed, cpu }
}

try {
  const url = `${server.prefix}/ts-catchup-bytes`
  const writeStarted = nowSeconds()
  await put(url, "application/octet-stream")
  const pattern = new Uint8Array(MIB + PERIOD).map((_, i) => i % PERIOD)
  for (let i = 0; i < mib; i++) {
    const start = (i * MIB) % PERIOD
    await post(url, pattern.subarray(start, start + MIB), "application/octet-stream")
  }
  const writeS = nowSeconds() - writeStarted
  await read(url) // warm-up
  const reads = []
  for (let r = 0; r < runs; r++) reads.push(await read(url))
  const rates = reads.map((r) => r.bytes / 1e6 / r.elapsed)
  const mid = median(rates)
  const chosen = reads[rates.indexOf(mid)]
  const cpuUsPerMb = (chosen.cpu * 1e6) / (chosen.bytes / 1e6)
  emit(
    flags,
    `catchup-bytes [typescript ${version}] ${mib} MiB in ${chosen.chunks} chunks: ${mid.toFixed(0)} MB/s, ${cpuUsPerMb.toFixed(0)} us CPU/MB, ${chosen.elapsed.toFixed(2)} s (median of ${runs}; range ${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)} MB/s; written in ${writeS.toFixed(1)} s untimed)`,
    {
      benchmark: BENCH,
      scenario: `${mib}MiB`,
      title: `catch-up read ${mib} MiB byte stream`,
      bytes: total,
      chunks: chosen.chunks,
      runs,
      elapsed_s: chosen.elapsed,
      mb_per_s: mid,
      mb_per_s_runs: rates,
      cpu_us_per_mb: cpuUsPerMb,
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
