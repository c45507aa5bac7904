using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace DurableStreams.ConformanceAdapter;

internal sealed partial class Adapter
{
    /// <summary>
    /// <c>benchmark</c>: performs the operation and times exactly the measured work with
    /// <see cref="Stopwatch"/> timestamps (setup such as building payloads or producers is outside).
    /// </summary>
    private async Task<JsonObject> BenchmarkAsync(Command command, CancellationToken token)
    {
        var iterationId = command.Get("iterationId") switch
        {
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
            _ => throw AdapterException.InvalidArgument("iterationId", "is required"),
        };
        var operation = command.Nested("operation", "op");
        var measurement = operation.Type switch
        {
            "append" => await BenchmarkAppendAsync(operation, token).ConfigureAwait(false),
            "read" => await BenchmarkReadAsync(operation, token).ConfigureAwait(false),
            "roundtrip" => await BenchmarkRoundtripAsync(operation, token).ConfigureAwait(false),
            "create" => await BenchmarkCreateAsync(operation, token).ConfigureAwait(false),
            "throughput_append" => await BenchmarkThroughputAppendAsync(operation, token).ConfigureAwait(false),
            "throughput_read" => await BenchmarkThroughputReadAsync(operation, token).ConfigureAwait(false),
            var other => throw new AdapterException(ErrorCodes.NotSupported, $"Unknown benchmark operation \"{other}\"."),
        };
        return Replies.Success("benchmark")
            .With("iterationId", iterationId)
            .With("durationNs", measurement.Nanoseconds.ToString(CultureInfo.InvariantCulture))
            .With("metrics", measurement.Metrics());
    }

    private async Task<Measurement> BenchmarkAppendAsync(Command operation, CancellationToken token)
    {
        var path = operation.RequireString("path");
        var size = Size(operation);
        var stream = Handle(Client([]), path);
        var payload = Filler(size);
        // The stream is an existing octet-stream stream: say so rather than asking with a HEAD.
        var options = new AppendOptions { ContentType = stream.ContentType is null ? KnownContentType(stream, path) ?? "application/octet-stream" : null };

        var start = Stopwatch.GetTimestamp();
        await stream.AppendAsync(payload, options, token).ConfigureAwait(false);
        var end = Stopwatch.GetTimestamp();
        return new Measurement(ElapsedNanoseconds(start, end), size, 1);
    }

    private async Task<Measurement> BenchmarkReadAsync(Command operation, CancellationToken token)
    {
        var path = operation.RequireString("path");
        var offsetText = operation.OptionalString("offset") ?? "-1";
        if (!Offset.TryParse(offsetText, out var offset))
        {
            throw new AdapterException(ErrorCodes.InvalidOffset, $"Invalid offset \"{offsetText}\" for stream {path}.");
        }
        var stream = Handle(Client([]), path);

        var start = Stopwatch.GetTimestamp();
        byte[] bytes;
        await using (var response = await stream.StreamAsync(new StreamOptions { Offset = offset }, token).ConfigureAwait(false))
        {
            bytes = await response.ReadAllBytesAsync(token).ConfigureAwait(false);
        }
        var end = Stopwatch.GetTimestamp();
        return new Measurement(ElapsedNanoseconds(start, end), bytes.Length, 1);
    }

    private async Task<Measurement> BenchmarkRoundtripAsync(Command operation, CancellationToken token)
    {
        var path = operation.RequireString("path");
        var size = Size(operation);
        var live = operation.OptionalString("live") switch
        {
            null or "long-poll" => LiveMode.LongPoll,
            "sse" => LiveMode.Sse,
            var other => throw AdapterException.InvalidArgument("live", $"must be \"long-poll\" or \"sse\", got \"{other}\""),
        };
        var contentType = operation.OptionalString("contentType") ?? "application/octet-stream";
        var payload = ChunkText.IsJson(contentType) ? JsonFiller(size) : Filler(size);
        var stream = Client([]).GetStream(path); // a fresh stream: a fresh handle

        var start = Stopwatch.GetTimestamp();
        var created = await stream.CreateWithDetailsAsync(new CreateStreamOptions { ContentType = contentType }, token).ConfigureAwait(false);
        long received;
        await using (var response = await stream.StreamAsync(new StreamOptions { Offset = created.NextOffset ?? Offset.Beginning, Live = live }, token).ConfigureAwait(false))
        {
            var reader = FirstDataAsync(response, ChunkText.IsJson(contentType), token);
            await stream.AppendAsync(payload, new AppendOptions { ContentType = contentType }, token).ConfigureAwait(false);
            received = await reader.ConfigureAwait(false);
        }
        var end = Stopwatch.GetTimestamp();
        Remember(path, contentType);
        return new Measurement(ElapsedNanoseconds(start, end), size + received, 1);

        static async Task<long> FirstDataAsync(StreamResponse response, bool json, CancellationToken token)
        {
            await foreach (var chunk in response.ReadBytesAsync(token).ConfigureAwait(false))
            {
                // Data, not an empty JSON array ("[]" from a catch-up of the empty stream).
                if (json ? ChunkText.CompactJsonArray(chunk.Data.Span) is not null : !chunk.Data.IsEmpty)
                {
                    return chunk.Data.Length;
                }
            }
            throw new AdapterException(ErrorCodes.InternalError, "The live read ended before the appended data arrived.");
        }
    }

