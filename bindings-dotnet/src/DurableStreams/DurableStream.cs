using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using DurableStreams.Diagnostics;
using DurableStreams.Interop;

namespace DurableStreams;

/// <summary>
/// A lightweight handle to one stream URL, for reads, writes and metadata. It holds no
/// connection: create as many as you like and use them from any thread. The native handle is
/// released when the object is garbage collected. Its public members are virtual, so mocking
/// frameworks such as Moq can stand in for it in tests (see the protected constructor).
/// </summary>
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public class DurableStream
{
    private const string JsonContentType = "application/json";

    private readonly DurableStreamClient? _client;
    private readonly NativeStream? _native;

    /// <summary>For mocking frameworks and test doubles; a handle created this way has no native stream behind it (its non-overridden members throw <see cref="InvalidOperationException"/>).</summary>
    protected DurableStream()
    {
    }

    internal DurableStream(DurableStreamClient client, NativeStream native)
    {
        _client = client;
        _native = native;
    }

    /// <summary>The stream's absolute URL.</summary>
    public virtual string Url => Native.Url;

    /// <summary>
    /// The stream's content type, once known: set by <see cref="CreateAsync"/>, <see cref="HeadAsync"/>,
    /// the first read response or <see cref="SetContentType"/>, on this handle or on any other handle
    /// of the same client for this URL (the client remembers it). Appends on a stream whose content
    /// type is unknown learn it with one <c>HEAD</c> first.
    /// </summary>
    public virtual string? ContentType => Native.ContentType;

    /// <summary>
    /// Records the stream's content type when you already know it (e.g. from saved configuration
    /// or a stream created by another client), so that appends, producers and SSE reads through
    /// this client need no <c>HEAD</c> to learn it. It must be the stream's real
    /// content type: <c>application/json</c> selects JSON mode (message framing) for appends and reads.
    /// </summary>
    /// <param name="contentType">The content type, e.g. <c>application/json</c> or <c>text/plain</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="contentType"/> is null, empty or whitespace.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public virtual void SetContentType(string contentType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        Native.SetContentType(contentType);
    }

    internal DurableStreamClient Client => _client ?? throw NotBacked();

    private TelemetryTarget? _target;

    /// <summary>Server address and path for telemetry and logs (computed on first use).</summary>
    internal TelemetryTarget Target => _target ??= new TelemetryTarget(Url);

    internal NativeStream Native => _native ?? throw NotBacked();

    internal JsonSerializerOptions JsonSerializerOptions => Client.JsonSerializerOptions;

    private static InvalidOperationException NotBacked() =>
        new("This DurableStream was created for a test double (protected constructor) and has no native stream behind it.");

    // ------------------------------------------------------------------ writes

    /// <summary>
    /// Appends bytes in one request: at-most-once unless <see cref="DurableStreamClientOptions.AppendRetry"/>
    /// allows retries; use <see cref="CreateProducer"/> for exactly-once.
    /// On a JSON stream the bytes must be JSON; a top-level array is stored as one message per element.
    /// </summary>
    /// <param name="data">The bytes; copied before this method returns.</param>
    /// <param name="options">Sequence token, close, content type.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tail offset after the append.</returns>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty (unless closing).</exception>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    /// <exception cref="StreamClosedException">The stream is closed.</exception>
    /// <exception cref="StreamConflictException">Content type mismatch or sequence regression.</exception>
    public virtual Task<AppendResult> AppendAsync(ReadOnlyMemory<byte> data, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (data.IsEmpty && options?.Close != true)
        {
            throw new ArgumentException("An append cannot be empty (unless it closes the stream).", nameof(data));
        }
        return AppendCore(data.Span, options, overrideContentType: null, cancellationToken);
    }

    /// <summary>Appends the UTF-8 bytes of <paramref name="data"/> (see <see cref="AppendAsync(ReadOnlyMemory{byte}, AppendOptions?, CancellationToken)"/>).</summary>
    /// <param name="data">The text. On a JSON stream it must be JSON text.</param>
    /// <param name="options">Sequence token, close, content type.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tail offset after the append.</returns>
    public virtual Task<AppendResult> AppendAsync(string data, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        return AppendAsync(Encoding.UTF8.GetBytes(data), options, cancellationToken);
    }

    /// <summary>
    /// Appends <paramref name="data"/> serialized as exactly one JSON message (an array stays one
    /// message), using the client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="data">The message.</param>
    /// <param name="options">Sequence token, close, content type (default <c>application/json</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tail offset after the append.</returns>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual Task<AppendResult> AppendJsonAsync<T>(T? data, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            // Wrapped in an array, which the server flattens by one level: one message, whatever T is.
            writer.WriteStartArray();
            JsonSerializer.Serialize(writer, data, JsonSerializerOptions);
            writer.WriteEndArray();
        }
        return AppendCore(buffer.WrittenSpan, options, options?.ContentType ?? JsonContentType, cancellationToken);
    }

    /// <summary>Appends <paramref name="data"/> as exactly one JSON message, serialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="data">The message.</param>
    /// <param name="jsonTypeInfo">Serialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="options">Sequence token, close, content type (default <c>application/json</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tail offset after the append.</returns>
    public virtual Task<AppendResult> AppendJsonAsync<T>(T data, JsonTypeInfo<T> jsonTypeInfo, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            // Wrapped in an array, which the server flattens by one level: one message, whatever T is.
            writer.WriteStartArray();
            JsonSerializer.Serialize(writer, data, jsonTypeInfo);
            writer.WriteEndArray();
        }
        return AppendCore(buffer.WrittenSpan, options, options?.ContentType ?? JsonContentType, cancellationToken);
    }

    /// <summary>
    /// Closes the stream: no more appends are accepted. With <see cref="CloseOptions.Data"/>, that
    /// data is appended and the stream closed in one atomic step. Closing without data is
    /// idempotent (closing a closed stream succeeds).
    /// </summary>
    /// <param name="options">Final data, its content type, per-request headers; null: just close.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The final tail offset.</returns>
    /// <exception cref="StreamClosedException">Final data was given and the stream was already closed.</exception>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public virtual async Task<CloseResult> CloseAsync(CloseOptions? options = null, CancellationToken cancellationToken = default)
    {
        // One path: an empty append that closes is the core's idempotent close (retried as such).
        var append = new AppendOptions { Close = true, ContentType = options?.ContentType, Headers = options?.Headers };
        var result = await AppendCore(options?.Data ?? [], append, overrideContentType: null, cancellationToken).ConfigureAwait(false);
        return new CloseResult(result.Offset);
    }

    /// <summary>Appends <paramref name="finalData"/> and closes the stream in one atomic step (just closes when it is empty).</summary>
    /// <param name="finalData">The last bytes of the stream (may be empty: then this only closes, idempotently).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The final tail offset.</returns>
    /// <exception cref="StreamClosedException">Final data was given and the stream was already closed.</exception>
    public virtual async Task<CloseResult> CloseAsync(ReadOnlyMemory<byte> finalData, CancellationToken cancellationToken = default)
    {
        var result = await AppendCore(finalData.Span, new AppendOptions { Close = true }, null, cancellationToken).ConfigureAwait(false);
        return new CloseResult(result.Offset);
    }

    private Task<AppendResult> AppendCore(ReadOnlySpan<byte> data, AppendOptions? options, string? overrideContentType, CancellationToken cancellationToken)
    {
        var close = options?.Close == true;
        // Checked before the operation starts (the native call checks again).
        NativeString.ThrowIfNul(options?.Seq, nameof(options));
        NativeString.ThrowIfNul(overrideContentType ?? options?.ContentType, nameof(options));
        var scope = Telemetry.Begin(close && data.IsEmpty ? "close" : "append", this, data.Length);
        return scope.End(Native.AppendAsync(data, options?.Seq, overrideContentType ?? options?.ContentType, close, options?.Headers, nameof(options), cancellationToken));
    }

    // ------------------------------------------------------------------ reads

    /// <summary>
    /// Starts a read session from <see cref="StreamOptions.Offset"/> (the beginning by default).
    /// The first response is fetched before this completes (so a missing stream fails here), except
    /// when tailing live from <see cref="Offset.Now"/> with long-poll, which would wait for new data.
    /// </summary>
    /// <param name="options">Start offset or checkpoint, live mode, cursor.</param>
    /// <param name="cancellationToken">
    /// Scopes the whole session: it cancels fetching the first response and every later read of
    /// the returned <see cref="StreamResponse"/>, the enumeration that follows included (linked
    /// with the Read* methods' tokens and <c>WithCancellation</c>); once it fires, the session ends
    /// with <see cref="OperationCanceledException"/>.
    /// </param>
    /// <returns>The read session; dispose it when done.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public virtual async Task<StreamResponse> StreamAsync(StreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        var offset = options?.Offset is { HasValue: true } start ? start : Offset.Beginning;
        var live = options?.Live ?? LiveMode.Off;
        if (!Enum.IsDefined(live))
        {
            throw new ArgumentOutOfRangeException(nameof(options), live, "StreamOptions.Live is not a LiveMode value.");
        }
        if (options?.MaxChunkBytes is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxChunkBytes, "StreamOptions.MaxChunkBytes must be at least 1.");
        }
        if (options is { SkipBytes: > 0, SkipMessages: > 0 })
        {
            throw new ArgumentException($"The checkpoint for {SafeUrl} skips both bytes ({options.SkipBytes}) and messages ({options.SkipMessages}); a checkpoint counts bytes for a byte stream and messages for a JSON stream, never both.", nameof(options));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var response = StreamResponse.Open(this, offset, options?.Cursor, live, options?.MaxChunkBytes ?? StreamOptions.DefaultMaxChunkBytes, options?.SkipBytes ?? 0, options?.SkipMessages ?? 0, options?.Headers);
        response.ScopeTo(cancellationToken);
        var waitsForData = offset.IsNow && live is LiveMode.LongPoll or LiveMode.Auto;
        if (!waitsForData)
        {
            try
            {
                await response.PrefetchAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Rethrown with its original stack trace (not one ending in the cleanup).
                var failure = ExceptionDispatchInfo.Capture(e);
                await response.DisposeAsync().ConfigureAwait(false);
                failure.Throw();
            }
        }
        return response;
    }

    // ------------------------------------------------------------------ metadata

    /// <summary>Reads the stream's metadata (<c>HEAD</c>): tail offset, content type, closure, TTL and expiry.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public virtual Task<StreamMetadata> HeadAsync(CancellationToken cancellationToken = default)
    {
        var scope = Telemetry.Begin("head", this, 0);
        return scope.End(Native.HeadAsync(cancellationToken));
    }

    /// <summary>Creates the stream (<c>PUT</c>), or confirms that an identical one exists (<see cref="CreateStreamResult.AlreadyExisted"/>).</summary>
    /// <param name="options">Content type, TTL or expiry, initial data, closed, fork source, headers.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Whether the stream was created or already existed (<see cref="CreateWithDetailsAsync"/> also gives its tail offset and state).</returns>
    /// <exception cref="ArgumentException">An option is invalid (the exception names it).</exception>
    /// <exception cref="StreamConflictException">A stream with a different configuration exists, or it exists and is closed (the message says which).</exception>
    /// <exception cref="StreamNotFoundException">The fork source does not exist.</exception>
    public virtual async Task<CreateStreamResult> CreateAsync(CreateStreamOptions? options = null, CancellationToken cancellationToken = default) =>
        (await CreateWithDetailsAsync(options, cancellationToken).ConfigureAwait(false)).Result;

    /// <summary>Creates the stream like <see cref="CreateAsync"/>, and returns what the server said about it: tail offset, content type, closure.</summary>
    /// <param name="options">Content type, TTL or expiry, initial data, closed, fork source, headers.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The outcome with the stream's state.</returns>
    /// <exception cref="ArgumentException">An option is invalid (the exception names it).</exception>
    /// <exception cref="StreamConflictException">A stream with a different configuration exists, or it exists and is closed.</exception>
    /// <exception cref="StreamNotFoundException">The fork source does not exist.</exception>
    public virtual Task<CreateStreamDetails> CreateWithDetailsAsync(CreateStreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        options?.Validate();
        var scope = Telemetry.Begin("create", this, options?.InitialData?.Length ?? 0);
        return scope.End(Native.CreateAsync(options, cancellationToken));
    }

    /// <summary>Deletes the stream (<c>DELETE</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the stream is deleted.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    public virtual Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        var scope = Telemetry.Begin("delete", this, 0);
        return scope.End(Native.DeleteAsync(cancellationToken));
    }

    /// <summary>
    /// Creates a fork of this stream at <paramref name="target"/> (a <c>PUT</c> with the fork
    /// headers): it inherits this stream's data up to <paramref name="at"/> (the current tail
    /// when null) and its content type, then lives independently.
    /// </summary>
    /// <param name="target">The new stream's URL or path (on the same server).</param>
    /// <param name="at">The divergence point: an offset this stream returned; the tail when null.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A handle to the fork.</returns>
    public virtual async Task<DurableStream> ForkAsync(string target, Offset? at = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var fork = Client.GetStream(target, nameof(target));
        await fork.CreateAsync(new CreateStreamOptions { ForkFrom = Url, ForkOffset = at }, cancellationToken).ConfigureAwait(false);
        return fork;
    }

    /// <summary>Creates a fork of this stream at <paramref name="target"/>; see <see cref="ForkAsync(string, Offset?, CancellationToken)"/>.</summary>
    /// <param name="target">The new stream's URL (on the same server).</param>
    /// <param name="at">The divergence point; the tail when null.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A handle to the fork.</returns>
    public virtual Task<DurableStream> ForkAsync(Uri target, Offset? at = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        return ForkAsync(target.IsAbsoluteUri ? target.AbsoluteUri : target.OriginalString, at, cancellationToken);
    }

    // ------------------------------------------------------------------ producer

    /// <summary>
    /// Creates an idempotent producer: fire-and-forget appends that are batched, pipelined and
    /// retried, with exactly-once delivery per (<paramref name="producerId"/>, epoch, sequence).
    /// No network I/O happens here.
    /// </summary>
    /// <param name="producerId">A stable identifier of the logical producer (e.g. "order-service-1").</param>
    /// <param name="options">Epoch, auto-claim, batching and buffering limits.</param>
    /// <returns>The producer; dispose it (flushes, then detaches) when done.</returns>
    /// <exception cref="ArgumentException"><paramref name="producerId"/> is empty or an option is invalid (the exception names it).</exception>
    public virtual IdempotentProducer CreateProducer(string producerId, IdempotentProducerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(producerId);
        Client.ThrowIfDisposed();
        return new IdempotentProducer(this, producerId, options ?? new IdempotentProducerOptions());
    }

    /// <summary>The stream URL without user info or query values (<c>?sig=&lt;redacted&gt;</c>): safe to log.</summary>
    /// <returns>The redacted URL.</returns>
    public override string ToString() => _native is null ? "DurableStream (test double)" : SafeUrl;

    /// <summary>The fields for the debugger: redacted URL and content type.</summary>
    private string DebuggerDisplay => _native is null
        ? ToString()
        : $"DurableStream {{ Url = {SafeUrl}, ContentType = {ContentType ?? "(not known yet)"} }}";

    /// <summary>The URL without user info or query values, for texts that leave the library.</summary>
    internal string SafeUrl => _safeUrl ??= Redaction.Url(Url);

    private string? _safeUrl;
}
