using System.Net;
using System.Net.Http.Headers;

namespace DurableStreams.Benchmarks;

/// <summary>
/// The baseline: what a competent .NET developer writes against the protocol with a plain
/// <see cref="HttpClient"/> and no client library (one shared client, response headers read
/// first, bodies read into reused buffers, no per-message allocations where avoidable).
/// </summary>
internal static class PlainHttp
{
    public static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");
    public static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>One client for the process, as .NET guidance recommends.</summary>
    public static HttpClient NewClient() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
    })
    {
        Timeout = TimeSpan.FromSeconds(120),
    };

    /// <summary>PUT: creates the stream with the content type.</summary>
    public static async Task CreateAsync(HttpClient http, string url, MediaTypeHeaderValue contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent([]) };
        request.Content.Headers.ContentType = contentType;
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        Ensure(response, "PUT", url);
    }

    /// <summary>
    /// POSTs one batch, as an idempotent producer would: <c>Producer-Id</c>, <c>Producer-Epoch</c>,
    /// <c>Producer-Seq</c>. The body is a slice of the caller's (reused) batch buffer.
    /// </summary>
    public static async Task PostBatchAsync(HttpClient http, string url, string producerId, long seq, byte[] buffer, int length, MediaTypeHeaderValue contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(buffer, 0, length) };
        request.Content.Headers.ContentType = contentType;
        request.Headers.TryAddWithoutValidation("Producer-Id", producerId);
        request.Headers.TryAddWithoutValidation("Producer-Epoch", "0");
        request.Headers.TryAddWithoutValidation("Producer-Seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        Ensure(response, "POST", url);
    }

    /// <summary>A plain append (no producer headers).</summary>
    public static async Task PostAsync(HttpClient http, string url, ReadOnlyMemory<byte> body, MediaTypeHeaderValue contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = contentType;
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        Ensure(response, "POST", url);
    }

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    public static bool Flag(HttpResponseMessage response, string name) =>
        string.Equals(Header(response, name), "true", StringComparison.OrdinalIgnoreCase);

    public static string ReadUrl(string url, string offset, string? live = null, string? cursor = null)
    {
        var query = $"{url}?offset={Uri.EscapeDataString(offset)}";
        if (live is not null)
        {
            query += $"&live={live}";
        }
        if (cursor is not null)
        {
            query += $"&cursor={Uri.EscapeDataString(cursor)}";
        }
        return query;
    }

    public static void Ensure(HttpResponseMessage response, string method, string url)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new BenchFailure($"{method} {url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    /// <summary>Reads the whole body into <paramref name="buffer"/> (grown when too small, then reused); returns its length.</summary>
    /// <summary>
    /// A catch-up read by hand: GETs from the beginning, following Stream-Next-Offset until a
    /// response is up to date or closed, handing each response to <paramref name="onBody"/>.
    /// Returns the number of responses.
    /// </summary>
    public static async Task<long> CatchUpAsync(HttpClient http, string url, string bench, Func<HttpResponseMessage, Task> onBody)
    {
        long responses = 0;
        var offset = "-1";
        while (true)
        {
            using var response = await http.GetAsync(ReadUrl(url, offset), HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            Ensure(response, "GET", url);
            await onBody(response).ConfigureAwait(false);
            responses++;
            offset = Header(response, "Stream-Next-Offset") ?? throw new BenchFailure($"{bench}: no Stream-Next-Offset");
            if (Flag(response, "Stream-Up-To-Date") || Flag(response, "Stream-Closed"))
            {
                return responses;
            }
        }
    }

    public static async Task<int> ReadBodyAsync(HttpResponseMessage response, Ref<byte[]> buffer)
    {
        var expected = response.Content.Headers.ContentLength;
        if (expected is { } n && n > buffer.Value.Length)
        {
            buffer.Value = GC.AllocateUninitializedArray<byte>(checked((int)n));
        }
        await using var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        var length = 0;
        while (true)
        {
            if (length == buffer.Value.Length)
            {
                var bigger = GC.AllocateUninitializedArray<byte>(Math.Max(64 * 1024, buffer.Value.Length * 2));
                buffer.Value.AsSpan(0, length).CopyTo(bigger);
                buffer.Value = bigger;
            }
            var read = await body.ReadAsync(buffer.Value.AsMemory(length)).ConfigureAwait(false);
            if (read == 0)
            {
                return length;
            }
            length += read;
        }
    }
}

/// <summary>A mutable box (for a buffer that async code may replace).</summary>
internal sealed class Ref<T>(T value)
{
    public T Value { get; set; } = value;
}
