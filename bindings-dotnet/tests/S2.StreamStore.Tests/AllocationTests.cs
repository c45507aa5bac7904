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
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    public const string Name = "allocation";
}
