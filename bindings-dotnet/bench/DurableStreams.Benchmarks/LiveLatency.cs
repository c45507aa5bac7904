using System.Buffers.Text;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Live delivery latency, as bench/src/bin/live-latency.rs: the time from starting an append to
/// a live reader in the same process getting it, on a JSON stream, p50/p99/p999. Appends go one at
/// a time: each waits for its delivery, then <c>--gap-us</c> more (so a long-poll reader is parked
/// again and threads go idle). "dotnet": <see cref="DurableStream.AppendAsync(ReadOnlyMemory{byte}, AppendOptions?, CancellationToken)"/>
/// and a reader opened with <see cref="LiveMode.Sse"/> or <see cref="LiveMode.LongPoll"/> at the
/// tail, consuming <see cref="StreamResponse.ReadBytesAsync"/> and <see cref="ByteChunk.Messages"/>;
/// "dotnet-httpclient" (long-poll only): POSTs, and a GET loop with <c>live=long-poll</c>, offset and
/// cursor. Every delivered message must be the next sequence number.
/// </summary>
internal static partial class LiveLatency
{
    private const string Bench = "live-latency";
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);

    [LibraryImport("libc", EntryPoint = "usleep")]
    private static partial int USleep(uint microseconds);

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "append-to-delivery latency of a live reader", args,
            ("mode", "sse | long-poll (default sse; the HttpClient baseline runs long-poll only)"),
            ("messages", "N: measured messages (default 10000)"),
            ("warmup", "N: messages before measuring (default 500)"),
            ("gap-us", "US: pause after each delivery before the next append (default 300)"));
        var modeName = flags.Str("mode") ?? "sse";
        var mode = modeName switch
        {
            "sse" => LiveMode.Sse,
            "long-poll" => LiveMode.LongPoll,
            _ => throw new BenchFailure($"--mode \"{modeName}\": expected sse or long-poll"),
        };
        var messages = (int)flags.Int("messages", 10_000);
        var warmup = (int)flags.Int("warmup", 500, min: 0);
        var gapUs = (uint)flags.Int("gap-us", 300, min: 0);
        var results = new Results(flags);
        using var server = BenchServer.Start(flags);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions());
        using var http = PlainHttp.NewClient();

        var layers = new List<string>();
        if (flags.Runs("dotnet"))
        {
            layers.Add(Layer.Ours);
        }
        if (flags.Runs("httpclient") && mode == LiveMode.LongPoll)
        {
            layers.Add(Layer.HttpClient);
        }
        foreach (var layer in layers)
        {
            var url = server.StreamUrl($"live-latency-{layer}");
            var stream = await client.CreateStreamAsync(url, new CreateStreamOptions { ContentType = "application/json" }).ConfigureAwait(false);
            var tail = (await stream.HeadAsync().ConfigureAwait(false)).Offset ?? Offset.Beginning;
            var delivered = Channel.CreateUnbounded<(long Seq, long Arrived)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            using var stop = new CancellationTokenSource();
            var reader = layer == Layer.Ours
                ? Task.Run(() => ReadOursAsync(stream, tail, mode, delivered.Writer, stop.Token))
                : Task.Run(() => ReadPlainAsync(http, url, tail.Value, delivered.Writer, stop.Token));
            Func<ReadOnlyMemory<byte>, Task> append = layer == Layer.Ours
                ? body => stream.AppendAsync(body)
                : body => PlainHttp.PostAsync(http, url, body, PlainHttp.Json);

            var samples = new Samples(messages);
            var buffer = new byte[32];
            var probe = Cost.Start();
            for (long i = 0; i < warmup + messages; i++)
            {
                "{\"i\":"u8.CopyTo(buffer);
                Utf8Formatter.TryFormat(i, buffer.AsSpan(5), out var digits);
                buffer[5 + digits] = (byte)'}';
                var sent = Stopwatch.GetTimestamp();
                await append(buffer.AsMemory(0, 6 + digits)).ConfigureAwait(false);
                (long Seq, long Arrived) got;
                try
                {
                    got = await delivered.Reader.ReadAsync().AsTask().WaitAsync(DeliveryTimeout).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    throw new BenchFailure($"{Bench} [{layer}]: message {i} was not delivered within {DeliveryTimeout}");
                }
                catch (ChannelClosedException e)
                {
                    throw new BenchFailure($"{Bench} [{layer}]: the reader stopped: {e.InnerException?.Message ?? e.Message}");
                }
                if (got.Seq != i)
                {
                    throw new BenchFailure($"{Bench} [{layer}]: expected message {i}, the reader delivered {got.Seq}");
                }
                if (i >= warmup)
                {
                    samples.RecordTicks(got.Arrived - sent);
                }
                if (gapUs > 0)
                {
                    USleep(gapUs);
                }
            }
            var cost = probe.Stop();
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await reader.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
            var line = $"{Bench} [{layer}] {modeName}, JSON stream, {messages} messages one at a time: p50 {Stats.F(samples.PercentileUs(50), 0)} us, "
                + $"p99 {Stats.F(samples.PercentileUs(99), 0)} us, p99.9 {Stats.F(samples.PercentileUs(99.9), 0)} us, max {Stats.F(samples.PercentileUs(100), 0)} us "
                + $"({Stats.F(cost.CpuSeconds * 1e6 / (warmup + messages), 0)} us CPU and {Stats.F((double)cost.AllocatedBytes / (warmup + messages), 0)} B allocated per message, append + delivery)";
            var result = Results.New(Bench, modeName, $"live delivery, {modeName} (JSON stream)", layer);
            result["mode"] = modeName;
            result["content_type"] = "application/json";
            result["messages"] = messages;
            result["warmup"] = warmup;
            result["gap_us"] = gapUs;
            result["cpu_us_per_message_round_trip"] = cost.CpuSeconds * 1e6 / (warmup + messages);
            result["allocated_bytes_per_message_round_trip"] = (double)cost.AllocatedBytes / (warmup + messages);
            samples.AddTo(result);
            results.Add(line, result);
        }
        results.Write();
    }

    private static async Task ReadOursAsync(DurableStream stream, Offset tail, LiveMode mode, ChannelWriter<(long, long)> delivered, CancellationToken stop)
    {
        try
        {
            await using var response = await stream.StreamAsync(new StreamOptions { Offset = tail, Live = mode }, stop).ConfigureAwait(false);
            await foreach (var chunk in response.ReadBytesAsync(stop).ConfigureAwait(false))
            {
                // Taken before looking at the messages: delivery is when the chunk arrives.
                var arrived = Stopwatch.GetTimestamp();
                var batch = chunk.Messages ?? throw new BenchFailure($"{Bench}: the stream was not read as JSON");
                for (var i = 0; i < batch.Count; i++)
                {
                    delivered.TryWrite((CatchupJson.SequenceOf(batch[i].Span), arrived));
                }
            }
            delivered.TryComplete();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            delivered.TryComplete(e);
        }
    }

    private static async Task ReadPlainAsync(HttpClient http, string url, string offset, ChannelWriter<(long, long)> delivered, CancellationToken stop)
    {
        try
        {
            var buffer = new Ref<byte[]>(new byte[64 * 1024]);
            string? cursor = null;
            while (true)
            {
                using var response = await http.GetAsync(PlainHttp.ReadUrl(url, offset, "long-poll", cursor), HttpCompletionOption.ResponseHeadersRead, stop).ConfigureAwait(false);
                PlainHttp.Ensure(response, "GET", url);
                var length = await PlainHttp.ReadBodyAsync(response, buffer).ConfigureAwait(false);
                var arrived = Stopwatch.GetTimestamp();
                offset = PlainHttp.Header(response, "Stream-Next-Offset") ?? offset;
                cursor = PlainHttp.Header(response, "Stream-Cursor") ?? cursor;
                if (length > 0)
                {
                    Deliver(buffer.Value.AsSpan(0, length), arrived, delivered);
                }
                if (PlainHttp.Flag(response, "Stream-Closed"))
                {
                    break;
                }
            }
            delivered.TryComplete();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            delivered.TryComplete(e);
        }
    }

    private static void Deliver(ReadOnlySpan<byte> body, long arrived, ChannelWriter<(long, long)> delivered)
    {
        var reader = new System.Text.Json.Utf8JsonReader(body);
        reader.Read(); // [
        while (reader.Read() && reader.TokenType != System.Text.Json.JsonTokenType.EndArray)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            delivered.TryWrite((CatchupJson.SequenceOf(body[start..(int)reader.BytesConsumed]), arrived));
        }
    }
}
