namespace DurableStreams;

/// <summary>
/// What <see cref="DurableStreamClient(DurableStreamClientOptions, HttpClient)"/> carries over from
/// an <see cref="HttpClient"/>: base address, default request headers and a finite timeout.
/// </summary>
internal static class HttpClientSettings
{
    private static readonly TimeSpan DefaultTimeout = new DurableStreamClientOptions().RequestTimeout;

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
