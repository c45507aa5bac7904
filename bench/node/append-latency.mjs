// Single-append latency of the official TypeScript client: `await stream.append(bytes)` one at
// a time (so its automatic batching never engages: one POST per append), p50/p99/p999 after a
// warm-up. Same scenario as bench/src/bin/append-latency.rs.

import {
  cpuSeconds,
  emit,
  fail,
  loadClient,
  nowSeconds,
  parseFlags,
  percentiles,
  startServer,
} from "./common.mjs"

const BENCH = "append-latency"
const flags = parseFlags(BENCH, "TypeScript client: latency of plain appends, one at a time", {
  appends: "N: measured appends (default 10000)",
  warmup: "N: appends before measuring (default 1000)",
  size: "BYTES: append size (default 100)",
})
const appends = flags.int("appends", 10_000)
const warmup = flags.int("warmup", 1_000)
const size = flags.int("size", 100)

const { client, version } = await loadClient(BENCH)
const server = await startServer(BENCH)
try {
  const stream = await client.DurableStream.create({
    url: `${server.prefix}/ts-append-latency`,
    contentType: "application/octet-stream",
  })
  const payload = new Uint8Array(size).fill(0x78)
  for (let i = 0; i < warmup; i++) await stream.append(payload)
  const samples = new Float64Array(appends)
  const cpuBefore = cpuSeconds()
  const started = nowSeconds()
  for (let i = 0; i < appends; i++) {
    const sent = process.hrtime.bigint()
    await stream.append(payload)
    samples[i] = Number(process.hrtime.bigint() - sent) / 1e3
  }
  const elapsed = nowSeconds() - started
  const cpu = cpuSeconds() - cpuBefore
  const body = await (await fetch(`${stream.url}?offset=-1`)).arrayBuffer()
  if (body.byteLength !== (warmup + appends) * size) {
    throw new Error(`read back ${body.byteLength} bytes, expected ${(warmup + appends) * size}`)
  }
  const stats = percentiles(samples)
  const perS = appends / elapsed
  const cpuUs = (cpu * 1e6) / appends
  emit(
    flags,
    `append-latency [typescript ${version}] ${appends} x ${size} B one at a time: p50 ${stats.p50_us.toFixed(0)} us, p99 ${stats.p99_us.toFixed(0)} us, p99.9 ${stats.p999_us.toFixed(0)} us, ${perS.toFixed(0)} appends/s, ${cpuUs.toFixed(1)} us CPU/append`,
    {
      benchmark: BENCH,
      scenario: `${size}B`,
      title: `single append ${size} B (one at a time)`,
      appends,
      warmup,
      message_bytes: size,
      messages_per_s: perS,
      cpu_us_per_message: cpuUs,
      ...stats,
    },
    version
  )
} catch (e) {
  fail(BENCH, e?.stack ?? e)
} finally {
  await server.stop()
}
