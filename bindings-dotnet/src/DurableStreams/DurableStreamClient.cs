using System.Reflection;
using System.Runtime.InteropServices;
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
/// </remarks>
public sealed class DurableStreamClient : IAsyncDisposable, IDisposable
{
    private readonly ClientHandle _handle;
    private readonly DynamicHeaderProvider? _dynamicHeaders;
    private int _disposed;

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
        var json = OptionsJson.Build(options, static (w, o) =>
        {
            if (o.BaseUrl is not null)
            {
                w.WriteString("base_url", o.BaseUrl.TrimEnd('/'));
            }
            w.WriteStartObject("headers");
            foreach (var (name, value) in o.DefaultHeaders)
            {
                w.WriteString(name, value);
            }
            w.WriteEndObject();
            w.WriteNumber("request_timeout_ms", OptionsJson.Milliseconds(o.RequestTimeout));
            w.WriteNumber("connect_timeout_ms", OptionsJson.Milliseconds(o.ConnectTimeout));
            w.WriteNumber("live_timeout_ms", OptionsJson.Milliseconds(o.LiveTimeout));
            w.WriteStartObject("retry");
            w.WriteNumber("max_retries", o.MaxRetries);
            w.WriteNumber("initial_delay_ms", OptionsJson.Milliseconds(o.InitialRetryDelay));
            w.WriteNumber("max_delay_ms", OptionsJson.Milliseconds(o.MaxRetryDelay));
            w.WriteNumber("multiplier", o.RetryMultiplier);
            w.WriteEndObject();
            w.WriteString("append_retry", o.AppendRetry switch
            {
                AppendRetryMode.WhenNotStored => "when_not_stored",
                AppendRetryMode.AtLeastOnce => "at_least_once",
                _ => "never",
            });
            w.WriteString("user_agent", UserAgent);
        });

