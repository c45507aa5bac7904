// Launcher for the Node.js Durable Streams reference server, written next to its
// node_modules by durable-streams-test-harness. Do not edit the copy in target/: the
// harness overwrites it from tests/harness/src/start.mjs.
//
// Usage: node start.mjs [--host H] [--port P] [--long-poll-timeout-ms MS] [--webhooks]
//   (or env DS_HOST, DS_PORT, DS_LONG_POLL_TIMEOUT_MS, DS_WEBHOOKS=1)
// --webhooks enables webhook subscriptions (the server's `webhooks: true`); pull-wake
// subscriptions are always available.
// Prints "READY <base-url>" on stdout once listening. Exits when stdin closes (so the
// server never outlives the process that started it) or on SIGTERM/SIGINT.
import { DurableStreamTestServer } from "@durable-streams/server"

function arg(name, envName, fallback) {
  const i = process.argv.indexOf(name)
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1]
  const env = process.env[envName]
  return env !== undefined && env !== "" ? env : fallback
}

const host = arg("--host", "DS_HOST", "127.0.0.1")
const port = Number(arg("--port", "DS_PORT", "0"))
const longPollTimeout = Number(arg("--long-poll-timeout-ms", "DS_LONG_POLL_TIMEOUT_MS", "1000"))
if (!Number.isInteger(port) || port < 0 || !Number.isFinite(longPollTimeout)) {
  console.error("start.mjs: invalid --port or --long-poll-timeout-ms")
  process.exit(2)
}

const webhooks = process.argv.includes("--webhooks") || process.env.DS_WEBHOOKS === "1"

const server = new DurableStreamTestServer({ host, port, longPollTimeout, webhooks })

let stopping = false
async function shutdown(code) {
  if (stopping) return
  stopping = true
  // server.stop() waits for open keep-alive connections; do not let that hang us.
  const force = setTimeout(() => process.exit(code), 2000)
  force.unref()
  try {
    await server.stop()
  } catch (err) {
    console.error("start.mjs: stop failed:", err)
  }
  process.exit(code)
}

process.on("SIGTERM", () => shutdown(0))
process.on("SIGINT", () => shutdown(0))
// Parent gone or closed our stdin: stop.
process.stdin.on("end", () => shutdown(0))
process.stdin.on("close", () => shutdown(0))
process.stdin.on("error", () => shutdown(0))
process.stdin.resume()

try {
  await server.start()
} catch (err) {
  console.error("start.mjs: failed to start:", err)
  process.exit(1)
}
process.stdout.write("READY " + server.url + "\n")
