using System.Text.Json.Nodes;
using ConformanceAdapter.Tests.Infrastructure;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests;

/// <summary>create, connect, head, delete, append and close, with their error codes.</summary>
[Collection(AdapterStreamCollection.Name)]
public class StreamCommandTests(ServerFixture fixture) : AdapterTest(fixture)
{
    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Create_is_201_then_200_and_conflicts_on_another_configuration(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("create");
        var created = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/json" }), "create");
        Assert.Equal(201, Status(created));
        var offset = Str(created, "offset");
        Assert.False(string.IsNullOrEmpty(offset));

        var again = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/json" }), "create");
        Assert.Equal(200, Status(again));
        Assert.Equal(offset, Str(again, "offset"));

        var conflict = Error(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create", "CONFLICT", 409);
        Assert.Contains(path, Str(conflict, "message"), StringComparison.Ordinal);

        var connected = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "connect", ["path"] = path }), "connect");
        Assert.Equal(200, Status(connected));
        Assert.Equal(offset, Str(connected, "offset"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Missing_streams_are_NOT_FOUND_naming_the_path(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("missing");
        foreach (var command in new[]
        {
            new JsonObject { ["type"] = "connect", ["path"] = path },
            new JsonObject { ["type"] = "head", ["path"] = path },
            new JsonObject { ["type"] = "delete", ["path"] = path },
            new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "x" },
            new JsonObject { ["type"] = "read", ["path"] = path },
            new JsonObject { ["type"] = "read", ["path"] = path, ["live"] = "sse" },
            new JsonObject { ["type"] = "close", ["path"] = path },
        })
        {
            var type = (string)command["type"]!;
            var reply = Error(await adapter.SendAsync(command), type, "NOT_FOUND", 404);
            Assert.Contains(path, Str(reply, "message"), StringComparison.Ordinal);
        }
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Head_reports_offset_content_type_closure_ttl_and_expiry(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var ttlPath = NewPath("ttl");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = ttlPath, ["contentType"] = "text/plain", ["ttlSeconds"] = 3600 }), "create");
        var appended = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = ttlPath, ["data"] = "hello" }), "append");
        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = ttlPath }), "head");
        Assert.Equal(200, Status(head));
        Assert.Equal(Str(appended, "offset"), Str(head, "offset"));
        Assert.Equal("text/plain", Str(head, "contentType"));
        Assert.False(Bool(head, "streamClosed"));
        Assert.Equal(3600, head.GetProperty("ttlSeconds").GetInt64());
        Assert.False(HasField(head, "expiresAt"));

        var expiringPath = NewPath("expires");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = expiringPath, ["contentType"] = "application/json", ["expiresAt"] = "2099-01-01T00:00:00Z" }), "create");
        var expiring = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = expiringPath }), "head");
        Assert.Equal("application/json", Str(expiring, "contentType"));
        Assert.StartsWith("2099-01-01T00:00:00", Str(expiring, "expiresAt"), StringComparison.Ordinal);
        Assert.False(HasField(expiring, "ttlSeconds"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Create_closed_with_initial_data(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("closed");
        var created = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain", ["data"] = "initial-content", ["closed"] = true }), "create");
        Assert.Equal(201, Status(created));
        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head");
        Assert.True(Bool(head, "streamClosed"));
        Assert.Equal(Str(created, "offset"), Str(head, "offset"));
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("initial-content", Str(Chunks(read).Single(), "data"));
        Assert.True(Bool(read, "streamClosed"));
        Assert.True(Bool(read, "upToDate"));
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "more" }), "append", "STREAM_CLOSED", 409);
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Delete_then_the_stream_is_gone(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("delete");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/json" }), "create");
        var deleted = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "delete", ["path"] = path }), "delete");
        Assert.Equal(200, Status(deleted));
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head", "NOT_FOUND", 404);
        // Recreated with another content type: nothing stale is remembered.
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "plain text" }), "append");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("plain text", Str(Chunks(read).Single(), "data"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Append_text_binary_and_seq(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("append");
        var created = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/octet-stream" }), "create");
        var first = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "text", ["binary"] = false }), "append");
        Assert.Equal(200, Status(first));
        Assert.True(string.CompareOrdinal(Str(first, "offset"), Str(created, "offset")) > 0);
        Assert.False(HasField(first, "headersSent"));
        Assert.False(HasField(first, "paramsSent"));

        // Bytes that are not UTF-8 (0x9B, 0xF5, 0x8B) must arrive unchanged.
        var second = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "AAABm/WLZTs=", ["binary"] = true }), "append");
        Assert.True(string.CompareOrdinal(Str(second, "offset"), Str(first, "offset")) > 0);
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        var chunk = Chunks(read).Single();
        Assert.True(Bool(chunk, "binary"));
        Assert.Equal(Convert.ToBase64String([.. "text"u8, 0x00, 0x00, 0x01, 0x9B, 0xF5, 0x8B, 0x65, 0x3B]), Str(chunk, "data"));
        Assert.Equal(Str(second, "offset"), Str(chunk, "offset"));
        Assert.Equal(Str(second, "offset"), Str(read, "offset"));

        // Stream-Seq must increase.
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "a", ["seq"] = "0002" }), "append");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "b", ["seq"] = 3 }), "append");
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "c", ["seq"] = "0001" }), "append", "SEQUENCE_CONFLICT", 409);

        // Invalid input never reaches the server.
        var empty = Error(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "" }), "append", "INVALID_ARGUMENT");
        Assert.Contains("data", Str(empty, "message"), StringComparison.Ordinal);
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "not base64!", ["binary"] = true }), "append", "INVALID_ARGUMENT");
        await adapter.ShutdownAsync();
    }

    /// <summary>
    /// A plain append answered by a 5xx or cut off before the server handled it is sent again and
    /// stored once; a 4xx is not retried. Only the Node reference server can inject faults.
    /// </summary>
    [Fact]
    public async Task Plain_appends_are_retried_after_5xx_answers_and_dropped_connections()
    {
        const string kind = TestServers.Node;
        await using var adapter = await StartAsync(kind);
        var path = NewPath("append-retry");
        var created = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        var previous = Str(created, "offset");
        var faults = new[]
        {
            new JsonObject { ["status"] = 503, ["method"] = "POST" },
            new JsonObject { ["status"] = 500 },
            new JsonObject { ["dropConnection"] = true, ["method"] = "POST" },
        };
        for (var i = 0; i < faults.Length; i++)
        {
            await InjectFaultAsync(kind, path, faults[i]);
            var appended = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = $"p{i};" }), "append");
            Assert.Equal(200, Status(appended));
            Assert.True(string.CompareOrdinal(Str(appended, "offset"), previous) > 0, $"fault {faults[i].ToJsonString()}");
            previous = Str(appended, "offset");
        }

        await InjectFaultAsync(kind, path, new JsonObject { ["status"] = 400, ["method"] = "POST" });
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "rejected;" }), "append", "UNEXPECTED_STATUS", 400);

        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal("p0;p1;p2;", string.Concat(Chunks(read).Select(c => Str(c, "data"))));
        Assert.Equal(previous, Str(read, "offset"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Close_is_idempotent_and_appends_after_it_are_STREAM_CLOSED(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("close");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "initial-data" }), "append");
        var closed = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "close", ["path"] = path, ["data"] = "final-message" }), "close");
        var finalOffset = Str(closed, "finalOffset");
        var head = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path }), "head");
        Assert.True(Bool(head, "streamClosed"));
        Assert.Equal(finalOffset, Str(head, "offset"));

        var again = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "close", ["path"] = path }), "close");
        Assert.Equal(finalOffset, Str(again, "finalOffset"));
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "should-fail" }), "append", "STREAM_CLOSED", 409);

        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["live"] = false }), "read");
        Assert.Equal("initial-datafinal-message", Str(Chunks(read).Single(), "data"));
        Assert.True(Bool(read, "streamClosed"));
        Assert.True(Bool(read, "upToDate"));
        Assert.Equal(finalOffset, Str(read, "offset"));

        var emptyPath = NewPath("close-empty");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = emptyPath, ["contentType"] = "application/json" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "close", ["path"] = emptyPath }), "close");
        var emptyRead = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = emptyPath }), "read");
        Assert.Empty(Chunks(emptyRead));
        Assert.True(Bool(emptyRead, "streamClosed"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Command_headers_are_accepted(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("headers");
        var headers = new JsonObject { ["X-Test"] = "1" };
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain", ["headers"] = headers.DeepClone() }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "x", ["headers"] = headers.DeepClone() }), "append");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["headers"] = headers.DeepClone() }), "read");
        Assert.Equal("x", Str(Chunks(read).Single(), "data"));
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = path, ["headers"] = headers.DeepClone() }), "head");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "delete", ["path"] = path, ["headers"] = headers.DeepClone() }), "delete");
        await adapter.ShutdownAsync();
    }
}
