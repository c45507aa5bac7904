using System.Buffers.Text;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Catch-up read of a JSON stream of many small messages (<c>{"i":N,"v":"xxxxxxxxxx"}</c>, written
/// untimed by a producer), as bench/src/bin/catchup-json.rs, counting individual messages as raw
/// bytes. "dotnet": <see cref="StreamResponse.ReadBytesAsync"/> and each chunk's
/// <see cref="ByteChunk.Messages"/> (each message's JSON text, validated by the core);
/// "dotnet-httpclient": a GET loop, each body read into a reused buffer and walked with
/// <see cref="Utf8JsonReader"/> (which validates), taking each array element's raw bytes. Every
/// chunk's first and last message must carry the expected sequence number, and the total must
/// match. Median of <c>--runs</c> reads after a warm-up read.
///
/// The user paths, as a user writes them with default options: "dotnet-messages" loops over
/// <see cref="ByteChunk.Messages"/> and parses every message's sequence number;
/// "dotnet-json" is <see cref="StreamResponse.ReadJsonAsync{T}(CancellationToken)"/> (reflection
/// metadata), "dotnet-json-sourcegen" the same with a source-generated <c>JsonTypeInfo</c>,
/// "dotnet-batches-sourcegen" <see cref="StreamResponse.ReadJsonBatchesAsync{T}(System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}, CancellationToken)"/>;
/// their floor "dotnet-httpclient-json" is a GET loop deserializing each body once as a list (what
/// a pure-managed client does). Every message object is checked (its <c>i</c>).
/// </summary>
internal static class CatchupJson
{
    private const string Bench = "catchup-json";

    private static int? s_maxChunkBytes;

    /// <summary>The options every read of the package's layers uses (the defaults unless <c>--max-chunk-bytes</c>).</summary>
    private static StreamOptions ReadOptions => new() { Offset = Offset.Beginning, Live = LiveMode.Off, MaxChunkBytes = s_maxChunkBytes };

    private readonly record struct Read(long Messages, long Bytes, long Chunks, Cost Cost);

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "catch-up read of a JSON stream, message by message", args,
            ("messages", "N: messages in the stream (default 1000000)"),
            ("runs", "R: measured full reads; the median is reported (default 3)"),
            ("max-chunk-bytes", "B: StreamOptions.MaxChunkBytes of the package's reads (default: the package's default, 64 KiB)"));
        var messages = flags.Int("messages", 1_000_000);
        var runs = (int)flags.Int("runs", 3);
        s_maxChunkBytes = flags.Str("max-chunk-bytes") is null ? null : (int)flags.Int("max-chunk-bytes", StreamOptions.DefaultMaxChunkBytes);
        var results = new Results(flags);
        using var server = BenchServer.Start(flags);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions());
        using var http = PlainHttp.NewClient();
        var url = server.StreamUrl("catchup-json");
        var writeS = await WriteMessagesAsync(client, url, messages).ConfigureAwait(false);

        var layers = new List<(string Layer, Func<Task<Read>> Read)>();
        if (flags.Runs("dotnet"))
        {
            layers.Add((Layer.Ours, () => OursAsync(client, url, messages)));
        }
        if (flags.Runs("httpclient"))
        {
            var buffer = new Ref<byte[]>(new byte[64 * 1024]);
            layers.Add((Layer.HttpClient, () => PlainAsync(http, url, messages, buffer)));
        }
        if (flags.Runs("dotnet-messages"))
        {
            layers.Add(("dotnet-messages", () => MessagesLoopAsync(client, url, messages)));
        }
        if (flags.Runs("dotnet-json"))
        {
            layers.Add(("dotnet-json", () => ObjectsAsync(client, url, messages, "dotnet-json", r => r.ReadJsonAsync<BenchMessage>())));
        }
        if (flags.Runs("dotnet-json-sourcegen"))
        {
            layers.Add(("dotnet-json-sourcegen", () => ObjectsAsync(client, url, messages, "dotnet-json-sourcegen", r => r.ReadJsonAsync(BenchJson.Default.BenchMessage))));
        }
        if (flags.Runs("dotnet-batches-sourcegen"))
        {
            layers.Add(("dotnet-batches-sourcegen", () => BatchesAsync(client, url, messages)));
        }
        if (flags.Runs("dotnet-httpclient-json"))
        {
            var buffer = new Ref<byte[]>(new byte[64 * 1024]);
            layers.Add(("dotnet-httpclient-json", () => PlainObjectsAsync(http, url, messages, buffer)));
        }
        foreach (var (layer, read) in layers)
        {
            await read().ConfigureAwait(false); // warm-up
            var reads = new List<Read>();
            for (var r = 0; r < runs; r++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                reads.Add(await read().ConfigureAwait(false));
            }
            var rates = reads.Select(r => r.Messages / r.Cost.Seconds).ToList();
            var (mid, index) = Stats.Median(rates);
            var chosen = reads[index];
            var seconds = chosen.Cost.Seconds;
            var mbPerS = chosen.Bytes / 1e6 / seconds;
            var cpuUs = chosen.Cost.CpuSeconds * 1e6 / chosen.Messages;
            var alloc = (double)chosen.Cost.AllocatedBytes / chosen.Messages;
            var peak = Meter.PeakRssMib();
            var line = $"{Bench} [{layer}] {Stats.Thousands(messages)} JSON messages in {Stats.Thousands(chosen.Chunks)} chunks: {Stats.Thousands(mid)} msg/s, {Stats.F(mbPerS, 0)} MB/s, "
                + $"{Stats.F(cpuUs, 3)} us CPU/msg, {Stats.F(alloc, 1)} B allocated/msg, {Stats.F(seconds, 2)} s (median of {runs}; range {Stats.Thousands(rates.Min())}-{Stats.Thousands(rates.Max())} msg/s; "
                + $"written in {Stats.F(writeS)} s untimed)";
            var result = Results.New(Bench, $"{messages}msgs", $"catch-up read {Stats.Thousands(messages)} JSON messages", layer);
            result["messages"] = messages;
            result["bytes"] = chosen.Bytes;
            result["chunks"] = chosen.Chunks;
            result["runs"] = runs;
            result["elapsed_s"] = seconds;
            result["messages_per_s"] = mid;
            result["messages_per_s_runs"] = Stats.Array(rates);
            result["mb_per_s"] = mbPerS;
            result["cpu_us_per_message"] = cpuUs;
            result["allocated_bytes_per_message"] = alloc;
            result["allocated_bytes"] = chosen.Cost.AllocatedBytes;
            result["gen0_collections"] = chosen.Cost.Collections;
            result["peak_rss_mib"] = peak;
            result["write_s"] = writeS;
            results.Add(line, result);
        }
        results.Write();
    }

    /// <summary>Formats message <paramref name="i"/> into <paramref name="buffer"/>; returns its length.</summary>
    public static int Format(long i, Span<byte> buffer)
    {
        "{\"i\":"u8.CopyTo(buffer);
        Utf8Formatter.TryFormat(i, buffer[5..], out var digits);
        var tail = ",\"v\":\"xxxxxxxxxx\"}"u8;
        tail.CopyTo(buffer[(5 + digits)..]);
        return 5 + digits + tail.Length;
    }

    /// <summary>The <c>i</c> of a message <c>{"i":N...</c>, or -1.</summary>
    public static long SequenceOf(ReadOnlySpan<byte> message)
    {
        if (!message.StartsWith("{\"i\":"u8) || !Utf8Parser.TryParse(message[5..], out long value, out _))
        {
            return -1;
        }
        return value;
    }

    private static async Task<double> WriteMessagesAsync(DurableStreamClient client, string url, long messages)
    {
        var stream = await client.CreateStreamAsync(url, new CreateStreamOptions { ContentType = "application/json" }).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        await using var producer = stream.CreateProducer("bench-writer");
        var buffer = new byte[64];
        for (long i = 0; i < messages; i++)
        {
            // ReadOnlyMemory<byte>, not Memory<byte>: the generic Append<T>/TryAppend<T> overloads
            // would take a Memory<byte> and serialize it as a JSON (base64) string.
            ReadOnlyMemory<byte> message = buffer.AsMemory(0, Format(i, buffer));
            if (!producer.TryAppend(message))
            {
                await producer.AppendAsync(message).ConfigureAwait(false);
            }
        }
        await producer.FlushAsync().ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static void CheckRun(long first, long last, long expectedFirst, long count, string layer)
    {
        if (first != expectedFirst || last != expectedFirst + count - 1)
        {
            throw new BenchFailure($"{Bench} [{layer}]: a chunk of {count} messages runs from {first} to {last}, expected {expectedFirst} to {expectedFirst + count - 1}");
        }
    }

    private static async Task<Read> OursAsync(DurableStreamClient client, string url, long expected)
    {
        var probe = Cost.Start();
        var stream = client.GetStream(url);
        long count = 0, bytes = 0, chunks = 0;
        await using (var response = await stream.StreamAsync(ReadOptions).ConfigureAwait(false))
        {
            await foreach (var chunk in response.ReadBytesAsync().ConfigureAwait(false))
            {
                var batch = chunk.Messages ?? throw new BenchFailure($"{Bench}: the stream was not read as JSON");
                var n = batch.Count;
                if (n > 0)
                {
                    CheckRun(SequenceOf(batch[0].Span), SequenceOf(batch[n - 1].Span), count, n, Layer.Ours);
                }
                for (var i = 0; i < n; i++)
                {
                    bytes += batch[i].Length; // each message's raw JSON text
                }
                count += n;
                chunks++;
                if (chunk.UpToDate || chunk.StreamClosed)
                {
                    break;
                }
            }
        }
        var cost = probe.Stop();
        if (count != expected)
        {
            throw new BenchFailure($"{Bench} [{Layer.Ours}]: read {count} messages, expected {expected}");
        }
        return new Read(count, bytes, chunks, cost);
    }

    private static async Task<Read> MessagesLoopAsync(DurableStreamClient client, string url, long expected)
    {
        var probe = Cost.Start();
        long count = 0, bytes = 0, chunks = 0;
        await using (var response = await client.GetStream(url).StreamAsync(ReadOptions).ConfigureAwait(false))
        {
            await foreach (var chunk in response.ReadBytesAsync().ConfigureAwait(false))
            {
                foreach (var message in chunk.Messages ?? throw new BenchFailure($"{Bench}: the stream was not read as JSON"))
                {
                    Expect(SequenceOf(message.Span), count, "dotnet-messages");
                    bytes += message.Length;
                    count++;
                }
                chunks++;
            }
        }
        return Finish(probe, count, bytes, chunks, expected, "dotnet-messages");
    }

    private static async Task<Read> ObjectsAsync(DurableStreamClient client, string url, long expected, string layer, Func<StreamResponse, IAsyncEnumerable<BenchMessage?>> read)
    {
        var probe = Cost.Start();
        long count = 0;
        await using (var response = await client.GetStream(url).StreamAsync(ReadOptions).ConfigureAwait(false))
        {
            await foreach (var message in read(response).ConfigureAwait(false))
            {
                Expect(message?.I ?? -1, count, layer);
                count++;
            }
        }
        return Finish(probe, count, 0, 0, expected, layer);
    }

    private static async Task<Read> BatchesAsync(DurableStreamClient client, string url, long expected)
    {
        const string layer = "dotnet-batches-sourcegen";
        var probe = Cost.Start();
        long count = 0, chunks = 0;
        await using (var response = await client.GetStream(url).StreamAsync(ReadOptions).ConfigureAwait(false))
        {
            await foreach (var batch in response.ReadJsonBatchesAsync(BenchJson.Default.BenchMessage).ConfigureAwait(false))
            {
                foreach (var message in batch.Items)
                {
                    Expect(message?.I ?? -1, count, layer);
                    count++;
                }
                chunks++;
            }
        }
        return Finish(probe, count, 0, chunks, expected, layer);
    }

    private static async Task<Read> PlainObjectsAsync(HttpClient http, string url, long expected, Ref<byte[]> buffer)
    {
        const string layer = "dotnet-httpclient-json";
        var probe = Cost.Start();
        long count = 0;
        var chunks = await PlainHttp.CatchUpAsync(http, url, Bench, async response =>
        {
            var length = await PlainHttp.ReadBodyAsync(response, buffer).ConfigureAwait(false);
            if (length == 0)
            {
                return;
            }
            var list = JsonSerializer.Deserialize(buffer.Value.AsSpan(0, length), BenchJson.Default.ListBenchMessage)
                ?? throw new BenchFailure($"{Bench} [{layer}]: a null body");
            foreach (var message in list)
            {
                Expect(message.I, count, layer);
                count++;
            }
        }).ConfigureAwait(false);
        return Finish(probe, count, 0, chunks, expected, layer);
    }

    private static void Expect(long actual, long expected, string layer)
    {
        if (actual != expected)
        {
            throw new BenchFailure($"{Bench} [{layer}]: message {expected} carries sequence number {actual}");
        }
    }

    private static Read Finish(Cost.Probe probe, long count, long bytes, long chunks, long expected, string layer)
    {
        var cost = probe.Stop();
        if (count != expected)
        {
            throw new BenchFailure($"{Bench} [{layer}]: read {count} messages, expected {expected}");
        }
        return new Read(count, bytes, chunks, cost);
    }

    private static async Task<Read> PlainAsync(HttpClient http, string url, long expected, Ref<byte[]> buffer)
    {
        var probe = Cost.Start();
        long count = 0, bytes = 0;
        var chunks = await PlainHttp.CatchUpAsync(http, url, Bench, async response =>
        {
            var length = await PlainHttp.ReadBodyAsync(response, buffer).ConfigureAwait(false);
            var (n, messageBytes) = Walk(buffer.Value.AsSpan(0, length), count);
            count += n;
            bytes += messageBytes;
        }).ConfigureAwait(false);
        var cost = probe.Stop();
        if (count != expected)
        {
            throw new BenchFailure($"{Bench} [{Layer.HttpClient}]: read {count} messages, expected {expected}");
        }
        return new Read(count, bytes, chunks, cost);
    }

    /// <summary>
    /// Walks a JSON array body with <see cref="Utf8JsonReader"/>, taking each element's raw bytes;
    /// checks the first and last sequence numbers. Returns the message count and their bytes.
    /// </summary>
    public static (long Count, long Bytes) Walk(ReadOnlySpan<byte> body, long expectedFirst)
    {
        if (body.IsEmpty)
        {
            return (0, 0);
        }
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new BenchFailure($"{Bench}: the body is not a JSON array");
        }
        long count = 0, bytes = 0, first = -1;
        int lastStart = 0, lastEnd = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            lastStart = (int)reader.TokenStartIndex;
            reader.Skip();
            lastEnd = (int)reader.BytesConsumed;
            var message = body[lastStart..lastEnd]; // the element's raw JSON text
            if (count == 0)
            {
                first = SequenceOf(message);
            }
            bytes += message.Length;
            count++;
        }
        if (count > 0)
        {
            CheckRun(first, SequenceOf(body[lastStart..lastEnd]), expectedFirst, count, Layer.HttpClient);
        }
        return (count, bytes);
    }
}

/// <summary>
/// The benchmark's message, <c>{"i":N,"v":"xxxxxxxxxx"}</c>, as the usual settable DTO (a record
/// with a primary constructor takes System.Text.Json's slower parameterized-constructor path,
/// about 25% here, in every layer alike).
/// </summary>
internal sealed class BenchMessage
{
    [JsonPropertyName("i")]
    public long I { get; set; }

    [JsonPropertyName("v")]
    public string V { get; set; } = "";
}

/// <summary>Source-generated metadata for the benchmark's messages.</summary>
[JsonSerializable(typeof(BenchMessage))]
[JsonSerializable(typeof(List<BenchMessage>))]
internal sealed partial class BenchJson : JsonSerializerContext;
