using System.Diagnostics;
using System.Threading.Channels;
using DurableStreams.AspNetCore;
using DurableStreams.Subscriptions;
using DurableStreams.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DurableStreams.Benchmarks;

/// <summary>
/// Webhook delivery to an ASP.NET Core receiver (<c>MapDurableStreamsWebhook</c> in Kestrel on
/// 127.0.0.1), on the Node reference server started with webhooks: <c>wake-to-handler</c> is the
/// time from starting an append to the handler running with the verified wake that covers it (the
/// server signs and POSTs the wake, the endpoint reads the raw body and verifies the Ed25519
/// signature in the native core), one message at a time, p50/p99. Each wake is answered
/// <c>{"done": true}</c>; every append must be covered by a wake, in order.
/// </summary>
internal static class WebhookDelivery
{
    private const string Bench = "webhook-delivery";
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(string[] args)
    {
        var flags = Flags.Parse(Bench, "webhook wake-to-handler latency through an ASP.NET Core receiver (Node server)", args,
            ("messages", "N: measured append-to-handler round trips (default 300)"),
            ("warmup", "N: round trips before measuring (default 30)"));
        var messages = (int)flags.Int("messages", 300);
        var warmup = (int)flags.Int("warmup", 30, min: 0);
        var results = new Results(flags);
        using var server = BenchServer.StartNode(flags, webhooks: true);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = server.Prefix });
        if (flags.Runs("dotnet"))
        {
            results.Add(await WakeToHandlerAsync(client, messages, warmup).ConfigureAwait(false));
        }
        results.Write();
    }

    private static async Task<(string, System.Text.Json.Nodes.JsonObject)> WakeToHandlerAsync(DurableStreamClient client, int messages, int warmup)
    {
        var seen = Channel.CreateUnbounded<(Offset Tail, long Arrived)>(new UnboundedChannelOptions { SingleReader = true });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(client);
        await using var app = builder.Build();
        app.MapDurableStreamsWebhook("/hooks/bench", (WebhookWake wake, CancellationToken _) =>
        {
            var arrived = Stopwatch.GetTimestamp();
            seen.Writer.TryWrite((wake.Streams[0].TailOffset, arrived));
            return Task.CompletedTask;
        });
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var run = $"bench-hooks/latency-{Guid.NewGuid():N}";
        var stream = await client.CreateStreamAsync($"{run}/data", new CreateStreamOptions { ContentType = "application/json" }).ConfigureAwait(false);
        var subscription = client.Subscription("bench-hook-" + Guid.NewGuid().ToString("N"));
        var options = SubscriptionOptions.Webhook(new Uri(new Uri(address), "/hooks/bench"));
        options.Streams.Add($"{run}/data");
        await subscription.CreateAsync(options).ConfigureAwait(false);

        var samples = new Samples(messages);
        var probe = Cost.Start();
        for (var i = 0; i < warmup + messages; i++)
        {
            var sent = Stopwatch.GetTimestamp();
            var tail = (await stream.AppendAsync($"{{\"i\":{i}}}").ConfigureAwait(false)).Offset;
            var arrived = await CoveringAsync(seen.Reader, tail, i).ConfigureAwait(false);
            if (i >= warmup)
            {
                samples.RecordTicks(arrived - sent);
            }
        }
        var cost = probe.Stop();
        await app.StopAsync().ConfigureAwait(false);
        await subscription.DeleteAsync().ConfigureAwait(false);
        var line = $"{Bench} [dotnet] wake-to-handler, {messages} messages one at a time: p50 {Stats.F(samples.PercentileUs(50), 0)} us, "
            + $"p99 {Stats.F(samples.PercentileUs(99), 0)} us, max {Stats.F(samples.PercentileUs(100), 0)} us "
            + $"({Stats.F(cost.CpuSeconds * 1e6 / (warmup + messages), 0)} us CPU per message in this process, receiver included)";
        var result = Results.New(Bench, "wake-to-handler", "webhook wake to handler (ASP.NET Core receiver)", Layer.Ours);
        result["server"] = BenchServer.NodeDescription;
        result["messages"] = messages;
        result["warmup"] = warmup;
        result["cpu_us_per_message"] = cost.CpuSeconds * 1e6 / (warmup + messages);
        samples.AddTo(result);
        return (line, result);
    }

    /// <summary>Waits for the wake whose tail is <paramref name="tail"/> (earlier wakes are skipped) and returns when its handler ran.</summary>
    private static async Task<long> CoveringAsync(ChannelReader<(Offset Tail, long Arrived)> seen, Offset tail, int message)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(DeliveryTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            (Offset Tail, long Arrived) got;
            try
            {
                got = await seen.ReadAsync().AsTask().WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new BenchFailure($"{Bench}: no wake covering message {message} (tail {tail}) within {DeliveryTimeout}");
            }
            if (got.Tail == tail)
            {
                return got.Arrived;
            }
            if (got.Tail > tail)
            {
                throw new BenchFailure($"{Bench}: a wake with tail {got.Tail} arrived before the one for message {message} (tail {tail})");
            }
        }
    }
}
