// Drives @durable-streams/state 0.3.1 for tests/state_interop.rs.
//
//   node interop.mjs write <stream-url>        appends a fixed scenario built with the package's
//                                              event helpers (createStateSchema), plus control
//                                              messages, one append per event
//   node interop.mjs materialize <stream-url>  reads the stream (catch-up) and prints the state
//                                              the package's MaterializedState builds, as JSON
//                                              {type: {key: value}}
//
// Control messages are handled as the package's StreamDB does: reset clears the state,
// snapshot-start and snapshot-end change nothing.
import { DurableStream } from "@durable-streams/client"
import {
  MaterializedState,
  createStateSchema,
  isChangeEvent,
  isControlEvent,
} from "@durable-streams/state"

// A Standard Schema validator accepting any object value (the scenario's values are objects).
const anyObject = {
  "~standard": {
    version: 1,
    vendor: "durable-streams-native-interop",
    validate: (value) =>
      typeof value === "object" && value !== null
        ? { value }
        : { issues: [{ message: "expected an object" }] },
  },
}

const schema = createStateSchema({
  users: { schema: anyObject, type: "user", primaryKey: "id" },
  notes: { schema: anyObject, type: "note", primaryKey: "id" },
})

function scenario() {
  return [
    schema.users.insert({ value: { id: "1", name: "Alice", tags: ["a", "b"] } }),
    schema.users.insert({ value: { id: "2", name: "Bob" }, headers: { txid: "tx-1" } }),
    schema.users.update({
      value: { id: "1", name: "Alice Smith", tags: [] },
      oldValue: { id: "1", name: "Alice", tags: ["a", "b"] },
      headers: { txid: "tx-2", timestamp: "2025-01-15T10:35:00Z" },
    }),
    { headers: { control: "snapshot-start", offset: "snapshot-1" } },
    schema.notes.upsert({ key: "n:1", value: { id: "n:1", text: "héllo 😀", n: 1.5 } }),
    schema.notes.upsert({ key: "n:1", value: { id: "n:1", text: "second", nested: { a: null } } }),
    { headers: { control: "snapshot-end", offset: "snapshot-1" } },
    schema.users.delete({ key: "2", oldValue: { id: "2", name: "Bob" } }),
    { headers: { control: "reset" } },
    schema.users.insert({ value: { id: "3", name: "Carol" } }),
    schema.notes.insert({ key: "n:2", value: { id: "n:2", text: "after reset" } }),
    schema.notes.delete({ key: "missing" }),
  ]
}

async function write(url) {
  const stream = new DurableStream({ url, contentType: "application/json" })
  for (const event of scenario()) {
    await stream.append(JSON.stringify(event))
  }
}

async function materialize(url) {
  const stream = new DurableStream({ url, contentType: "application/json" })
  const response = await stream.stream({ live: false, json: true })
  const events = await response.json()
  const state = new MaterializedState()
  for (const event of events) {
    if (isChangeEvent(event)) {
      state.apply(event)
    } else if (isControlEvent(event) && event.headers.control === "reset") {
      state.clear()
    } else if (!isControlEvent(event)) {
      throw new Error(`not a state event: ${JSON.stringify(event)}`)
    }
  }
  const out = {}
  for (const type of state.types) {
    const entries = state.getType(type)
    // The package keeps a type's map after its last key is deleted; an empty type is no state.
    if (entries.size > 0) {
      out[type] = Object.fromEntries(entries)
    }
  }
  process.stdout.write(JSON.stringify(out))
}

const [command, url] = process.argv.slice(2)
if (command === "write" && url) {
  await write(url)
} else if (command === "materialize" && url) {
  await materialize(url)
} else {
  console.error("usage: node interop.mjs write|materialize <stream-url>")
  process.exit(2)
}
