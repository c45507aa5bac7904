using System.Collections.Concurrent;
using System.Text.Json;
using DurableStreams.Subscriptions;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>Delivery guarantees of pull workers under failure, against the Node server: dead letters, and crashing workers over many streams.</summary>
[Collection(WriteCollection.Name)]
public class SubscriptionDeliveryTests : ServerTest
{
    public SubscriptionDeliveryTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what, int seconds)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }
            await Task.Delay(50);
        }
    }

    private static int N(ReadOnlyMemory<byte> message)
    {
        using var document = JsonDocument.Parse(message);
        return document.RootElement.GetProperty("n").GetInt32();
    }

    private static async Task<Offset> TailOf(DurableStream stream) =>
        (await stream.HeadAsync()).Offset ?? throw new InvalidOperationException("HEAD without a tail offset");

    [Fact]
    public async Task A_message_that_keeps_failing_goes_to_the_dead_letter_stream_and_the_rest_are_processed()
    {
        await using var client = NewClient(TestServers.Node);
        var root = $"dotnet-subs/dlq-{Guid.NewGuid():N}";
        var source = await client.CreateStreamAsync($"{root}/orders", new CreateStreamOptions { ContentType = "application/json" });
        var dead = await client.CreateStreamAsync($"{root}/dead", new CreateStreamOptions { ContentType = "application/json" });
        var wake = await client.CreateStreamAsync($"{root}/wake", new CreateStreamOptions { ContentType = "application/json" });
        var subscription = client.Subscription($"dlq-{Guid.NewGuid():N}");
        var options = SubscriptionOptions.PullWake($"{root}/wake");
        options.Streams.Add($"{root}/orders");
        await subscription.CreateAsync(options);
        await source.AppendAsync("[{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4},{\"n\":5}]");

        var processed = new ConcurrentQueue<int>();
        var attemptsAtThree = 0;
        using var worker = subscription.CreateWorker("dlq-worker");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout(30));
        var running = worker.RunAsync(
            DeadLetters.PerMessage(
                (message, _) =>
                {
                    var n = N(message.Data);
                    if (n == 3)
                    {
                        Interlocked.Increment(ref attemptsAtThree);
                        throw new InvalidOperationException("poisoned order 3");
                    }
                    processed.Enqueue(n);
                    return ValueTask.CompletedTask;
                },
                new DeadLetterOptions(dead) { MaxAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(10) }),
            stop.Token);

        var tail = await TailOf(source);
        await Eventually(async () => (await subscription.GetAsync()).Stream($"{root}/orders")!.AckedOffset == tail, "the cursor past the poisoned message", 20);
        await stop.CancelAsync();
        await running;

        Assert.Equal([1, 2, 4, 5], processed);
        Assert.Equal(3, attemptsAtThree);
        await using var read = await dead.StreamAsync(new StreamOptions { Offset = Offset.Beginning, Live = LiveMode.Off });
        var letters = await read.ReadAllJsonAsync<JsonElement>();
        var letter = Assert.Single(letters);
        Assert.Equal($"{root}/orders", letter.GetProperty("source_stream").GetString());
        Assert.Equal(2, letter.GetProperty("index").GetInt32());
        Assert.Equal(3, letter.GetProperty("attempts").GetInt32());
        Assert.Contains("poisoned order 3", letter.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, letter.GetProperty("message").GetProperty("n").GetInt32());
        Assert.False(string.IsNullOrEmpty(letter.GetProperty("source_offset").GetString()));
        _ = wake;
    }

    [Fact]
    public async Task Ten_thousand_messages_over_twenty_globbed_streams_survive_three_crashing_workers()
    {
        const int Streams = 20;
        const int PerStream = 500;
        const int PerAppend = 50;
        await using var client = NewClient(TestServers.Node);
        var root = $"dotnet-subs/stress-{Guid.NewGuid():N}";
        var wakePath = $"dotnet-subs/stress-wake-{Guid.NewGuid():N}";
        await client.CreateStreamAsync(wakePath, new CreateStreamOptions { ContentType = "application/json" });
        var subscription = client.Subscription($"stress-{Guid.NewGuid():N}");
        var options = SubscriptionOptions.PullWake(wakePath);
        options.Pattern = $"{root}/*";
        options.LeaseTtl = TimeSpan.FromSeconds(1);
        await subscription.CreateAsync(options);

        var streams = new List<DurableStream>();
        for (var s = 0; s < Streams; s++)
        {
            streams.Add(await client.CreateStreamAsync($"{root}/s{s:D2}", new CreateStreamOptions { ContentType = "application/json" }));
        }

        var seen = new ConcurrentDictionary<(string Stream, int N), int>();
        var crashes = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout(120));

        async Task WorkerLoop(int slot)
        {
            var random = new Random(slot);
            for (var life = 0; !stop.IsCancellationRequested; life++)
            {
                using var worker = subscription.CreateWorker($"stress-{slot}-{life}");
                try
                {
                    await foreach (var batch in worker.PullAsync(stop.Token))
                    {
                        foreach (var message in batch.Messages!)
                        {
                            seen.AddOrUpdate((batch.Stream, N(message)), 1, (_, n) => n + 1);
                        }
                        // A crash after the effect and before the ack: the range comes back.
                        if (random.Next(10) == 0 && Interlocked.Increment(ref crashes) <= 8)
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }

        var workers = Enumerable.Range(0, 3).Select(slot => Task.Run(() => WorkerLoop(slot))).ToArray();
        for (var start = 0; start < PerStream; start += PerAppend)
        {
            foreach (var stream in streams)
            {
                var body = "[" + string.Join(',', Enumerable.Range(start, PerAppend).Select(n => $"{{\"n\":{n}}}")) + "]";
                await stream.AppendAsync(body);
            }
        }

        await Eventually(() => Task.FromResult(seen.Count == Streams * PerStream), "every message processed", 90);
        for (var s = 0; s < Streams; s++)
        {
            var tail = await TailOf(streams[s]);
            var path = $"{root}/s{s:D2}";
            await Eventually(async () => (await subscription.GetAsync()).Stream(path)?.AckedOffset == tail, $"the cursor of {path}", 60);
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        // Nothing lost; redelivery only after a crash (at least once, never past an unprocessed message).
        Assert.Equal(Streams * PerStream, seen.Count);
        Assert.True(crashes >= 1, "the test crashed no worker");
    }
}
