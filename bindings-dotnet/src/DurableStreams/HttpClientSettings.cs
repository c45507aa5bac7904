namespace DurableStreams;

/// <summary>
/// What <see cref="DurableStreamClient(DurableStreamClientOptions, HttpClient)"/> carries over from
/// an <see cref="HttpClient"/>: base address, default request headers (but not the ones that
/// manage its own connections, such as <c>Connection: close</c>) and a finite timeout.
/// </summary>
internal static class HttpClientSettings
{
    private static readonly TimeSpan DefaultTimeout = new DurableStreamClientOptions().RequestTimeout;

    // The headers the native core refuses because the HTTP layer sets them per request.
    private static readonly HashSet<string> s_transportHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Length", "Transfer-Encoding", "Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Expect",
    };

    /// <summary>A copy of <paramref name="options"/> completed with <paramref name="httpClient"/>'s settings.</summary>
    internal static DurableStreamClientOptions Merge(DurableStreamClientOptions options, HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(httpClient);
        var merged = options.Copy();
        if (merged.BaseUrl is null && httpClient.BaseAddress is { } baseAddress)
        {
            merged.BaseUrl = baseAddress.AbsoluteUri;
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in httpClient.DefaultRequestHeaders.NonValidated)
        {
            if (s_transportHeaders.Contains(name))
            {
                // Connection management of that HttpClient's own stack (ConnectionClose,
                // ExpectContinue...): the native stack manages its connections itself.
                continue;
            }
            // Repeated values travel as one comma-separated header, as HTTP allows.
            headers[name] = string.Join(", ", values);
        }
        foreach (var (name, value) in options.DefaultHeaders ?? [])
        {
            headers[name] = value;
        }
        merged.DefaultHeaders = headers;
        if (merged.RequestTimeout == DefaultTimeout && httpClient.Timeout != Timeout.InfiniteTimeSpan && httpClient.Timeout > TimeSpan.Zero)
        {
            merged.RequestTimeout = httpClient.Timeout;
        }
        return merged;
    }
}
