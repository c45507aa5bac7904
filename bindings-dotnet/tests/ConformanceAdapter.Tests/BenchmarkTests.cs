using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConformanceAdapter.Tests.Infrastructure;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests;

/// <summary>The six benchmark operations: self-timed, with plausible metrics.</summary>
[Collection(AdapterMiscCollection.Name)]
public class BenchmarkTests(ServerFixture fixture) : AdapterTest(fixture)
{
    private static JsonObject Benchmark(string iterationId, JsonObject operation) => new()
    {
        ["type"] = "benchmark",
        ["iterationId"] = iterationId,
        ["operation"] = operation,
    };

    /// <summary>A benchmark reply: its iteration id, a positive integer duration in ns, and metrics.</summary>
    private static (long Nanoseconds, JsonElement Metrics) Measured(JsonElement reply, string iterationId)
    {
        Ok(reply, "benchmark");
        Assert.Equal(iterationId, Str(reply, "iterationId"));
        var text = Str(reply, "durationNs");
        Assert.Matches("^[0-9]+$", text);
        var nanoseconds = long.Parse(text, CultureInfo.InvariantCulture);
        Assert.InRange(nanoseconds, 1, 60_000_000_000L);
        var metrics = reply.GetProperty("metrics");
        Assert.Equal(JsonValueKind.Object, metrics.ValueKind);
        return (nanoseconds, metrics);
    }

    private static void AssertRates(JsonElement metrics, long nanoseconds, long? bytes, long messages)
    {
        var seconds = nanoseconds / 1e9;
        Assert.Equal(messages, metrics.GetProperty("messagesProcessed").GetInt64());
        Assert.Equal(messages / seconds, metrics.GetProperty("opsPerSecond").GetDouble(), messages / seconds * 1e-3 + 1e-3);
        if (bytes is { } b)
        {
            Assert.Equal(b, metrics.GetProperty("bytesTransferred").GetInt64());
            Assert.Equal(b / seconds, metrics.GetProperty("bytesPerSecond").GetDouble(), b / seconds * 1e-3 + 1e-3);
        }
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Append_read_and_create(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("bench");
        // Created outside the adapter, like the runner does: the adapter does not know its content type.
        await ServerCreateAsync(kind, path, "application/octet-stream");
        for (var i = 0; i < 3; i++)
        {
            var (ns, metrics) = Measured(await adapter.SendAsync(Benchmark($"append-{i}", new JsonObject { ["op"] = "append", ["path"] = path, ["size"] = 100 })), $"append-{i}");
            AssertRates(metrics, ns, 100, 1);
        }
        var (readNs, readMetrics) = Measured(await adapter.SendAsync(Benchmark("read-0", new JsonObject { ["op"] = "read", ["path"] = path })), "read-0");
        AssertRates(readMetrics, readNs, 300, 1);
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal(new string('*', 300), Str(Chunks(read).Single(), "data"));

        var createPath = NewPath("bench-create");
        for (var i = 0; i < 2; i++)
        {
            // Paths repeat: the second create is the idempotent one.
            var (ns, metrics) = Measured(await adapter.SendAsync(Benchmark($"create-{i}", new JsonObject { ["op"] = "create", ["path"] = createPath, ["contentType"] = "application/octet-stream" })), $"create-{i}");
            AssertRates(metrics, ns, null, 1);
        }
        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = createPath }), "head");
        Assert.Equal("application/octet-stream", Str(head, "contentType"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [InlineData(TestServers.Electric, "long-poll", null)]
    [InlineData(TestServers.Electric, "sse", null)]
    [InlineData(TestServers.Electric, "sse", "application/json")]
    [InlineData(TestServers.Node, "long-poll", "application/json")]
    [InlineData(TestServers.Node, "sse", null)]
    public async Task Roundtrip_creates_reads_live_and_appends(string kind, string live, string? contentType)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("bench-roundtrip");
        var operation = new JsonObject { ["op"] = "roundtrip", ["path"] = path, ["size"] = 100, ["live"] = live };
        if (contentType is not null)
        {
            operation["contentType"] = contentType;
        }
        var (ns, metrics) = Measured(await adapter.SendAsync(Benchmark("rt", operation)), "rt");
        // What was appended plus what was read back (JSON chunks carry the array brackets).
        AssertRates(metrics, ns, contentType is null ? 200 : 202, 1);
        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head");
        Assert.Equal(contentType ?? "application/octet-stream", Str(head, "contentType"));
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal(contentType is null ? new string('*', 100) : "[\"" + new string('*', 98) + "\"]", Str(Chunks(read).Single(), "data"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Throughput_append_then_throughput_read(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("bench-throughput");
        for (var i = 0; i < 2; i++)
        {
            // The first iteration creates the stream; the second appends to it.
            var (ns, metrics) = Measured(await adapter.SendAsync(Benchmark($"tp-{i}", new JsonObject { ["op"] = "throughput_append", ["path"] = path, ["count"] = 500, ["size"] = 100, ["concurrency"] = 50 })), $"tp-{i}");
            AssertRates(metrics, ns, 50_000, 500);
        }
        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal(100_000, ChunkBytes(read).Length);
        Assert.Equal(Str(head, "offset"), Str(read, "offset"));

        var jsonPath = NewPath("bench-json");
        await ServerCreateAsync(kind, jsonPath, "application/json");
        var messages = string.Join(",", Enumerable.Range(0, 1000).Select(i => $"{{\"n\":{i},\"data\":\"message-{i}-padding\"}}"));
        await ServerAppendAsync(kind, jsonPath, "[" + messages + "]", "application/json");
        var expectedBytes = Enumerable.Range(0, 1000).Sum(i => $"{{\"n\":{i},\"data\":\"message-{i}-padding\"}}".Length);
        var (readNs, readMetrics) = Measured(await adapter.SendAsync(Benchmark("tr", new JsonObject { ["op"] = "throughput_read", ["path"] = jsonPath, ["expectedCount"] = 1000 })), "tr");
        AssertRates(readMetrics, readNs, expectedBytes, 1000);

        // A JSON stream written by throughput_append gets valid JSON messages.
        var (jsonNs, jsonMetrics) = Measured(await adapter.SendAsync(Benchmark("tp-json", new JsonObject { ["op"] = "throughput_append", ["path"] = jsonPath, ["count"] = 10, ["size"] = 20, ["concurrency"] = 2 })), "tp-json");
        AssertRates(jsonMetrics, jsonNs, 200, 10);
        var (_, after) = Measured(await adapter.SendAsync(Benchmark("tr-2", new JsonObject { ["op"] = "throughput_read", ["path"] = jsonPath })), "tr-2");
        Assert.Equal(1010, after.GetProperty("messagesProcessed").GetInt64());
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task Unknown_operations_are_NOT_SUPPORTED()
    {
        await using var adapter = await StartAsync(TestServers.Electric);
        Error(await adapter.SendAsync(Benchmark("x", new JsonObject { ["op"] = "warp", ["path"] = "/x" })), "benchmark", "NOT_SUPPORTED");
        Error(await adapter.SendAsync(Benchmark("x", new JsonObject { ["op"] = "append", ["path"] = "/x", ["size"] = 0 })), "benchmark", "INVALID_ARGUMENT");
        await adapter.ShutdownAsync();
    }

    private async Task ServerCreateAsync(string kind, string path, string contentType)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(Server(kind).StreamPrefixUrl + path));
        request.Content = new ByteArrayContent([]);
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"create: {(int)response.StatusCode}");
    }
}
