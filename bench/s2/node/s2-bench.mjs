// The S2 workloads (bench/s2/README.md) through S2's official TypeScript SDK,
// @s2-dev/streamstore, installed by `./build.sh bench` into target/bench-node (or
// $DS_BENCH_NODE_DIR). Only its public API is called: a Producer over an append session (as the
// SDK documents for per-record writes), a read session iterated record by record, and an append
// session for the acknowledgement latency. Writes the same JSON fields as the Rust program.

import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

import { cpuSeconds, fail, median, nowSeconds, parseFlags, percentiles, thousands } from "../../node/common.mjs"

const BENCH = "s2-bench.mjs"
const LAYER = "typescript"
const SERVER = "s2 lite (s2-cli 0.43.4, in memory)"
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

const flags = parseFlags(BENCH, "the S2 workloads through @s2-dev/streamstore", {
  endpoint: "URL: the s2 lite to run against (required; both APIs)",
  "small-records": "N: 100 B records per producer run (default 200000)",
  "large-records": "N: large records per producer run (default 20000)",
  "large-bytes": "BYTES: the large record size (default 8192)",
  runs: "R: measured runs; the median is reported (default 3)",
  "latency-samples": "N: append-session acknowledgements measured (default 2000)",
})
const endpoint = flags.str("endpoint") ?? fail(BENCH, "--endpoint is required")
const runs = flags.int("runs", 3)
const sizes = [
  [100, flags.int("small-records", 200_000)],
  [flags.int("large-bytes", 8192), flags.int("large-records", 20_000)],
]
const latencySamples = flags.int("latency-samples", 2000)

async function loadSdk() {
  const dir = process.env.DS_BENCH_NODE_DIR || join(ROOT, "target", "bench-node")
  const pkgDir = join(dir, "node_modules", "@s2-dev", "streamstore")
  const manifest = join(pkgDir, "package.json")
  if (!existsSync(manifest)) fail(BENCH, `@s2-dev/streamstore is not installed in ${dir} (./build.sh bench installs it)`)
  const pkg = JSON.parse(readFileSync(manifest, "utf8"))
  const exp = pkg.exports?.["."]
  const entry = exp?.import?.default ?? exp?.import ?? pkg.module ?? "dist/esm/index.js"
  return { sdk: await import(pathToFileURL(join(pkgDir, entry)).href), version: pkg.version }
}

const { sdk, version } = await loadSdk()
const { S2, AppendInput, AppendRecord, BatchTransform, Producer } = sdk
const s2 = new S2({ accessToken: "bench", endpoints: { account: endpoint, basin: endpoint } })
const basinName = `bench-${LAYER}`
await s2.basins.delete({ basin: basinName }).catch(() => {}) // left by an interrupted run
await s2.basins.create({ basin: basinName })
const basin = s2.basin(basinName)

async function open(name) {
  await basin.streams.create({ stream: name })
  return basin.stream(name)
}

// Every record through a Producer with its default batching; every ticket's acknowledgement is
// awaited and must carry the next sequence number.
async function produce(stream, body, records) {
  const cpu = cpuSeconds()
  const started = nowSeconds()
  const producer = new Producer(new BatchTransform(), await stream.appendSession())
  const tickets = new Array(records)
  for (let i = 0; i < records; i++) {
    tickets[i] = await producer.submit(AppendRecord.bytes({ body }))
  }
  await producer.close()
  for (let i = 0; i < records; i++) {
    const ack = await tickets[i].ack()
    if (ack.seqNum() !== i) fail(BENCH, `record ${i} was acknowledged at ${ack.seqNum()}`)
  }
  const elapsed = nowSeconds() - started
  const spent = cpuSeconds() - cpu
  const tail = await stream.checkTail()
  if (tail.tail.seqNum !== records) fail(BENCH, `the stream holds ${tail.tail.seqNum} records, not ${records}`)
  return [elapsed, spent]
}

async function catchUp(stream, size, records) {
  const cpu = cpuSeconds()
  const started = nowSeconds()
  const session = await stream.readSession(
    { start: { from: { seqNum: 0 } }, stop: { limits: { count: records } } },
    { as: "bytes" },
  )
  let next = 0
  for await (const record of session) {
    if (record.seqNum !== next || record.body.length !== size) {
      fail(BENCH, `read seq ${record.seqNum} (${record.body.length} B), expected ${next} (${size} B)`)
    }
    next++
  }
  if (next !== records) fail(BENCH, `read ${next} records, not ${records}`)
  return [nowSeconds() - started, cpuSeconds() - cpu]
}

async function appendLatency(stream, samples) {
  const session = await stream.appendSession()
  const body = new Uint8Array(100).fill(120)
  const us = []
  for (let i = 0; i < samples + Math.floor(samples / 10); i++) {
    const started = process.hrtime.bigint()
    const ticket = await session.submit(AppendInput.create([AppendRecord.bytes({ body })]))
    await ticket.ack()
    if (i >= Math.floor(samples / 10)) us.push(Number(process.hrtime.bigint() - started) / 1000)
  }
  await session.close()
  return us
}

function throughput(benchmark, verb, size, records, measured) {
  const elapsed = median(measured.map((r) => r[0]))
  const cpu = measured.find((r) => r[0] === elapsed)?.[1] ?? 0
  const perS = records / elapsed
  const mib = (records * size) / (1024 * 1024) / elapsed
  const cpuUs = (cpu * 1e6) / records
  console.log(
    `${LAYER.padEnd(11)} ${benchmark.padEnd(9)} ${String(size).padStart(5)} B: ${thousands(perS)} records/s, ` +
      `${mib.toFixed(1)} MiB/s, ${cpuUs.toFixed(2)} µs CPU/record (${verb})`,
  )
  return {
    suite: "s2",
    benchmark,
    scenario: `${records}x${size}B`,
    layer: LAYER,
    record_bytes: size,
    records,
    records_per_s: perS,
    mib_per_s: mib,
    cpu_us_per_record: cpuUs,
    runs_s: measured.map((r) => r[0]),
  }
}

const results = []
for (const [size, records] of sizes) {
  const body = new Uint8Array(size).fill(120)
  await produce(await open(`warmup-${size}`), body, Math.max(1, Math.floor(records / 10)))
  const written = []
  const read = []
  for (let run = 0; run < runs; run++) {
    const stream = await open(`producer-${size}-${run}`)
    written.push(await produce(stream, body, records))
    read.push(await catchUp(stream, size, records))
  }
  results.push(throughput("producer", "written", size, records, written))
  results.push(throughput("catch-up", "read", size, records, read))
}
const latency = percentiles(await appendLatency(await open("latency"), latencySamples))
console.log(
  `${LAYER.padEnd(11)} ack latency 100 B: p50 ${latency.p50_us.toFixed(0)} µs, p99 ${latency.p99_us.toFixed(0)} µs ` +
    `(${latency.samples} samples)`,
)
results.push({ suite: "s2", benchmark: "append-latency", scenario: "1x100B", layer: LAYER, record_bytes: 100, ...latency })
await s2.basins.delete({ basin: basinName })

const path = flags.str("json")
const client = `@s2-dev/streamstore ${version}`
if (path) writeFileSync(path, JSON.stringify(results.map((r) => ({ ...r, client, server: SERVER })), null, 2) + "\n")
process.exit(0)
