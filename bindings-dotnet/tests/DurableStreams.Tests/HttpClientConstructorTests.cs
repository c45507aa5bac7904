using System.Diagnostics;
using System.Net.Http.Headers;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// <c>new DurableStreamClient(options, httpClient)</c>: what is carried over from an HttpClient,
/// and <see cref="DurableStreamClientOptions.Timeout"/> as the other name of RequestTimeout.
/// </summary>
public class HttpClientConstructorTests
{
    private static string? Ok(string request) =>
        FakeHttpServer.Response(200, "OK", "", "Content-Type: text/plain", "Stream-Next-Offset: 1_1");

    [Fact]
    public async Task A_relative_path_resolves_against_the_HttpClient_base_address_and_its_headers_arrive()
    {
        await using var server = new FakeHttpServer(Ok);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/v1/stream/") };
        http.DefaultRequestHeaders.Add("X-From-Http", "http-value");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "http-token");
        http.DefaultRequestHeaders.Add("X-Clash", "from-http");
        var options = new DurableStreamClientOptions { MaxRetries = 0 };
        options.DefaultHeaders!["X-Clash"] = "from-options";

        await using var client = new DurableStreamClient(options, http);
        var nested = client.GetStream("a/b");
        var rooted = client.GetStream("/c");
        Assert.Equal(server.BaseUrl + "/v1/stream/a/b", nested.Url);
        Assert.Equal(server.BaseUrl + "/v1/stream/c", rooted.Url);
        await nested.HeadAsync();

        var request = Assert.Single(server.Requests);
        Assert.StartsWith("HEAD /v1/stream/a/b ", request, StringComparison.Ordinal);
        Assert.Equal(["http-value"], RequestHeadersTests.Values(request, "X-From-Http"));
        Assert.Equal(["Bearer http-token"], RequestHeadersTests.Values(request, "Authorization"));
        // options.DefaultHeaders win on a name clash.
        Assert.Equal(["from-options"], RequestHeadersTests.Values(request, "X-Clash"));
    }

    [Fact]
    public async Task Repeated_HttpClient_header_values_travel_as_one_header()
    {
        await using var server = new FakeHttpServer(Ok);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        http.DefaultRequestHeaders.Add("X-Multi", ["one", "two"]);
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { MaxRetries = 0 }, http);
        await client.GetStream("/s").HeadAsync();
        var values = RequestHeadersTests.Values(Assert.Single(server.Requests), "X-Multi");
        Assert.Equal("one, two", string.Join(", ", values));
    }

    [Fact]
    public async Task The_HttpClients_connection_management_headers_are_left_out()
    {
        // ConnectionClose and ExpectContinue configure that HttpClient's own connections; the
        // native stack manages its own, and refuses those headers as per-request ones.
        await using var server = new FakeHttpServer(Ok);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        http.DefaultRequestHeaders.ConnectionClose = true;
        http.DefaultRequestHeaders.ExpectContinue = true;
        http.DefaultRequestHeaders.Add("X-Kept", "yes");
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { MaxRetries = 0 }, http);
        await client.GetStream("/s").HeadAsync();
        var request = Assert.Single(server.Requests);
        Assert.Equal(["yes"], RequestHeadersTests.Values(request, "X-Kept"));
        Assert.DoesNotContain("connection: close", request, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(RequestHeadersTests.Values(request, "Expect"));
    }

    [Fact]
    public async Task The_options_base_url_wins_over_the_base_address()
    {
        await using var server = new FakeHttpServer(Ok);
        using var http = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:9/elsewhere/") };
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = server.BaseUrl + "/mine", MaxRetries = 0 }, http);
        var stream = client.GetStream("/s");
        Assert.Equal(server.BaseUrl + "/mine/s", stream.Url);
        await stream.HeadAsync();
        Assert.StartsWith("HEAD /mine/s ", Assert.Single(server.Requests), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_finite_HttpClient_timeout_becomes_the_request_timeout()
    {
        await using var server = new FakeHttpServer(_ => null); // never answers
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromMilliseconds(300) };
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { MaxRetries = 0 }, http);
        Assert.Contains("RequestTimeout = 00:00:00.3000000", client.ToString(), StringComparison.Ordinal);

        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => client.GetStream("/s").HeadAsync());
        Assert.Equal(DurableStreamErrorCode.Timeout, e.Code);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task An_explicit_timeout_or_an_infinite_HttpClient_timeout_is_kept()
    {
        using var finite = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        await using (var explicitTimeout = new DurableStreamClient(new DurableStreamClientOptions { Timeout = TimeSpan.FromSeconds(7) }, finite))
        {
            Assert.Contains("RequestTimeout = 00:00:07,", explicitTimeout.ToString(), StringComparison.Ordinal);
        }
        using var infinite = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        await using var defaultTimeout = new DurableStreamClient(new DurableStreamClientOptions(), infinite);
        Assert.Contains("RequestTimeout = 00:00:30,", defaultTimeout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_options_passed_in_are_not_modified()
    {
        using var http = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:9/base/"), Timeout = TimeSpan.FromSeconds(3) };
        http.DefaultRequestHeaders.Add("X-From-Http", "v");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["X-Mine"] = "m" };
        var options = new DurableStreamClientOptions { DefaultHeaders = headers };

        await using var client = new DurableStreamClient(options, http);

        Assert.Null(options.BaseUrl);
        Assert.Same(headers, options.DefaultHeaders);
        Assert.Equal(["X-Mine"], headers.Keys);
        Assert.Equal(TimeSpan.FromSeconds(30), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Timeout);
        // The client did take them.
        Assert.Contains("BaseUrl = http://127.0.0.1:9/base/", client.ToString(), StringComparison.Ordinal);
        Assert.Contains("X-From-Http", client.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_HttpClient_may_be_disposed_right_after_construction()
    {
        await using var server = new FakeHttpServer(Ok);
        DurableStreamClient client;
        using (var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) })
        {
            http.DefaultRequestHeaders.Add("X-From-Http", "still-here");
            client = new DurableStreamClient(new DurableStreamClientOptions { MaxRetries = 0 }, http);
        }
        await using (client)
        {
            await client.GetStream("/s").HeadAsync();
        }
        Assert.Equal(["still-here"], RequestHeadersTests.Values(Assert.Single(server.Requests), "X-From-Http"));
    }

    [Fact]
    public void Null_arguments_throw_ArgumentNullException()
    {
        using var http = new HttpClient();
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => new DurableStreamClient(null!, http)).ParamName);
        Assert.Equal("httpClient", Assert.Throws<ArgumentNullException>(() => new DurableStreamClient(new DurableStreamClientOptions(), null!)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => new DurableStreamClient(null!)).ParamName);
    }

    [Fact]
    public async Task The_default_client_has_no_base_url_so_relative_paths_are_rejected()
    {
        await using var client = new DurableStreamClient();
        Assert.Throws<ArgumentException>(() => client.GetStream("/relative"));
        Assert.Equal("http://127.0.0.1:9/x", client.GetStream("http://127.0.0.1:9/x").Url);
    }

    [Fact]
    public void Timeout_is_the_same_setting_as_RequestTimeout()
    {
        var options = new DurableStreamClientOptions();
        Assert.Equal(TimeSpan.FromSeconds(30), options.Timeout);
        options.Timeout = TimeSpan.FromSeconds(4);
        Assert.Equal(TimeSpan.FromSeconds(4), options.RequestTimeout);
        options.RequestTimeout = TimeSpan.FromMilliseconds(1500);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.Timeout);
        options.Timeout = null;
        Assert.Equal(TimeSpan.FromSeconds(30), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Timeout);
    }

    [Fact]
    public async Task A_Timeout_set_through_the_other_name_limits_requests()
    {
        await using var server = new FakeHttpServer(_ => null); // never answers
        await using var client = new DurableStreamClient(new DurableStreamClientOptions { BaseUrl = server.BaseUrl, MaxRetries = 0, Timeout = TimeSpan.FromMilliseconds(300) });
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => client.GetStream("/s").HeadAsync());
        Assert.Equal(DurableStreamErrorCode.Timeout, e.Code);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }
}

