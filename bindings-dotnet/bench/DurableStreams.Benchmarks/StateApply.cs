using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DurableStreams.State;

namespace DurableStreams.Benchmarks;

/// <summary>
/// <see cref="MaterializedState"/> apply rate for <c>--events</c> State Protocol change events
/// (default 1,000,000: 70% upsert, 10% insert, 10% update, 10% delete over <c>--keys</c> keys of
/// one type, values <c>{"region":"eu","total":N}</c>), as events/s and bytes allocated per event.
/// The events are built untimed as JSON chunks of <c>--chunk</c> messages in memory (a
/// <see cref="ByteChunk"/> with its <see cref="ByteChunk.Messages"/>, as a read delivers them), so
/// the apply alone is measured: locating the fields with one <see cref="Utf8JsonReader"/> pass,
/// deserializing each value once, updating the collection, tracking the checkpoint.
/// "dotnet-typed": a collection of a record with source-generated metadata; "dotnet-jsonelement":
/// no collection registered (values kept as <see cref="JsonElement"/>); "dotnet-typed-notify":
/// typed, with a <see cref="StateCollection{T}.Changed"/> handler. "dotnet-catchup": the same events
/// written untimed to the server by a producer, then <see cref="MaterializedState.CatchUpAsync"/>
/// (read plus apply). Each run's final state is checked against a plain dictionary replay. Median
/// of <c>--runs</c> after a warm-up.
/// </summary>
internal static class StateApply
{
    private const string Bench = "state-apply";

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "MaterializedState apply rate of State Protocol change events", args,
            ("events", "N: change events (default 1000000)"),
            ("keys", "K: distinct keys (default 100000)"),
            ("chunk", "C: messages per chunk (default 1000)"),
            ("runs", "R: measured runs; the median is reported (default 3)"));
        var events = flags.Int("events", 1_000_000);
        var keys = flags.Int("keys", 100_000);
        var chunkSize = (int)flags.Int("chunk", 1000);
        var runs = (int)flags.Int("runs", 3);
        var results = new Results(flags);

        var (chunks, bytes, expected) = Build(events, keys, chunkSize);
        var layers = new List<(string Layer, Func<Task<(MaterializedState State, Cost Cost)>> Run)>();
        if (flags.Runs("dotnet-typed"))
        {
            layers.Add(("dotnet-typed", () => Task.FromResult(ApplyInMemory(chunks, typed: true, notify: false))));
        }
        if (flags.Runs("dotnet-jsonelement"))
        {
            layers.Add(("dotnet-jsonelement", () => Task.FromResult(ApplyInMemory(chunks, typed: false, notify: false))));
        }
        if (flags.Runs("dotnet-typed-notify"))
        {
            layers.Add(("dotnet-typed-notify", () => Task.FromResult(ApplyInMemory(chunks, typed: true, notify: true))));
        }
        BenchServer? server = null;
        DurableStreamClient? client = null;
        try
        {
            if (flags.Runs("dotnet-catchup"))
            {
                server = BenchServer.Start(flags);
                client = new DurableStreamClient(new DurableStreamClientOptions());
                var stream = await WriteToServerAsync(client, server.StreamUrl($"state-apply-{Guid.NewGuid():N}"), chunks).ConfigureAwait(false);
                layers.Add(("dotnet-catchup", () => CatchUpAsync(stream)));
            }
            foreach (var (layer, run) in layers)
            {
                Check(layer, (await run().ConfigureAwait(false)).State, expected); // warm-up
                var costs = new List<Cost>();
                for (var r = 0; r < runs; r++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var (state, cost) = await run().ConfigureAwait(false);
                    Check(layer, state, expected);
                    costs.Add(cost);
                }
                var rates = costs.Select(c => events / c.Seconds).ToList();
                var (mid, index) = Stats.Median(rates);
                var chosen = costs[index];
                var alloc = (double)chosen.AllocatedBytes / events;
                var cpuUs = chosen.CpuSeconds * 1e6 / events;
                var line = $"{Bench} [{layer}] {Stats.Thousands(events)} change events over {Stats.Thousands(keys)} keys in chunks of {chunkSize}: {Stats.Thousands(mid)} events/s, "
                    + $"{Stats.F(cpuUs, 3)} us CPU/event, {Stats.F(alloc, 1)} B allocated/event, {Stats.F(chosen.Seconds, 2)} s (median of {runs}; range {Stats.Thousands(rates.Min())}-{Stats.Thousands(rates.Max())} events/s)";
                var result = Results.New(Bench, $"{events}events", $"apply {Stats.Thousands(events)} State Protocol change events", layer);
                result["events"] = events;
                result["keys"] = keys;
                result["chunk_messages"] = chunkSize;
                result["bytes"] = bytes;
                result["runs"] = runs;
                result["elapsed_s"] = chosen.Seconds;
                result["events_per_s"] = mid;
                result["events_per_s_runs"] = Stats.Array(rates);
                result["cpu_us_per_event"] = cpuUs;
                result["allocated_bytes_per_event"] = alloc;
                result["gen0_collections"] = chosen.Collections;
                if (layer != "dotnet-catchup")
                {
                    result["server"] = "none (in-memory JSON chunks)";
                }
                results.Add(line, result);
            }
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
            server?.Dispose();
        }
        results.Write();
    }

    /// <summary>The events as JSON chunks, their total size, and the final state a plain replay gives (key → total).</summary>
    private static (List<ByteChunk> Chunks, long Bytes, Dictionary<string, int> Expected) Build(long events, long keys, int chunkSize)
    {
        var random = new Random(42);
        var expected = new Dictionary<string, int>(StringComparer.Ordinal);
        var chunks = new List<ByteChunk>();
        var buffer = new ArrayBufferWriter<byte>(chunkSize * 128);
        var bounds = new List<(int Start, int Length)>(chunkSize);
        long bytes = 0;
        for (long i = 0; i < events; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"order:{random.NextInt64(keys)}");
            var pick = random.Next(10);
            var operation = pick switch { 0 => "insert", 1 => "update", 2 => "delete", _ => "upsert" };
            var total = (int)(i % 100_000);
            var json = operation == "delete"
                ? $$$"""{"type":"order","key":"{{{key}}}","headers":{"operation":"delete"}}"""
                : $$$"""{"type":"order","key":"{{{key}}}","value":{"region":"eu","total":{{{total}}}},"headers":{"operation":"{{{operation}}}","txid":"tx-{{{i}}}"}}""";
            if (operation == "delete")
            {
                expected.Remove(key);
            }
            else
            {
                expected[key] = total;
            }
            buffer.Write(bounds.Count == 0 ? "["u8 : ","u8);
            var start = buffer.WrittenCount;
            var length = (int)Encoding.UTF8.GetBytes(json, buffer);
            bounds.Add((start, length));
            bytes += length;
            if (bounds.Count == chunkSize || i == events - 1)
            {
                buffer.Write("]"u8);
                var data = buffer.WrittenMemory.ToArray();
                var messages = bounds.Select(b => (ReadOnlyMemory<byte>)data.AsMemory(b.Start, b.Length)).ToList();
                var offset = new Offset(string.Create(CultureInfo.InvariantCulture, $"{chunks.Count + 1:D16}_{i:D16}"));
                chunks.Add(new ByteChunk(data, new StreamCheckpoint(offset), i == events - 1) { Messages = messages });
                buffer.ResetWrittenCount();
                bounds.Clear();
            }
        }
        return (chunks, bytes, expected);
    }

    private static (MaterializedState State, Cost Cost) ApplyInMemory(List<ByteChunk> chunks, bool typed, bool notify)
    {
        var state = new MaterializedState();
        if (typed)
        {
            var orders = state.Collection("order", StateBenchJson.Default.StateBenchOrder);
            if (notify)
            {
                long seen = 0;
                orders.Changed += (_, change) => seen += change.HadPrevious ? 1 : 0;
            }
        }
        var probe = Cost.Start();
        foreach (var chunk in chunks)
        {
            state.Apply(chunk);
        }
        return (state, probe.Stop());
    }

    private static async Task<DurableStream> WriteToServerAsync(DurableStreamClient client, string url, List<ByteChunk> chunks)
    {
        var stream = await client.CreateStreamAsync(url, new CreateStreamOptions { ContentType = "application/json" }).ConfigureAwait(false);
        await using var producer = stream.CreateProducer("state-bench-writer");
        foreach (var chunk in chunks)
        {
            foreach (var message in chunk.Messages!)
            {
                if (!producer.TryAppend(message))
                {
                    await producer.AppendAsync(message).ConfigureAwait(false);
                }
            }
        }
        await producer.FlushAsync().ConfigureAwait(false);
        return stream;
    }

    private static async Task<(MaterializedState State, Cost Cost)> CatchUpAsync(DurableStream stream)
    {
        var state = new MaterializedState();
        state.Collection("order", StateBenchJson.Default.StateBenchOrder);
        var probe = Cost.Start();
        await state.CatchUpAsync(stream).ConfigureAwait(false);
        return (state, probe.Stop());
    }

    private static void Check(string layer, MaterializedState state, Dictionary<string, int> expected)
    {
        if (state.Count != expected.Count || !state.TryGetCollection("order", out var collection))
        {
            throw new BenchFailure($"{Bench} [{layer}]: {state.Count} entities, expected {expected.Count}");
        }
        foreach (var (key, total) in expected)
        {
            var actual = collection switch
            {
                StateCollection<StateBenchOrder> typed => typed[key].Total,
                StateCollection<JsonElement> untyped => untyped[key].GetProperty("total").GetInt32(),
                _ => -1,
            };
            if (actual != total)
            {
                throw new BenchFailure($"{Bench} [{layer}]: {key} is {actual}, expected {total}");
            }
        }
    }
}

/// <summary>The benchmark's entity value.</summary>
internal sealed record StateBenchOrder(string Region, int Total);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StateBenchOrder))]
internal sealed partial class StateBenchJson : JsonSerializerContext;
