using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using DurableStreams.Diagnostics;
using DurableStreams.Interop;

namespace DurableStreams;

/// <summary>
/// A fire-and-forget producer with exactly-once semantics (Kafka-style idempotence): messages
/// are batched, pipelined and retried under (producer id, epoch, sequence), and the server
/// drops duplicates. Thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Append(ReadOnlyMemory{byte})"/> copies the message into the native buffer and
/// returns; it blocks only when the buffer is full (<see cref="IdempotentProducerOptions.MaxBufferedMessages"/>
/// or <see cref="IdempotentProducerOptions.MaxBufferedBytes"/>, counting batches in flight: these
/// limits bound everything the producer holds, there is no queue behind them). Then, like
/// Confluent.Kafka's producer, it waits for room for at most
/// <see cref="IdempotentProducerOptions.BufferFullTimeout"/> (default 5 s) and throws a
/// <see cref="DurableStreamException"/> with <see cref="DurableStreamErrorCode.BufferFull"/> (the
/// message was not buffered). Messages appended from one thread are delivered in call order. In
/// asynchronous code prefer <see cref="AppendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>,
/// which awaits room without holding a thread; <see cref="TryAppend(ReadOnlyMemory{byte})"/>
/// never waits.
/// Background delivery errors go to <see cref="OnError"/>, which is raised on a thread-pool
/// thread (one event at a time, in order), and are also reported by the next <see cref="FlushAsync"/>.
/// </para>
/// <para>
/// After a delivery failure (for example fencing by a newer epoch: <see cref="StaleEpochException"/>,
/// or the server losing this producer's state without <see cref="IdempotentProducerOptions.AutoClaim"/>)
/// the failure is reported once to <see cref="OnError"/>, and the producer refuses messages until
/// <see cref="RestartAsync"/>: <c>Append</c> and <c>TryAppend</c> throw that same error (nothing is
/// copied), so a caller appending in a loop learns of it at once instead of through one event per message.
/// </para>
/// <para>
/// Dispose the producer when done: that flushes, then detaches (without closing the stream),
/// waiting at most <see cref="IdempotentProducerOptions.ShutdownTimeout"/>; messages still
/// undelivered then are reported once to <see cref="OnError"/>.
/// </para>
/// </remarks>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public partial class IdempotentProducer : IAsyncDisposable
{
    private readonly DurableStream? _stream;
    private readonly NativeProducer? _native;
    private readonly ErrorSink _sink = new();
    private readonly JsonSerializerOptions _jsonOptions = JsonDefaults.Options;
    private readonly CancellationTokenSource _lifetime = new();

    private readonly TimeSpan _shutdownTimeout = TimeSpan.FromSeconds(5);
    private readonly TimeSpan _bufferFullTimeout = TimeSpan.FromSeconds(5);
    private readonly int _maxBufferedMessages;
    private readonly long _maxBufferedBytes;

    private int _disposed;
    private volatile bool _finished; // closed or detached

    // Delivery accounting for the shutdown report (messages, not batches).
    private long _accepted; // accepted into the native buffer
    private long _acknowledged; // appended before a flush, close or detach that succeeded

    /// <summary>The serializer options of the client the producer's stream belongs to (State Protocol writers use them for reflection-based values).</summary>
    internal JsonSerializerOptions JsonSerializerOptions => _jsonOptions;

    /// <summary>For mocking frameworks and test doubles; a producer created this way has no native producer behind it.</summary>
    protected IdempotentProducer()
    {
        ProducerId = string.Empty;
    }

    internal IdempotentProducer(DurableStream stream, string producerId, IdempotentProducerOptions options)
    {
        options.Validate();
        _stream = stream;
        _jsonOptions = stream.JsonSerializerOptions;
        ProducerId = producerId;
        _sink.Owner = new WeakReference<IdempotentProducer>(this);
        _sink.Logger = stream.Client.Logger;
        _sink.Target = stream.Target;
        _sink.ProducerId = producerId;
        _shutdownTimeout = options.ShutdownTimeout;
        _bufferFullTimeout = options.BufferFullTimeout;
        _maxBufferedMessages = options.MaxBufferedMessages;
        _maxBufferedBytes = options.MaxBufferedBytes;

        _native = NativeProducer.Create(stream.Native, producerId, options, options.ContentType ?? stream.ContentType, _sink);
        Telemetry.RegisterProducer(this);
    }

    /// <summary>
    /// Raised for every background delivery error (a batch that failed for good, fencing by a
    /// newer epoch, messages dropped after a failure), on a thread-pool thread, one at a time and
    /// in order. An exception thrown by a handler is not caught (it is unhandled, like any
    /// exception escaping a thread-pool callback).
    /// </summary>
    public event EventHandler<ProducerErrorEventArgs>? OnError
    {
        add => _sink.Add(value);
        remove => _sink.Remove(value);
    }

    /// <summary>The producer id.</summary>
    public virtual string ProducerId { get; }

    /// <summary>The current epoch.</summary>
    public virtual long Epoch => Native.Epoch;

    /// <summary>The sequence number the next batch will be sent with.</summary>
    public virtual long NextSeq => Native.NextSeq;

    /// <summary>Messages appended but not yet handed to a request.</summary>
    public virtual int PendingCount => (int)Math.Min(int.MaxValue, Native.PendingCount);

    /// <summary>Batches sent and not yet acknowledged.</summary>
    public virtual int InFlightCount => (int)Math.Min(int.MaxValue, Native.InFlightCount);

    /// <summary>The stream offset after the last acknowledged batch; null before the first.</summary>
    public virtual Offset? LastAckedOffset => Native.LastAckedOffset;

    /// <summary>
    /// The producer's identity and state as text: id, stream URL (without user info or query
    /// values), epoch, next sequence, pending and in-flight counts, last acknowledged offset and
    /// whether it is open, finished (closed or detached) or disposed. Never throws.
    /// </summary>
    /// <returns>A description of the producer.</returns>
    public override string ToString()
    {
        if (_native is null)
        {
            return "IdempotentProducer (test double)";
        }
        var state = Volatile.Read(ref _disposed) != 0 ? "disposed" : _finished ? "finished" : "open";
        var head = $"IdempotentProducer {{ ProducerId = {ProducerId}, Stream = {_stream?.SafeUrl}, State = {state}";
        if (state == "disposed")
        {
            return head + " }";
        }
        try
        {
            return string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"{head}, Epoch = {_native.Epoch}, NextSeq = {_native.NextSeq}, PendingCount = {_native.PendingCount}, InFlightCount = {_native.InFlightCount}, LastAckedOffset = {_native.LastAckedOffset?.ToString() ?? "null"} }}");
        }
        catch (ObjectDisposedException)
        {
            return head + " }";
        }
    }

    // ------------------------------------------------------------------ append

    /// <summary>
    /// Appends one message (fire-and-forget): delivery errors go to <see cref="OnError"/>. The
    /// bytes are copied before this returns. Does not block unless the buffer is full; then it
    /// blocks the calling thread for at most <see cref="IdempotentProducerOptions.BufferFullTimeout"/>
    /// (see the remarks on the class).
    /// </summary>
    /// <param name="data">The message (for JSON streams, one JSON value).</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty.</exception>
    /// <exception cref="DurableStreamException">The producer was closed or detached (<see cref="DurableStreamErrorCode.ProducerClosed"/>), or has failed and awaits <see cref="RestartAsync"/> (the failure, e.g. <see cref="StaleEpochException"/>).</exception>
    /// <exception cref="DurableStreamException">The buffer stayed full for <see cref="IdempotentProducerOptions.BufferFullTimeout"/> (<see cref="DurableStreamErrorCode.BufferFull"/>; the message was not buffered).</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public virtual void Append(ReadOnlyMemory<byte> data) => AppendSpan(data.Span, nameof(data));

    /// <summary>Appends one message given as a byte array (see <see cref="Append(ReadOnlyMemory{byte})"/>). Exists so that a <c>byte[]</c> is not JSON-serialized by <see cref="Append{T}(T)"/>.</summary>
    /// <param name="data">The message.</param>
    public virtual void Append(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        AppendSpan(data, nameof(data));
    }

    /// <summary>Appends one message given as writable memory (see <see cref="Append(ReadOnlyMemory{byte})"/>). Exists so that a <c>Memory&lt;byte&gt;</c> is not JSON-serialized by <see cref="Append{T}(T)"/>.</summary>
    /// <param name="data">The message.</param>
    public virtual void Append(Memory<byte> data) => AppendSpan(data.Span, nameof(data));

    /// <summary>Appends one message given as an array segment (see <see cref="Append(ReadOnlyMemory{byte})"/>). Exists so that an <c>ArraySegment&lt;byte&gt;</c> is not JSON-serialized by <see cref="Append{T}(T)"/>.</summary>
    /// <param name="data">The message.</param>
    public virtual void Append(ArraySegment<byte> data) => AppendSpan(data.AsSpan(), nameof(data));

    /// <summary>Appends the UTF-8 bytes of <paramref name="data"/> as one message (for JSON streams it must be JSON text).</summary>
    /// <param name="data">The text.</param>
    public virtual void Append(string data) => AppendText(data, tryOnly: false);

    /// <summary>Appends <paramref name="data"/> serialized as one JSON message with the client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="data">The message.</param>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public virtual void Append<T>(T data) => AppendSpan(JsonSerializer.SerializeToUtf8Bytes(data, _jsonOptions), nameof(data));

    /// <summary>Appends <paramref name="data"/> serialized as one JSON message with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="data">The message.</param>
    /// <param name="jsonTypeInfo">Serialization metadata for <typeparamref name="T"/>.</param>
    public virtual void Append<T>(T data, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        AppendSpan(JsonSerializer.SerializeToUtf8Bytes(data, jsonTypeInfo), nameof(data));
    }

    /// <summary>
    /// Appends one message if the buffer has room, without blocking; returns false (and copies
    /// nothing) when the buffer limits are reached or earlier messages are still waiting for room.
    /// After a delivery failure it throws that failure until <see cref="RestartAsync"/> (see the remarks on the class).
    /// </summary>
    /// <param name="data">The message.</param>
    /// <returns>Whether the message was accepted.</returns>
    public virtual bool TryAppend(ReadOnlyMemory<byte> data) => TryAppendSpan(data.Span, nameof(data));

    /// <summary>Appends one message given as a byte array if the buffer has room (see <see cref="TryAppend(ReadOnlyMemory{byte})"/>).</summary>
    /// <param name="data">The message.</param>
    /// <returns>Whether the message was accepted.</returns>
    public virtual bool TryAppend(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return TryAppendSpan(data, nameof(data));
    }

    /// <summary>Appends one message given as writable memory if the buffer has room (see <see cref="TryAppend(ReadOnlyMemory{byte})"/>); never JSON-serialized.</summary>
    /// <param name="data">The message.</param>
    /// <returns>Whether the message was accepted.</returns>
    public virtual bool TryAppend(Memory<byte> data) => TryAppendSpan(data.Span, nameof(data));

    /// <summary>Appends one message given as an array segment if the buffer has room (see <see cref="TryAppend(ReadOnlyMemory{byte})"/>); never JSON-serialized.</summary>
    /// <param name="data">The message.</param>
    /// <returns>Whether the message was accepted.</returns>
    public virtual bool TryAppend(ArraySegment<byte> data) => TryAppendSpan(data.AsSpan(), nameof(data));

    /// <summary>Appends the UTF-8 bytes of <paramref name="data"/> if the buffer has room (see <see cref="TryAppend(ReadOnlyMemory{byte})"/>).</summary>
    /// <param name="data">The text.</param>
    /// <returns>Whether the message was accepted.</returns>
    public virtual bool TryAppend(string data) => AppendText(data, tryOnly: true);

    /// <summary>Appends <paramref name="data"/> as one JSON message if the buffer has room (see <see cref="TryAppend(ReadOnlyMemory{byte})"/>).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="data">The message.</param>
    /// <returns>Whether the message was accepted.</returns>
    [RequiresUnreferencedCode("JSON serialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON serialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    public virtual bool TryAppend<T>(T data) => TryAppendSpan(JsonSerializer.SerializeToUtf8Bytes(data, _jsonOptions), nameof(data));

    /// <summary>Appends <paramref name="data"/> as one JSON message (source-generated metadata) if the buffer has room.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="data">The message.</param>
    /// <param name="jsonTypeInfo">Serialization metadata for <typeparamref name="T"/>.</param>
    /// <returns>Whether the message was accepted.</returns>
    public virtual bool TryAppend<T>(T data, JsonTypeInfo<T> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return TryAppendSpan(JsonSerializer.SerializeToUtf8Bytes(data, jsonTypeInfo), nameof(data));
    }

    /// <summary>
    /// Appends one message, waiting (asynchronously, without holding a thread and without
    /// <see cref="IdempotentProducerOptions.BufferFullTimeout"/>: only <paramref name="cancellationToken"/>
    /// ends the wait) for room in the buffer. Completes once the message is buffered, not delivered
    /// (use <see cref="FlushAsync"/> for that). Errors are thrown. Await each call before the next
    /// to keep their order: calls waiting at the same time may be buffered in any order.
    /// </summary>
    /// <param name="data">The message; copied before the returned task completes.</param>
    /// <param name="cancellationToken">Cancels the wait for room.</param>
    /// <returns>A task that completes when the message is buffered.</returns>
    public virtual async Task AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (data.IsEmpty)
        {
            throw new ArgumentException("A message cannot be empty.", nameof(data));
        }
        ThrowIfUnusable();
        var result = Native.TryAppend(data.Span, out var error);
        if (result == TryAppendResult.Accepted)
        {
            CountAccepted(data.Length);
            return;
        }
        if (result == TryAppendResult.Failed)
        {
            throw error!;
        }
        await Native.AppendAsync(data.Span, cancellationToken).ConfigureAwait(false);
        CountAccepted(data.Length);
    }
}