    private async Task<Measurement> BenchmarkCreateAsync(Command operation, CancellationToken token)
    {
        var path = operation.RequireString("path");
        var contentType = operation.OptionalString("contentType") ?? "application/octet-stream";
        var stream = Client([]).GetStream(path);

        var start = Stopwatch.GetTimestamp();
        await stream.CreateAsync(new CreateStreamOptions { ContentType = contentType }, token).ConfigureAwait(false);
        var end = Stopwatch.GetTimestamp();
        Remember(path, contentType);
        return new Measurement(ElapsedNanoseconds(start, end), null, 1);
    }

    private async Task<Measurement> BenchmarkThroughputAppendAsync(Command operation, CancellationToken token)
    {
        var path = operation.RequireString("path");
        var count = operation.RequireLong("count");
        if (count < 1)
        {
            throw AdapterException.InvalidArgument("count", "must be at least 1");
        }
        var size = Size(operation);
        var concurrency = operation.OptionalLong("concurrency") ?? 1;
        if (concurrency < 1)
        {
            throw AdapterException.InvalidArgument("concurrency", "must be at least 1");
        }

        // Setup (not measured): the stream if missing, the payload, the producer.
        var stream = Handle(Client([]), path);
        var contentType = KnownContentType(stream, path) ?? "application/octet-stream";
        try
        {
            await stream.CreateAsync(new CreateStreamOptions { ContentType = contentType }, token).ConfigureAwait(false);
        }
        catch (StreamConflictException)
        {
            // It exists with another configuration: append to it as it is.
        }
        contentType = stream.ContentType ?? contentType;
        Remember(path, contentType);
        var payload = ChunkText.IsJson(contentType) ? JsonFiller(size) : Filler(size);
        var producer = stream.CreateProducer(
            $"bench-{Guid.NewGuid():N}",
            new IdempotentProducerOptions { MaxInFlight = (int)Math.Min(concurrency, 1000), ContentType = contentType });
        producer.OnError += (_, e) => _log.WriteLine($"[adapter] benchmark producer: {e.Exception.Message}");
        try
        {
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++)
            {
                producer.Append(payload);
            }
            await producer.FlushAsync(token).ConfigureAwait(false);
            var end = Stopwatch.GetTimestamp();
            return new Measurement(ElapsedNanoseconds(start, end), count * size, count);
        }
        finally
        {
            await DisposeQuietlyAsync(producer).ConfigureAwait(false);
        }
    }

    private async Task<Measurement> BenchmarkThroughputReadAsync(Command operation, CancellationToken token)
    {
        var path = operation.RequireString("path");
        var stream = Handle(Client([]), path);
        long messages = 0;
        long bytes = 0;

        var start = Stopwatch.GetTimestamp();
        await using (var response = await stream.StreamAsync(new StreamOptions { Offset = Offset.Beginning }, token).ConfigureAwait(false))
        {
            // Every message is parsed (deserialized to a JsonElement) by the package.
            await foreach (var batch in response.ReadJsonBatchesAsync(AdapterJsonContext.Default.JsonElement, token).ConfigureAwait(false))
            {
                foreach (var message in batch.Items)
                {
                    messages++;
                    bytes += System.Text.Encoding.UTF8.GetByteCount(message.GetRawText());
                }
            }
        }
        var end = Stopwatch.GetTimestamp();
        return new Measurement(ElapsedNanoseconds(start, end), bytes, messages);
    }

    private static long Size(Command operation)
    {
        var size = operation.RequireLong("size");
        return size is < 1 or > 256L * 1024 * 1024
            ? throw AdapterException.InvalidArgument("size", $"must be between 1 and 256 MiB, got {size}")
            : size;
    }

    /// <summary>A payload of <paramref name="size"/> bytes (a constant fill: generating it is not what is measured).</summary>
    private static byte[] Filler(long size)
    {
        var payload = new byte[size];
        payload.AsSpan().Fill((byte)'*');
        return payload;
    }

    /// <summary>A JSON message of exactly <paramref name="size"/> bytes: a string (or a digit below 2 bytes).</summary>
    private static byte[] JsonFiller(long size)
    {
        if (size < 2)
        {
            return "0"u8.ToArray();
        }
        var payload = Filler(size);
        payload[0] = (byte)'"';
        payload[^1] = (byte)'"';
        return payload;
    }

    private readonly record struct Measurement(long Nanoseconds, long? Bytes, long? Messages)
    {
        public long Nanoseconds { get; } = Math.Max(1, Nanoseconds);

        public JsonObject Metrics()
        {
            var seconds = Nanoseconds / 1e9;
            return new JsonObject()
                .With("bytesTransferred", Bytes)
                .With("messagesProcessed", Messages)
                .With("opsPerSecond", Messages is { } m ? JsonValue.Create(Math.Round(m / seconds, 3)) : null)
                .With("bytesPerSecond", Bytes is { } b ? JsonValue.Create(Math.Round(b / seconds, 3)) : null);
        }
    }
}

/// <summary>Source-generated JSON metadata (the package's trimming-safe overloads).</summary>
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class AdapterJsonContext : JsonSerializerContext;
