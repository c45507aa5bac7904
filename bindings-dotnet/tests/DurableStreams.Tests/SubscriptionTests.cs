using System.Collections.Concurrent;
using DurableStreams.Subscriptions;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Subscriptions (PROTOCOL §6–7) against the Node reference server, which implements them, and
/// Electric's server, which does not: the control API, the pull worker (delivery, redelivery after
/// a failure, racing workers) and fencing of stale claims.
/// </summary>
[Collection(WriteCollection.Name)]
public class SubscriptionTests : ServerTest
{
    public SubscriptionTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    /// <summary>A fresh stream-root-relative path (subscriptions name streams without a leading slash).</summary>
    private static string NewRelativePath(string name) => $"dotnet-subs/{name}-{Guid.NewGuid():N}";

    private static string NewId(string name) => $"{name}-{Guid.NewGuid():N}";

    private static async Task<DurableStream> JsonStreamAsync(DurableStreamClient client, string path) =>
        await client.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "application/json" });

    private static async Task Append(DurableStream stream, params int[] values)
    {
        foreach (var n in values)
        {
            await stream.AppendAsync($"{{\"n\":{n}}}");
        }
    }

    /// <summary>A pull-wake subscription over explicit streams, with a fresh wake stream.</summary>
    private static async Task<Subscription> PullSubscriptionAsync(DurableStreamClient client, TimeSpan? lease, params string[] streams)
    {
        var wake = NewRelativePath("wake");
        await JsonStreamAsync(client, wake);
        var subscription = client.Subscription(NewId("sub"));
        var options = SubscriptionOptions.PullWake(wake);
        options.LeaseTtl = lease;
        foreach (var stream in streams)
        {
            options.Streams.Add(stream);
        }
        Assert.True((await subscription.CreateAsync(options)).Created);
        return subscription;
    }

    private static async Task<Offset> TailOf(DurableStream stream) =>
        (await stream.HeadAsync()).Offset ?? throw new InvalidOperationException("HEAD without a tail offset");

    private static async Task<int> ValueOf(ReadOnlyMemory<byte> message)
    {
        await Task.CompletedTask;
        using var document = System.Text.Json.JsonDocument.Parse(message);
        return document.RootElement.GetProperty("n").GetInt32();
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task Create_reconfirm_conflict_read_and_delete_follow_the_control_api()
    {
        await using var client = NewClient(TestServers.Node);
        var a = NewRelativePath("a");
        var b = NewRelativePath("b");
        await JsonStreamAsync(client, a);
        await JsonStreamAsync(client, b);
        var wake = NewRelativePath("wake");
        await JsonStreamAsync(client, wake);
        var subscription = client.Subscription(NewId("control"));
        var options = SubscriptionOptions.PullWake(wake);
        options.Streams.Add(a);
        options.LeaseTtl = TimeSpan.FromSeconds(45);
        options.Description = "orders";

        var created = await subscription.CreateAsync(options);
        Assert.True(created.Created);
        Assert.Equal(subscription.Id, created.Subscription.Id);
        Assert.Equal(SubscriptionType.PullWake, created.Subscription.Type);
        Assert.Equal(wake, created.Subscription.WakeStream);
        Assert.Equal(TimeSpan.FromSeconds(45), created.Subscription.LeaseTtl);
        Assert.Equal("orders", created.Subscription.Description);
        Assert.Equal(SubscriptionLinkType.Explicit, created.Subscription.Stream(a)?.LinkType);

        var again = await subscription.CreateAsync(options);
        Assert.False(again.Created);

        var different = SubscriptionOptions.PullWake(wake);
        different.Streams.Add(b);
        var conflict = await Assert.ThrowsAsync<SubscriptionConflictException>(() => subscription.CreateAsync(different));
        Assert.Equal(409, conflict.StatusCode);
        Assert.Equal(DurableStreamErrorCode.SubscriptionConflict, conflict.Code);
        Assert.Contains(subscription.Id, conflict.Url, StringComparison.Ordinal);

        await subscription.AddStreamsAsync([b]);
        var info = await subscription.GetAsync();
        Assert.NotNull(info.Stream(a));
        Assert.NotNull(info.Stream(b));
        await subscription.RemoveStreamAsync(b);
        Assert.Null((await subscription.GetAsync()).Stream(b));

        await subscription.DeleteAsync();
        var gone = await Assert.ThrowsAsync<StreamNotFoundException>(() => subscription.GetAsync());
        Assert.Equal(404, gone.StatusCode);
    }

    [Fact]
    public async Task A_server_without_subscriptions_fails_fast_with_its_own_exception()
    {
        await using var client = NewClient(TestServers.Electric);
        var subscription = client.Subscription(NewId("none"));
        var options = SubscriptionOptions.PullWake("wake/pool");
        options.Pattern = "orders/*";
        var e = await Assert.ThrowsAsync<SubscriptionsNotSupportedException>(() => subscription.CreateAsync(options));
        Assert.Equal(DurableStreamErrorCode.SubscriptionsNotSupported, e.Code);
        await Assert.ThrowsAsync<SubscriptionsNotSupportedException>(() => subscription.GetAsync());
        using var worker = subscription.CreateWorker("w");
        await Assert.ThrowsAsync<SubscriptionsNotSupportedException>(async () =>
        {
            await foreach (var _ in worker.PullAsync(Timeout()))
            {
            }
        });
    }

    [Fact]
    public async Task Bad_input_names_the_field_before_anything_is_sent()
    {
        await using var client = NewClient(TestServers.Node);
        var badId = Assert.Throws<ArgumentException>(() => client.Subscription("has space"));
        Assert.Equal("id", badId.ParamName);
        Assert.Contains("id", badId.Message, StringComparison.Ordinal);

        var subscription = client.Subscription(NewId("bad"));
        var noStreams = SubscriptionOptions.PullWake("wake/pool");
        var e1 = await Assert.ThrowsAsync<ArgumentException>(() => subscription.CreateAsync(noStreams));
        Assert.Contains("pattern", e1.Message, StringComparison.Ordinal);

        var shortLease = SubscriptionOptions.PullWake("wake/pool");
        shortLease.Pattern = "a/*";
        shortLease.LeaseTtl = TimeSpan.FromMilliseconds(500);
        var e2 = await Assert.ThrowsAsync<ArgumentException>(() => subscription.CreateAsync(shortLease));
        Assert.Contains("lease_ttl", e2.Message, StringComparison.Ordinal);

        var longLease = SubscriptionOptions.PullWake("wake/pool");
        longLease.Pattern = "a/*";
        longLease.LeaseTtl = TimeSpan.FromMinutes(11);
        await Assert.ThrowsAsync<ArgumentException>(() => subscription.CreateAsync(longLease));

        var badPattern = SubscriptionOptions.PullWake("wake/pool");
        badPattern.Pattern = "a//b";
        var e3 = await Assert.ThrowsAsync<ArgumentException>(() => subscription.CreateAsync(badPattern));
        Assert.Contains("pattern", e3.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => subscription.CreateWorker(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => subscription.CreateWorker(new PullWorkerOptions("w") { HeartbeatInterval = TimeSpan.Zero }));
        await Assert.ThrowsAsync<ArgumentException>(() => subscription.AddStreamsAsync([]));
    }

    [Fact]
    public async Task A_pull_worker_delivers_every_message_once_and_moves_the_cursor_to_the_tail()
    {
        await using var client = NewClient(TestServers.Node);
        var a = NewRelativePath("a");
        var b = NewRelativePath("b");
        var streamA = await JsonStreamAsync(client, a);
        var streamB = await JsonStreamAsync(client, b);
        // Streams are linked at their tails: only what is appended afterwards is delivered.
        var subscription = await PullSubscriptionAsync(client, null, a, b);
        await Append(streamA, 1, 2, 3);
        await Append(streamB, 10);

        var seen = new ConcurrentQueue<(string Stream, int N)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout(30));
        var pulling = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in subscription.PullAsync("worker-1", stop.Token))
                {
                    Assert.True(batch.IsJson);
                    Assert.NotNull(batch.Messages);
                    foreach (var message in batch.Messages!)
                    {
                        seen.Enqueue((batch.Stream, await ValueOf(message)));
                    }
                    Assert.Equal(batch.Messages.Count, batch.ReadJson<Counted>().Count);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });

        await Eventually(() => Task.FromResult(seen.Count >= 4), "the first four messages");
        // Appended while the worker runs: a new wake.
        await streamA.AppendAsync("{\"n\":4}");
        await Eventually(() => Task.FromResult(seen.Count >= 5), "the appended message");
        var tailA = await TailOf(streamA);
        await Eventually(async () => (await subscription.GetAsync()).Stream(a)!.AckedOffset == tailA, "the cursor of a at its tail");
        await stop.CancelAsync();
        await pulling;

        Assert.Equal([1, 2, 3, 4], seen.Where(s => s.Stream == a).Select(s => s.N));
        Assert.Equal([10], seen.Where(s => s.Stream == b).Select(s => s.N));
    }

    [Fact]
    public async Task A_failed_batch_is_delivered_again_and_acked_only_once_it_succeeds()
    {
        await using var client = NewClient(TestServers.Node);
        var a = NewRelativePath("a");
        var stream = await JsonStreamAsync(client, a);
        var subscription = await PullSubscriptionAsync(client, null, a);
        await Append(stream, 1, 2);
        using var worker = subscription.CreateWorker(new PullWorkerOptions("flaky") { FailureBackoff = TimeSpan.FromMilliseconds(50) });

        var deliveries = 0;
        var processed = new ConcurrentQueue<int>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout(30));
        var running = worker.RunAsync(
            (batch, _) =>
            {
                if (Interlocked.Increment(ref deliveries) == 1)
                {
                    throw new InvalidOperationException("first delivery fails");
                }
                foreach (var item in batch.ReadJson<Counted>())
                {
                    processed.Enqueue(item!.N);
                }
                return ValueTask.CompletedTask;
            },
            stop.Token);

        var tail = await TailOf(stream);
        await Eventually(async () => (await subscription.GetAsync()).Stream(a)!.AckedOffset == tail, "the cursor at the tail");
        await stop.CancelAsync();
        await running;

        Assert.True(deliveries >= 2);
        Assert.Equal([1, 2], processed);
        Assert.True(worker.Stats.HandlerFailures >= 1);
        Assert.Contains("first delivery fails", worker.LastError ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_racing_workers_process_each_message_once_and_the_loser_waits_without_polling()
    {
        await using var client = NewClient(TestServers.Node);
        var paths = new[] { NewRelativePath("r0"), NewRelativePath("r1"), NewRelativePath("r2") };
        var streams = new List<DurableStream>();
        foreach (var path in paths)
        {
            streams.Add(await JsonStreamAsync(client, path));
        }
        var subscription = await PullSubscriptionAsync(client, null, paths);
        using var one = subscription.CreateWorker("racer-1");
        using var two = subscription.CreateWorker("racer-2");
        var processed = new ConcurrentDictionary<(string, int), int>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout(40));

        ValueTask Handle(SubscriptionBatch batch, CancellationToken _)
        {
            foreach (var item in batch.ReadJson<Counted>())
            {
                processed.AddOrUpdate((batch.Stream, item!.N), 1, (_, n) => n + 1);
            }
            return ValueTask.CompletedTask;
        }

        var runs = new[] { one.RunAsync(Handle, stop.Token), two.RunAsync(Handle, stop.Token) };
        const int PerStream = 20;
        for (var i = 0; i < PerStream; i++)
        {
            foreach (var stream in streams)
            {
                await stream.AppendAsync($"{{\"n\":{i}}}");
            }
        }
        await Eventually(() => Task.FromResult(processed.Count == PerStream * paths.Length), "every message", 30);
        foreach (var (path, stream) in paths.Zip(streams))
        {
            var tail = await TailOf(stream);
            await Eventually(async () => (await subscription.GetAsync()).Stream(path)!.AckedOffset == tail, $"the cursor of {path}");
        }
        await stop.CancelAsync();
        await Task.WhenAll(runs);

        // No failure and no lost lease: every message exactly once.
        Assert.All(processed.Values, n => Assert.Equal(1, n));
        var stats = new[] { one.Stats, two.Stats };
        Assert.Equal(0, stats.Sum(s => s.LeasesLost));
        // Claims follow wake events, never a polling loop: far fewer attempts than appends.
        Assert.True(stats.Sum(s => s.ClaimAttempts) <= (PerStream * paths.Length) + 4, $"claim attempts: {stats.Sum(s => s.ClaimAttempts)}");
    }

    [Fact]
    public async Task A_stale_claim_is_fenced_and_moves_no_cursor()
    {
        await using var client = NewClient(TestServers.Node);
        var a = NewRelativePath("a");
        var stream = await JsonStreamAsync(client, a);
        var subscription = await PullSubscriptionAsync(client, TimeSpan.FromSeconds(1), a);
        await Append(stream, 1, 2);
        var before = (await subscription.GetAsync()).Stream(a)!.AckedOffset;

        using var stale = await subscription.ClaimAsync("sleepy", Timeout());
        Assert.NotNull(stale);
        var claimed = Assert.Single(stale!.Streams);
        Assert.Equal(a, claimed.Path);
        Assert.True(claimed.HasPending);
        var busy = await Assert.ThrowsAsync<DurableStreamException>(() => subscription.ClaimAsync("eager"));
        Assert.Equal(DurableStreamErrorCode.AlreadyClaimed, busy.Code);

        // The lease lapses; another worker claims the work again.
        SubscriptionClaim? fresh = null;
        await Eventually(
            async () =>
            {
                try
                {
                    fresh = await subscription.ClaimAsync("eager");
                    return fresh is not null;
                }
                catch (DurableStreamException e) when (e.Code == DurableStreamErrorCode.AlreadyClaimed)
                {
                    return false;
                }
            },
            "the lease to expire");
        using var current = fresh!;
        Assert.True(current.Generation > stale.Generation);

        var tail = await TailOf(stream);
        var fenced = await Assert.ThrowsAsync<SubscriptionFencedException>(() => subscription.AckAsync(stale, [new SubscriptionAck(a, tail)], done: true));
        Assert.Equal(409, fenced.StatusCode);
        await Assert.ThrowsAsync<SubscriptionFencedException>(() => subscription.ReleaseAsync(stale));
        Assert.Equal(before, (await subscription.GetAsync()).Stream(a)!.AckedOffset);

        await subscription.AckAsync(current, [new SubscriptionAck(a, tail)], done: true);
        Assert.Equal(tail, (await subscription.GetAsync()).Stream(a)!.AckedOffset);
    }

    [Fact]
    public async Task A_worker_that_stops_mid_wake_leaves_the_range_to_another_worker_after_the_lease()
    {
        await using var client = NewClient(TestServers.Node);
        var a = NewRelativePath("a");
        var stream = await JsonStreamAsync(client, a);
        var subscription = await PullSubscriptionAsync(client, TimeSpan.FromSeconds(1), a);
        await Append(stream, 1, 2, 3);

        // The first worker takes the batch and vanishes without acking or releasing it.
        using (var crashing = subscription.CreateWorker("crashing"))
        {
            await foreach (var batch in crashing.PullAsync(Timeout()))
            {
                Assert.Equal(3, batch.MessageCount);
                break;
            }
        }
        var tail = await TailOf(stream);
        Assert.NotEqual(tail, (await subscription.GetAsync()).Stream(a)!.AckedOffset);

        var redelivered = new ConcurrentQueue<int>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout(30));
        using var survivor = subscription.CreateWorker("survivor");
        var running = survivor.RunAsync(
            (batch, _) =>
            {
                foreach (var item in batch.ReadJson<Counted>())
                {
                    redelivered.Enqueue(item!.N);
                }
                return ValueTask.CompletedTask;
            },
            stop.Token);
        await Eventually(async () => (await subscription.GetAsync()).Stream(a)!.AckedOffset == tail, "the survivor to ack the range");
        await stop.CancelAsync();
        await running;
        Assert.Equal([1, 2, 3], redelivered);
    }

    [Fact]
    public async Task Heartbeats_keep_the_lease_of_a_handler_slower_than_the_lease()
    {
        await using var client = NewClient(TestServers.Node);
        var a = NewRelativePath("a");
        var stream = await JsonStreamAsync(client, a);
        var subscription = await PullSubscriptionAsync(client, TimeSpan.FromSeconds(1), a);
        await Append(stream, 1);
        using var worker = subscription.CreateWorker("slow");
        var handled = 0;
        var lostSeen = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout(30));
        var running = worker.RunAsync(
            async (batch, token) =>
            {
                // Three leases long: only heartbeats keep the claim.
                await Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None);
                lostSeen |= batch.LeaseLost.IsCancellationRequested;
                Interlocked.Increment(ref handled);
            },
            stop.Token);
        var tail = await TailOf(stream);
        await Eventually(async () => (await subscription.GetAsync()).Stream(a)!.AckedOffset == tail, "the slow batch to be acked", 20);
        await stop.CancelAsync();
        await running;
        Assert.Equal(1, handled);
        Assert.False(lostSeen);
        Assert.Equal(0, worker.Stats.LeasesLost);
        Assert.True(worker.Stats.Heartbeats >= 2, $"heartbeats: {worker.Stats.Heartbeats}");
    }

    public sealed record Counted([property: System.Text.Json.Serialization.JsonPropertyName("n")] int N);
}
