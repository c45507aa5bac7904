using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using I = DurableStreams.DurableStreamsDiagnostics.Instruments;

namespace DurableStreams.Tests.Integrations;

[Collection(IntegrationCollection.Name)]
public class TelemetryTests : ServerTest
{
    public TelemetryTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    /// <summary>Stopped activities of the DurableStreams source.</summary>
    private sealed class Activities : IDisposable
    {
        private readonly ActivityListener _listener;

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        public Activities()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == DurableStreamsDiagnostics.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a => Stopped.Enqueue(a),
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> For(string path) =>
            Stopped.Where(a => (a.GetTagItem("messaging.destination.name") as string)?.EndsWith(path, StringComparison.Ordinal) == true).ToList();

        public void Dispose() => _listener.Dispose();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Metrics_AppendsBytesOperationsReadsAndProducer(string kind)
    {
        using var metrics = new Measurements();
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain", "metrics");
        await stream.AppendAsync("hello");
        await stream.AppendAsync("world!");
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.GetStream(NewPath("missing")).HeadAsync(Timeout()));

        await using (var response = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            Assert.Equal("helloworld!", await response.ReadAllTextAsync(Timeout()));
        }

        await using (var producer = stream.CreateProducer("metrics-1", new IdempotentProducerOptions { Linger = TimeSpan.FromMilliseconds(50) }))
        {
            producer.Append("a");
            producer.Append("bc");
            metrics.Observe(); // the observable gauges are read while the producer is alive
            await producer.FlushAsync(Timeout());
        }

