using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace DurableStreams;

/// <summary>
/// A typed handle to a JSON stream (<c>application/json</c>) whose messages are
/// <typeparamref name="T"/>: appends serialize, reads deserialize, with the
/// <see cref="JsonTypeInfo{T}"/> it was created with (from a source-generated
/// <see cref="JsonSerializerContext"/> for trimming and NativeAOT). Like
/// <see cref="DurableStream"/>, it holds no connection and is safe to use from any thread.
/// </summary>
/// <typeparam name="T">The message type.</typeparam>
public sealed class DurableStream<T>
{
    private const string JsonContentType = "application/json";

    internal DurableStream(DurableStream stream, JsonTypeInfo<T> jsonTypeInfo)
    {
        Stream = stream;
        JsonTypeInfo = jsonTypeInfo;
    }

    /// <summary>The untyped handle (for byte-level reads, forks, metadata).</summary>
    public DurableStream Stream { get; }

    /// <summary>The serialization metadata used for messages.</summary>
    public JsonTypeInfo<T> JsonTypeInfo { get; }

    /// <summary>The stream's absolute URL.</summary>
    public string Url => Stream.Url;

    /// <summary>Creates the stream as an <c>application/json</c> stream (or confirms that an identical one exists).</summary>
    /// <param name="options">TTL, expiry, initial data...; its <see cref="CreateStreamOptions.ContentType"/> must be null or a JSON content type.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="StreamConflictException">A stream with a different configuration exists.</exception>
    public Task<CreateStreamResult> CreateAsync(CreateStreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        // A copy: the caller's options object is never modified.
        var copy = options?.Copy() ?? new CreateStreamOptions();
        copy.ContentType ??= JsonContentType;
        return Stream.CreateAsync(copy, cancellationToken);
    }

    /// <summary>Appends one message in one request (at-most-once unless <see cref="DurableStreamClientOptions.AppendRetry"/> allows retries; use <see cref="CreateProducer"/> for exactly-once batching).</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tail offset after the append.</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist.</exception>
    /// <exception cref="StreamClosedException">The stream is closed.</exception>
    public Task<AppendResult> AppendAsync(T message, CancellationToken cancellationToken = default) =>
        Stream.AppendJsonAsync(message, JsonTypeInfo, options: null, cancellationToken);

    /// <summary>Appends one message with append options (sequence token, close).</summary>
    /// <param name="message">The message.</param>
    /// <param name="options">Sequence token, close.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tail offset after the append.</returns>
    public Task<AppendResult> AppendAsync(T message, AppendOptions? options, CancellationToken cancellationToken = default) =>
        Stream.AppendJsonAsync(message, JsonTypeInfo, options, cancellationToken);

    /// <summary>Appends several messages atomically in one request (one message per element).</summary>
    /// <param name="messages">The messages; at least one.</param>
    /// <param name="options">Sequence token, close.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tail offset after the append.</returns>
    /// <exception cref="ArgumentException"><paramref name="messages"/> is empty.</exception>
    public Task<AppendResult> AppendRangeAsync(IEnumerable<T> messages, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var buffer = new ArrayBufferWriter<byte>(256);
        var count = 0;
        using (var writer = new Utf8JsonWriter(buffer))
        {
            // A top-level array is stored as one message per element.
            writer.WriteStartArray();
            foreach (var message in messages)
            {
                JsonSerializer.Serialize(writer, message, JsonTypeInfo);
                count++;
            }
            writer.WriteEndArray();
        }
        if (count == 0)
        {
            throw new ArgumentException("At least one message is needed.", nameof(messages));
        }
        var appendOptions = new AppendOptions { Seq = options?.Seq, Close = options?.Close ?? false, ContentType = options?.ContentType ?? JsonContentType };
        return Stream.AppendAsync(buffer.WrittenMemory, appendOptions, cancellationToken);
    }

