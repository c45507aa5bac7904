using System.Diagnostics;
using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// A full producer buffer against a server that answers slowly or not at all: the memory held is
/// bounded by MaxBufferedMessages / MaxBufferedBytes (no managed queue behind the native buffer),
/// Append blocks for at most BufferFullTimeout and then throws BufferFull, AppendAsync awaits room.
/// </summary>
public class ProducerBackpressureTests
{
    private static DurableStreamClient Client(FakeHttpServer server) =>
        new(new DurableStreamClientOptions { BaseUrl = server.BaseUrl, MaxRetries = 0 });

    private static bool IsBatch(string request) => request.StartsWith("POST ", StringComparison.Ordinal) && request.Contains("Producer-Seq", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public async Task Memory_stays_bounded_when_the_server_does_not_acknowledge()
    {
        await using var server = new FakeHttpServer(_ => null); // accepts, never answers
        await using var client = Client(server);
        var producer = client.GetStream("/slow").CreateProducer("bounded", new IdempotentProducerOptions
        {
            ContentType = "application/octet-stream",
            MaxBufferedBytes = 64 * 1024,
            BufferFullTimeout = TimeSpan.Zero,
            ShutdownTimeout = TimeSpan.Zero,
        });
        var message = new byte[1024];
        const int attempts = 8192; // 8 MiB offered, 64 KiB allowed
        var before = GC.GetTotalMemory(forceFullCollection: true);
        int accepted = 0, refused = 0;
        for (var i = 0; i < attempts; i++)
        {
            message[0] = (byte)i;
            try
            {
                producer.Append(message);
                accepted++;
            }
            catch (DurableStreamException e) when (e.Code == DurableStreamErrorCode.BufferFull)
            {
                refused++;
            }
        }
        var growth = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.True(accepted <= 64, $"{accepted} messages of 1 KiB accepted with MaxBufferedBytes = 64 KiB");
        Assert.Equal(attempts - accepted, refused);
        Assert.True(growth < 2 * 1024 * 1024, $"the managed heap grew by {growth} bytes for {accepted} buffered messages of 1 KiB");
        await producer.DisposeAsync();
    }

    [Fact]
    public async Task Append_on_a_full_buffer_blocks_at_most_BufferFullTimeout_then_throws_BufferFull()
    {
        await using var server = new FakeHttpServer(_ => null);
        await using var client = Client(server);
        var producer = client.GetStream("/slow").CreateProducer("blocked", new IdempotentProducerOptions
        {
            ContentType = "text/plain",
            MaxBufferedMessages = 2,
            BufferFullTimeout = TimeSpan.FromMilliseconds(300),
            ShutdownTimeout = TimeSpan.Zero,
        });
        producer.Append("a");
        producer.Append("b");
        Assert.False(producer.TryAppend("c"));
        var sw = Stopwatch.StartNew();
        var error = Assert.Throws<DurableStreamException>(() => producer.Append("c"));
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(250), $"Append gave up after {sw.Elapsed}, before BufferFullTimeout");
        Assert.Equal(DurableStreamErrorCode.BufferFull, error.Code);
        Assert.Equal("BUFFER_FULL", error.CodeName);
        Assert.Contains("BufferFullTimeout", error.Message, StringComparison.Ordinal);
        await producer.DisposeAsync();
    }

    [Fact]
    public async Task Blocked_Append_and_awaited_AppendAsync_resume_when_the_slow_server_answers()
    {
        using var gate = new ManualResetEventSlim();
        await using var server = new FakeHttpServer(request =>
        {
            if (!IsBatch(request))
            {
                return FakeHttpServer.Response(404, "Not Found");
            }
            gate.Wait(TimeSpan.FromSeconds(30)); // a slow server: answers once the test opens the gate
            return FakeHttpServer.Response(200, "OK", "", "Stream-Next-Offset: 1_1");
        });
        await using var client = Client(server);
        await using var producer = client.GetStream("/slow").CreateProducer("resume", new IdempotentProducerOptions
        {
            ContentType = "text/plain",
            MaxBufferedMessages = 2,
            BufferFullTimeout = Timeout.InfiniteTimeSpan,
        });
        producer.Append("a");
        producer.Append("b");
        var blocked = Task.Factory.StartNew(() => producer.Append("c"), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            // Cancelled while waiting for room: not buffered.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => producer.AppendAsync(Encoding.UTF8.GetBytes("x"), cts.Token));
        }
        Assert.False(blocked.IsCompleted);

        gate.Set();
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));
        await producer.AppendAsync(Encoding.UTF8.GetBytes("d")).WaitAsync(TimeSpan.FromSeconds(30));
        await producer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, producer.PendingCount);
        Assert.Equal(0, producer.InFlightCount);
        Assert.True(server.Requests.Count(IsBatch) >= 2);
    }

    [Fact]
    public async Task Disposing_wakes_a_blocked_Append()
    {
        await using var server = new FakeHttpServer(_ => null);
        await using var client = Client(server);
        var producer = client.GetStream("/slow").CreateProducer("dispose", new IdempotentProducerOptions
        {
            ContentType = "text/plain",
            MaxBufferedMessages = 1,
            BufferFullTimeout = Timeout.InfiniteTimeSpan,
            ShutdownTimeout = TimeSpan.Zero,
        });
        producer.Append("a");
        var blocked = Task.Factory.StartNew(() => producer.Append("b"), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Task.Delay(100);
        await producer.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void BufferFullTimeout_is_validated_and_defaults_to_five_seconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), new IdempotentProducerOptions().BufferFullTimeout);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotentProducerOptions { BufferFullTimeout = TimeSpan.FromSeconds(-1) }.Validate());
        Assert.Equal("BufferFullTimeout", e.ParamName);
        new IdempotentProducerOptions { BufferFullTimeout = Timeout.InfiniteTimeSpan }.Validate();
        new IdempotentProducerOptions { BufferFullTimeout = TimeSpan.Zero }.Validate();
    }
}
