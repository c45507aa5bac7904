using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Managed allocations per append, measured on the calling thread. Runs alone: a MeterListener
/// that another test enables makes the library's counters call into that listener, whose
/// callback allocates on this thread.
/// </summary>
[Collection(AllocationCollection.Name)]
public class AllocationTests : ServerTest
{
    public AllocationTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Append_of_bytes_allocates_nothing_managed(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/octet-stream");
        await using var producer = stream.CreateProducer("alloc", new IdempotentProducerOptions { Linger = TimeSpan.FromMilliseconds(1) });
        var message = new ReadOnlyMemory<byte>(new byte[64]);
        producer.Append(message); // warm up (JIT, first batch)
        producer.Append("warm");
        await producer.FlushAsync();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            producer.Append(message);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"1000 appends allocated {allocated} managed bytes");

        before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            producer.Append("short text message");
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"1000 string appends allocated {allocated} managed bytes");

        before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            producer.TryAppend("short text message");
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"1000 string TryAppends allocated {allocated} managed bytes");
        await producer.FlushAsync(Timeout());
    }
}
