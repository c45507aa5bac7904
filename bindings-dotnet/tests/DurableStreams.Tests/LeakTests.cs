using System.Runtime.CompilerServices;
using DurableStreams.Interop;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Every native object the bindings create is freed: <c>ds_test_live_handles()</c> returns to its
/// baseline once everything is disposed (or collected). Runs alone (the count is process-wide).
/// </summary>
[Collection(LeakCollection.Name)]
public class LeakTests : ServerTest
{
    public LeakTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Native_handles_return_to_baseline(string kind)
    {
        await SettleAsync(ulong.MaxValue);
        var baseline = NativeDiagnostics.LiveHandles;

        await ExerciseEverythingAsync(kind);

        var final = await SettleAsync(baseline);
        Assert.True(final == baseline, $"ds_test_live_handles: baseline {baseline}, after {final}");
        Assert.Equal(0, NativeCallbacks.UnexpectedCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task ExerciseEverythingAsync(string kind)
    {
        var calls = 0;
        await using var client = NewClient(kind, o => o.DynamicHeaders!["X-N"] = _ => ValueTask.FromResult((++calls).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var stream = await NewStreamAsync(client, "application/json");
        await stream.AppendJsonAsync(new MyEvent("a", 1));
        await stream.HeadAsync();
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.GetStream(NewPath("missing")).HeadAsync());

        await using (var r = await stream.StreamAsync())
        {
            await r.ReadAllJsonAsync<MyEvent>();
        }
        await using (var r = await stream.StreamAsync(new StreamOptions { Live = LiveMode.Sse }))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var _ in r.ReadJsonAsync<MyEvent>(cts.Token))
                {
                }
            });
        }
        // Disposed while a read is pending.
        var pending = await stream.StreamAsync(new StreamOptions { Offset = Offset.Now, Live = LiveMode.LongPoll });
        var reading = pending.ReadAllBytesAsync();
        await Task.Delay(100);
        await pending.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => reading);
        // The same while an enumeration on another thread waits. Its lambda shares a closure with
        // the dynamic header provider's (which then references this response, its stream and the
        // client): the native client must not keep that closure alive (it did, through a strong GCHandle).
        var enumerated = await stream.StreamAsync(new StreamOptions { Offset = Offset.Now, Live = LiveMode.LongPoll });
        var enumerating = Task.Run(async () =>
        {
            await foreach (var _ in enumerated.ReadBytesAsync())
            {
            }
        });
        await Task.Delay(100);
        await enumerated.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => enumerating);

        await using (var producer = stream.CreateProducer("leak"))
        {
            producer.Append(new MyEvent("p", 2));
            await producer.FlushAsync();
        }
        var second = stream.CreateProducer("leak-2");
        second.Append(new MyEvent("p", 3));
        await second.DisposeAsync();

        // Disposed with the server down: released after its shutdown timeout, batch in flight.
        await using (var down = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = $"http://127.0.0.1:{ReliabilityTests.UnusedPort()}/streams" }))
        {
            var unreachable = down.GetStream("/down").CreateProducer("leak-down", new IdempotentProducerOptions
            {
                ContentType = "application/json",
                ShutdownTimeout = TimeSpan.FromMilliseconds(300),
            });
            unreachable.Append(new MyEvent("p", 4));
            await Task.Delay(50); // the batch is sent (and retried)
            await unreachable.DisposeAsync();
        }

        // Handles that are never disposed are released by their SafeHandle finalizers.
        for (var i = 0; i < 10; i++)
        {
            _ = client.GetStream(NewPath("abandoned"));
        }
        await stream.CloseAsync();
        await stream.DeleteAsync();
    }

    /// <summary>Collects garbage and waits (for native callbacks and background tasks) until the count reaches <paramref name="target"/> or stops changing.</summary>
    private static async Task<ulong> SettleAsync(ulong target)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var last = ulong.MaxValue;
        var stableRounds = 0;
        while (DateTime.UtcNow < deadline)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var now = NativeDiagnostics.LiveHandles;
            if (now == target)
            {
                return now;
            }
            stableRounds = now == last ? stableRounds + 1 : 0;
            if (target == ulong.MaxValue && stableRounds >= 3)
            {
                return now;
            }
            last = now;
            await Task.Delay(50);
        }
        return NativeDiagnostics.LiveHandles;
    }
}
