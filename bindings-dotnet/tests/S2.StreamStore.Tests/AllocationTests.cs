namespace S2.StreamStore.Tests;

/// <summary>Managed allocations per record on the span submission paths, measured on the calling thread. Runs alone (no other test's MeterListener); so do the tests that count native handles.</summary>
[Collection(AllocationCollection.Name)]
public class AllocationTests
{
    [LiteFact]
    public async Task Span_submissions_to_producers_and_append_sessions_allocate_nothing_managed()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("alloc");
        await using (client)
        using (stream)
        {
            var body = new byte[64];
            await using (var producer = await stream.OpenProducerAsync(new ProducerOptions { Linger = TimeSpan.FromMilliseconds(1), MaxQueuedSubmissions = 4096 }, Lite.Timeout()))
            {
                Assert.True(producer.TrySubmit(body)); // warm up
                await producer.SubmitAsync(body, Lite.Timeout());
                await producer.FlushAsync(Lite.Timeout());

                var before = GC.GetAllocatedBytesForCurrentThread();
                var submitted = 0;
                for (var i = 0; i < 1000; i++)
                {
                    submitted += producer.TrySubmit(body) ? 1 : 0;
                }
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Equal(1000, submitted);
                Assert.True(allocated == 0, $"1000 producer TrySubmit calls allocated {allocated} managed bytes");
                await producer.FlushAsync(Lite.Timeout());

                before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < 1000; i++)
                {
                    var pending = producer.SubmitAsync(body);
                    if (!pending.IsCompletedSuccessfully)
                    {
                        await pending;
                    }
                }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.True(allocated == 0, $"1000 producer SubmitAsync calls allocated {allocated} managed bytes");
                await producer.FlushAsync(Lite.Timeout());
            }

            await using (var session = await stream.OpenAppendSessionAsync(new AppendSessionOptions { MaxQueuedSubmissions = 4096 }, Lite.Timeout()))
            {
                Assert.True(session.TrySubmit(body));
                await session.FlushAsync(Lite.Timeout());
                var before = GC.GetAllocatedBytesForCurrentThread();
                var submitted = 0;
                for (var i = 0; i < 1000; i++)
                {
                    submitted += session.TrySubmit(body) ? 1 : 0;
                }
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Equal(1000, submitted);
                Assert.True(allocated == 0, $"1000 append-session TrySubmit calls allocated {allocated} managed bytes");
                await session.FlushAsync(Lite.Timeout());
            }
            Assert.Equal(3003UL, (await stream.CheckTailAsync(Lite.Timeout())).SequenceNumber);
        }
    }

    [LiteFact]
    public async Task Span_submits_that_wait_for_room_allocate_nothing_managed()
    {
        var (client, _, stream) = await Lite.NewStreamAsync("allocwait");
        await using (client)
        using (stream)
        {
            // Little room (1 MiB unacknowledged, two queued submissions) so that 8 KiB records wait often.
            var body = new byte[8192];
            const int Records = 3000;
            await using var producer = await stream.OpenProducerAsync(new ProducerOptions { MaxUnackedBytes = 1 << 20, MaxQueuedSubmissions = 2 }, Lite.Timeout());
            // Counts the calling thread's allocations in each call (the test host allocates on its own
            // threads meanwhile, so the process-wide count is no measure here; bench/s2 measures that).
            async Task<(int Waits, long Allocated)> Submit(int count)
            {
                var waits = 0;
                long allocated = 0;
                for (var i = 0; i < count; i++)
                {
                    var start = GC.GetAllocatedBytesForCurrentThread();
                    if (producer.TrySubmit(body))
                    {
                        allocated += GC.GetAllocatedBytesForCurrentThread() - start;
                        continue;
                    }
                    var pending = producer.SubmitAsync(body);
                    allocated += GC.GetAllocatedBytesForCurrentThread() - start;
                    if (!pending.IsCompleted)
                    {
                        waits++;
                    }
                    await pending.ConfigureAwait(false);
                }
                return (waits, allocated);
            }
            await Submit(500).ConfigureAwait(false); // warm up (the first wait creates the reusable one)
            var (waited, allocated) = await Submit(Records).ConfigureAwait(false);
            await producer.FlushAsync(Lite.Timeout()).ConfigureAwait(false);
            Assert.Equal((ulong)(Records + 500), (await stream.CheckTailAsync(Lite.Timeout())).SequenceNumber);
            Assert.True(waited > 10, $"only {waited} submissions waited for room");
            Assert.True(allocated == 0, $"{Records} span submissions with {waited} waits allocated {allocated} managed bytes");
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    public const string Name = "allocation";
}
