using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConformanceAdapter.Tests.Infrastructure;
using DurableStreams;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests;

/// <summary>The transport: init, shutdown, one line per command, robustness against bad input.</summary>
[Collection(AdapterMiscCollection.Name)]
public class ProtocolTests(ServerFixture fixture) : AdapterTest(fixture)
{
    [Fact]
    public async Task Init_reports_the_client_and_every_feature_and_shutdown_exits_zero()
    {
        await using var adapter = AdapterProcess.Start();
        var init = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "init", ["serverUrl"] = "http://127.0.0.1:9" }), "init");
        Assert.Equal("durable-streams-dotnet", Str(init, "clientName"));
        var packageVersion = typeof(DurableStreamClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        Assert.Equal(packageVersion, Str(init, "clientVersion"));
        var features = init.GetProperty("features");
        string[] expected = ["batching", "sse", "longPoll", "auto", "streaming", "dynamicHeaders", "retryOptions", "batchItems", "strictZeroValidation"];
        Assert.Equal(expected.Order(), features.EnumerateObject().Select(p => p.Name).Order());
        Assert.All(features.EnumerateObject(), p => Assert.True(p.Value.GetBoolean(), p.Name));
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task Unknown_commands_and_malformed_lines_get_an_error_line_and_the_adapter_carries_on()
    {
        await using var adapter = AdapterProcess.Start();
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "init", ["serverUrl"] = "http://127.0.0.1:9" }), "init");

        var unknown = Error(await adapter.SendAsync(new JsonObject { ["type"] = "teleport", ["path"] = "/x" }), "teleport", "NOT_SUPPORTED");
        Assert.Contains("teleport", Str(unknown, "message"), StringComparison.Ordinal);

        Error(await adapter.SendLineAsync("{\"type\": \"create\", \"path\": "), "unknown", "PARSE_ERROR");
        Error(await adapter.SendLineAsync("not json at all"), "unknown", "PARSE_ERROR");
        Error(await adapter.SendLineAsync("[1,2,3]"), "unknown", "PARSE_ERROR");
        Error(await adapter.SendLineAsync("{\"path\":\"/no-type\"}"), "unknown", "PARSE_ERROR");
        var missing = Error(await adapter.SendAsync(new JsonObject { ["type"] = "create" }), "create", "INVALID_ARGUMENT");
        Assert.Contains("path", Str(missing, "message"), StringComparison.Ordinal);

        // Still answering normally.
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "clear-dynamic" }), "clear-dynamic");
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task Commands_before_init_fail_cleanly()
    {
        await using var adapter = AdapterProcess.Start();
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = "/x" }), "head", "INTERNAL_ERROR");
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task Closing_stdin_without_shutdown_exits_zero()
    {
        await using var adapter = AdapterProcess.Start();
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "init", ["serverUrl"] = "http://127.0.0.1:9" }), "init");
        await adapter.CloseStdinAsync();
        Assert.Equal(0, adapter.ExitCode);
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Line_separators_and_other_text_round_trip_on_one_line(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("u2028");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        const string text = "a\u2028b\u2029c\nd\r\ne \"quoted\" \\ é 世界 😀 \u0001";
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = text }), "append");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.Equal(text, Str(Chunks(read).Single(), "data"));
        // The raw reply line: one line, separators escaped.
        var raw = adapter.StdoutLines[^1];
        Assert.DoesNotContain('\u2028', raw);
        Assert.DoesNotContain('\u2029', raw);
        Assert.DoesNotContain('\n', raw);
        Assert.DoesNotContain('\r', raw);
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task A_command_against_a_server_that_never_answers_ends_within_its_timeout()
    {
        await using var server = new FakeHttpServer(_ => null);
        await using var adapter = await AdapterProcess.StartAsync(server.BaseUrl);
        var sw = Stopwatch.StartNew();
        var create = Error(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = "/hang", ["timeoutMs"] = 500 }), "create", "TIMEOUT");
        Assert.Contains("500 ms", Str(create, "message"), StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.5), $"took {sw.Elapsed}");

        // A read that times out is a success with what it collected (nothing).
        sw.Restart();
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = "/hang", ["live"] = "long-poll", ["timeoutMs"] = 500 }), "read");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.5), $"took {sw.Elapsed}");
        Assert.Empty(Chunks(read));
        Assert.False(Bool(read, "upToDate")); // its first response never came
        Assert.Equal("-1", Str(read, "offset"));
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task An_unreachable_server_is_a_NETWORK_ERROR()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        await using var adapter = await AdapterProcess.StartAsync($"http://127.0.0.1:{port}");
        var reply = Error(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = "/nowhere", ["timeoutMs"] = 15000 }), "head", "NETWORK_ERROR");
        Assert.Contains("/nowhere", Str(reply, "message"), StringComparison.Ordinal);
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task The_default_command_time_limit_comes_from_init()
    {
        await using var server = new FakeHttpServer(_ => null);
        await using var adapter = AdapterProcess.Start();
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "init", ["serverUrl"] = server.BaseUrl, ["timeoutMs"] = 400 }), "init");
        var sw = Stopwatch.StartNew();
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "head", ["path"] = "/hang" }), "head", "TIMEOUT");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.5), $"took {sw.Elapsed}");
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task Replies_are_valid_single_line_json()
    {
        await using var adapter = AdapterProcess.Start();
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "init", ["serverUrl"] = "http://127.0.0.1:9" }), "init");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "X-A", ["valueType"] = "counter" }), "set-dynamic-header");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-param", ["name"] = "p", ["valueType"] = "timestamp" }), "set-dynamic-param");
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "X-B", ["valueType"] = "dice" }), "set-dynamic-header", "INVALID_ARGUMENT");
        await adapter.ShutdownAsync();
        foreach (var line in adapter.StdoutLines)
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        }
    }
}