    /// <summary>
    /// Reads the messages from <see cref="StreamOptions.Offset"/> (the beginning by default): in
    /// catch-up mode until the tail, in live modes until the stream is closed or the iteration is
    /// cancelled. To resume later, use <see cref="ReadBatchesAsync"/> (it gives checkpoints).
    /// </summary>
    /// <param name="options">Start offset or checkpoint, live mode.</param>
    /// <param name="cancellationToken">Cancels the iteration; combined with <c>WithCancellation</c>.</param>
    /// <returns>The messages (a JSON <c>null</c> message is a null item).</returns>
    /// <exception cref="StreamNotFoundException">The stream does not exist (thrown on the first <c>MoveNextAsync</c>).</exception>
    public async IAsyncEnumerable<T?> ReadAsync(StreamOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var response = await Stream.StreamAsync(options, cancellationToken).ConfigureAwait(false);
        await foreach (var item in response.ReadJsonAsync(JsonTypeInfo, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <summary>Reads the messages one response (or piece of one) at a time, each batch with the checkpoint to resume from after it.</summary>
    /// <param name="options">Start offset or checkpoint, live mode.</param>
    /// <param name="cancellationToken">Cancels the iteration; combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches (possibly empty ones, marking up-to-date or the end of the stream).</returns>
    public async IAsyncEnumerable<JsonBatch<T>> ReadBatchesAsync(StreamOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var response = await Stream.StreamAsync(options, cancellationToken).ConfigureAwait(false);
        await foreach (var batch in response.ReadJsonBatchesAsync(JsonTypeInfo, cancellationToken).ConfigureAwait(false))
        {
            yield return batch;
        }
    }

    /// <summary>Reads all messages up to the tail (catch-up) and returns them.</summary>
    /// <param name="options">Start offset or checkpoint (the live mode is ignored: catch-up only).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The messages.</returns>
    public async Task<List<T?>> ReadAllAsync(StreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        var catchUp = new StreamOptions { Checkpoint = options?.Checkpoint, Headers = options?.Headers, MaxChunkBytes = options?.MaxChunkBytes, Live = LiveMode.Off };
        await using var response = await Stream.StreamAsync(catchUp, cancellationToken).ConfigureAwait(false);
        return await response.ReadAllJsonAsync(JsonTypeInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the stream's metadata (<c>HEAD</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The metadata.</returns>
    public Task<StreamMetadata> HeadAsync(CancellationToken cancellationToken = default) => Stream.HeadAsync(cancellationToken);

    /// <summary>Deletes the stream (<c>DELETE</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the stream is deleted.</returns>
    public Task DeleteAsync(CancellationToken cancellationToken = default) => Stream.DeleteAsync(cancellationToken);

    /// <summary>Closes the stream: no more appends are accepted (see <see cref="DurableStream.CloseAsync(CloseOptions?, CancellationToken)"/>).</summary>
    /// <param name="options">Final data, content type, headers; null: just close (idempotent).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The final tail offset.</returns>
    public Task<CloseResult> CloseAsync(CloseOptions? options = null, CancellationToken cancellationToken = default) => Stream.CloseAsync(options, cancellationToken);

    /// <summary>Creates a typed idempotent producer (batched, pipelined, exactly-once). No network I/O.</summary>
    /// <param name="producerId">A stable identifier of the logical producer.</param>
    /// <param name="options">Epoch, auto-claim, batching and buffering limits.</param>
    /// <returns>The producer; dispose it (flushes, then detaches) when done.</returns>
    public IdempotentProducer<T> CreateProducer(string producerId, IdempotentProducerOptions? options = null)
    {
        // A copy: the caller's options object is never modified.
        var copy = options?.Copy() ?? new IdempotentProducerOptions();
        copy.ContentType ??= JsonContentType;
        return new IdempotentProducer<T>(Stream.CreateProducer(producerId, copy), JsonTypeInfo);
    }

    /// <summary>The stream URL without user info or query values (<c>?sig=&lt;redacted&gt;</c>): safe to log.</summary>
    /// <returns>The redacted URL.</returns>
    public override string ToString() => Stream.ToString();
}

/// <summary>
/// A typed idempotent producer (<see cref="DurableStream{T}.CreateProducer"/>): each
/// <typeparamref name="T"/> is serialized with the stream's <see cref="JsonTypeInfo{T}"/> and
/// becomes one JSON message. See <see cref="IdempotentProducer"/> for delivery semantics.
/// </summary>
/// <typeparam name="T">The message type.</typeparam>
public sealed class IdempotentProducer<T> : IAsyncDisposable
{
    private readonly JsonTypeInfo<T> _jsonTypeInfo;

    internal IdempotentProducer(IdempotentProducer producer, JsonTypeInfo<T> jsonTypeInfo)
    {
        Producer = producer;
        _jsonTypeInfo = jsonTypeInfo;
    }

    /// <summary>The untyped producer (epoch, counts, <see cref="IdempotentProducer.RestartAsync"/>...).</summary>
    public IdempotentProducer Producer { get; }

    /// <summary>Raised for every background delivery error (see <see cref="IdempotentProducer.OnError"/>).</summary>
    public event EventHandler<ProducerErrorEventArgs>? OnError
    {
        add => Producer.OnError += value;
        remove => Producer.OnError -= value;
    }

    /// <summary>The producer id.</summary>
    public string ProducerId => Producer.ProducerId;

    /// <summary>Messages buffered or in flight and not yet acknowledged.</summary>
    public int PendingCount => Producer.PendingCount;

    /// <summary>Appends one message; when the buffer is full it blocks for at most <see cref="IdempotentProducerOptions.BufferFullTimeout"/> (see <see cref="IdempotentProducer.Append(ReadOnlyMemory{byte})"/>).</summary>
    /// <param name="message">The message.</param>
    public void Append(T message) => Producer.Append(message, _jsonTypeInfo);

    /// <summary>Appends one message if the buffer has room now.</summary>
    /// <param name="message">The message.</param>
    /// <returns>False when the buffer is full (the message was not appended).</returns>
    public bool TryAppend(T message) => Producer.TryAppend(message, _jsonTypeInfo);

    /// <summary>Appends one message, waiting (asynchronously) for room in the buffer; completes once it is buffered.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the wait for room.</param>
    /// <returns>A task that completes when the message is buffered.</returns>
    public Task AppendAsync(T message, CancellationToken cancellationToken = default) =>
        Producer.AppendAsync(JsonSerializer.SerializeToUtf8Bytes(message, _jsonTypeInfo), cancellationToken);

    /// <summary>Sends everything buffered and waits for the acknowledgements.</summary>
    /// <param name="cancellationToken">Stops the wait (not the delivery).</param>
    /// <returns>A task that completes when the messages are acknowledged.</returns>
    public Task FlushAsync(CancellationToken cancellationToken = default) => Producer.FlushAsync(cancellationToken);

    /// <summary>Delivers everything buffered, then closes the stream.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the stream is closed.</returns>
    public Task CloseAsync(CancellationToken cancellationToken = default) => Producer.CloseAsync(cancellationToken);

    /// <summary>Delivers everything buffered, then stops without closing the stream.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the producer has stopped.</returns>
    public Task DetachAsync(CancellationToken cancellationToken = default) => Producer.DetachAsync(cancellationToken);

    /// <summary>Flushes, detaches and releases the producer.</summary>
    /// <returns>A task that completes when the producer is released.</returns>
    public ValueTask DisposeAsync() => Producer.DisposeAsync();
}

/// <summary>Typed stream handles (<see cref="DurableStream{T}"/>) from a <see cref="DurableStreamClient"/>.</summary>
public static class DurableStreamClientTypedExtensions
{
    /// <summary>A typed handle to the JSON stream at <paramref name="url"/>, using source-generated metadata (trimming/AOT-safe). No network I/O.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="client">The client.</param>
    /// <param name="url">The stream URL or path.</param>
    /// <param name="jsonTypeInfo">Serialization metadata, e.g. <c>MyContext.Default.MyEvent</c>.</param>
    /// <returns>The typed handle.</returns>
    public static DurableStream<T> GetStream<T>(this DurableStreamClient client, string url, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        var stream = client.GetStream(url);
        return new DurableStream<T>(stream, jsonTypeInfo);
    }

    /// <summary>A typed handle to the JSON stream at <paramref name="url"/>, with <typeparamref name="T"/>'s metadata from a source-generated context (trimming/AOT-safe). No network I/O.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="client">The client.</param>
    /// <param name="url">The stream URL or path.</param>
    /// <param name="context">A <see cref="JsonSerializerContext"/> that includes <typeparamref name="T"/>.</param>
    /// <returns>The typed handle.</returns>
    /// <exception cref="ArgumentException"><paramref name="context"/> has no metadata for <typeparamref name="T"/>.</exception>
    public static DurableStream<T> GetStream<T>(this DurableStreamClient client, string url, JsonSerializerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.GetTypeInfo(typeof(T)) is not JsonTypeInfo<T> info)
        {
            throw new ArgumentException($"The JsonSerializerContext {context.GetType().Name} has no metadata for {typeof(T).FullName}; add [JsonSerializable(typeof({typeof(T).Name}))] to it.", nameof(context));
        }
        return client.GetStream(url, info);
    }

    /// <summary>
    /// A typed handle to the JSON stream at <paramref name="url"/>, with metadata from the
    /// client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/> (reflection unless
    /// its <see cref="JsonSerializerOptions.TypeInfoResolver"/> is a source-generated context). No network I/O.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="client">The client.</param>
    /// <param name="url">The stream URL or path.</param>
    /// <returns>The typed handle.</returns>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> or JsonSerializerContext overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> or JsonSerializerContext overload.")]
    public static DurableStream<T> GetStream<T>(this DurableStreamClient client, string url)
    {
        ArgumentNullException.ThrowIfNull(client);
        var options = client.JsonSerializerOptions;
        if (!options.IsReadOnly)
        {
            options.MakeReadOnly(populateMissingResolver: true);
        }
        return client.GetStream(url, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
    }
}
