using System.Buffers;
using System.Text.Json;

namespace S2.StreamStore.Interop;

/// <summary>Writes <see cref="S2Options"/> as the JSON <c>s2_client_new</c> takes, after checking every field (ArgumentException naming it).</summary>
internal static class OptionsJson
{
    internal static byte[] ClientOptions(S2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.AccessToken))
        {
            throw new ArgumentException("An access token is required (any non-empty value for s2 lite).", "options.AccessToken");
        }
        if (options.Endpoint is not null && (options.AccountEndpoint is not null || options.BasinEndpoint is not null))
        {
            throw new ArgumentException("Endpoint is exclusive with AccountEndpoint and BasinEndpoint.", "options.Endpoint");
        }
        if (options.Endpoint is not null)
        {
            Validation.Endpoint(options.Endpoint.OriginalString, "options.Endpoint");
        }
        if (options.AccountEndpoint is not null)
        {
            Validation.Endpoint(options.AccountEndpoint.OriginalString, "options.AccountEndpoint");
        }
        if (options.BasinEndpoint is not null)
        {
            Validation.Endpoint(options.BasinEndpoint.Replace("{basin}.", "basin.", StringComparison.Ordinal), "options.BasinEndpoint");
        }
        var retry = options.Retry ?? new S2RetryOptions();
        if (retry.MaxAttempts is < 1)
        {
            throw new ArgumentOutOfRangeException("options.Retry.MaxAttempts", retry.MaxAttempts, "At least 1 attempt.");
        }
        Positive(options.ConnectTimeout, "options.ConnectTimeout");
        Positive(options.RequestTimeout, "options.RequestTimeout");
        Positive(retry.MinBaseDelay, "options.Retry.MinBaseDelay", allowZero: true);
        Positive(retry.MaxBaseDelay, "options.Retry.MaxBaseDelay", allowZero: true);

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("access_token", NoNul(options.AccessToken, "options.AccessToken"));
            if (options.Endpoint is not null)
            {
                w.WriteString("endpoint", options.Endpoint.OriginalString.TrimEnd('/'));
            }
            if (options.AccountEndpoint is not null)
            {
                w.WriteString("account_endpoint", options.AccountEndpoint.OriginalString.TrimEnd('/'));
            }
            if (options.BasinEndpoint is not null)
            {
                w.WriteString("basin_endpoint", options.BasinEndpoint.TrimEnd('/'));
            }
            if (options.ConnectTimeout is { } connect)
            {
                w.WriteNumber("connect_timeout_ms", (ulong)connect.TotalMilliseconds);
            }
            if (options.RequestTimeout is { } request)
            {
                w.WriteNumber("request_timeout_ms", (ulong)request.TotalMilliseconds);
            }
            w.WriteStartObject("retry");
            if (retry.MaxAttempts is { } attempts)
            {
                w.WriteNumber("max_attempts", attempts);
            }
            if (retry.MinBaseDelay is { } min)
            {
                w.WriteNumber("min_base_delay_ms", (ulong)min.TotalMilliseconds);
            }
            if (retry.MaxBaseDelay is { } max)
            {
                w.WriteNumber("max_base_delay_ms", (ulong)max.TotalMilliseconds);
            }
            if (retry.AppendRetryPolicy is { } policy)
            {
                w.WriteString("append_retry_policy", policy switch
                {
                    AppendRetryPolicy.All => "all",
                    AppendRetryPolicy.NoSideEffects => "no_side_effects",
                    _ => throw new ArgumentOutOfRangeException("options.Retry.AppendRetryPolicy", policy, "Unknown policy."),
                });
            }
            w.WriteEndObject();
            w.WriteString("compression", options.Compression switch
            {
                S2Compression.None => "none",
                S2Compression.Gzip => "gzip",
                S2Compression.Zstd => "zstd",
                _ => throw new ArgumentOutOfRangeException("options.Compression", options.Compression, "Unknown compression."),
            });
            w.WriteEndObject();
        }
        var bytes = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(bytes);
        return bytes;
    }

    /// <summary>NUL-terminated UTF-8 JSON of a document (null: null).</summary>
    internal static byte[]? Z<T>(T? value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (value is null)
        {
            return null;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        var bytes = new byte[json.Length + 1];
        json.CopyTo(bytes, 0);
        return bytes;
    }

    private static string NoNul(string value, string name) =>
        value.Contains('\0', StringComparison.Ordinal) ? throw new ArgumentException("The value contains a NUL character.", name) : value;

    private static void Positive(TimeSpan? value, string name, bool allowZero = false)
    {
        if (value is { } v && (v < TimeSpan.Zero || (!allowZero && v == TimeSpan.Zero)))
        {
            throw new ArgumentOutOfRangeException(name, v, allowZero ? "Must not be negative." : "Must be positive.");
        }
    }
}
