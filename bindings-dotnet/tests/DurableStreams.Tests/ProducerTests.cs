using System.Collections.Concurrent;
using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

[Collection(ProducerCollection.Name)]
public class ProducerTests : ServerTest
{
    public ProducerTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static async Task<List<MyEvent>> ReadJsonAsync(DurableStream stream)
    {
        await using var r = await stream.StreamAsync();
        return [.. (await r.ReadAllJsonAsync<MyEvent>(Timeout())).Select(e => e!)];
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Appended_messages_arrive_exactly_once_in_order(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        const int count = 1000;
        await using (var producer = stream.CreateProducer("exactly-once", new IdempotentProducerOptions
        {
            MaxBatchItems = 64,
            Linger = TimeSpan.FromMilliseconds(2),
        }))
        {
            var errors = new ConcurrentQueue<ProducerErrorEventArgs>();
            producer.OnError += (_, e) => errors.Enqueue(e);
            Assert.Equal("exactly-once", producer.ProducerId);
            Assert.Equal(0, producer.Epoch);
            Assert.Null(producer.LastAckedOffset);
            for (var i = 0; i < count; i++)
            {
                producer.Append(new MyEvent("p", i));
            }
            await producer.FlushAsync(Timeout());
            Assert.Empty(errors);
            Assert.Equal(0, producer.PendingCount);
            Assert.Equal(0, producer.InFlightCount);
            Assert.True(producer.NextSeq > 0);
            Assert.Equal((await stream.HeadAsync()).Offset, producer.LastAckedOffset);
        }
        var read = await ReadJsonAsync(stream);
        Assert.Equal(Enumerable.Range(0, count), read.Select(e => e.N));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Text_bytes_and_strings_are_appended_raw(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await using (var producer = stream.CreateProducer("raw"))
        {
            producer.Append("héllo ");
            producer.Append(Encoding.UTF8.GetBytes("byte[] ")); // not JSON-serialized
            producer.Append(new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes("memory ")));
            producer.Append(new string('x', 600)); // longer than the stack buffer
            Assert.True(producer.TryAppend(" try"));
            Assert.True(producer.TryAppend(Encoding.UTF8.GetBytes(" bytes")));
            Assert.True(producer.TryAppend(new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(" rom"))));
            // Memory<byte> and ArraySegment<byte> must not fall into the generic JSON overload.
            var buffer = Encoding.UTF8.GetBytes("__ mem seg");
            producer.Append(buffer.AsMemory(2, 4));
            producer.Append(new ArraySegment<byte>(buffer, 6, 4));
            Assert.True(producer.TryAppend(buffer.AsMemory(2, 4)));
            Assert.True(producer.TryAppend(new ArraySegment<byte>(buffer, 6, 4)));
            await producer.AppendAsync(Encoding.UTF8.GetBytes(" async"));
            // Disposal flushes.
        }
        await using var r = await stream.StreamAsync();
        Assert.Equal("héllo byte[] memory " + new string('x', 600) + " try bytes rom mem seg mem seg async", await r.ReadAllTextAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Json_messages_with_source_generated_metadata(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await using (var producer = stream.CreateProducer("typed"))
        {
            producer.Append(new MyEvent("a", 1), TestJsonContext.Default.MyEvent);
            Assert.True(producer.TryAppend(new MyEvent("b", 2), TestJsonContext.Default.MyEvent));
            Assert.True(producer.TryAppend(new MyEvent("c", 3)));
            await producer.FlushAsync();
        }
        Assert.Equal(["a", "b", "c"], (await ReadJsonAsync(stream)).Select(e => e.Type));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_newer_epoch_fences_the_old_producer(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await using var old = stream.CreateProducer("fenced", new IdempotentProducerOptions { Epoch = 0, Linger = TimeSpan.Zero });
        var errors = new ConcurrentQueue<ProducerErrorEventArgs>();
        var errorRaised = new TaskCompletionSource<ProducerErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        object? sender = null;
        old.OnError += (s, e) =>
        {
            sender = s;
            errors.Enqueue(e);
            errorRaised.TrySetResult(e);
        };
        old.Append(new MyEvent("old", 0));
        await old.FlushAsync();

        await using (var newer = stream.CreateProducer("fenced", new IdempotentProducerOptions { Epoch = 1 }))
        {
            newer.Append(new MyEvent("new", 1));
            await newer.FlushAsync();
            Assert.Equal(1, newer.Epoch);
        }

        old.Append(new MyEvent("zombie", 2));
        var flush = await Assert.ThrowsAsync<StaleEpochException>(() => old.FlushAsync(Timeout()));
        Assert.Equal(1, flush.CurrentEpoch);
        Assert.Equal(403, flush.StatusCode);
        Assert.Equal(DurableStreamErrorCode.Forbidden, flush.Code);
        Assert.Equal("STALE_EPOCH", flush.CodeName);

        var raised = await errorRaised.Task.WaitAsync(Timeout());
        var stale = Assert.IsType<StaleEpochException>(raised.Exception);
        Assert.Equal(1, stale.CurrentEpoch);
        Assert.Equal(0, raised.Epoch);
        Assert.Equal(1, raised.MessageCount);
        Assert.NotNull(raised.FirstSeq);
        Assert.NotNull(raised.LastSeq);
        Assert.Same(old, sender);

        // Fenced: further appends throw the fencing error; it was reported to OnError once, not
        // once per refused message.
        var refused = Assert.Throws<StaleEpochException>(() => old.Append(new MyEvent("refused", 3)));
        Assert.Equal(1, refused.CurrentEpoch);
        Assert.Throws<StaleEpochException>(() => old.TryAppend(new MyEvent("refused", 4)));
        for (var i = 0; i < 100; i++)
        {
            Assert.Throws<StaleEpochException>(() => old.Append(new MyEvent("refused", 5 + i)));
        }
        await Task.Delay(100);
        Assert.Single(errors);

        Assert.Equal(["old", "new"], (await ReadJsonAsync(stream)).Select(e => e.Type));

        // Restart clears the failure and moves above the epoch that fenced it: reusing epoch 1
        // would make the server take its first batch for a duplicate of the newer producer's.
        await old.RestartAsync(Timeout());
        Assert.Equal(2, old.Epoch);
        old.Append(new MyEvent("restarted", 5));
        await old.FlushAsync(Timeout());
        Assert.Equal(["old", "new", "restarted"], (await ReadJsonAsync(stream)).Select(e => e.Type));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Restart_moves_to_the_next_epoch(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await using (var producer = stream.CreateProducer("restart", new IdempotentProducerOptions { Epoch = 2 }))
        {
            producer.Append(new MyEvent("epoch2", 0));
            await producer.RestartAsync(Timeout()); // delivers what is buffered first
            Assert.Equal(3, producer.Epoch);
            Assert.Equal(0, producer.NextSeq);
            producer.Append(new MyEvent("epoch3", 1));
            await producer.FlushAsync(Timeout());
        }
        Assert.Equal(["epoch2", "epoch3"], (await ReadJsonAsync(stream)).Select(e => e.Type));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Auto_claim_takes_over_a_newer_epoch(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await using (var first = stream.CreateProducer("claim", new IdempotentProducerOptions { Epoch = 3 }))
        {
            first.Append(new MyEvent("first", 0));
        }
        await using var second = stream.CreateProducer("claim", new IdempotentProducerOptions { AutoClaim = true });
        var errors = 0;
        second.OnError += (_, _) => Interlocked.Increment(ref errors);
        second.Append(new MyEvent("second", 1));
        await second.FlushAsync(Timeout());
        Assert.Equal(4, second.Epoch);
        Assert.Equal(0, errors);
        Assert.Equal(["first", "second"], (await ReadJsonAsync(stream)).Select(e => e.Type));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task TryAppend_returns_false_when_the_buffer_is_full(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await using var producer = stream.CreateProducer("full", new IdempotentProducerOptions
        {
            MaxBufferedMessages = 3,
            Linger = TimeSpan.FromSeconds(30), // only a full buffer or a flush sends
        });
        Assert.True(producer.TryAppend("a"));
        Assert.True(producer.TryAppend("b"));
        Assert.True(producer.TryAppend("c"));
        Assert.False(producer.TryAppend("d")); // full: the three are sent now, and room comes with their acknowledgement

        // On a full buffer Append waits for room (at most BufferFullTimeout), in order.
        producer.Append("d");
        producer.Append("e");
        var appendAsync = producer.AppendAsync(Encoding.UTF8.GetBytes("f"));

        await producer.FlushAsync(Timeout());
        await appendAsync.WaitAsync(Timeout());
        await producer.FlushAsync(Timeout());
        await using var r = await stream.StreamAsync();
        Assert.Equal("abcdef", await r.ReadAllTextAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Overflowing_appends_keep_their_order(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        const int count = 300;
        await using (var producer = stream.CreateProducer("overflow", new IdempotentProducerOptions { MaxBufferedMessages = 7, MaxBatchItems = 5 }))
        {
            for (var i = 0; i < count; i++)
            {
                producer.Append(new MyEvent("o", i)); // mostly waits for room (the buffer is full)
            }
            await producer.FlushAsync(Timeout(30));
        }
        Assert.Equal(Enumerable.Range(0, count), (await ReadJsonAsync(stream)).Select(e => e.N));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Close_detach_and_dispose(string kind)
    {
        await using var client = NewClient(kind);

        var closedStream = await NewStreamAsync(client, "text/plain");
        var closer = stream(closedStream, "closer");
        closer.Append("body ");
        await closer.CloseAsync(Encoding.UTF8.GetBytes("end"), Timeout());
        Assert.True((await closedStream.HeadAsync()).StreamClosed);
        var closedError = Assert.Throws<DurableStreamException>(() => closer.Append("late"));
        Assert.Equal(DurableStreamErrorCode.ProducerClosed, closedError.Code);
        await closer.DisposeAsync();
        await using (var r = await closedStream.StreamAsync())
        {
            Assert.Equal("body end", await r.ReadAllTextAsync());
        }

        var plainClose = await NewStreamAsync(client, "text/plain");
        await using (var p = stream(plainClose, "plain-close"))
        {
            p.Append("x");
            await p.CloseAsync();
        }
        Assert.True((await plainClose.HeadAsync()).StreamClosed);

        var detached = await NewStreamAsync(client, "text/plain");
        var detacher = stream(detached, "detacher");
        detacher.Append("kept");
        await detacher.DetachAsync(Timeout());
        Assert.False((await detached.HeadAsync()).StreamClosed);
        Assert.Throws<DurableStreamException>(() => detacher.Append("late"));
        await detacher.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => detacher.Append("after dispose"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => detacher.FlushAsync());
        await detacher.DisposeAsync(); // idempotent

        var disposed = await NewStreamAsync(client, "text/plain");
        var disposer = stream(disposed, "disposer");
        disposer.Append("flushed by dispose");
        await disposer.DisposeAsync();
        await using (var r = await disposed.StreamAsync())
        {
            Assert.Equal("flushed by dispose", await r.ReadAllTextAsync());
        }

        static IdempotentProducer stream(DurableStream s, string id) => s.CreateProducer(id, new IdempotentProducerOptions { Linger = TimeSpan.FromMilliseconds(50) });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Many_threads_share_one_producer(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json");
        await using (var producer = stream.CreateProducer("shared"))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < 100; i++)
                {
                    producer.Append(new MyEvent($"t{t}", i));
                }
            })));
            await producer.FlushAsync(Timeout());
        }
        var all = await ReadJsonAsync(stream);
        Assert.Equal(800, all.Count);
        foreach (var group in all.GroupBy(e => e.Type))
        {
            Assert.Equal(Enumerable.Range(0, 100), group.Select(e => e.N));
        }
    }
}