        if (options.DynamicHeaders.Count > 0 || options.DynamicQueryParameters.Count > 0)
        {
            _dynamicHeaders = new DynamicHeaderProvider(options.DynamicHeaders, options.DynamicQueryParameters);
        }
        Logger = options.LoggerFactory?.CreateLogger(Log.Category);
        _handle = CreateHandle(json, _dynamicHeaders, Logger);
        if (Logger is not null)
        {
            Log.ClientCreated(Logger, options.BaseUrl is null ? "(absolute URLs)" : new TelemetryTarget(options.BaseUrl).SafeUrl, options.MaxRetries, options.RequestTimeout, options.DefaultHeaders.Count);
        }
    }

    /// <summary>The logger (null when <see cref="DurableStreamClientOptions.LoggerFactory"/> is not set).</summary>
    internal ILogger? Logger { get; }

    /// <summary>The JSON options used for messages (never null).</summary>
    internal JsonSerializerOptions JsonSerializerOptions { get; }

    /// <summary>The version of the native core library (<c>ds_version()</c>).</summary>
    public static string NativeLibraryVersion => NativeLibraryGuard.NativeVersion;

    private static string UserAgent { get; } =
        $"durable-streams-dotnet/{typeof(DurableStreamClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0"}";

    private static unsafe ClientHandle CreateHandle(byte[] json, DynamicHeaderProvider? dynamicHeaders, ILogger? logger)
    {
        var handle = new ClientHandle();
        GCHandle userData = default;
        if (dynamicHeaders is not null)
        {
            userData = GCHandle.Alloc(dynamicHeaders);
        }
        DsClient* client = null;
        DsError* error;
        fixed (byte* options = json)
        {
            error = dynamicHeaders is null
                ? NativeMethods.ds_client_new(options, null, null, null, &client)
                : NativeMethods.ds_client_new(
                    options,
                    DynamicHeaderProvider.Callback,
                    (void*)GCHandle.ToIntPtr(userData),
                    NativeCallbacks.FreeGCHandle,
                    &client);
        }
        if (error != null)
        {
            // On failure the library has already called free_user_data (freeing the GCHandle).
            throw ToArgumentException(error, "options");
        }
        handle.Adopt((nint)client);
        NativeEvents.Install(client, logger);
        return handle;
    }

    /// <summary>
    /// A native INVALID_ARGUMENT from a synchronous call becomes an <see cref="ArgumentException"/>;
    /// anything else the mapped <see cref="DurableStreamException"/>.
    /// </summary>
    internal static unsafe Exception ToArgumentException(DsError* error, string paramName)
    {
        var exception = NativeErrors.Take(error, CancellationToken.None);
        return exception is DurableStreamException { Code: DurableStreamErrorCode.InvalidArgument } e
            ? new ArgumentException(e.Message, paramName, e)
            : exception;
    }

    /// <summary>
    /// A handle to the stream at <paramref name="url"/>: an absolute http(s) URL, or a path
    /// appended to <see cref="DurableStreamClientOptions.BaseUrl"/>. No network I/O happens here.
    /// </summary>
    /// <param name="url">The stream URL or path.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="ArgumentException"><paramref name="url"/> is not a valid stream URL.</exception>
    public DurableStream GetStream(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        ThrowIfDisposed();
        return new DurableStream(this, CreateStreamHandle(url, nameof(url)));
    }

    /// <summary>A handle to the stream at <paramref name="uri"/> (absolute, or relative to the base URL). No network I/O.</summary>
    /// <param name="uri">The stream URL.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="ArgumentException"><paramref name="uri"/> is not a valid stream URL.</exception>
    public DurableStream GetStream(Uri uri)
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
    public async Task<DurableStream> CreateStreamAsync(string url, CreateStreamOptions? options = null, CancellationToken cancellationToken = default)
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
    public Task<DurableStream> CreateStreamAsync(Uri uri, CreateStreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return CreateStreamAsync(ToText(uri), options, cancellationToken);
    }

    /// <summary>Checks that the stream exists (<c>HEAD</c>, which also learns its content type) and returns a handle.</summary>
    /// <param name="url">The stream URL or path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stream handle.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public async Task<DurableStream> ConnectAsync(string url, CancellationToken cancellationToken = default)
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
    public Task<DurableStream> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return ConnectAsync(ToText(uri), cancellationToken);
    }

    /// <summary>Deletes the stream (<c>DELETE</c>).</summary>
    /// <param name="url">The stream URL or path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the stream is deleted.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public Task DeleteStreamAsync(string url, CancellationToken cancellationToken = default) =>
        GetStream(url).DeleteAsync(cancellationToken);

    /// <summary>Deletes the stream (<c>DELETE</c>).</summary>
    /// <param name="uri">The stream URL.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the stream is deleted.</returns>
    public Task DeleteStreamAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return DeleteStreamAsync(ToText(uri), cancellationToken);
    }

    /// <summary>Releases the native client. Running operations complete; new calls throw <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }

    /// <summary>Releases the native client. Running operations complete; new calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _dynamicHeaders?.Cancel();
        _handle.Dispose();
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    internal unsafe StreamHandle CreateStreamHandle(string url, string paramName)
    {
        var handle = new StreamHandle();
        var urlBytes = NativeString.ToUtf8Z(url);
        DsStream* stream = null;
        DsError* error;
        using (var client = LeaseClient())
        {
            fixed (byte* u = urlBytes)
            {
                error = NativeMethods.ds_stream_new((DsClient*)client.Pointer, u, &stream);
            }
        }
        if (error != null)
        {
            throw ToArgumentException(error, paramName);
        }
        handle.Adopt((nint)stream);
        return handle;
    }

    private HandleLease LeaseClient()
    {
        try
        {
            ThrowIfDisposed();
            return _handle.Lease();
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(DurableStreamClient));
        }
    }

    private static string ToText(Uri uri) => uri.IsAbsoluteUri ? uri.AbsoluteUri : uri.OriginalString;
}
