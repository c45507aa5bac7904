using System.Text;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Per-request <c>Headers</c> on AppendOptions, CloseOptions, CreateStreamOptions and
/// StreamOptions, observed on the wire with a scripted server.
/// </summary>
public class RequestHeadersTests
{
    private static DurableStreamClient Client(FakeHttpServer server, Action<DurableStreamClientOptions>? configure = null)
    {
        var options = new DurableStreamClientOptions { BaseUrl = server.BaseUrl, MaxRetries = 0 };
        configure?.Invoke(options);
        return new DurableStreamClient(options);
    }

    /// <summary>Every value of header <paramref name="name"/> in a raw request head (names are case-insensitive).</summary>
    internal static List<string> Values(string request, string name) =>
        request.Split("\r\n")
            .Skip(1)
            .Where(line => line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            .Select(line => line[(name.Length + 1)..].Trim())
            .ToList();

    private static string Method(string request) => request[..request.IndexOf(' ', StringComparison.Ordinal)];

    /// <summary>Answers every request like a healthy text/plain stream at offset 1_1.</summary>
    private static string? Ok(string request) => Method(request) switch
    {
        "PUT" => FakeHttpServer.Response(201, "Created", "", "Content-Type: text/plain", "Stream-Next-Offset: 1_1"),
        "POST" => FakeHttpServer.Response(204, "No Content", "", "Stream-Next-Offset: 1_1"),
        _ => FakeHttpServer.Response(200, "OK", "", "Content-Type: text/plain", "Stream-Next-Offset: 1_1", "Stream-Up-To-Date: true"),
    };

    private static Dictionary<string, string> H(params (string Name, string Value)[] headers) =>
        headers.ToDictionary(h => h.Name, h => h.Value);

    [Fact]
    public async Task Append_headers_go_with_that_request_only_and_win_over_default_and_dynamic_ones()
    {
        await using var server = new FakeHttpServer(Ok);
        await using var client = Client(server, o =>
        {
            o.DefaultHeaders!["X-Default"] = "from-default";
            o.DynamicHeaders!["X-Dynamic"] = _ => ValueTask.FromResult("from-dynamic");
        });
        var stream = client.GetStream("/s");
        var text = new AppendOptions { ContentType = "text/plain" };

        await stream.AppendAsync("a", new AppendOptions
        {
            ContentType = "text/plain",
            // Lower-case names: a header name is case-insensitive, so these replace the client's.
            Headers = H(("x-default", "from-request"), ("x-dynamic", "from-request-too"), ("X-Only-Here", "1")),
        });
        await stream.AppendAsync("b", text);

        var requests = server.Requests;
        Assert.Equal(2, requests.Count);
        Assert.Equal(["from-request"], Values(requests[0], "X-Default"));
        Assert.Equal(["from-request-too"], Values(requests[0], "X-Dynamic"));
        Assert.Equal(["1"], Values(requests[0], "X-Only-Here"));
        // The next append is back to the client's headers, without the per-request one.
        Assert.Equal(["from-default"], Values(requests[1], "X-Default"));
        Assert.Equal(["from-dynamic"], Values(requests[1], "X-Dynamic"));
        Assert.Empty(Values(requests[1], "X-Only-Here"));
    }

    [Fact]
    public async Task Append_headers_never_replace_the_content_type_or_seq_the_client_sets()
    {
        await using var server = new FakeHttpServer(Ok);
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        await stream.AppendAsync("a", new AppendOptions
        {
            ContentType = "text/plain",
            Seq = "seq-2",
            Headers = H(("Content-Type", "application/evil"), ("Stream-Seq", "seq-evil"), ("X-Extra", "kept")),
        });
        var request = Assert.Single(server.Requests);
        Assert.Equal(["text/plain"], Values(request, "Content-Type"));
        Assert.Equal(["seq-2"], Values(request, "Stream-Seq"));
        Assert.Equal(["kept"], Values(request, "X-Extra"));
    }

    [Fact]
    public async Task Framing_and_connection_headers_are_refused_before_anything_is_sent()
    {
        // Content-Length frames the body: a per-request value must not replace the real one
        // (a smaller one truncates the append, a larger one leaves the server waiting), so it
        // and the other framing and connection headers are refused before anything is sent.
        await using var server = new FakeHttpServer(Ok);
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        foreach (var name in new[] { "Content-Length", "Transfer-Encoding", "Host", "Connection" })
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => stream.AppendAsync("x", new AppendOptions { ContentType = "text/plain", Headers = H((name, "999")) }));
            Assert.True(e is ArgumentException or DurableStreamException { Code: DurableStreamErrorCode.InvalidArgument }, e.ToString());
            Assert.Contains(name, e.Message, StringComparison.Ordinal);
        }
        Assert.Empty(server.Requests);
        // The client's own headers are held to the same rule.
        Assert.ThrowsAny<ArgumentException>(() => new DurableStreamClient(new DurableStreamClientOptions { DefaultHeaders = new() { ["Content-Length"] = "1" } }));
    }

    [Fact]
    public async Task Close_headers_are_sent_but_never_replace_Stream_Closed()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(204, "No Content", "", "Stream-Next-Offset: 4_4", "Stream-Closed: true"));
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        stream.SetContentType("text/plain");

        var result = await stream.CloseAsync(new CloseOptions { Headers = H(("Stream-Closed", "false"), ("X-Close", "c1")) });
        Assert.Equal(new Offset("4_4"), result.FinalOffset);
        await stream.CloseAsync(new CloseOptions { Data = "tail"u8.ToArray(), Headers = H(("X-Close", "c2")) });
        await stream.CloseAsync();

        var requests = server.Requests;
        Assert.Equal(3, requests.Count);
        Assert.All(requests, r => Assert.StartsWith("POST /s ", r, StringComparison.Ordinal));
        Assert.Equal(["true"], Values(requests[0], "Stream-Closed"));
        Assert.Equal(["c1"], Values(requests[0], "X-Close"));
        Assert.Equal(["true"], Values(requests[1], "Stream-Closed"));
        Assert.Equal(["c2"], Values(requests[1], "X-Close"));
        Assert.Empty(Values(requests[2], "X-Close"));
    }

    [Fact]
    public async Task Create_headers_are_sent_with_the_PUT_only_and_never_replace_its_content_type()
    {
        await using var server = new FakeHttpServer(Ok);
        await using var client = Client(server, o => o.DefaultHeaders!["X-Tenant"] = "default-tenant");
        var stream = client.GetStream("/s");
        var result = await stream.CreateAsync(new CreateStreamOptions
        {
            ContentType = "text/plain",
            Headers = H(("X-Tenant", "create-tenant"), ("Content-Type", "application/evil")),
        });
        Assert.Equal(CreateStreamResult.Created, result);
        await stream.HeadAsync();

        var requests = server.Requests;
        Assert.Equal(2, requests.Count);
        Assert.StartsWith("PUT /s ", requests[0], StringComparison.Ordinal);
        Assert.Equal(["create-tenant"], Values(requests[0], "X-Tenant"));
        Assert.Equal(["text/plain"], Values(requests[0], "Content-Type"));
        Assert.StartsWith("HEAD /s", requests[1], StringComparison.Ordinal);
        Assert.Equal(["default-tenant"], Values(requests[1], "X-Tenant"));
    }

    [Fact]
    public async Task Read_headers_are_sent_on_every_request_of_a_long_poll_session()
    {
        await using var server = new FakeHttpServer(request =>
        {
            if (!request.StartsWith("GET ", StringComparison.Ordinal))
            {
                return Ok(request);
            }
            // The catch-up request, then a long-poll that brings the last data and the close.
            return request.Contains("live=long-poll", StringComparison.Ordinal)
                ? FakeHttpServer.Response(200, "OK", "world", "Content-Type: text/plain", "Stream-Next-Offset: 2_2", "Stream-Up-To-Date: true", "Stream-Closed: true")
                : FakeHttpServer.Response(200, "OK", "hello ", "Content-Type: text/plain", "Stream-Next-Offset: 1_1", "Stream-Up-To-Date: true");
        });
        await using var client = Client(server, o => o.DynamicHeaders!["X-Read"] = _ => ValueTask.FromResult("dynamic"));
        var stream = client.GetStream("/s");
        var text = new StringBuilder();
        await using (var response = await stream.StreamAsync(new StreamOptions
        {
            Live = LiveMode.LongPoll,
            Headers = H(("X-Read", "per-read"), ("X-Session", "s-1")),
        }))
        {
            await foreach (var chunk in response.ReadTextAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token))
            {
                text.Append(chunk.Text);
                if (chunk.StreamClosed)
                {
                    break;
                }
            }
        }
        Assert.Equal("hello world", text.ToString());
        await stream.HeadAsync();

        var requests = server.Requests;
        var gets = requests.Where(r => r.StartsWith("GET ", StringComparison.Ordinal)).ToList();
        Assert.True(gets.Count >= 2, $"expected a catch-up and a long-poll request, got {gets.Count}");
        Assert.Contains("live=long-poll", gets[1].Split("\r\n")[0], StringComparison.Ordinal);
        Assert.All(gets, g =>
        {
            Assert.Equal(["per-read"], Values(g, "X-Read"));
            Assert.Equal(["s-1"], Values(g, "X-Session"));
        });
        // A later request of the client does not carry the read's headers.
        var head = requests.Last();
        Assert.StartsWith("HEAD ", head, StringComparison.Ordinal);
        Assert.Empty(Values(head, "X-Session"));
        Assert.Equal(["dynamic"], Values(head, "X-Read"));
    }

    public static TheoryData<string> Operations => new() { "append", "close", "create", "read" };

    private static Task Run(DurableStream stream, string operation, Dictionary<string, string> headers) => operation switch
    {
        "append" => stream.AppendAsync("x", new AppendOptions { ContentType = "text/plain", Headers = headers }),
        "close" => stream.CloseAsync(new CloseOptions { Headers = headers }),
        "create" => stream.CreateAsync(new CreateStreamOptions { ContentType = "text/plain", Headers = headers }),
        "read" => ReadAsync(stream, headers),
        _ => throw new ArgumentOutOfRangeException(nameof(operation)),
    };

    private static async Task ReadAsync(DurableStream stream, Dictionary<string, string> headers)
    {
        await using var response = await stream.StreamAsync(new StreamOptions { Headers = headers });
        await response.ReadAllBytesAsync();
    }

    /// <summary>The parameter an invalid header is reported against: the options of the call.</summary>
    private static string ExpectedParamName(string operation) => operation == "create" ? "Headers" : "options";

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task A_null_header_value_or_empty_name_is_an_argument_error_naming_the_options(string operation)
    {
        await using var server = new FakeHttpServer(Ok);
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        stream.SetContentType("text/plain");

        var nullValue = await Assert.ThrowsAnyAsync<ArgumentException>(() => Run(stream, operation, new Dictionary<string, string> { ["X-Null"] = null! }));
        Assert.Equal(ExpectedParamName(operation), nullValue.ParamName);
        Assert.Contains("X-Null", nullValue.Message, StringComparison.Ordinal);
        var emptyName = await Assert.ThrowsAnyAsync<ArgumentException>(() => Run(stream, operation, new Dictionary<string, string> { [""] = "v" }));
        Assert.Equal(ExpectedParamName(operation), emptyName.ParamName);
        Assert.Empty(server.Requests);
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task A_header_value_with_CR_or_LF_is_rejected_naming_the_header_but_not_its_value(string operation)
    {
        await using var server = new FakeHttpServer(Ok);
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        stream.SetContentType("text/plain");

        foreach (var value in new[] { "secret-token\r\nX-Injected: yes", "secret-token\nX-Injected: yes", "secret-token\rX-Injected: yes" })
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => Run(stream, operation, H(("X-Auth-Thing", value))));
            Assert.True(e is ArgumentException or DurableStreamException, $"unexpected {e.GetType()}: {e.Message}");
            Assert.Contains("X-Auth-Thing", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("secret-token", e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("X-Injected", e.ToString(), StringComparison.Ordinal);
        }
        // Nothing was smuggled onto the wire.
        Assert.DoesNotContain(server.Requests, r => r.Contains("X-Injected", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task A_NUL_in_a_header_value_is_an_argument_error_without_the_value(string operation)
    {
        await using var server = new FakeHttpServer(Ok);
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        stream.SetContentType("text/plain");

        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => Run(stream, operation, H(("X-Nul", "secret-token\0tail"))));
        Assert.Equal(ExpectedParamName(operation), e.ParamName);
        Assert.DoesNotContain("secret-token", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tail", e.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task An_append_on_a_dropped_client_keeps_its_dynamic_headers_until_it_is_sent()
    {
        var headSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        await using var server = new FakeHttpServer(request =>
        {
            if (Method(request) == "HEAD")
            {
                // The append first learns the stream's content type. That HEAD is held while the
                // test collects; the POST that follows is decorated afterwards, when nothing the
                // caller holds references the client any more.
                headSeen.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(20));
            }
            return Ok(request);
        });

        var append = AppendOnADroppedClient(server);
        await headSeen.Task.WaitAsync(TimeSpan.FromSeconds(20));
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        release.Set();

        var result = await append.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("1_1", result.NextOffset.ToString());
        var sent = server.Requests;
        Assert.Equal(["HEAD", "POST"], sent.Select(Method));
        Assert.All(sent, r => Assert.Equal(["token"], Values(r, "X-Token")));
    }

    /// <summary>Starts an append and returns only its task: the client and stream are unreachable from here on.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Task<AppendResult> AppendOnADroppedClient(FakeHttpServer server)
    {
        var client = Client(server, o => o.DynamicHeaders!["X-Token"] = _ => ValueTask.FromResult("token"));
        return client.GetStream("/s").AppendAsync("x");
    }
}

/// <summary>Per-request headers against the real servers: the operations still work and return the right data.</summary>
[Collection(WriteCollection.Name)]
public class RequestHeadersServerTests : ServerTest
{
    public RequestHeadersServerTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Operations_with_per_request_headers_work_end_to_end(string kind)
    {
        await using var client = NewClient(kind, o => o.DefaultHeaders!["X-Client"] = "c");
        var headers = new Dictionary<string, string> { ["X-Request-Id"] = "r-1", ["X-Client"] = "override" };
        var stream = client.GetStream(NewPath("headers"));

        var created = await stream.CreateWithDetailsAsync(new CreateStreamOptions
        {
            ContentType = "text/plain",
            InitialData = "one "u8.ToArray(),
            Headers = headers,
        });
        Assert.Equal(CreateStreamResult.Created, created.Result);
        var appended = await stream.AppendAsync("two ", new AppendOptions { Headers = headers });
        Assert.False(appended.StreamClosed);
        var closed = await stream.CloseAsync(new CloseOptions { Data = "three"u8.ToArray(), Headers = headers });

        await using var response = await stream.StreamAsync(new StreamOptions { Headers = headers });
        Assert.Equal("one two three", await response.ReadAllTextAsync(Timeout()));
        Assert.True(response.StreamClosed);
        Assert.Equal(closed.FinalOffset, response.Offset);
        var meta = await stream.HeadAsync();
        Assert.True(meta.StreamClosed);
        Assert.Equal(closed.FinalOffset, meta.Offset);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_per_request_Content_Length_cannot_truncate_an_append(string kind)
    {
        await using var client = NewClient(kind, o => o.RequestTimeout = TimeSpan.FromSeconds(5));
        var stream = await NewStreamAsync(client, "text/plain", "content-length");
        try
        {
            await stream.AppendAsync("0123456789", new AppendOptions { Headers = new() { ["Content-Length"] = "4" } }, Timeout());
        }
        catch (Exception e) when (e is ArgumentException or DurableStreamException)
        {
            // Refusing the header is fine too; storing part of the data and reporting success is not.
        }
        await using var response = await stream.StreamAsync(cancellationToken: Timeout());
        var stored = await response.ReadAllTextAsync(Timeout());
        Assert.True(stored is "" or "0123456789", $"the append stored \"{stored}\"");
    }
}
