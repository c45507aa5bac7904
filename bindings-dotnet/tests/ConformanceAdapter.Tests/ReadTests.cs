using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConformanceAdapter.Tests.Infrastructure;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests;

/// <summary><c>read</c> in catch-up, long-poll, SSE and auto modes on JSON, text and binary streams.</summary>
[Collection(AdapterReadCollection.Name)]
public class ReadTests(ServerFixture fixture) : AdapterTest(fixture)
{
    /// <summary>Every server and every read mode (JSON value of the command's <c>live</c> field).</summary>
    public static TheoryData<string, string> KindsAndModes()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { TestServers.Electric, TestServers.Node })
        {
            foreach (var mode in new[] { "catch-up", "long-poll", "sse", "auto" })
            {
                data.Add(kind, mode);
            }
        }
        return data;
    }

    private static JsonObject Read(string path, string mode, JsonObject? extra = null)
    {
        var command = new JsonObject { ["type"] = "read", ["path"] = path };
        switch (mode)
        {
            case "catch-up":
                command["live"] = false;
                break;
            case "auto":
                command["live"] = true;
                command["waitForUpToDate"] = true;
                break;
            default:
                command["live"] = mode;
                command["waitForUpToDate"] = true;
                break;
        }
        foreach (var (name, value) in extra ?? [])
        {
            command[name] = value?.DeepClone();
        }
        return command;
    }

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task Json_chunks_are_the_compact_array_text_of_their_messages(string kind, string mode)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("json");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/json" }), "create");
        // Whitespace as a client might send it; keys in an order a re-serialization could change.
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "{\"msg\": \"first\", \"b\" : [1, 2.5, true]}" }), "append");
        var last = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "[{\"msg\":\"second\", \"a\":\"x y\\\"z\"}]" }), "append");

        var read = Ok(await adapter.SendAsync(Read(path, mode)), "read");
        Assert.Equal(200, Status(read));
        var chunk = Chunks(read).Single();
        Assert.Equal("[{\"msg\":\"first\",\"b\":[1,2.5,true]},{\"msg\":\"second\",\"a\":\"x y\\\"z\"}]", Str(chunk, "data"));
        Assert.False(HasField(chunk, "binary"));
        Assert.Equal(Str(last, "offset"), Str(chunk, "offset"));
        Assert.Equal(Str(last, "offset"), Str(read, "offset"));
        Assert.True(Bool(read, "upToDate"));
        Assert.False(Bool(read, "streamClosed"));
        if (mode == "sse")
        {
            Assert.False(string.IsNullOrEmpty(Str(read, "cursor")));
        }
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task Text_streams_read_as_text(string kind, string mode)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("text");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "hello " }), "append");
        var last = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "wörld ✓" }), "append");
        var read = Ok(await adapter.SendAsync(Read(path, mode)), "read");
        Assert.Equal("hello wörld ✓", string.Concat(Chunks(read).Select(c => Str(c, "data"))));
        Assert.All(Chunks(read), c => Assert.False(HasField(c, "binary")));
        Assert.Equal(Str(last, "offset"), Str(read, "offset"));
        Assert.True(Bool(read, "upToDate"));
        Assert.False(Bool(read, "streamClosed"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task Binary_streams_read_as_base64_when_not_utf8(string kind, string mode)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("binary");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/octet-stream" }), "create");
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var last = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = Convert.ToBase64String(all), ["binary"] = true }), "append");
        var read = Ok(await adapter.SendAsync(Read(path, mode)), "read");
        Assert.Equal(all, ChunkBytes(read));
        Assert.All(Chunks(read), c => Assert.True(Bool(c, "binary")));
        Assert.Equal(Str(last, "offset"), Str(read, "offset"));
        Assert.True(Bool(read, "upToDate"));

        // UTF-8 bytes of a binary stream are returned as text.
        var textPath = NewPath("binary-text");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = textPath, ["contentType"] = "application/octet-stream" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = textPath, ["data"] = "SGVsbG8gV29ybGQ=", ["binary"] = true }), "append");
        var text = Ok(await adapter.SendAsync(Read(textPath, mode)), "read");
        Assert.Equal("Hello World", Str(Chunks(text).Single(), "data"));
        Assert.False(HasField(Chunks(text).Single(), "binary"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task Closed_streams_report_streamClosed_and_live_reads_end_at_once(string kind, string mode)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("closed");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "data" }), "append");
        var closed = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "close", ["path"] = path }), "close");

        var sw = Stopwatch.StartNew();
        var command = Read(path, mode, new JsonObject { ["timeoutMs"] = 10000 });
        command.Remove("waitForUpToDate"); // only the closure may end a live read here
        var read = Ok(await adapter.SendAsync(command), "read");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        Assert.Equal("data", Str(Chunks(read).Single(), "data"));
        Assert.True(Bool(read, "streamClosed"));
        Assert.True(Bool(read, "upToDate"));
        Assert.Equal(Str(closed, "finalOffset"), Str(read, "offset"));

        // From the final offset: no data, closed.
        var tail = Read(path, mode, new JsonObject { ["offset"] = Str(closed, "finalOffset"), ["timeoutMs"] = 10000 });
        tail.Remove("waitForUpToDate");
        var atTail = Ok(await adapter.SendAsync(tail), "read");
        Assert.Empty(Chunks(atTail));
        Assert.True(Bool(atTail, "streamClosed"));
        Assert.True(Bool(atTail, "upToDate"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [InlineData(TestServers.Electric, "long-poll")]
    [InlineData(TestServers.Electric, "sse")]
    [InlineData(TestServers.Node, "long-poll")]
    [InlineData(TestServers.Node, "sse")]
    public async Task Live_reads_collect_one_chunk_per_response_until_maxChunks(string kind, string mode)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("live");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "application/json" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "{\"n\": 1}" }), "append");

        // The adapter waits for a second chunk; the server gets new data meanwhile.
        var pending = adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["live"] = mode, ["maxChunks"] = 2, ["timeoutMs"] = 10000 });
        await Task.Delay(500);
        Assert.False(pending.IsCompleted, "the read should still be waiting");
        await ServerAppendAsync(kind, path, "[{\"n\": 2}, {\"n\": 3}]", "application/json");

        var read = Ok(await pending, "read");
        var chunks = Chunks(read);
        Assert.Equal(2, chunks.Length);
        Assert.Equal("[{\"n\":1}]", Str(chunks[0], "data"));
        Assert.Equal("[{\"n\":2},{\"n\":3}]", Str(chunks[1], "data"));
        Assert.Equal(Str(chunks[1], "offset"), Str(read, "offset"));
        Assert.True(string.CompareOrdinal(Str(chunks[1], "offset"), Str(chunks[0], "offset")) > 0);
        Assert.True(Bool(read, "upToDate"));
        Assert.False(Bool(read, "streamClosed"));
        Assert.False(string.IsNullOrEmpty(Str(read, "cursor")));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task A_live_read_at_the_tail_honours_timeoutMs_as_a_success(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("timeout");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        var appended = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "x" }), "append");
        var tail = Str(appended, "offset");

        // Auto mode both as `true` and as the string "auto" (the form the upstream read-auto cases send).
        foreach (var live in new JsonNode[] { "long-poll", "sse", true, "auto" })
        {
            var mode = live.ToJsonString();
            var sw = Stopwatch.StartNew();
            var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = tail, ["live"] = live, ["timeoutMs"] = 500 }), "read");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.5), $"{mode} took {sw.Elapsed}");
            Assert.Empty(Chunks(read));
            Assert.True(Bool(read, "upToDate"), mode);
            Assert.False(Bool(read, "streamClosed"));
            Assert.Equal(tail, Str(read, "offset"));
        }

        // Any other live value is refused before a request, naming the field and the accepted forms.
        var unknown = Error(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["live"] = "websocket" }), "read", "INVALID_ARGUMENT");
        Assert.Contains("live", Str(unknown, "message"), StringComparison.Ordinal);
        Assert.Contains("\"auto\"", Str(unknown, "message"), StringComparison.Ordinal);

        var now = Stopwatch.StartNew();
        var fromNow = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = "now", ["live"] = "long-poll", ["timeoutMs"] = 500 }), "read");
        Assert.True(now.Elapsed < TimeSpan.FromSeconds(1.5), $"took {now.Elapsed}");
        Assert.Empty(Chunks(fromNow));
        Assert.True(Bool(fromNow, "upToDate"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task A_long_poll_from_now_that_times_out_reports_status_204(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("status");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "existing" }), "append");
        Assert.Equal(200, Status(Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path }), "read")));
        // The harness servers end a long-poll after 1 s with 204: the status of that response.
        var waited = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = "now", ["live"] = "long-poll", ["timeoutMs"] = 2500 }), "read");
        Assert.Equal(204, Status(waited));
        Assert.Empty(Chunks(waited));
        Assert.True(Bool(waited, "upToDate"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Offsets_resume_reads_and_invalid_ones_are_INVALID_OFFSET(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("offsets");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path }), "create");
        var afterOne = Str(Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "part1" }), "append"), "offset");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "part2" }), "append");

        var fromStart = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = "-1" }), "read");
        Assert.Equal("part1part2", Str(Chunks(fromStart).Single(), "data"));
        var resumed = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = afterOne }), "read");
        Assert.Equal("part2", Str(Chunks(resumed).Single(), "data"));

        // "now" skips history and reports the real tail offset, from which later data is read.
        var now = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = "now" }), "read");
        Assert.Empty(Chunks(now));
        Assert.True(Bool(now, "upToDate"));
        Assert.Equal(Str(fromStart, "offset"), Str(now, "offset"));
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "future" }), "append");
        var future = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = Str(now, "offset") }), "read");
        Assert.Equal("future", Str(Chunks(future).Single(), "data"));

        var local = Error(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = "bad,offset" }), "read", "INVALID_OFFSET");
        Assert.Contains("bad,offset", Str(local, "message"), StringComparison.Ordinal);
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = "zzz" }), "read", "INVALID_OFFSET", 400);

        var empty = NewPath("empty");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = empty }), "create");
        var nothing = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = empty }), "read");
        Assert.Empty(Chunks(nothing));
        Assert.True(Bool(nothing, "upToDate"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(TestServers.Kinds), MemberType = typeof(TestServers))]
    public async Task Partial_live_reads_stop_at_maxChunks_without_claiming_closure(string kind)
    {
        await using var adapter = await StartAsync(kind);
        var path = NewPath("partial");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "create", ["path"] = path, ["contentType"] = "text/plain" }), "create");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "part1" }), "append");
        Ok(await adapter.SendAsync(new JsonObject { ["type"] = "append", ["path"] = path, ["data"] = "part2" }), "append");
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["live"] = "long-poll", ["maxChunks"] = 1, ["timeoutMs"] = 5000 }), "read");
        Assert.Single(Chunks(read));
        Assert.False(Bool(read, "streamClosed"));
        var rest = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = path, ["offset"] = Str(read, "offset") }), "read");
        Assert.True(Bool(rest, "upToDate"));
        Assert.Equal("part1part2", Str(Chunks(read).Single(), "data") + string.Concat(Chunks(rest).Select(c => Str(c, "data"))));
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task A_corrupt_json_body_is_a_PARSE_ERROR()
    {
        await using var server = new FakeHttpServer(request => request.StartsWith("HEAD ", StringComparison.Ordinal)
            ? FakeHttpServer.Response(200, "OK", "", "Content-Type: application/json", "Stream-Next-Offset: 1_1")
            : FakeHttpServer.Response(200, "OK", "[{\"a\":1},{\"b\":", "Content-Type: application/json", "Stream-Next-Offset: 1_1", "Stream-Up-To-Date: true"));
        await using var adapter = await AdapterProcess.StartAsync(server.BaseUrl);
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = "/corrupt", ["timeoutMs"] = 3000 }), "read", "PARSE_ERROR", 200);
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task Json_chunk_text_keeps_escapes_and_numbers_as_received()
    {
        const string body = "[ {\"z\" : \"\\u00e9\\n\\\"\", \"a\": 1.0e3 , \"m\":[ ] } ,\n\t{\"s\":\"  spaced  \"} ]";
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(200, "OK", body, "Content-Type: application/json", "Stream-Next-Offset: 1_1", "Stream-Up-To-Date: true"));
        await using var adapter = await AdapterProcess.StartAsync(server.BaseUrl);
        var read = Ok(await adapter.SendAsync(new JsonObject { ["type"] = "read", ["path"] = "/raw" }), "read");
        Assert.Equal("[{\"z\":\"\\u00e9\\n\\\"\",\"a\":1.0e3,\"m\":[]},{\"s\":\"  spaced  \"}]", Str(Chunks(read).Single(), "data"));
        Assert.Equal("1_1", Str(read, "offset"));
        await adapter.ShutdownAsync();
    }

    [Theory]
    [InlineData("long-poll")]
    [InlineData("catch-up")]
    public async Task A_character_split_between_responses_is_carried_into_the_next_chunk(string mode)
    {
        // "ab" + first byte of "é" in one response, its second byte + "cd" in the next.
        await using var server = FakeHttpServer.Raw(request =>
        {
            var line = request.Split("\r\n")[0];
            if (line.Contains("offset=1_3", StringComparison.Ordinal))
            {
                return Latin1Response("\u00a9cd", "Stream-Next-Offset: 1_6", "Stream-Up-To-Date: true", "Stream-Cursor: c1");
            }
            return Latin1Response("ab\u00c3", "Stream-Next-Offset: 1_3");
        });
        await using var adapter = await AdapterProcess.StartAsync(server.BaseUrl);
        var read = Ok(await adapter.SendAsync(Read("/split", mode, new JsonObject { ["timeoutMs"] = 3000 })), "read");
        var chunks = Chunks(read);
        if (mode == "catch-up")
        {
            Assert.Equal("abécd", Str(chunks.Single(), "data"));
        }
        else
        {
            Assert.Equal(["ab", "écd"], chunks.Select(c => Str(c, "data")));
            Assert.Equal(["1_3", "1_6"], chunks.Select(c => Str(c, "offset")));
        }
        Assert.All(chunks, c => Assert.False(HasField(c, "binary")));
        Assert.Equal("1_6", Str(read, "offset"));
        await adapter.ShutdownAsync();
    }

    /// <summary>A response whose body is the given characters as single bytes (ISO-8859-1): any byte values.</summary>
    private static byte[] Latin1Response(string body, params string[] headers)
    {
        var head = new System.Text.StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n");
        foreach (var header in headers)
        {
            head.Append(header).Append("\r\n");
        }
        head.Append(System.Globalization.CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        return System.Text.Encoding.Latin1.GetBytes(head + body);
    }
}
