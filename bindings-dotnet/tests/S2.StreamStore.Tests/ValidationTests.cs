namespace S2.StreamStore.Tests;

/// <summary>Bad input is refused before anything is sent (the client points at a dead port: a sent request would be a network error, not an ArgumentException).</summary>
public class ValidationTests
{
    private static S2Client DeadClient() => new(new S2Options { AccessToken = "t", Endpoint = new Uri("http://127.0.0.1:9") });

    [Theory]
    [InlineData("short")]
    [InlineData("UPPERCASE-basin")]
    [InlineData("-leading-hyphen")]
    [InlineData("trailing-hyphen-")]
    [InlineData("under_score_basin")]
    [InlineData("a-basin-name-that-is-far-too-long-for-s2s-rules-x")]
    public async Task Bad_basin_names_are_refused_naming_the_parameter(string name)
    {
        await using var client = DeadClient();
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => client.Basin(name)).ParamName);
        Assert.Equal("name", (await Assert.ThrowsAsync<ArgumentException>(() => client.CreateBasinAsync(name))).ParamName);
    }

    [Fact]
    public async Task Metric_requests_with_an_empty_range_or_no_set_are_refused_naming_the_parameter()
    {
        await using var client = DeadClient();
        var now = DateTimeOffset.UtcNow;
        var backwards = new MetricsRequest(MetricSets.Storage, now, now.AddHours(-1));
        Assert.Equal("request", (await Assert.ThrowsAsync<ArgumentException>(() => client.GetAccountMetricsAsync(backwards))).ParamName);
        var noSet = new MetricsRequest("", now.AddHours(-1), now);
        Assert.Equal("request", (await Assert.ThrowsAsync<ArgumentException>(() => client.Basin("valid-basin").GetMetricsAsync(noSet))).ParamName);
        Assert.Equal("name", (await Assert.ThrowsAsync<ArgumentException>(() => client.Basin("valid-basin").GetStreamMetricsAsync("", backwards))).ParamName);
        Assert.Equal("location", (await Assert.ThrowsAsync<ArgumentException>(() => client.SetDefaultLocationAsync(" "))).ParamName);
    }

    [Fact]
    public async Task Bad_stream_names_are_refused_naming_the_parameter()
    {
        await using var client = DeadClient();
        var basin = client.Basin("valid-basin");
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => basin.Stream("")).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => basin.Stream(new string('x', 513))).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => basin.Stream("nul\0inside")).ParamName);
        Assert.Equal("name", (await Assert.ThrowsAsync<ArgumentException>(() => basin.CreateStreamAsync(""))).ParamName);
        using var ok = basin.Stream(new string('x', 512));
        Assert.Equal(512, ok.Name.Length);
    }

    [Fact]
    public async Task Empty_and_over_limit_batches_are_refused_naming_the_parameter()
    {
        await using var client = DeadClient();
        using var stream = client.Basin("valid-basin").Stream("s");
        Assert.Equal("records", (await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(Array.Empty<AppendRecord>()))).ParamName);
        var tooMany = Enumerable.Range(0, 1001).Select(_ => new AppendRecord("x")).ToArray();
        Assert.Equal("records", (await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(tooMany))).ParamName);
        var tooBig = new[] { new AppendRecord(new byte[(1024 * 1024) - 8 + 1]) };
        Assert.Equal("records", (await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(tooBig))).ParamName);
        // Exactly 1 MiB metered is allowed by the check (the append then fails on the network, proving it was sent only then).
        var exact = new[] { new AppendRecord(new byte[(1024 * 1024) - 8]) };
        var sent = await Assert.ThrowsAsync<S2Exception>(() => stream.AppendAsync(exact, cancellationToken: Lite.Timeout(20)));
        Assert.Equal(S2ErrorKind.Network, sent.Kind);
    }

    [Fact]
    public async Task Empty_header_names_are_refused_naming_the_record()
    {
        await using var client = DeadClient();
        using var stream = client.Basin("valid-basin").Stream("s");
        var record = new AppendRecord("body", new[] { new RecordHeader(ReadOnlyMemory<byte>.Empty, "v"u8.ToArray()) });
        var e = await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(record));
        Assert.Equal("records[0].Headers", e.ParamName);
    }

    [Fact]
    public async Task Over_long_fencing_tokens_are_refused_naming_the_parameter()
    {
        await using var client = DeadClient();
        using var stream = client.Basin("valid-basin").Stream("s");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => stream.FenceAsync(new string('f', 37)));
        Assert.Equal("fencingToken", e.ParamName);
        var c = await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(new AppendRecord("x"), new AppendOptions { FencingToken = new string('f', 37) }));
        Assert.Equal("options.FencingToken", c.ParamName);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:4566")]
    [InlineData("http://127.0.0.1:4566/path")]
    [InlineData("http://127.0.0.1:4566/?q=1")]
    [InlineData("relative/path")]
    public void Bad_endpoint_urls_are_refused_naming_the_option(string endpoint)
    {
        var e = Assert.Throws<ArgumentException>(() => new S2Client(new S2Options { AccessToken = "t", Endpoint = new Uri(endpoint, UriKind.RelativeOrAbsolute) }));
        Assert.Equal("options.Endpoint", e.ParamName);
        var b = Assert.Throws<ArgumentException>(() => new S2Client(new S2Options { AccessToken = "t", AccountEndpoint = new Uri("http://127.0.0.1:1"), BasinEndpoint = endpoint }));
        Assert.Equal("options.BasinEndpoint", b.ParamName);
    }

    [Fact]
    public void Missing_access_token_and_conflicting_endpoints_are_refused()
    {
        Assert.Equal("options.AccessToken", Assert.Throws<ArgumentException>(() => new S2Client(new S2Options())).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new S2Client(new S2Options { AccessToken = "t", Endpoint = new Uri("http://a:1"), AccountEndpoint = new Uri("http://b:1") }));
        Assert.Equal("options.Endpoint", e.ParamName);
        Assert.Equal("options.Retry.MaxAttempts", Assert.Throws<ArgumentOutOfRangeException>(() => new S2Client(new S2Options { AccessToken = "t", Retry = new S2RetryOptions { MaxAttempts = 0 } })).ParamName);
    }

    [Fact]
    public async Task A_dead_endpoint_is_a_network_error_naming_the_basin()
    {
        await using var client = new S2Client(new S2Options { AccessToken = "t", Endpoint = new Uri("http://127.0.0.1:9"), Retry = new S2RetryOptions { MaxAttempts = 1 } });
        var e = await Assert.ThrowsAsync<S2Exception>(() => client.GetBasinConfigAsync("some-basin", Lite.Timeout()));
        Assert.Equal(S2ErrorKind.Network, e.Kind);
        Assert.Equal("some-basin", e.Basin);
    }

    [Fact]
    public async Task A_cancelled_token_cancels_the_call()
    {
        await using var client = DeadClient();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ListBasinsAsync(cancellationToken: cts.Token));
    }
}
