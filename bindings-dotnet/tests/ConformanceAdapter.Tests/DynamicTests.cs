using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConformanceAdapter.Tests.Infrastructure;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests;

/// <summary>set-dynamic-header, set-dynamic-param, clear-dynamic and the headersSent/paramsSent echo.</summary>
[Collection(AdapterMiscCollection.Name)]
public partial class DynamicTests(ServerFixture fixture) : AdapterTest(fixture)
{
    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Counters_tokens_and_timestamps_are_echoed_per_request(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("dynamic");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");

        Assert.Equal("set-dynamic-header", Str(Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "X-Request-Id", ["valueType"] = "counter" }), "set-dynamic-header"), "type"));
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "Authorization", ["valueType"] = "token", ["initialValue"] = "Bearer t0k3n" }), "set-dynamic-header");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-param", ["name"] = "attempt", ["valueType"] = "counter" }), "set-dynamic-param");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-param", ["name"] = "ts", ["valueType"] = "timestamp" }), "set-dynamic-param");

        var first = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "one" }), "append");
        Assert.Equal("1", Str(first.GetProperty("headersSent"), "X-Request-Id"));
        Assert.Equal("Bearer t0k3n", Str(first.GetProperty("headersSent"), "Authorization"));
        Assert.Equal("1", Str(first.GetProperty("paramsSent"), "attempt"));
        var ts = long.Parse(Str(first.GetProperty("paramsSent"), "ts"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ts, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());

        var second = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "two" }), "append");
        Assert.Equal("2", Str(second.GetProperty("headersSent"), "X-Request-Id"));
        Assert.Equal("2", Str(second.GetProperty("paramsSent"), "attempt"));

        foreach (var (mode, expected) in new[] { ("catch-up", "3"), ("long-poll", "4"), ("sse", "5") })
        {
            var read = new JsonObject { ["type"] = "read", ["path"] = path };
            if (mode != "catch-up")
            {
                read["live"] = mode;
                read["waitForUpToDate"] = true;
            }
            var reply = Ok(await adapter.SendAsync(read), "read");
            Assert.Equal("onetwo", Str(Chunks(reply).Single(), "data"));
            Assert.Equal(expected, Str(reply.GetProperty("headersSent"), "X-Request-Id"));
            Assert.Equal("Bearer t0k3n", Str(reply.GetProperty("headersSent"), "Authorization"));
            Assert.Equal(expected, Str(reply.GetProperty("paramsSent"), "attempt"));
        }

        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "clear-dynamic" }), "clear-dynamic");
        var plain = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "three" }), "append");
        Assert.False(HasField(plain, "headersSent"));
        Assert.False(HasField(plain, "paramsSent"));
        var plainRead = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read");
        Assert.False(HasField(plainRead, "headersSent"));
        Assert.False(HasField(plainRead, "paramsSent"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task A_counter_restarts_when_set_again(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("dynamic-reset");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/json" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "X-N", ["valueType"] = "counter" }), "set-dynamic-header");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "{}" }), "append");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "X-N", ["valueType"] = "counter" }), "set-dynamic-header");
        // A fresh SSE read on a stream the adapter knows needs no HEAD first: the read is request 1.
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["live"] = "sse", ["waitForUpToDate"] = true }), "read");
        Assert.Equal("1", Str(read.GetProperty("headersSent"), "X-N"));
        Assert.Equal("[{}]", Str(Chunks(read).Single(), "data"));
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task The_echoed_values_are_the_ones_on_the_wire()
    {
        await using var server = new FakeHttpServer(request => request.StartsWith("POST ", StringComparison.Ordinal)
            ? FakeHttpServer.Response(204, "No Content", "", "Stream-Next-Offset: 1_3")
            : FakeHttpServer.Response(200, "OK", "abc", "Content-Type: text/plain", "Stream-Next-Offset: 1_3", "Stream-Up-To-Date: true"));
        await using var adapter = await AdapterProcess.StartAsync(server.BaseUrl);
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "X-Counter", ["valueType"] = "counter" }), "set-dynamic-header");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-header", ["name"] = "X-Token", ["valueType"] = "token", ["initialValue"] = "secret value" }), "set-dynamic-header");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "set-dynamic-param", ["name"] = "n", ["valueType"] = "counter" }), "set-dynamic-param");

        var append = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = "/wire", ["data"] = "abc", ["headers"] = new JsonObject { ["X-Static"] = "s" } }), "append");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = "/wire" }), "read");
        Assert.Equal("abc", Str(Chunks(read).Single(), "data"));

        var requests = server.Requests;
        var post = requests.Single(r => r.StartsWith("POST ", StringComparison.Ordinal));
        var get = requests.Single(r => r.StartsWith("GET ", StringComparison.Ordinal));
        Assert.Equal(Header(post, "X-Counter"), Str(append.GetProperty("headersSent"), "X-Counter"));
        Assert.Equal("secret value", Header(post, "X-Token"));
        Assert.Equal("s", Header(post, "X-Static"));
        Assert.Equal(Query(post, "n"), Str(append.GetProperty("paramsSent"), "n"));
        Assert.Equal(Header(get, "X-Counter"), Str(read.GetProperty("headersSent"), "X-Counter"));
        Assert.Equal(Query(get, "n"), Str(read.GetProperty("paramsSent"), "n"));
        Assert.NotEqual(Header(post, "X-Counter"), Header(get, "X-Counter"));
        Assert.Contains("offset=-1", get.Split("\r\n")[0], StringComparison.Ordinal);
        await adapter.ShutdownAsync();
    }

    private static string? Header(string request, string name)
    {
        foreach (var line in request.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }
        return null;
    }

    private static string? Query(string request, string name)
    {
        var match = QueryParameter().Matches(request.Split("\r\n")[0]).FirstOrDefault(m => m.Groups[1].Value == name);
        return match is null ? null : Uri.UnescapeDataString(match.Groups[2].Value);
    }

    [GeneratedRegex(@"[?&]([^=&\s]+)=([^&\s]*)")]
    private static partial Regex QueryParameter();
}