        Assert.True(metrics.Sum(I.Appends) >= 2);
        Assert.True(metrics.Sum(I.AppendedBytes) >= 11);
        Assert.True(metrics.Sum(I.Operations, t => (string?)t["durablestreams.operation"] == "create") >= 1);
        Assert.True(metrics.Count(I.OperationDuration) >= 4);
        Assert.True(metrics.Sum(I.Errors, t => (string?)t["error.type"] == "NOT_FOUND" && t["http.response.status_code"] is 404) >= 1);
        Assert.True(metrics.Sum(I.ReadSessions) >= 1);
        Assert.True(metrics.Sum(I.ReadChunks) >= 1);
        Assert.True(metrics.Sum(I.ReadBytes) >= 11);
        Assert.True(metrics.Sum(I.ProducerMessages) >= 2);
        Assert.True(metrics.Sum(I.ProducerBytes) >= 3);
        Assert.True(metrics.Sum(I.ProducerFlushes) >= 1);
        Assert.True(metrics.Count(I.ProducerInFlightBatches) >= 1);
        Assert.True(metrics.Count(I.ProducerPendingMessages) >= 1);
        Assert.All(metrics.All.Where(m => m.Instrument == I.Appends), m => Assert.False(string.IsNullOrEmpty((string?)m.Tags["server.address"])));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Metrics_LiveWaitAndJsonMessages(string kind)
    {
        using var metrics = new Measurements();
        await using var client = NewClient(kind);
        var stream = client.GetStream(NewPath("live-metrics"), IntegrationJsonContext.Default.MyEvent);
        await stream.CreateAsync(cancellationToken: Timeout());
        await stream.AppendAsync(new MyEvent("a", 1), Timeout());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var count = 0;
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in stream.ReadAsync(new StreamOptions { Live = LiveMode.LongPoll }, cts.Token))
            {
                if (++count == 2)
                {
                    break;
                }
            }
        });
        await Task.Delay(300);
        await stream.AppendAsync(new MyEvent("b", 2), Timeout());
        await reader.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(metrics.Sum(I.ReadMessages) >= 2);
        Assert.Contains(metrics.All, m => m.Instrument == I.ReadLiveWait && m.Value > 0.1 && (string?)m.Tags["durablestreams.read.live"] == "LongPoll");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Tracing_ActivitiesForCreateAppendHeadDeleteReadAndFlush(string kind)
    {
        using var activities = new Activities();
        await using var client = NewClient(kind);
        var path = NewPath("traced");
        var stream = await client.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "text/plain" }, Timeout());
        await stream.AppendAsync("hello", cancellationToken: Timeout());
        await stream.HeadAsync(Timeout());
        await using (var response = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await response.ReadAllTextAsync(Timeout());
        }
        await using (var producer = stream.CreateProducer("traced-1"))
        {
            producer.Append("x");
            await producer.FlushAsync(Timeout());
        }
        Assert.Null(Activity.Current); // nothing leaks into the caller's context
        await stream.DeleteAsync(Timeout());
        await Assert.ThrowsAsync<StreamNotFoundException>(() => stream.HeadAsync(Timeout()));

        var mine = activities.For(path);
        var names = mine.Select(a => a.GetTagItem("messaging.operation.name")).ToList();
        Assert.Contains("create", names);
        Assert.Contains("append", names);
        Assert.Contains("head", names);
        Assert.Contains("read", names);
        Assert.Contains("flush", names);
        Assert.Contains("delete", names);

        var append = mine.Single(a => (string?)a.GetTagItem("messaging.operation.name") == "append");
        Assert.Equal(ActivityKind.Producer, append.Kind);
        Assert.Equal($"append {new Uri(stream.Url).AbsolutePath}", append.DisplayName);
        Assert.Equal("durable-streams", append.GetTagItem("messaging.system"));
        Assert.Equal("send", append.GetTagItem("messaging.operation.type"));
        Assert.Equal(new Uri(stream.Url).Host, append.GetTagItem("server.address"));
        Assert.Equal(new Uri(stream.Url).Port, append.GetTagItem("server.port"));
        Assert.Equal(ActivityStatusCode.Unset, append.Status);

        var read = mine.Single(a => (string?)a.GetTagItem("messaging.operation.name") == "read");
        Assert.Equal(ActivityKind.Consumer, read.Kind);
        Assert.True((long)read.GetTagItem("durablestreams.read.bytes")! >= 5);

        var failedHead = mine.Where(a => (string?)a.GetTagItem("messaging.operation.name") == "head").Single(a => a.Status == ActivityStatusCode.Error);
        Assert.Equal(404, failedHead.GetTagItem("http.response.status_code"));
        Assert.Equal("NOT_FOUND", failedHead.GetTagItem("error.type"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Tracing_AppendIsChildOfCurrentActivity(string kind)
    {
        using var activities = new Activities();
        using var source = new ActivitySource("DurableStreams.Tests.Parent");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var client = NewClient(kind);
        var path = NewPath("traced-parent");
        var stream = await client.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "text/plain" }, Timeout());
        using (var parent = source.StartActivity("parent"))
        {
            await stream.AppendAsync("x", cancellationToken: Timeout());
            Assert.Same(parent, Activity.Current);
            var append = activities.For(path).Single(a => (string?)a.GetTagItem("messaging.operation.name") == "append");
            Assert.Equal(parent!.TraceId, append.TraceId);
            Assert.Equal(parent.SpanId, append.ParentSpanId);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Logging_FailuresAreLoggedWithStructuredFieldsAndNoSecrets(string kind)
    {
        using var provider = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        const string secret = "Bearer super-secret-token-123";
        await using var client = NewClient(kind, o =>
        {
            o.LoggerFactory = factory;
            o.DefaultHeaders!["Authorization"] = secret;
        });
        var missing = NewPath("log-missing");
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.GetStream(missing).HeadAsync(Timeout()));

        // A producer fenced by a newer epoch reports through OnError: an Error record.
        var stream = await NewStreamAsync(client, "text/plain", "log-fenced");
        await using (var newer = stream.CreateProducer("p", new IdempotentProducerOptions { Epoch = 5 }))
        {
            newer.Append("new");
            await newer.FlushAsync(Timeout());
        }
        var errors = new TaskCompletionSource<ProducerErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (var stale = stream.CreateProducer("p", new IdempotentProducerOptions { Epoch = 1 }))
        {
            stale.OnError += (_, e) => errors.TrySetResult(e);
            stale.Append("old");
            await Assert.ThrowsAnyAsync<DurableStreamException>(() => stale.FlushAsync(Timeout()));
            await errors.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        // A read of a missing stream: a read-failure record.
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.GetStream(missing).StreamAsync(cancellationToken: Timeout()));

        var records = provider.Records.ToList();
        var head = records.Single(r => r.EventId.Name == "OperationRejected" && r.Message.Contains(missing, StringComparison.Ordinal) && Field(r, "Operation") as string == "head");
        Assert.Equal(LogLevel.Debug, head.Level);
        Assert.Equal("DurableStreams", head.Category);
        Assert.Equal("NOT_FOUND", Field(head, "ErrorCode"));
        Assert.Equal(404, Field(head, "StatusCode"));
        Assert.IsType<StreamNotFoundException>(head.Exception);

        var producerError = records.First(r => r.EventId.Name == "ProducerDeliveryFailed");
        Assert.Equal(LogLevel.Error, producerError.Level);
        Assert.Equal("p", Field(producerError, "ProducerId"));
        Assert.Equal(1L, Field(producerError, "Epoch"));

        var read = records.Single(r => r.EventId.Name == "ReadFailed" && r.Message.Contains(missing, StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, read.Level);

        Assert.Contains(records, r => r.EventId.Name == "ClientCreated");
        Assert.DoesNotContain(records, r => r.Message.Contains("super-secret", StringComparison.Ordinal)
            || r.State.Any(f => f.Value?.ToString()?.Contains("super-secret", StringComparison.Ordinal) == true)
            || r.Exception?.ToString().Contains("super-secret", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Logging_NetworkFailureIsAWarning()
    {
        using var provider = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        await using var client = new DurableStreamClient(new DurableStreamClientOptions
        {
            BaseUrl = $"http://127.0.0.1:{ClosedPort()}/v1/stream?token=hidden-query-secret",
            MaxRetries = 0,
            LoggerFactory = factory,
        });
        await Assert.ThrowsAnyAsync<DurableStreamException>(() => client.GetStream("/x").AppendAsync("data", cancellationToken: Timeout()));
        var record = provider.Records.Single(r => r.EventId.Name == "OperationFailed");
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Equal("append", Field(record, "Operation"));
        Assert.DoesNotContain("hidden-query-secret", (string)Field(record, "StreamUrl")!, StringComparison.Ordinal);
    }

    /// <summary>A local port with nothing listening.</summary>
    internal static int ClosedPort()
    {
        using var socket = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        socket.Start();
        var port = ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return port;
    }

    private static object? Field(LogRecord record, string name) => record.State.FirstOrDefault(f => f.Key == name).Value;
}
