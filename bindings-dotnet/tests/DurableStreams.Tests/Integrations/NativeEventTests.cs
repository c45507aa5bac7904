using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using DurableStreams.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using I = DurableStreams.DurableStreamsDiagnostics.Instruments;

namespace DurableStreams.Tests.Integrations;

/// <summary>
/// Events of the native core (retries, producer batches, fencing, epoch claims) reach the client's
/// ILogger with levels and structured fields, and the DurableStreams meter; plain appends retry
/// according to <see cref="DurableStreamClientOptions.AppendRetry"/>. Faults come from the Node
/// reference server's <c>/_test/inject-error</c> endpoint.
/// </summary>
[Collection(IntegrationCollection.Name)]
public class NativeEventTests : ServerTest
{
    public NativeEventTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    private static readonly HttpClient s_http = new();

    /// <summary>Makes the Node server fail requests to the stream as <paramref name="fault"/> says (status, count, method, dropConnection...).</summary>
    private async Task InjectAsync(DurableStream stream, object fault)
    {
        var path = new Uri(stream.Url).AbsolutePath;
        var body = new Dictionary<string, object> { ["path"] = path };
        foreach (var property in fault.GetType().GetProperties())
        {
            body[property.Name] = property.GetValue(fault)!;
        }
        using var response = await s_http.PostAsJsonAsync($"{Server(TestServers.Node).BaseUrl}/_test/inject-error", body, Timeout());
        response.EnsureSuccessStatusCode();
    }

    private static async Task<string> ReadTextAsync(DurableStream stream)
    {
        await using var response = await stream.StreamAsync(new StreamOptions { Live = LiveMode.Off }, Timeout());
        return await response.ReadAllTextAsync(Timeout());
    }

    private static object? Field(LogRecord record, string name) => record.State.FirstOrDefault(f => f.Key == name).Value;

