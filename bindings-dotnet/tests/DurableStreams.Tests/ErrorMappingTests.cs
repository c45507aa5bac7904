using System.Diagnostics;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Status codes and failures the reference servers do not produce on demand, mapped through the
/// native core to exceptions, plus retries, timeouts and the headers actually sent, against a
/// scripted HTTP server.
/// </summary>
public class ErrorMappingTests
{
    private static DurableStreamClient Client(FakeHttpServer server, Action<DurableStreamClientOptions>? configure = null)
    {
        var options = new DurableStreamClientOptions { BaseUrl = server.BaseUrl, MaxRetries = 0 };
        configure?.Invoke(options);
        return new DurableStreamClient(options);
    }

    public static TheoryData<int, string, DurableStreamErrorCode, Type> Statuses => new()
    {
        { 400, "Bad Request", DurableStreamErrorCode.BadRequest, typeof(DurableStreamException) },
        { 401, "Unauthorized", DurableStreamErrorCode.Unauthorized, typeof(DurableStreamException) },
        { 403, "Forbidden", DurableStreamErrorCode.Forbidden, typeof(DurableStreamException) },
        { 404, "Not Found", DurableStreamErrorCode.NotFound, typeof(StreamNotFoundException) },
        { 409, "Conflict", DurableStreamErrorCode.ConflictExists, typeof(StreamConflictException) },
        { 410, "Gone", DurableStreamErrorCode.OffsetGone, typeof(StreamGoneException) },
        { 413, "Payload Too Large", DurableStreamErrorCode.PayloadTooLarge, typeof(DurableStreamException) },
        { 429, "Too Many Requests", DurableStreamErrorCode.RateLimited, typeof(DurableStreamException) },
        { 500, "Internal Server Error", DurableStreamErrorCode.ServerError, typeof(DurableStreamException) },
        { 418, "I'm a teapot", DurableStreamErrorCode.UnexpectedStatus, typeof(DurableStreamException) },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public async Task Statuses_map_to_codes_and_exception_types(int status, string reason, DurableStreamErrorCode code, Type type)
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(status, reason, $"server says {status}"));
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        var e = await Assert.ThrowsAnyAsync<DurableStreamException>(() => stream.AppendAsync("x", new AppendOptions { ContentType = "text/plain" }));
        Assert.IsType(type, e);
        Assert.Equal(code, e.Code);
        Assert.Equal(status, e.StatusCode);
        Assert.Equal(stream.Url, e.Url);
        Assert.Contains(stream.Url, e.Message, StringComparison.Ordinal);
        Assert.Contains($"server says {status}", e.Message, StringComparison.Ordinal);
        Assert.Equal($"server says {status}", e.ServerMessage);
        Assert.False(string.IsNullOrEmpty(e.CodeName));
    }

    [Fact]
    public async Task A_closed_stream_conflict_is_stream_closed()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(409, "Conflict", "", "Stream-Closed: true", "Stream-Next-Offset: 9_9"));
        await using var client = Client(server);
        var e = await Assert.ThrowsAsync<StreamClosedException>(() => client.GetStream("/s").AppendAsync("x", new AppendOptions { ContentType = "text/plain" }));
        Assert.Equal(409, e.StatusCode);
    }

    [Fact]
    public async Task Transient_failures_are_retried_per_the_options()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(503, "Service Unavailable", "busy"));
        await using var client = Client(server, o =>
        {
            o.MaxRetries = 2;
            o.InitialRetryDelay = TimeSpan.FromMilliseconds(10);
            o.MaxRetryDelay = TimeSpan.FromMilliseconds(20);
        });
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => client.GetStream("/s").DeleteAsync());
        Assert.Equal(DurableStreamErrorCode.ServerError, e.Code);
        Assert.Equal(503, e.StatusCode);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Request_timeout_maps_to_timeout()
    {
        await using var server = new FakeHttpServer(_ => null); // never answers
        await using var client = Client(server, o => o.RequestTimeout = TimeSpan.FromMilliseconds(300));
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => client.GetStream("/s").HeadAsync());
        Assert.Equal(DurableStreamErrorCode.Timeout, e.Code);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Malformed_responses_are_parse_errors()
    {
        // A HEAD answer without Stream-Next-Offset.
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(200, "OK", "", "Content-Type: text/plain"));
        await using var client = Client(server);
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => client.GetStream("/s").HeadAsync());
        Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
    }

    [Fact]
    public async Task Default_and_dynamic_headers_are_sent()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(200, "OK", "", "Content-Type: text/plain", "Stream-Next-Offset: 1_1"));
        var counter = 0;
        await using var client = Client(server, o =>
        {
            o.DefaultHeaders!["X-Static"] = "static-value";
            o.DefaultHeaders["Authorization"] = "Bearer overridden";
            o.DynamicHeaders!["Authorization"] = async ct =>
            {
                await Task.Delay(1, ct);
                return $"Bearer token-{Interlocked.Increment(ref counter)}";
            };
        });
        var stream = client.GetStream("/s");
        var meta = await stream.HeadAsync();
        Assert.Equal(new Offset("1_1"), meta.Offset);
        await stream.HeadAsync();

        var requests = server.Requests;
        Assert.Equal(2, requests.Count);
        Assert.Contains("x-static: static-value", requests[0], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("authorization: Bearer token-1", requests[0], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("authorization: Bearer token-2", requests[1], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("overridden", requests[0], StringComparison.Ordinal);
        Assert.Contains("user-agent: durable-streams-dotnet/", requests[0], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Exception_types_carry_their_details()
    {
        var stale = new StaleEpochException("stale", 7, 403, "http://h/s");
        Assert.Equal(7, stale.CurrentEpoch);
        Assert.Equal(DurableStreamErrorCode.Forbidden, stale.Code);
        var gap = new SequenceGapException("gap", 3, 5, 409, "http://h/s");
        Assert.Equal(3, gap.ExpectedSeq);
        Assert.Equal(5, gap.ReceivedSeq);
        Assert.Equal(DurableStreamErrorCode.ConflictSeq, gap.Code);
        Assert.Equal(-1, new SequenceGapException().ExpectedSeq);
        Assert.Equal(DurableStreamErrorCode.NotFound, new StreamNotFoundException().Code);
        Assert.Equal(404, new StreamNotFoundException("x").StatusCode);
        Assert.Equal(DurableStreamErrorCode.StreamClosed, new StreamClosedException().Code);
        Assert.Equal(DurableStreamErrorCode.OffsetGone, new StreamGoneException().Code);
        Assert.Equal(DurableStreamErrorCode.ConflictExists, new StreamConflictException().Code);
        Assert.Equal(DurableStreamErrorCode.Unknown, new DurableStreamException("x").Code);
        var inner = new InvalidOperationException();
        Assert.Same(inner, new DurableStreamException("x", inner).InnerException);
        Assert.IsAssignableFrom<DurableStreamException>(new StaleEpochException());
    }

    [Fact]
    public async Task Dynamic_query_parameters_are_added_to_every_request()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(200, "OK", "", "Content-Type: text/plain", "Stream-Next-Offset: 1_1", "Stream-Up-To-Date: true"));
        var counter = 0;
        await using var client = Client(server, o =>
        {
            o.DynamicQueryParameters!["sig"] = async ct =>
            {
                await Task.Delay(1, ct);
                return $"a b&c={Interlocked.Increment(ref counter)}";
            };
            o.DynamicQueryParameters["trace"] = _ => ValueTask.FromResult("t");
        });
        var stream = client.GetStream("/s");
        await stream.HeadAsync();
        await using (var response = await stream.StreamAsync())
        {
            await response.ReadAllBytesAsync();
        }

        var requests = server.Requests.Select(r => r.Split("\r\n")[0]).ToList();
        Assert.Equal(2, requests.Count);
        Assert.StartsWith("HEAD /s?", requests[0], StringComparison.Ordinal);
        Assert.Contains("sig=a+b%26c%3D1", requests[0], StringComparison.Ordinal);
        Assert.Contains("trace=t", requests[0], StringComparison.Ordinal);
        Assert.StartsWith("GET /s?", requests[1], StringComparison.Ordinal);
        Assert.Contains("offset=-1", requests[1], StringComparison.Ordinal);
        Assert.Contains("sig=a+b%26c%3D2", requests[1], StringComparison.Ordinal);

        await using var failing = Client(server, o => o.DynamicQueryParameters!["sig"] = _ => ValueTask.FromResult<string>(null!));
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => failing.GetStream("/s").HeadAsync());
        Assert.Equal(DurableStreamErrorCode.InvalidArgument, e.Code);
        Assert.Contains("DynamicQueryParameters", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_retry_multiplier_shapes_the_backoff()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(503, "Service Unavailable", "busy"));
        async Task<TimeSpan> TimeFailingDeleteAsync(double multiplier)
        {
            await using var client = Client(server, o =>
            {
                o.MaxRetries = 3;
                o.InitialRetryDelay = TimeSpan.FromMilliseconds(100);
                o.MaxRetryDelay = TimeSpan.FromSeconds(10);
                o.RetryMultiplier = multiplier;
            });
            var sw = Stopwatch.StartNew();
            await Assert.ThrowsAsync<DurableStreamException>(() => client.GetStream("/s").DeleteAsync());
            return sw.Elapsed;
        }

        // Delays are jittered into the upper half: multiplier 1 waits 3 x 50..100 ms,
        // multiplier 4 waits (100 + 400 + 1600) x 0.5..1 ms. Only lower bounds are checked: a
        // busy machine makes both slower, never faster.
        var constant = await TimeFailingDeleteAsync(1);
        var growing = await TimeFailingDeleteAsync(4);
        Assert.True(constant >= TimeSpan.FromMilliseconds(150), $"multiplier 1 took {constant}");
        Assert.True(growing >= TimeSpan.FromMilliseconds(1050), $"multiplier 4 took {growing}");
        Assert.Equal(8, server.Requests.Count);
    }

    [Fact]
    public async Task A_handle_told_its_content_type_sends_no_HEAD()
    {
        await using var server = new FakeHttpServer(_ => FakeHttpServer.Response(204, "No Content", "", "Stream-Next-Offset: 1_2"));
        await using var client = Client(server);
        var stream = client.GetStream("/s");
        stream.SetContentType("application/json");
        await stream.AppendAsync("{}");
        var request = Assert.Single(server.Requests);
        Assert.StartsWith("POST /s ", request, StringComparison.Ordinal);
        Assert.Contains("content-type: application/json", request, StringComparison.OrdinalIgnoreCase);
    }
}