/// <summary>The parameterless client against the real servers, with absolute URLs.</summary>
[Collection(ClientCollection.Name)]
public class DefaultClientServerTests : ServerTest
{
    public DefaultClientServerTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_default_client_works_with_absolute_urls(string kind)
    {
        await using var client = new DurableStreamClient();
        var url = Server(kind).StreamPrefixUrl + NewPath("default-client");
        var stream = await client.CreateStreamAsync(url, new CreateStreamOptions { ContentType = "text/plain" }, Timeout());
        Assert.Equal(url, stream.Url);
        await stream.AppendAsync("absolute", cancellationToken: Timeout());
        await using var r = await client.GetStream(new Uri(url)).StreamAsync(cancellationToken: Timeout());
        Assert.Equal("absolute", await r.ReadAllTextAsync(Timeout()));
        await client.DeleteStreamAsync(url, Timeout());
        await Assert.ThrowsAsync<StreamNotFoundException>(() => client.GetStream(url).HeadAsync(Timeout()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_HttpClient_base_address_works_against_a_real_server(string kind)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Server(kind).StreamPrefixUrl) };
        await using var client = new DurableStreamClient(new DurableStreamClientOptions(), http);
        var path = NewPath("http-base");
        var stream = await client.CreateStreamAsync(path, new CreateStreamOptions { ContentType = "text/plain" }, Timeout());
        Assert.Equal(Server(kind).StreamPrefixUrl + path, stream.Url);
        await stream.AppendAsync("via base address", cancellationToken: Timeout());
        await using var r = await stream.StreamAsync(cancellationToken: Timeout());
        Assert.Equal("via base address", await r.ReadAllTextAsync(Timeout()));
    }
}
