using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace DurableStreams;

/// <summary>Configuration of a <see cref="DurableStreamClient"/>.</summary>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public class DurableStreamClientOptions
{
    /// <summary>
    /// The base URL that relative stream paths are appended to, e.g.
    /// <c>https://streams.example.com/v1/stream</c>. When null, every stream URL must be absolute.
    /// </summary>
    public string? BaseUrl { get; set; }

    /// <summary>Headers sent with every request (dynamic headers of the same name take precedence). Null is treated as empty.</summary>
    public Dictionary<string, string>? DefaultHeaders { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Headers computed per operation (e.g. rotating auth tokens): evaluated at the start of each
    /// operation, each read request of a read session, and each producer batch. Not re-evaluated
    /// on retries within the same operation. Evaluated asynchronously (no thread is blocked while
    /// a provider awaits); the token is cancelled when the client is disposed. An exception from a
    /// provider fails the operation.
    /// </summary>
    public Dictionary<string, Func<CancellationToken, ValueTask<string>>>? DynamicHeaders { get; set; } =
        new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Query parameters computed per request, like <see cref="DynamicHeaders"/> (same evaluation
    /// points and rules): each provider's value is added to the request URL as <c>name=value</c>
    /// (percent-encoded), together with the protocol's parameters. Useful for signed URLs and
    /// tracing parameters. The protocol's own parameter names (<c>offset</c>, <c>live</c>,
    /// <c>cursor</c>) are rejected.
    /// </summary>
    public Dictionary<string, Func<CancellationToken, ValueTask<string>>>? DynamicQueryParameters { get; set; } =
        new(StringComparer.Ordinal);

    /// <summary>Options for JSON (de)serialization of messages; <see cref="JsonSerializerOptions.Default"/> when null.</summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; set; }

    /// <summary>
    /// Where the client logs (category <c>DurableStreams</c>): failed operations, failed read
    /// sessions and producer delivery errors, with structured fields. URLs are logged without
    /// query string or user info, and header values (Authorization, tokens) are never logged.
    /// Null (the default): no logging. Set automatically by <c>AddDurableStreams</c> in a host.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Retries after the first attempt of operations that are safe to repeat (network errors, timeouts, 5xx, 429). 0 disables retries. Default 5.</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>
    /// When <see cref="DurableStream.AppendAsync(ReadOnlyMemory{byte}, AppendOptions?, CancellationToken)"/>
    /// and the other plain appends are retried after a transient failure (with the retry settings
    /// above). Default <see cref="AppendRetryMode.Never"/>: a plain append is sent once. Idempotent
    /// producers always retry, safely.
    /// </summary>
    public AppendRetryMode AppendRetry { get; set; } = AppendRetryMode.Never;

    /// <summary>Delay before the first retry (then multiplied by <see cref="RetryMultiplier"/> per retry, jittered). Greater than zero. Default 100 ms.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of the retry delay (a server's <c>Retry-After</c> may exceed it). At least <see cref="InitialRetryDelay"/>. Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Growth factor of the retry delay between consecutive retries: a finite number, at least 1 (1 = constant delay). Default 2.</summary>
    public double RetryMultiplier { get; set; } = 2.0;

    /// <summary>Time limit of one request (excluding live reads). Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = DefaultRequestTimeout;

    /// <summary>
    /// The name code written for other Durable Streams .NET clients uses for <see cref="RequestTimeout"/>:
    /// reading returns it, setting sets it, and null restores the default (30 s).
    /// </summary>
    public TimeSpan? Timeout
    {
        get => RequestTimeout;
        set => RequestTimeout = value ?? DefaultRequestTimeout;
    }

    private static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Time limit for establishing a connection. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time limit of one live request (a long-poll, or silence on an SSE connection); should exceed the server's long-poll timeout. Default 75 s.</summary>
    public TimeSpan LiveTimeout { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>
    /// The options as text, safe to log: the base URL without user info or query values, the
    /// header and query parameter NAMES (never their values), timeouts and retries.
    /// </summary>
    /// <returns>A description of the options.</returns>
    public override string ToString() => "DurableStreamClientOptions " + Fields();

    /// <summary>The fields as <c>{ Name = value, ... }</c>, without secrets.</summary>
    internal string Fields() => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"{{ BaseUrl = {(BaseUrl is null ? "null" : Diagnostics.Redaction.Url(BaseUrl))}, DefaultHeaders = [{Names(DefaultHeaders?.Keys)}], DynamicHeaders = [{Names(DynamicHeaders?.Keys)}], DynamicQueryParameters = [{Names(DynamicQueryParameters?.Keys)}], "
        + $"MaxRetries = {MaxRetries}, AppendRetry = {AppendRetry}, InitialRetryDelay = {InitialRetryDelay}, MaxRetryDelay = {MaxRetryDelay}, RetryMultiplier = {RetryMultiplier}, "
        + $"RequestTimeout = {RequestTimeout}, ConnectTimeout = {ConnectTimeout}, LiveTimeout = {LiveTimeout}, JsonSerializerOptions = {(JsonSerializerOptions is null ? "default" : "custom")}, LoggerFactory = {(LoggerFactory is null ? "none" : "set")} }}");

    private static string Names(ICollection<string>? names) => names is null ? string.Empty : string.Join(", ", names);

    /// <summary>A shallow copy (the dictionaries are shared until replaced).</summary>
    internal DurableStreamClientOptions Copy() => (DurableStreamClientOptions)MemberwiseClone();

    internal void Validate()
    {
        if (BaseUrl is not null)
        {
            Interop.NativeString.ThrowIfNul(BaseUrl, nameof(BaseUrl));
            if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"BaseUrl must be an absolute http or https URL, got \"{Diagnostics.Redaction.Url(BaseUrl)}\".", nameof(BaseUrl));
            }
        }
        if (!Enum.IsDefined(AppendRetry))
        {
            throw new ArgumentOutOfRangeException(nameof(AppendRetry), AppendRetry, "AppendRetry must be Never, WhenNotStored or AtLeastOnce.");
        }
        Interop.HeaderChecks.Validate(DefaultHeaders, nameof(DefaultHeaders), nameof(DefaultHeaders));
        foreach (var (name, provider) in DynamicHeaders ?? [])
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("DynamicHeaders cannot contain an empty header name.", nameof(DynamicHeaders));
            }
            if (provider is null)
            {
                throw new ArgumentException($"DynamicHeaders[\"{name}\"] is null.", nameof(DynamicHeaders));
            }
            Interop.NativeString.ThrowIfNul(name, nameof(DynamicHeaders));
        }
        foreach (var (name, provider) in DynamicQueryParameters ?? [])
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException("DynamicQueryParameters cannot contain an empty parameter name.", nameof(DynamicQueryParameters));
            }
            if (provider is null)
            {
                throw new ArgumentException($"DynamicQueryParameters[\"{name}\"] is null.", nameof(DynamicQueryParameters));
            }
            Interop.NativeString.ThrowIfNul(name, nameof(DynamicQueryParameters));
            if (name is "offset" or "live" or "cursor")
            {
                throw new ArgumentException($"DynamicQueryParameters cannot set the protocol parameter \"{name}\".", nameof(DynamicQueryParameters));
            }
        }
        if (MaxRetries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, "MaxRetries cannot be negative.");
        }
        RequirePositive(InitialRetryDelay, nameof(InitialRetryDelay));
        RequirePositive(MaxRetryDelay, nameof(MaxRetryDelay));
        if (MaxRetryDelay < InitialRetryDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryDelay), MaxRetryDelay, $"MaxRetryDelay must be at least InitialRetryDelay ({InitialRetryDelay}).");
        }
        if (!double.IsFinite(RetryMultiplier) || RetryMultiplier < 1.0)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryMultiplier), RetryMultiplier, "RetryMultiplier must be a finite number of at least 1.");
        }
        RequirePositive(RequestTimeout, nameof(RequestTimeout));
        RequirePositive(ConnectTimeout, nameof(ConnectTimeout));
        RequirePositive(LiveTimeout, nameof(LiveTimeout));
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be greater than zero.");
        }
    }
}

/// <summary>When a plain append (one request, no producer) is sent again after a transient failure.</summary>
public enum AppendRetryMode
{
    /// <summary>Sent once: at-most-once. Every failure reaches the caller, who decides.</summary>
    Never = 0,

    /// <summary>
    /// Retried only when the server cannot have stored the data: the connection could not be
    /// established, or the server answered 429 or 503. Still at-most-once.
    /// </summary>
    WhenNotStored = 1,

    /// <summary>
    /// Retried after every transient failure, including a connection dropped or timed out after
    /// the request was sent and any 5xx: at-least-once. When the first attempt was stored but its
    /// answer lost, the retry stores the data a second time; use <see cref="IdempotentProducer"/>
    /// for exactly-once.
    /// </summary>
    AtLeastOnce = 2,
}
