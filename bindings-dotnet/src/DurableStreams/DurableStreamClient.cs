using System.Reflection;
using System.Text.Json;
using DurableStreams.Diagnostics;
using DurableStreams.Interop;
using Microsoft.Extensions.Logging;

namespace DurableStreams;

/// <summary>
/// The main entry point: configuration, the shared connection pool and the factory for stream
/// handles. Thread-safe and designed for singleton use (one per process or per server).
/// </summary>
/// <remarks>
/// Disposing the client makes further calls on it and on its <see cref="DurableStream"/> handles
/// throw <see cref="ObjectDisposedException"/>. Operations already running complete normally.
/// Its public members are virtual (and <see cref="DurableStream"/>'s are too), so mocking
/// frameworks such as Moq can stand in for it in tests.
/// </remarks>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public class DurableStreamClient : IAsyncDisposable, IDisposable
{
    private readonly NativeClient _native;
    private readonly string _description;

    /// <summary>
    /// Creates a client with the default options (every stream URL absolute). No network I/O
    /// happens here. Mocking frameworks such as Moq use this constructor too: a mock is a real,
    /// idle client whose virtual members it replaces.
    /// </summary>
    public DurableStreamClient()
        : this(new DurableStreamClientOptions())
    {
    }

    /// <summary>
    /// Creates a client configured from <paramref name="options"/> and from
    /// <paramref name="httpClient"/>'s settings, for code written against clients that send their
    /// requests through an <see cref="HttpClient"/>. This client sends its requests through its
    /// own native HTTP stack (that is where its speed comes from), so it takes from
    /// <paramref name="httpClient"/> only what can be carried over: its
    /// <see cref="HttpClient.BaseAddress"/> (when <see cref="DurableStreamClientOptions.BaseUrl"/>
    /// is not set), its <see cref="HttpClient.DefaultRequestHeaders"/> (added to
    /// <see cref="DurableStreamClientOptions.DefaultHeaders"/>, which win on a name clash; headers
    /// that manage that HttpClient's connections, such as <c>Connection: close</c> or
    /// <c>Expect</c>, are left out) and its
    /// <see cref="HttpClient.Timeout"/> (when <see cref="DurableStreamClientOptions.Timeout"/> is
    /// the default and the HttpClient's is finite). Message handlers, proxies and certificate
    /// settings of the HttpClient are NOT used: configure those with the options, or keep using an
    /// HttpClient-based client. The HttpClient is not disposed by this client and may be disposed
    /// right after this call. No network I/O happens here.
    /// </summary>
    /// <param name="options">The configuration (not modified).</param>
    /// <param name="httpClient">The HttpClient whose base address, default headers and timeout to carry over.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An option or carried-over header is invalid (the exception names it).</exception>
    public DurableStreamClient(DurableStreamClientOptions options, HttpClient httpClient)
        : this(HttpClientSettings.Merge(options, httpClient))
    {
    }

    /// <summary>Creates a client. No network I/O happens here.</summary>
    /// <param name="options">The configuration.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the exception names it).</exception>
    public DurableStreamClient(DurableStreamClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        NativeLibraryGuard.EnsureLoaded();

        JsonSerializerOptions = options.JsonSerializerOptions ?? JsonDefaults.Options;
        Logger = options.LoggerFactory?.CreateLogger(Log.Category);
        _native = NativeClient.Create(options, UserAgent, new NativeEvents(Logger));
        _description = "DurableStreamClient " + options.Fields();
        if (Logger is not null)
        {
            Log.ClientCreated(Logger, options.BaseUrl is null ? "(absolute URLs)" : new TelemetryTarget(options.BaseUrl).SafeUrl, options.MaxRetries, options.RequestTimeout, options.DefaultHeaders?.Count ?? 0);
        }
    }

    /// <summary>The logger (null when <see cref="DurableStreamClientOptions.LoggerFactory"/> is not set).</summary>
    internal ILogger? Logger { get; }

    /// <summary>The JSON options used for messages (never null).</summary>
    internal JsonSerializerOptions JsonSerializerOptions { get; }

    /// <summary>
    /// The version of the Durable Streams core this package runs on (the native library it
    /// loaded), e.g. <c>0.1.0</c>; useful in bug reports. Loads the library on first use.
    /// </summary>
    /// <exception cref="DllNotFoundException">The core library cannot be loaded.</exception>
    /// <exception cref="InvalidOperationException">The loaded core library is not the one this package version needs.</exception>
    public static string CoreVersion => NativeClient.CoreVersion;

    private static string UserAgent { get; } =
        $"durable-streams-dotnet/{typeof(DurableStreamClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0"}";

    /// <summary>
    /// A handle to the stream at <paramref name="url"/>: an absolute http(s) URL, or a path
    /// appended to <see cref="DurableStreamClientOptions.BaseUrl"/>. No network I/O happens here.
    /// </summary>
    /// <param name="url">The stream URL or path.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="ArgumentException"><paramref name="url"/> is not a valid stream URL.</exception>
    public virtual DurableStream GetStream(string url) => GetStream(url, nameof(url));

    /// <summary>
    /// A handle to the subscription <paramref name="id"/> under the client's base URL (the stream
    /// root, e.g. <c>http://127.0.0.1:4437/v1/stream</c>). No I/O happens here.
    /// </summary>
    /// <param name="id">1 to 200 of <c>A-Z a-z 0-9 - _ . ~</c>.</param>
    /// <returns>The subscription handle.</returns>
    /// <exception cref="ArgumentException">The id is invalid, or the client has no base URL.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public virtual Subscriptions.Subscription Subscription(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        ThrowIfDisposed();
        return new Subscriptions.Subscription(this, NativeSubscription.Open(Native, null, id));
    }

    /// <summary>A handle to the subscription <paramref name="id"/> under <paramref name="streamRoot"/> (an absolute URL, or a path relative to the base URL).</summary>
    /// <param name="id">1 to 200 of <c>A-Z a-z 0-9 - _ . ~</c>.</param>
    /// <param name="streamRoot">The stream root the subscription lives under.</param>
    /// <returns>The subscription handle.</returns>
    /// <exception cref="ArgumentException">The id or the root is invalid.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public virtual Subscriptions.Subscription Subscription(string id, string streamRoot)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(streamRoot);
        ThrowIfDisposed();
        return new Subscriptions.Subscription(this, NativeSubscription.Open(Native, streamRoot, id));
    }

    /// <summary>A handle to the stream at <paramref name="url"/>; errors name <paramref name="paramName"/>.</summary>
    internal DurableStream GetStream(string url, string paramName)
    {
        ArgumentNullException.ThrowIfNull(url, paramName);
        ThrowIfDisposed();
        return new DurableStream(this, Native.OpenStream(url, paramName));
    }

    /// <summary>A handle to the stream at <paramref name="uri"/> (absolute, or relative to the base URL). No network I/O.</summary>
    /// <param name="uri">The stream URL.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="ArgumentException"><paramref name="uri"/> is not a valid stream URL.</exception>
    public virtual DurableStream GetStream(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return GetStream(ToText(uri));
    }

    /// <summary>Creates the stream (<c>PUT</c>) and returns a handle to it. Succeeds if an identical stream exists.</summary>
    /// <param name="url">The stream URL or path.</param>
    /// <param name="options">Content type, TTL, initial data...</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="StreamConflictException">A stream with a different configuration exists.</exception>
    public virtual async Task<DurableStream> CreateStreamAsync(string url, CreateStreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        var stream = GetStream(url);
        await stream.CreateAsync(options, cancellationToken).ConfigureAwait(false);
        return stream;
    }

    /// <summary>Creates the stream (<c>PUT</c>) and returns a handle to it. Succeeds if an identical stream exists.</summary>
    /// <param name="uri">The stream URL.</param>
    /// <param name="options">Content type, TTL, initial data...</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stream handle.</returns>
    public virtual Task<DurableStream> CreateStreamAsync(Uri uri, CreateStreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return CreateStreamAsync(ToText(uri), options, cancellationToken);
    }

    /// <summary>Checks that the stream exists (<c>HEAD</c>, which also learns its content type) and returns a handle.</summary>
    /// <param name="url">The stream URL or path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public virtual async Task<DurableStream> ConnectAsync(string url, CancellationToken cancellationToken = default)
    {
        var stream = GetStream(url);
        await stream.HeadAsync(cancellationToken).ConfigureAwait(false);
        return stream;
    }

    /// <summary>Checks that the stream exists (<c>HEAD</c>) and returns a handle.</summary>
    /// <param name="uri">The stream URL.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public virtual Task<DurableStream> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return ConnectAsync(ToText(uri), cancellationToken);
    }

    /// <summary>Deletes the stream (<c>DELETE</c>).</summary>
    /// <param name="url">The stream URL or path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the stream is deleted.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public virtual Task DeleteStreamAsync(string url, CancellationToken cancellationToken = default) =>
        GetStream(url).DeleteAsync(cancellationToken);

    /// <summary>Deletes the stream (<c>DELETE</c>).</summary>
    /// <param name="uri">The stream URL.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the stream is deleted.</returns>
    public virtual Task DeleteStreamAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return DeleteStreamAsync(ToText(uri), cancellationToken);
    }

    /// <summary>Releases the native client. Running operations complete; new calls throw <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A completed task.</returns>
    public virtual ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }

    /// <summary>Releases the native client. Running operations complete; new calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the native client; override to release what a derived class holds.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _native.Dispose();
        }
    }

    /// <summary>The configuration (base URL without user info or query values, timeouts, retries, header names; never header values).</summary>
    /// <returns>A description of the client.</returns>
    public override string ToString() => IsDisposed ? _description + " (disposed)" : _description;

    internal bool IsDisposed => _native.IsDisposed;

    private NativeClient Native => _native;

    /// <summary>The native client, for the webhook verifier (<see cref="Webhooks.WebhookVerifier"/>).</summary>
    internal NativeClient NativeClient => _native;

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    private static string ToText(Uri uri) => uri.IsAbsoluteUri ? uri.AbsoluteUri : uri.OriginalString;
}
