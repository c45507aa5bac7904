using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Serialization.Metadata;
using DurableStreams.Tests.Infrastructure;
using DurableStreams.Tests.Integrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DurableStreams.Tests;

/// <summary>Issue 14 (reliability and security), .NET parts: NUL in strings, bounded producer disposal, JSON reads of closed streams.</summary>
[Collection(ProducerCollection.Name)]
public class ReliabilityTests : ServerTest
{
    public ReliabilityTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    /// <summary>A TCP port nothing listens on (bound once, then released).</summary>
    internal static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static DurableStreamClient UnreachableClient(Action<DurableStreamClientOptions>? configure = null)
    {
        var options = new DurableStreamClientOptions
        {
            BaseUrl = $"http://127.0.0.1:{UnusedPort()}/streams",
            MaxRetries = 1,
            InitialRetryDelay = TimeSpan.FromMilliseconds(10),
            MaxRetryDelay = TimeSpan.FromMilliseconds(50),
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
        configure?.Invoke(options);
        return new DurableStreamClient(options);
    }

    private static void AssertParam(string expected, Exception e)
    {
        var argument = Assert.IsAssignableFrom<ArgumentException>(e);
        Assert.Equal(expected, argument.ParamName);
        Assert.Contains("NUL", argument.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ 1. NUL in strings

    [Fact]
    public async Task Nul_in_a_producer_id_is_rejected_not_truncated()
    {
        await using var client = UnreachableClient();
        var stream = client.GetStream("/orders");
        AssertParam("producerId", Assert.Throws<ArgumentException>(() => stream.CreateProducer("order\0service-A")));
        AssertParam("producerId", Assert.Throws<ArgumentException>(() => stream.CreateProducer("order\0service-B", new IdempotentProducerOptions { ContentType = "text/plain" })));
        var typed = client.GetStream<MyEvent>("/typed", (JsonTypeInfo<MyEvent>)System.Text.Json.JsonSerializerOptions.Default.GetTypeInfo(typeof(MyEvent)));
        AssertParam("producerId", Assert.Throws<ArgumentException>(() => typed.CreateProducer("order\0service-A")));
    }

    [Fact]
    public async Task Nul_in_a_stream_path_is_rejected_by_every_entry_point()
    {
        await using var client = UnreachableClient();
        const string path = "/orders\0/other";
        AssertParam("url", Assert.Throws<ArgumentException>(() => client.GetStream(path)));
        AssertParam("url", await Assert.ThrowsAsync<ArgumentException>(() => client.CreateStreamAsync(path)));
        AssertParam("url", await Assert.ThrowsAsync<ArgumentException>(() => client.ConnectAsync(path)));
        AssertParam("url", await Assert.ThrowsAsync<ArgumentException>(() => client.DeleteStreamAsync(path)));
        AssertParam("url", Assert.Throws<ArgumentException>(() => client.GetStream<MyEvent>(path, (JsonTypeInfo<MyEvent>)System.Text.Json.JsonSerializerOptions.Default.GetTypeInfo(typeof(MyEvent)))));
        AssertParam("url", Assert.Throws<ArgumentException>(() => client.GetStream("http://127.0.0.1:1/a\0b")));
        var stream = client.GetStream("/source");
        AssertParam("target", await Assert.ThrowsAsync<ArgumentException>(() => stream.ForkAsync(path)));
    }

    [Fact]
    public async Task Nul_in_any_other_string_is_rejected_with_its_name()
    {
        await using var client = UnreachableClient();
        var stream = client.GetStream("/s");
        AssertParam("contentType", Assert.Throws<ArgumentException>(() => stream.SetContentType("text/plain\0x")));
        AssertParam("options", await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync("x", new AppendOptions { Seq = "1\0" })));
        AssertParam("options", await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync("x", new AppendOptions { ContentType = "text/plain\0x" })));
        AssertParam("options", await Assert.ThrowsAsync<ArgumentException>(() => stream.StreamAsync(new StreamOptions { Cursor = "c\0" })));
        AssertParam("ContentType", await Assert.ThrowsAsync<ArgumentException>(() => stream.CreateAsync(new CreateStreamOptions { ContentType = "text/plain\0x" })));
        AssertParam("ForkFrom", await Assert.ThrowsAsync<ArgumentException>(() => stream.CreateAsync(new CreateStreamOptions { ForkFrom = "/a\0b" })));
        AssertParam("ContentType", Assert.Throws<ArgumentException>(() => stream.CreateProducer("p", new IdempotentProducerOptions { ContentType = "text/plain\0x" })));
        Assert.Throws<ArgumentException>(() => new Offset("1\0"));

        AssertParam("BaseUrl", Assert.Throws<ArgumentException>(() => new DurableStreamClient(new() { BaseUrl = "http://127.0.0.1:1/a\0b" })));
        AssertParam("DefaultHeaders", Assert.Throws<ArgumentException>(() => new DurableStreamClient(new() { DefaultHeaders = new(StringComparer.OrdinalIgnoreCase) { ["X-A"] = "v\0w" } })));
        AssertParam("DefaultHeaders", Assert.Throws<ArgumentException>(() => new DurableStreamClient(new() { DefaultHeaders = new(StringComparer.OrdinalIgnoreCase) { ["X-A\0B"] = "v" } })));
        AssertParam("DynamicHeaders", Assert.Throws<ArgumentException>(() => new DurableStreamClient(new() { DynamicHeaders = new(StringComparer.OrdinalIgnoreCase) { ["X-A\0B"] = _ => ValueTask.FromResult("v") } })));
        AssertParam("DynamicQueryParameters", Assert.Throws<ArgumentException>(() => new DurableStreamClient(new() { DynamicQueryParameters = new(StringComparer.Ordinal) { ["a\0b"] = _ => ValueTask.FromResult("v") } })));
    }

    [Fact]
    public void Nul_in_the_health_check_stream_path_is_rejected()
    {
        var services = new ServiceCollection();
        var e = Assert.Throws<ArgumentException>(() => services.AddHealthChecks().AddDurableStreams("/health\0x"));
        AssertParam("streamPath", e);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Nul_in_a_dynamic_header_or_query_value_fails_the_request(string kind)
    {
        await using var owner = NewClient(kind);
        var stream = await NewStreamAsync(owner, "text/plain");
        foreach (var header in new[] { true, false })
        {
            await using var client = NewClient(kind, o =>
            {
                if (header)
                {
                    o.DynamicHeaders!["X-Token"] = _ => ValueTask.FromResult("abc\0S3CRET-AFTER-NUL");
                }
                else
                {
                    o.DynamicQueryParameters!["token"] = _ => ValueTask.FromResult("abc\0S3CRET-AFTER-NUL");
                }
            });
            var e = await Assert.ThrowsAnyAsync<DurableStreamException>(() => client.GetStream(stream.Url).HeadAsync(Timeout()));
            Assert.Contains("NUL", e.Message, StringComparison.Ordinal);
            Assert.Contains(header ? "DynamicHeaders" : "DynamicQueryParameters", e.Message, StringComparison.Ordinal);
            // Never quoted (a distinctive tail: stream names are random hex and may contain any short word).
            Assert.DoesNotContain("S3CRET-AFTER-NUL", e.Message, StringComparison.Ordinal);
        }
    }

    // ------------------------------------------------------------------ 2. bounded producer disposal

    [Fact]
    public async Task DisposeAsync_with_the_server_down_returns_after_the_shutdown_timeout_and_reports_the_loss_once()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await using var client = UnreachableClient(o => o.LoggerFactory = factory);
        var producer = client.GetStream("/down").CreateProducer("down-1", new IdempotentProducerOptions
        {
            ContentType = "text/plain",
            ShutdownTimeout = TimeSpan.FromSeconds(1),
        });
        var errors = new ConcurrentQueue<ProducerErrorEventArgs>();
        producer.OnError += (_, e) => errors.Enqueue(e);
        producer.Append("a");
        producer.Append("b");
        producer.Append("c");

        var sw = Stopwatch.StartNew();
        await producer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"DisposeAsync took {sw.Elapsed} (default delivery timeout: 120 s)");
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(0.9), $"DisposeAsync returned after {sw.Elapsed}, before the shutdown timeout");

