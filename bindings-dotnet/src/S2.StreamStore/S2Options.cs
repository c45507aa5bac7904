using Microsoft.Extensions.Logging;

namespace S2.StreamStore;

/// <summary>How an <see cref="S2Client"/> reaches S2 and how it retries.</summary>
public sealed class S2Options
{
    /// <summary>The access token (required; any non-empty value for <c>s2 lite</c>).</summary>
    public string AccessToken { get; set; } = "";

    /// <summary>
    /// One endpoint for both the account and the basin APIs, e.g. <c>http://127.0.0.1:4566</c> for
    /// a local <c>s2 lite</c>. Exclusive with <see cref="AccountEndpoint"/>/<see cref="BasinEndpoint"/>;
    /// S2 cloud when none is set.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The account API endpoint (<c>https://a.s2.dev</c> on the cloud).</summary>
    public Uri? AccountEndpoint { get; set; }

    /// <summary>The basin API endpoint; a leading <c>{basin}.</c> in its host routes per basin (<c>https://{basin}.b.s2.dev</c>).</summary>
    public string? BasinEndpoint { get; set; }

    /// <summary>Time allowed to connect (null: 3 s).</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>Time allowed per request (null: 5 s).</summary>
    public TimeSpan? RequestTimeout { get; set; }

    /// <summary>Retries of transient failures.</summary>
    public S2RetryOptions Retry { get; set; } = new();

    /// <summary>Compression of request and response bodies.</summary>
    public S2Compression Compression { get; set; } = S2Compression.None;

    /// <summary>The logger factory for the client's logs (null: none).</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

/// <summary>Retries of transient failures: exponential backoff with jitter.</summary>
public sealed class S2RetryOptions
{
    /// <summary>Attempts including the first (1: no retries; null: 3).</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>The first retry's base delay (null: 100 ms).</summary>
    public TimeSpan? MinBaseDelay { get; set; }

    /// <summary>The cap of the base delay (null: 1 s).</summary>
    public TimeSpan? MaxBaseDelay { get; set; }

    /// <summary>Which appends are retried (null: <see cref="AppendRetryPolicy.All"/>).</summary>
    public AppendRetryPolicy? AppendRetryPolicy { get; set; }
}

/// <summary>Which appends are retried after a transient failure.</summary>
public enum AppendRetryPolicy
{
    /// <summary>Every append, even one that may already be stored (combine with <see cref="AppendOptions.MatchSeqNum"/> for exactly-once).</summary>
    All,

    /// <summary>Only appends the server cannot have seen.</summary>
    NoSideEffects,
}

/// <summary>Body compression.</summary>
public enum S2Compression
{
    /// <summary>None.</summary>
    None,

    /// <summary>gzip.</summary>
    Gzip,

    /// <summary>zstd.</summary>
    Zstd,
}
