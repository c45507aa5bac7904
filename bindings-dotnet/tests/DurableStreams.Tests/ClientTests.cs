using System.Net;
using System.Net.Sockets;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

[Collection(ClientCollection.Name)]
public class ClientTests : ServerTest
{
    public ClientTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Dynamic_headers_are_evaluated_per_operation_without_blocking(string kind)
    {
        var calls = 0;
        var seenCancellable = false;
        await using var client = NewClient(kind, o =>
        {
            o.DefaultHeaders = new Dictionary<string, string> { ["X-Static"] = "1" };
            o.DynamicHeaders = new Dictionary<string, Func<CancellationToken, ValueTask<string>>>
            {
                ["X-Counter"] = async ct =>
                {
                    seenCancellable = ct.CanBeCanceled;
                    await Task.Delay(5, ct); // really asynchronous: completes later on another thread
                    return Interlocked.Increment(ref calls).ToString(System.Globalization.CultureInfo.InvariantCulture);
                },
                ["Authorization"] = _ => ValueTask.FromResult("Bearer synchronous"),
            };
        });
        var stream = await NewStreamAsync(client, "text/plain");
        Assert.Equal(1, calls);
        await stream.AppendAsync("a");
        await stream.HeadAsync();
        await using (var r = await stream.StreamAsync())
        {
            Assert.Equal("a", await r.ReadAllTextAsync());
        }
        await using (var p = stream.CreateProducer("decorated"))
        {
            p.Append("b");
            await p.FlushAsync();
        }
        Assert.True(calls >= 5, $"the provider ran {calls} times");
        Assert.True(seenCancellable);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_failing_dynamic_header_provider_fails_the_operation(string kind)
    {
        await using var client = NewClient(kind, o => o.DynamicHeaders!["Authorization"] = async _ =>
        {
            await Task.Yield();
            throw new InvalidOperationException("token service down");
        });
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => client.GetStream(NewPath("x")).HeadAsync());
        Assert.Equal(DurableStreamErrorCode.InvalidArgument, e.Code);
        Assert.Contains("token service down", e.Message, StringComparison.Ordinal);

        await using var syncThrow = NewClient(kind, o => o.DynamicHeaders!["X"] = _ => throw new FormatException("sync boom"));
        var e2 = await Assert.ThrowsAsync<DurableStreamException>(() => syncThrow.GetStream(NewPath("x")).HeadAsync());
        Assert.Contains("sync boom", e2.Message, StringComparison.Ordinal);

        await using var nullValue = NewClient(kind, o => o.DynamicHeaders!["X"] = _ => ValueTask.FromResult<string>(null!));
        var e3 = await Assert.ThrowsAsync<DurableStreamException>(() => nullValue.GetStream(NewPath("x")).HeadAsync());
        Assert.Contains("returned null", e3.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_disposed_client_refuses_new_work(string kind)
    {
        var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await client.DisposeAsync();
        await client.DisposeAsync(); // idempotent
        client.Dispose();
        Assert.Throws<ObjectDisposedException>(() => client.GetStream("/x"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.CreateStreamAsync("/x"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.AppendAsync("x"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.StreamAsync());
        Assert.Throws<ObjectDisposedException>(() => stream.CreateProducer("p"));
        Assert.Throws<ObjectDisposedException>(() => _ = stream.ContentType);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Operations_started_before_disposal_complete(string kind)
    {
        var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        await using var response = await stream.StreamAsync(new StreamOptions { Live = LiveMode.LongPoll });
        await using var producer = stream.CreateProducer("survivor");
        await client.DisposeAsync();
        producer.Append("still works");
        await producer.FlushAsync(Timeout());
        var text = await response.ReadAllTextAsync(Timeout());
        Assert.Equal(string.Empty, text);
    }

    [Fact]
    public async Task Connection_failures_are_network_errors_naming_the_stream()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        await using var client = new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = $"http://127.0.0.1:{port}",
            MaxRetries = 0,
        });
        var stream = client.GetStream("/nowhere");
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => stream.HeadAsync());
        Assert.Equal(DurableStreamErrorCode.NetworkError, e.Code);
        Assert.Null(e.StatusCode);
        Assert.Equal(stream.Url, e.Url);
        Assert.Contains(stream.Url, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Operation_tokens_cancel_requests(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.AppendAsync("x", null, cancelled.Token));
        Assert.Equal(cancelled.Token, e.CancellationToken);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.HeadAsync(cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.CreateAsync(null, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.DeleteAsync(cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.CloseAsync(cancellationToken: cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ConnectAsync(stream.Url, cancelled.Token));
        // The stream is untouched.
        Assert.False((await stream.HeadAsync()).StreamClosed);
    }
}
