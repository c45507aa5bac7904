using System.Buffers.Text;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using DurableStreams.Subscriptions;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Subscription delivery through a pull worker (<see cref="SubscriptionWorker.RunAsync"/>), on the
/// Node reference server (the only one with subscriptions):
/// <list type="bullet">
/// <item><c>wake-to-handler</c>: the time from starting an append to the handler seeing the message
/// (the server appends a wake event, the worker reads it live, claims, reads the stream, hands the
/// batch over), one message at a time, p50/p99;</item>
/// <item><c>drain</c>: one worker draining a backlog of small JSON messages appended before it
/// started, until the subscription's cursor is at the tail (messages/s, CPU and allocations per
/// message).</item>
/// </list>
/// Every message must arrive, in order.
/// </summary>
internal static class SubscriptionDelivery
{
    private const string Bench = "subscription-delivery";
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "pull-worker delivery latency and backlog drain throughput (Node server)", args,
            ("messages", "N: measured wake-to-handler round trips (default 500)"),
            ("warmup", "N: round trips before measuring (default 50)"),
            ("backlog", "N: messages of the drain backlog (default 200000)"),
            ("per-append", "N: messages per append while building the backlog (default 1000)"));
        var messages = (int)flags.Int("messages", 500);
        var warmup = (int)flags.Int("warmup", 50, min: 0);
        var backlog = (int)flags.Int("backlog", 200_000);
        var perAppend = (int)flags.Int("per-append", 1000);
        var results = new Results(flags);
        using var server = BenchServer.StartNode(flags);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = server.Prefix });
        if (flags.Runs("dotnet"))
        {
            results.Add(await WakeToHandlerAsync(client, messages, warmup).ConfigureAwait(false));
            results.Add(await DrainAsync(client, backlog, perAppend).ConfigureAwait(false));
        }
        results.Write();
    }

    /// <summary>A JSON stream, its wake stream, and a pull-wake subscription linking the stream (at its tail).</summary>
    private static async Task<(DurableStream Stream, Subscription Subscription)> SetUpAsync(DurableStreamClient client, string name)
    {
        var run = $"bench-subs/{name}-{Guid.NewGuid():N}";
        var json = new CreateStreamOptions { ContentType = "application/json" };
        var stream = await client.CreateStreamAsync($"{run}/data", json).ConfigureAwait(false);
        await client.CreateStreamAsync($"{run}/wake", json).ConfigureAwait(false);
        var subscription = client.Subscription(name + "-" + Guid.NewGuid().ToString("N"));
        var options = SubscriptionOptions.PullWake($"{run}/wake");
        options.Streams.Add($"{run}/data");
        await subscription.CreateAsync(options).ConfigureAwait(false);
        return (stream, subscription);
    }

    private static async Task<(string, System.Text.Json.Nodes.JsonObject)> WakeToHandlerAsync(DurableStreamClient client, int messages, int warmup)
    {
        var (stream, subscription) = await SetUpAsync(client, "latency").ConfigureAwait(false);
        var seen = Channel.CreateUnbounded<(long Seq, long Arrived)>(new UnboundedChannelOptions { SingleReader = true });
        using var worker = subscription.CreateWorker("bench-latency");
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(
            (batch, _) =>
            {
                var arrived = Stopwatch.GetTimestamp();
                foreach (var message in batch.Messages!)
                {
                    seen.Writer.TryWrite((Sequence(message.Span), arrived));
                }
                return ValueTask.CompletedTask;
            },
            stop.Token);

        var samples = new Samples(messages);
        var buffer = new byte[32];
        var probe = Cost.Start();
        for (long i = 0; i < warmup + messages; i++)
        {
            "{\"i\":"u8.CopyTo(buffer);
            Utf8Formatter.TryFormat(i, buffer.AsSpan(5), out var digits);
            buffer[5 + digits] = (byte)'}';
            var sent = Stopwatch.GetTimestamp();
            await stream.AppendAsync(buffer.AsMemory(0, 6 + digits)).ConfigureAwait(false);
            var got = await Next(seen.Reader, i, "wake-to-handler").ConfigureAwait(false);
            if (i >= warmup)
            {
                samples.RecordTicks(got - sent);
            }
        }
        var cost = probe.Stop();
        await stop.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        var stats = worker.Stats;
        var line = $"{Bench} [dotnet] wake-to-handler, {messages} messages one at a time: p50 {Stats.F(samples.PercentileUs(50), 0)} us, "
            + $"p99 {Stats.F(samples.PercentileUs(99), 0)} us, max {Stats.F(samples.PercentileUs(100), 0)} us "
            + $"({stats.Claims} claims, {stats.WakesCompleted} wakes done; {Stats.F(cost.CpuSeconds * 1e6 / (warmup + messages), 0)} us CPU per message in this process)";
        var result = Results.New(Bench, "wake-to-handler", "subscription wake to handler (pull worker)", Layer.Ours);
        result["server"] = BenchServer.NodeDescription;
        result["messages"] = messages;
        result["warmup"] = warmup;
        result["claims"] = stats.Claims;
        result["cpu_us_per_message"] = cost.CpuSeconds * 1e6 / (warmup + messages);
        samples.AddTo(result);
        return (line, result);
    }

    private static async Task<(string, System.Text.Json.Nodes.JsonObject)> DrainAsync(DurableStreamClient client, int backlog, int perAppend)
    {
        var (stream, subscription) = await SetUpAsync(client, "drain").ConfigureAwait(false);
        var body = new StringBuilder();
        for (var start = 0; start < backlog; start += perAppend)
        {
            body.Clear().Append('[');
            for (var i = start; i < Math.Min(backlog, start + perAppend); i++)
            {
                body.Append(i == start ? "" : ",").Append("{\"i\":").Append(i).Append(",\"payload\":\"0123456789abcdef0123456789abcdef\"}");
            }
            await stream.AppendAsync(body.Append(']').ToString()).ConfigureAwait(false);
        }
        var tail = (await stream.HeadAsync().ConfigureAwait(false)).Offset ?? throw new BenchFailure("HEAD without an offset");

        long received = 0;
        long next = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var worker = subscription.CreateWorker("bench-drain");
        using var stop = new CancellationTokenSource();
        var probe = Cost.Start();
        var started = Stopwatch.GetTimestamp();
        var running = worker.RunAsync(
            (batch, _) =>
            {
                foreach (var message in batch.Messages!)
                {
                    var seq = Sequence(message.Span);
                    if (seq != next)
                    {
                        done.TrySetException(new BenchFailure($"{Bench} drain: expected message {next}, got {seq}"));
                    }
                    next = seq + 1;
                }
                if ((received += batch.Messages.Count) >= backlog)
                {
                    done.TrySetResult();
                }
                return ValueTask.CompletedTask;
            },
            stop.Token);
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        var handled = Stopwatch.GetElapsedTime(started);
        // The cursor reaches the tail with the wake's final ack.
        while ((await subscription.GetAsync().ConfigureAwait(false)).Streams[0].AckedOffset != tail)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
        var acked = Stopwatch.GetElapsedTime(started);
        var cost = probe.Stop();
        await stop.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        var rate = backlog / handled.TotalSeconds;
        var line = $"{Bench} [dotnet] drain, {backlog} messages of ~60 B: {Stats.Thousands(rate)} msg/s to the handler, "
            + $"cursor at the tail after {Stats.F(acked.TotalMilliseconds, 0)} ms ({worker.Stats.Batches} batches; "
            + $"{Stats.F(cost.CpuSeconds * 1e6 / backlog, 2)} us CPU and {Stats.F((double)cost.AllocatedBytes / backlog, 0)} B allocated per message)";
        var result = Results.New(Bench, "drain", "subscription backlog drain (one pull worker)", Layer.Ours);
        result["server"] = BenchServer.NodeDescription;
        result["messages"] = backlog;
        result["messages_per_sec"] = rate;
        result["acked_after_ms"] = acked.TotalMilliseconds;
        result["batches"] = worker.Stats.Batches;
        result["cpu_us_per_message"] = cost.CpuSeconds * 1e6 / backlog;
        result["allocated_bytes_per_message"] = (double)cost.AllocatedBytes / backlog;
        return (line, result);
    }

    private static async Task<long> Next(ChannelReader<(long Seq, long Arrived)> seen, long expected, string scenario)
    {
        (long Seq, long Arrived) got;
        try
        {
            got = await seen.ReadAsync().AsTask().WaitAsync(DeliveryTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new BenchFailure($"{Bench} {scenario}: message {expected} was not handled within {DeliveryTimeout}");
        }
        if (got.Seq != expected)
        {
            throw new BenchFailure($"{Bench} {scenario}: expected message {expected}, the handler saw {got.Seq}");
        }
        return got.Arrived;
    }

    /// <summary>The <c>"i"</c> field of a message.</summary>
    private static long Sequence(ReadOnlySpan<byte> message)
    {
        var reader = new Utf8JsonReader(message);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("i"u8) && reader.Read())
            {
                return reader.GetInt64();
            }
        }
        throw new BenchFailure($"{Bench}: a message without \"i\": {Encoding.UTF8.GetString(message)}");
    }
}