    private static (CapturingLoggerProvider Provider, ILoggerFactory Factory) Logging()
    {
        var provider = new CapturingLoggerProvider();
        return (provider, LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace)));
    }

    [Fact]
    public async Task AppendRetryNever_sends_a_plain_append_once()
    {
        await using var client = NewClient(TestServers.Node);
        Assert.Equal(AppendRetryMode.Never, new DurableStreamClientOptions().AppendRetry);
        var stream = await NewStreamAsync(client, "text/plain", "ev-never");
        await InjectAsync(stream, new { status = 503, count = 1, method = "POST" });
        var error = await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.AppendAsync("once", cancellationToken: Timeout()));
        Assert.Equal(503, error.StatusCode);
        Assert.Equal(string.Empty, await ReadTextAsync(stream));
    }

    [Fact]
    public async Task AppendRetryWhenNotStored_retries_a_503_and_logs_the_retry_with_fields()
    {
        var (provider, factory) = Logging();
        using var _ = factory;
        using var meters = new Measurements();
        await using var client = NewClient(TestServers.Node, o =>
        {
            o.AppendRetry = AppendRetryMode.WhenNotStored;
            o.LoggerFactory = factory;
        });
        var stream = await NewStreamAsync(client, "text/plain", "ev-retry");
        await InjectAsync(stream, new { status = 503, count = 1, method = "POST" });
        await stream.AppendAsync("retried", cancellationToken: Timeout());
        Assert.Equal("retried", await ReadTextAsync(stream));

        var record = Assert.Single(provider.Records, r => r.EventId.Name == "Retry" && Equals(Field(r, "Operation"), "append"));
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Equal(20, record.EventId.Id);
        Assert.Equal(stream.Url, Field(record, "StreamUrl"));
        Assert.Equal(1L, Field(record, "Attempt"));
        Assert.Equal(503L, Field(record, "Status"));
        Assert.Equal("SERVER_ERROR", Field(record, "ErrorKind"));
        Assert.IsType<long>(Field(record, "BackoffMs"));
        Assert.Contains("append failed", record.Message, StringComparison.Ordinal);
        Assert.Contains(meters.All, m => m.Instrument == I.Retries
            && Equals(m.Tags["durablestreams.operation"], "append")
            && Equals(m.Tags["http.response.status_code"], 503));
    }

    [Fact]
    public async Task AppendRetryAtLeastOnce_retries_a_dropped_connection()
    {
        await using var client = NewClient(TestServers.Node, o => o.AppendRetry = AppendRetryMode.AtLeastOnce);
        var stream = await NewStreamAsync(client, "text/plain", "ev-drop");
        await InjectAsync(stream, new { dropConnection = true, count = 1, method = "POST" });
        await stream.AppendAsync("after-drop", cancellationToken: Timeout());
        Assert.Equal("after-drop", await ReadTextAsync(stream));
    }

    [Fact]
    public void AppendRetry_out_of_range_is_rejected_naming_the_option()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DurableStreamClient(new DurableStreamClientOptions { AppendRetry = (AppendRetryMode)7 }));
        Assert.Equal("AppendRetry", error.ParamName);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Producer_batches_fencing_and_claims_reach_the_logger_and_the_meter(string kind)
    {
        var (provider, factory) = Logging();
        using var _ = factory;
        using var meters = new Measurements();
        await using var client = NewClient(kind, o => o.LoggerFactory = factory);
        var stream = await NewStreamAsync(client, "text/plain", "ev-producer");
        var id = $"ev-{Guid.NewGuid():N}";

        await using (var first = stream.CreateProducer(id, new IdempotentProducerOptions { MaxBatchItems = 4 }))
        {
            for (var i = 0; i < 20; i++)
            {
                first.Append($"{i};");
            }
            await first.FlushAsync(Timeout());
        }
        var sent = provider.Records.Where(r => r.EventId.Name == "BatchSent" && Equals(Field(r, "ProducerId"), id)).ToList();
        Assert.NotEmpty(sent);
        Assert.All(sent, r => Assert.Equal(LogLevel.Debug, r.Level));
        Assert.Equal(20L, sent.Sum(r => (long)Field(r, "Messages")!));
        Assert.All(sent, r => Assert.Equal(false, Field(r, "Duplicate")));
        Assert.True(meters.All.Count(m => m.Instrument == I.ProducerBatches) >= sent.Count);
        Assert.Contains(meters.All, m => m.Instrument == I.ProducerBatchDuration && m.Value > 0);

        await using (var newer = stream.CreateProducer(id, new IdempotentProducerOptions { Epoch = 5 }))
        {
            newer.Append("five;");
            await newer.FlushAsync(Timeout());
        }
        await using (var claimer = stream.CreateProducer(id, new IdempotentProducerOptions { Epoch = 1, AutoClaim = true }))
        {
            claimer.Append("claimed;");
            await claimer.FlushAsync(Timeout());
            Assert.Equal(6, claimer.Epoch);
        }
        var fenced = Assert.Single(provider.Records, r => r.EventId.Name == "Fenced" && Equals(Field(r, "ProducerId"), id));
        Assert.Equal(LogLevel.Error, fenced.Level);
        Assert.Equal(1L, Field(fenced, "Epoch"));
        Assert.Equal(5L, Field(fenced, "CurrentEpoch"));
        Assert.Equal(true, Field(fenced, "AutoClaim"));
        var claimed = Assert.Single(provider.Records, r => r.EventId.Name == "EpochClaimed" && Equals(Field(r, "ProducerId"), id));
        Assert.Equal(LogLevel.Information, claimed.Level);
        Assert.Equal(6L, Field(claimed, "Epoch"));
        Assert.Contains(meters.All, m => m.Instrument == I.ProducerFenced && Equals(m.Tags["durablestreams.producer.auto_claim"], true));
        Assert.Equal(string.Concat(Enumerable.Range(0, 20).Select(i => $"{i};")) + "five;claimed;", await ReadTextAsync(stream));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Each_acknowledged_batch_is_a_send_activity(string kind)
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == DurableStreamsDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "text/plain", "ev-trace");
        var id = $"ev-{Guid.NewGuid():N}";
        await using (var producer = stream.CreateProducer(id, new IdempotentProducerOptions { MaxBatchItems = 3 }))
        {
            for (var i = 0; i < 10; i++)
            {
                producer.Append($"{i};");
            }
            await producer.FlushAsync(Timeout());
        }
        var path = new Uri(stream.Url).AbsolutePath;
        var sends = stopped.Where(a => a.DisplayName == $"send {path}").ToList();
        Assert.NotEmpty(sends);
        Assert.All(sends, a =>
        {
            Assert.Equal(ActivityKind.Producer, a.Kind);
            Assert.Equal("send", a.GetTagItem("messaging.operation.name"));
            Assert.Equal(id, a.GetTagItem("durablestreams.producer.id"));
            Assert.True(a.Duration > TimeSpan.Zero);
        });
        Assert.Equal(10L, sends.Sum(a => (long)a.GetTagItem("messaging.batch.message_count")!));
    }

    [Fact]
    public async Task A_client_without_a_logger_still_feeds_the_meter()
    {
        using var meters = new Measurements();
        await using var client = NewClient(TestServers.Node, o => o.AppendRetry = AppendRetryMode.WhenNotStored);
        var stream = await NewStreamAsync(client, "text/plain", "ev-nolog");
        await InjectAsync(stream, new { status = 429, count = 2, method = "POST", retryAfter = 0 });
        await stream.AppendAsync("x", cancellationToken: Timeout());
        Assert.Equal(2, meters.All.Count(m => m.Instrument == I.Retries
            && Equals(m.Tags["durablestreams.operation"], "append")
            && Equals(m.Tags["http.response.status_code"], 429)
            && Equals(m.Tags["error.type"], "RATE_LIMITED")));
    }
}