        await Task.Delay(500); // OnError is raised on the thread pool
        var error = Assert.Single(errors);
        Assert.Equal(3, error.MessageCount);
        var exception = Assert.IsType<DurableStreamException>(error.Exception);
        Assert.Equal(DurableStreamErrorCode.Timeout, exception.Code);
        Assert.Contains("3 message(s)", exception.Message, StringComparison.Ordinal);
        Assert.Contains("ShutdownTimeout", exception.Message, StringComparison.Ordinal);
        Assert.Single(logs.Records, r => r.EventId.Id == 5); // ProducerDeliveryFailed
    }

    [Fact]
    public async Task DisposeAsync_with_a_zero_shutdown_timeout_does_not_wait()
    {
        await using var client = UnreachableClient();
        var producer = client.GetStream("/down").CreateProducer("down-0", new IdempotentProducerOptions { ContentType = "text/plain", ShutdownTimeout = TimeSpan.Zero });
        var errors = new ConcurrentQueue<ProducerErrorEventArgs>();
        producer.OnError += (_, e) => errors.Enqueue(e);
        producer.Append("a");
        var sw = Stopwatch.StartNew();
        await producer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"DisposeAsync took {sw.Elapsed}");
        await Task.Delay(500);
        Assert.Equal(1, Assert.Single(errors).MessageCount);
    }

    [Fact]
    public async Task FlushAsync_and_DetachAsync_with_the_server_down_honour_their_token()
    {
        await using var client = UnreachableClient();
        var producer = client.GetStream("/down").CreateProducer("down-2", new IdempotentProducerOptions { ContentType = "text/plain", ShutdownTimeout = TimeSpan.FromMilliseconds(200) });
        producer.Append("a");
        var sw = Stopwatch.StartNew();
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => producer.FlushAsync(cts.Token));
        }
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => producer.DetachAsync(cts.Token));
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        await producer.DisposeAsync();
    }

    [Fact]
    public void ShutdownTimeout_is_validated()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotentProducerOptions { ShutdownTimeout = TimeSpan.FromSeconds(-1) }.Copy().Validate());
        Assert.Equal("ShutdownTimeout", e.ParamName);
        new IdempotentProducerOptions { ShutdownTimeout = System.Threading.Timeout.InfiniteTimeSpan }.Validate();
        Assert.Equal(TimeSpan.FromSeconds(5), new IdempotentProducerOptions().ShutdownTimeout);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task DisposeAsync_with_the_server_up_delivers_everything_and_reports_nothing(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain");
        var errors = new ConcurrentQueue<ProducerErrorEventArgs>();
        await using (var producer = stream.CreateProducer("up-1", new IdempotentProducerOptions { ShutdownTimeout = TimeSpan.FromSeconds(10) }))
        {
            producer.OnError += (_, e) => errors.Enqueue(e);
            for (var i = 0; i < 100; i++)
            {
                producer.Append("x");
            }
        }
        await Task.Delay(200);
        Assert.Empty(errors);
        await using var response = await stream.StreamAsync(cancellationToken: Timeout());
        Assert.Equal(new string('x', 100), await response.ReadAllTextAsync(Timeout()));
    }

    // ------------------------------------------------------------------ 3. JSON reads of a closed stream from Now

    public static TheoryData<string, LiveMode> KindsAndWaitingModes => new()
    {
        { TestServers.Electric, LiveMode.LongPoll },
        { TestServers.Electric, LiveMode.Auto },
        { TestServers.Node, LiveMode.LongPoll },
        { TestServers.Node, LiveMode.Auto },
    };

    [Theory]
    [MemberData(nameof(KindsAndWaitingModes))]
    public async Task ReadJsonAsync_of_a_closed_stream_from_Now_on_a_fresh_handle_ends_normally(string kind, LiveMode live)
    {
        string path;
        await using (var writer = NewClient(kind))
        {
            path = NewPath("closed-json");
            var created = await writer.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "application/json" });
            await created.AppendJsonAsync(new MyEvent("a", 1));
            await created.CloseAsync();
        }

        // A new client: its handle has not learned the content type.
        await using (var client = NewClient(kind))
        {
            await using var response = await client.GetStream(path).StreamAsync(new StreamOptions { Offset = Offset.Now, Live = live }, Timeout());
            var items = new List<MyEvent>();
            await foreach (var item in response.ReadJsonAsync<MyEvent>(Timeout()))
            {
                items.Add(item!);
            }
            Assert.Empty(items);
        }

        await using (var client = NewClient(kind))
        {
            await using var response = await client.GetStream(path).StreamAsync(new StreamOptions { Offset = Offset.Now, Live = live }, Timeout());
            var batches = new List<JsonBatch<MyEvent>>();
            await foreach (var batch in response.ReadJsonBatchesAsync<MyEvent>(Timeout()))
            {
                batches.Add(batch);
            }
            Assert.All(batches, b => Assert.Empty(b.Items));
        }

        await using (var client = NewClient(kind))
        {
            await using var response = await client.GetStream(path).StreamAsync(new StreamOptions { Offset = Offset.Now, Live = live }, Timeout());
            Assert.Empty(await response.ReadAllJsonAsync<MyEvent>(Timeout()));
        }
    }

    [Theory]
    [MemberData(nameof(KindsAndWaitingModes))]
    public async Task Disposing_or_cancelling_ReadJsonAsync_from_Now_on_a_fresh_handle_reports_that(string kind, LiveMode live)
    {
        string path;
        await using (var writer = NewClient(kind))
        {
            path = (await NewStreamAsync(writer, "application/json", "open-json")).Url;
        }
        foreach (var dispose in new[] { true, false })
        {
            await using var client = NewClient(kind);
            var response = await client.GetStream(path).StreamAsync(new StreamOptions { Offset = Offset.Now, Live = live }, Timeout());
            var reading = Task.Run(async () =>
            {
                await foreach (var _ in response.ReadJsonAsync<MyEvent>(Timeout(30)))
                {
                }
            });
            await Task.Delay(300);
            if (dispose)
            {
                await response.DisposeAsync();
                await Assert.ThrowsAsync<ObjectDisposedException>(() => reading);
            }
            else
            {
                response.Cancel();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
                await response.DisposeAsync();
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Cancelling_ReadJsonAsync_from_Now_on_a_fresh_handle_reports_the_cancellation(string kind)
    {
        string path;
        await using (var writer = NewClient(kind))
        {
            path = (await NewStreamAsync(writer, "application/json", "open-json")).Url;
        }
        await using var client = NewClient(kind);
        await using var response = await client.GetStream(path).StreamAsync(new StreamOptions { Offset = Offset.Now, Live = LiveMode.LongPoll }, Timeout());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in response.ReadJsonAsync<MyEvent>(cts.Token))
            {
            }
        });
    }
}
