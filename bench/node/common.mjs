// Shared plumbing for the TypeScript-client comparison benchmarks (bench/node/*.mjs).
//
// The official client (@durable-streams/client from npm) is installed by `./build.sh bench` into
// target/bench-node (or $DS_BENCH_NODE_DIR); these scripts only call its public API. Each script
// starts its own Electric server in memory mode through the Rust harness's `ds-test-servers`
// ($DS_TEST_SERVERS_BIN, else target/release or target/debug), the same server and settings the
// Rust benchmarks use, prints one human-readable line and writes its JSON result to --json.

import { spawn } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")
export const SERVER = "electric durable-streams-server 0.1.5 (--durability memory)"
export const LAYER = "typescript"

export function fail(bench, problem) {
  console.error(`${bench}: ${problem}`)
  process.exit(1)
}

/** `--name value` flags; `known` maps name to help text. Also accepts --json PATH and --help. */
export function parseFlags(bench, about, known) {
  const values = {}
  const args = process.argv.slice(2)
  const usage = () =>
    `${bench}: ${about}\n\nOptions:\n` +
    Object.entries({ ...known, json: "PATH: write the result here" })
      .map(([k, v]) => `  --${k.padEnd(14)} ${v}`)
      .join("\n")
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === "--help" || arg === "-h") {
      console.log(usage())
      process.exit(0)
    }
    const name = arg.startsWith("--") ? arg.slice(2) : ""
    if (name !== "json" && !(name in known)) {
      console.error(`${bench}: unknown argument ${JSON.stringify(arg)}\n\n${usage()}`)
      process.exit(2)
    }
    if (i + 1 >= args.length) {
      console.error(`${bench}: ${arg} needs a value`)
      process.exit(2)
    }
    values[name] = args[++i]
  }
  return {
    int(name, fallback) {
      if (!(name in values)) return fallback
      const n = Number(values[name])
      if (!Number.isInteger(n) || n < 1) {
        console.error(`${bench}: --${name} must be a positive integer`)
        process.exit(2)
      }
      return n
    },
    str(name) {
      return values[name]
    },
  }
}

/** The installed client module and its version. */
export async function loadClient(bench) {
  const dir = process.env.DS_BENCH_NODE_DIR || join(ROOT, "target", "bench-node")
  const pkgDir = join(dir, "node_modules", "@durable-streams", "client")
  const manifest = join(pkgDir, "package.json")
  if (!existsSync(manifest)) {
    fail(bench, `@durable-streams/client is not installed in ${dir} (./build.sh bench installs it)`)
  }
  const pkg = JSON.parse(readFileSync(manifest, "utf8"))
  const entry = pkg.exports?.["."]?.import?.default ?? pkg.module ?? "dist/index.js"
  const client = await import(pathToFileURL(join(pkgDir, entry)).href)
  return { client, version: pkg.version }
}

/** Starts Electric's server (memory mode) via ds-test-servers; resolves to {prefix, stop}. */
export async function startServer(bench) {
  const candidates = [
    process.env.DS_TEST_SERVERS_BIN,
    join(ROOT, "target", "release", "ds-test-servers"),
    join(ROOT, "target", "debug", "ds-test-servers"),
  ].filter(Boolean)
  const bin = candidates.find((c) => existsSync(c))
  if (!bin) fail(bench, `ds-test-servers not found (tried ${candidates.join(", ")}); build the harness`)
  const child = spawn(bin, ["electric", "--durability-memory"], {
    stdio: ["pipe", "pipe", "inherit"],
  })
  const lines = createInterface({ input: child.stdout })
  let prefix = null
  for await (const line of lines) {
    if (line === "READY") break
    const [, , streamPrefix] = line.split(" ")
    prefix = streamPrefix
  }
  if (!prefix) fail(bench, `${bin} did not start a server`)
  const exited = new Promise((done) => child.once("exit", done))
  return {
    prefix,
    async stop() {
      child.stdin.end() // closing stdin stops the servers
      await exited
    },
  }
}

/** User + system CPU seconds of this process. */
export function cpuSeconds() {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

export function nowSeconds() {
  return Number(process.hrtime.bigint()) / 1e9
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** Nearest-rank percentile of microsecond samples. */
export function percentiles(samplesUs) {
  const sorted = Float64Array.from(samplesUs).sort()
  const at = (p) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9))) - 1]
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length
  return {
    p50_us: at(50),
    p99_us: at(99),
    p999_us: at(99.9),
    max_us: at(100),
    mean_us: mean,
    samples: sorted.length,
  }
}

export function thousands(n) {
  return Math.round(n).toLocaleString("en-US")
}

/** Prints the line and writes the result (with server and client version) to --json. */
export function emit(flags, line, result, version) {
  console.log(line)
  const full = { ...result, layer: LAYER, client: `@durable-streams/client ${version}`, server: SERVER }
  const path = flags.str("json")
  if (path) writeFileSync(path, JSON.stringify(full, null, 2) + "\n")
}

/** Plain HTTP setup writes (untimed), so the read benchmarks need no particular writer. */
export async function post(url, body, contentType) {
  const response = await fetch(url, { method: "POST", headers: { "content-type": contentType }, body })
  if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status} ${await response.text()}`)
}

export async function put(url, contentType) {
  const response = await fetch(url, { method: "PUT", headers: { "content-type": contentType } })
  if (!response.ok) throw new Error(`PUT ${url}: HTTP ${response.status} ${await response.text()}`)
}

/**
 * Consumes a catch-up (`live: false`) StreamResponse with `subscribeBytes` or `subscribeJson`,
 * resolving once the chunk that reports `upToDate` (or `streamClosed`) has been handled.
 *
 * Waiting on `response.closed` is not enough: with client 0.2.7 it resolves as soon as the
 * responses are fetched, before the subscriber has seen them (observed: `closed` first, then
 * the chunk).
 */
export function consume(response, method, onChunk, timeoutMs = 300_000) {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no up-to-date chunk within ${timeoutMs} ms`)), timeoutMs)
    response.closed.catch((e) => {
      clearTimeout(timer)
      reject(e)
    })
    response[method]((chunk) => {
      try {
        onChunk(chunk)
      } catch (e) {
        clearTimeout(timer)
        reject(e)
        return
      }
      if (chunk.upToDate || chunk.streamClosed) {
        clearTimeout(timer)
        resolvePromise()
      }
    })
  })
}
