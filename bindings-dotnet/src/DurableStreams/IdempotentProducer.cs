using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Diagnostics;
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
/// <see cref="Append(ReadOnlyMemory{byte})"/> never blocks a thread: it copies the message into
/// the native buffer, or, when the buffer is full, into a managed overflow queue that a single
/// background pump drains in order (later appends queue behind it, so order is preserved).
/// Background delivery errors go to <see cref="OnError"/>, which is raised on a thread-pool
/// thread (one event at a time, in order), and are also reported by the next <see cref="FlushAsync"/>.
/// </para>
/// <para>
/// After a delivery failure (for example fencing by a newer epoch: <see cref="StaleEpochException"/>)
/// the producer refuses messages until <see cref="RestartAsync"/>: appended messages are dropped
/// and each drop is reported to <see cref="OnError"/>.
/// </para>
/// <para>Dispose the producer when done: that flushes, then detaches (without closing the stream).</para>
/// </remarks>
public class IdempotentProducer : IAsyncDisposable
{
    private readonly DurableStream? _stream;
    private readonly ProducerHandle? _handle;
    private readonly ErrorSink _sink = new();
    private readonly JsonSerializerOptions _jsonOptions = JsonDefaults.Options;
    private readonly CancellationTokenSource _lifetime = new();

    // Overflow: messages that found the native buffer full, in order, drained by one pump.
    private readonly object _overflowLock = new();
    private readonly Queue<byte[]> _overflow = new();
    private int _overflowCount;
    private bool _pumpRunning;
    private TaskCompletionSource? _drained;

    private int _disposed;
    private volatile bool _finished; // closed or detached

    /// <summary>For mocking frameworks and test doubles; a producer created this way has no native producer behind it.</summary>
    protected IdempotentProducer()
    {
        ProducerId = string.Empty;
    }

    internal unsafe IdempotentProducer(DurableStream stream, string producerId, IdempotentProducerOptions options)
    {
        options.Validate();
        _stream = stream;
        _jsonOptions = stream.JsonSerializerOptions;
        ProducerId = producerId;
        _sink.Owner = new WeakReference<IdempotentProducer>(this);
        _sink.Logger = stream.Client.Logger;
        _sink.Target = stream.Target;
        _sink.ProducerId = producerId;

        var contentType = options.ContentType ?? stream.ContentType;
        var json = OptionsJson.Build((options, contentType), static (w, s) =>
        {
            var (o, ct) = s;
            w.WriteNumber("epoch", o.Epoch);
            w.WriteBoolean("auto_claim", o.AutoClaim);
            w.WriteNumber("max_batch_bytes", o.MaxBatchBytes);
            if (o.MaxBatchItems is { } items)
            {
                w.WriteNumber("max_batch_items", items);
            }
            w.WriteNumber("linger_ms", OptionsJson.Milliseconds(o.Linger));
            w.WriteNumber("max_in_flight", o.MaxInFlight);
            w.WriteNumber("max_buffered_messages", o.MaxBufferedMessages);
            w.WriteNumber("max_buffered_bytes", o.MaxBufferedBytes);
            w.WriteNumber("delivery_timeout_ms", OptionsJson.Milliseconds(o.DeliveryTimeout));
            if (ct is not null)
            {
                w.WriteString("content_type", ct);
            }
        });
        var id = NativeString.ToUtf8Z(producerId);

        var handle = new ProducerHandle();
        DsProducer* producer = null;
        DsError* error;
        using (var lease = stream.Lease())
        {
            var sinkHandle = GCHandle.Alloc(_sink);
            fixed (byte* i = id)
            fixed (byte* j = json)
            {
                // Ownership of the GCHandle passes to the library (freed through FreeGCHandle,
                // also when this call fails).
                error = NativeMethods.ds_producer_new(
                    (DsStream*)lease.Pointer,
                    i,
                    j,
                    &OnProducerError,
                    (void*)GCHandle.ToIntPtr(sinkHandle),
                    NativeCallbacks.FreeGCHandle,
                    &producer);
            }
        }
        if (error != null)
        {
            throw DurableStreamClient.ToArgumentException(error, nameof(producerId));
        }
        handle.Adopt((nint)producer);
        _handle = handle;
        Telemetry.RegisterProducer(this);
    }

    /// <summary>Counts a message accepted into the buffer (metrics only).</summary>
    private void CountAccepted(int bytes)
    {
        if (Telemetry.ProducerMessages.Enabled || Telemetry.ProducerBytes.Enabled)
        {
            var server = new KeyValuePair<string, object?>("server.address", _sink.Target?.ServerAddress);
            Telemetry.ProducerMessages.Add(1, server);
            Telemetry.ProducerBytes.Add(bytes, server);
        }
    }

    /// <summary>Wraps a flush or close in an activity and counts it.</summary>
    private async Task TraceFlushAsync(string operation, Func<Task> run)
    {
        var target = _sink.Target;
        if (target is null)
        {
            await run().ConfigureAwait(false);
            return;
        }
        Telemetry.ProducerFlushes.Add(1, new KeyValuePair<string, object?>("server.address", target.ServerAddress), new KeyValuePair<string, object?>("durablestreams.operation", operation));
        using var activity = Telemetry.StartDetached(operation, ActivityKind.Producer, target, "send");
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("durablestreams.producer.id", ProducerId);
            activity.SetTag("durablestreams.producer.pending_messages", SafeCount(static p => p.PendingCount));
            activity.SetTag("durablestreams.producer.epoch", SafeEpoch());
        }
        try
        {
            await run().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Telemetry.Fail(activity, e);
            throw;
        }
    }

    private int SafeCount(Func<IdempotentProducer, int> count)
    {
        try
        {
            return count(this);
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
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
    public virtual unsafe long Epoch
    {
        get
        {
            using var lease = Lease();
            return Clamp(NativeMethods.ds_producer_epoch((DsProducer*)lease.Pointer));
        }
    }

    /// <summary>The sequence number the next batch will be sent with.</summary>
    public virtual unsafe long NextSeq
    {
        get
        {
            using var lease = Lease();
            return Clamp(NativeMethods.ds_producer_next_seq((DsProducer*)lease.Pointer));
        }
    }

    /// <summary>Messages appended but not yet handed to a request (including those waiting in the overflow queue).</summary>
    public virtual unsafe int PendingCount
    {
        get
        {
            using var lease = Lease();
            var native = Clamp(NativeMethods.ds_producer_pending_count((DsProducer*)lease.Pointer));
            return (int)Math.Min(int.MaxValue, native + Volatile.Read(ref _overflowCount));
        }
    }

    /// <summary>Batches sent and not yet acknowledged.</summary>
    public virtual unsafe int InFlightCount
    {
        get
        {
            using var lease = Lease();
            return (int)Math.Min(int.MaxValue, Clamp(NativeMethods.ds_producer_in_flight_count((DsProducer*)lease.Pointer)));
        }
    }

    /// <summary>The stream offset after the last acknowledged batch; null before the first.</summary>
    public virtual unsafe Offset? LastAckedOffset
    {
        get
        {
            using var lease = Lease();
            var text = NativeString.TakeOwned(NativeMethods.ds_producer_last_acked_offset((DsProducer*)lease.Pointer));
            return text is null ? null : Offset.FromTrusted(text);
        }
    }

    // ------------------------------------------------------------------ append

    /// <summary>
    /// Appends one message without blocking (fire-and-forget): errors go to <see cref="OnError"/>.
    /// The bytes are copied before this returns.
    /// </summary>
    /// <param name="data">The message (for JSON streams, one JSON value).</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty.</exception>
    /// <exception cref="DurableStreamException">The producer was closed or detached (<see cref="DurableStreamErrorCode.ProducerClosed"/>).</exception>
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
    /// After a delivery failure it returns false and reports the drop to <see cref="OnError"/>.
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

    /// <summary>Encodes <paramref name="data"/> as UTF-8 on the stack (or a pooled array when long) and appends it without allocating.</summary>
    private bool AppendText(string data, bool tryOnly)
    {
        ArgumentNullException.ThrowIfNull(data);
        byte[]? rented = null;
        var max = Encoding.UTF8.GetMaxByteCount(data.Length);
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var text = buffer[..Encoding.UTF8.GetBytes(data, buffer)];
            if (tryOnly)
            {
                return TryAppendSpan(text, nameof(data));
            }
            AppendSpan(text, nameof(data));
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

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
    /// Appends one message, waiting (asynchronously) for room in the buffer. Completes once the
    /// message is buffered, not delivered (use <see cref="FlushAsync"/> for that). Errors are thrown.
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
        while (Volatile.Read(ref _overflowCount) != 0)
        {
            await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
        }
        var status = TryAppendNative(data.Span, out var error);
        if (status == TryAppendStatus.Ok)
        {
            CountAccepted(data.Length);
            return;
        }
        if (status == TryAppendStatus.Error)
        {
            throw error!;
        }
        await NativeAppendAsync(data, cancellationToken).ConfigureAwait(false);
        CountAccepted(data.Length);
    }

    // ------------------------------------------------------------------ lifecycle

    /// <summary>
    /// Sends everything buffered now (without waiting for the linger time) and completes when
    /// every message appended before this call is acknowledged.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait (not the delivery).</param>
    /// <returns>A task that completes when the messages are acknowledged.</returns>
    /// <exception cref="StaleEpochException">The producer was fenced by a newer epoch.</exception>
    /// <exception cref="DurableStreamException">A batch failed for good (also reported to <see cref="OnError"/>).</exception>
    public virtual async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await TraceFlushAsync("flush", () => FlushCoreAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Delivers what is buffered, then moves to the next epoch at sequence 0 (what a new instance
    /// of this producer would do) and clears a delivery failure, so the producer accepts messages again.
    /// </summary>
    /// <param name="cancellationToken">Cancels the restart.</param>
    /// <returns>A task that completes with the producer at its new <see cref="Epoch"/>.</returns>
    public virtual async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
        await StartEpochOp(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Delivers everything buffered, then closes the stream (no more appends by anyone). Idempotent.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the stream is closed.</returns>
    public virtual Task CloseAsync(CancellationToken cancellationToken = default) =>
        CloseAsync(ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>Delivers everything buffered, then appends <paramref name="finalData"/> and closes the stream atomically.</summary>
    /// <param name="finalData">The final message (empty: just close).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the stream is closed.</returns>
    public virtual async Task CloseAsync(ReadOnlyMemory<byte> finalData, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await TraceFlushAsync("close", async () =>
        {
            await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
            _finished = true;
            await StartCloseOp(finalData, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>Delivers everything buffered, then stops without closing the stream (another instance may continue with a newer epoch).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the producer has stopped.</returns>
    public virtual async Task DetachAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await DetachCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Flushes, then detaches, then releases the native producer. Delivery errors are not thrown
    /// here: they were reported to <see cref="OnError"/>.
    /// </summary>
    /// <returns>A task that completes when the producer is released.</returns>
    public virtual async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _handle is null)
        {
            GC.SuppressFinalize(this);
            return;
        }
        try
        {
            if (!_finished)
            {
                try
                {
                    await FlushCoreAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DurableStreamException or OperationCanceledException)
                {
                    // A delivery failure: already reported to OnError by the native producer.
                }
                try
                {
                    await DetachCoreAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DurableStreamException or OperationCanceledException)
                {
                    // Same as above.
                }
            }
        }
        finally
        {
            // Stops the overflow pump (the CancellationTokenSource has no timer: nothing to dispose).
            _lifetime.Cancel();
            Telemetry.UnregisterProducer(this);
            _handle.Dispose();
            GC.SuppressFinalize(this);
        }
    }

    // ------------------------------------------------------------------ internals

    private async Task FlushCoreAsync(CancellationToken cancellationToken)
    {
        await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
        // The native flush also fails when the producer failed before it was called.
        await StartFlushOp(cancellationToken).ConfigureAwait(false);
    }

    private async Task DetachCoreAsync(CancellationToken cancellationToken)
    {
        await WaitOverflowDrainedAsync(cancellationToken).ConfigureAwait(false);
        _finished = true;
        await StartDetachOp(cancellationToken).ConfigureAwait(false);
    }

    private void AppendSpan(ReadOnlySpan<byte> data, string paramName)
    {
        if (data.IsEmpty)
        {
            throw new ArgumentException("A message cannot be empty.", paramName);
        }
        ThrowIfUnusable();
        if (Volatile.Read(ref _overflowCount) != 0)
        {
            // Earlier messages are waiting for room: queue behind them to keep the order.
            Enqueue(data.ToArray());
            CountAccepted(data.Length);
            return;
        }
        var status = TryAppendNative(data, out var error);
        if (status == TryAppendStatus.Full)
        {
            Enqueue(data.ToArray());
            CountAccepted(data.Length);
        }
        else if (status == TryAppendStatus.Error)
        {
            RejectAppend(error!);
        }
        else
        {
            CountAccepted(data.Length);
        }
    }

    private bool TryAppendSpan(ReadOnlySpan<byte> data, string paramName)
    {
        if (data.IsEmpty)
        {
            throw new ArgumentException("A message cannot be empty.", paramName);
        }
        ThrowIfUnusable();
        if (Volatile.Read(ref _overflowCount) != 0)
        {
            return false;
        }
        var status = TryAppendNative(data, out var error);
        if (status == TryAppendStatus.Error)
        {
            RejectAppend(error!);
            return false;
        }
        if (status == TryAppendStatus.Ok)
        {
            CountAccepted(data.Length);
            return true;
        }
        return false;
    }

    /// <summary>The hot path: pins the span and copies it into the native buffer. No managed allocation on success.</summary>
    private unsafe int TryAppendNative(ReadOnlySpan<byte> data, out Exception? error)
    {
        DsError* nativeError = null;
        int status;
        using (var lease = Lease())
        {
            fixed (byte* p = data)
            {
                status = NativeMethods.ds_producer_try_append((DsProducer*)lease.Pointer, p, (nuint)data.Length, &nativeError);
            }
        }
        error = null;
        if (status == TryAppendStatus.Error)
        {
            error = nativeError == null
                ? new DurableStreamException("The producer rejected the message.", DurableStreamErrorCode.Internal)
                : NativeErrors.Take(nativeError, CancellationToken.None);
        }
        return status;
    }

    /// <summary>
    /// A synchronous append was refused: closed/detached producers and invalid arguments throw;
    /// a producer in a failed state drops the message and reports it to <see cref="OnError"/>.
    /// </summary>
    private void RejectAppend(Exception error)
    {
        switch (error)
        {
            case DurableStreamException { Code: DurableStreamErrorCode.ProducerClosed } closed:
                ThrowIfDisposed();
                throw closed;
            case DurableStreamException { Code: DurableStreamErrorCode.InvalidArgument } invalid:
                throw new ArgumentException(invalid.Message, "data", invalid);
            default:
                _sink.Raise(new ProducerErrorEventArgs(error, SafeEpoch(), null, null, 1));
                break;
        }
    }

    private long SafeEpoch()
    {
        try
        {
            return Epoch;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
    }

    private void Enqueue(byte[] message)
    {
        var start = false;
        lock (_overflowLock)
        {
            _overflow.Enqueue(message);
            Volatile.Write(ref _overflowCount, _overflow.Count);
            if (!_pumpRunning)
            {
                _pumpRunning = true;
                _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                start = true;
            }
        }
        if (start)
        {
            _ = PumpAsync();
        }
    }

    /// <summary>Drains the overflow queue in order, awaiting room in the native buffer for each message.</summary>
    private async Task PumpAsync()
    {
        await Task.Yield(); // never run the pump on the appending thread
        while (true)
        {
            byte[] message;
            lock (_overflowLock)
            {
                if (_overflow.Count == 0)
                {
                    _pumpRunning = false;
                    _drained?.TrySetResult();
                    return;
                }
                message = _overflow.Peek();
            }
            try
            {
                var status = TryAppendNative(message, out var error);
                if (status == TryAppendStatus.Error)
                {
                    throw error!;
                }
                if (status == TryAppendStatus.Full)
                {
                    // A full native buffer sends its open batch at once; room comes with the acknowledgement.
                    await NativeAppendAsync(message, _lifetime.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                int dropped;
                lock (_overflowLock)
                {
                    dropped = _overflow.Count;
                    _overflow.Clear();
                    Volatile.Write(ref _overflowCount, 0);
                    _pumpRunning = false;
                    _drained?.TrySetResult();
                }
                if (Volatile.Read(ref _disposed) == 0 || e is not OperationCanceledException)
                {
                    _sink.Raise(new ProducerErrorEventArgs(e, SafeEpoch(), null, null, dropped));
                }
                return;
            }
            lock (_overflowLock)
            {
                // Dequeued only once the native buffer holds it, so direct appends cannot overtake it.
                _overflow.Dequeue();
                Volatile.Write(ref _overflowCount, _overflow.Count);
            }
        }
    }

    private async Task WaitOverflowDrainedAsync(CancellationToken cancellationToken)
    {
        Task? drained;
        lock (_overflowLock)
        {
            drained = _pumpRunning ? _drained?.Task : null;
        }
        if (drained is null)
        {
            return;
        }
        await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private unsafe Task NativeAppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var op = new NativeOp<bool>(cancellationToken);
        try
        {
            using var lease = Lease();
            using var cancel = op.LeaseCancel();
            fixed (byte* p = data.Span)
            {
                NativeMethods.ds_producer_append((DsProducer*)lease.Pointer, p, (nuint)data.Length, (DsCancel*)cancel.Pointer, NativeCallbacks.Done, op.Begin());
            }
        }
        catch (Exception e)
        {
            return op.FailStart(e);
        }
        return op.Task;
    }

    private unsafe Task<Offset?> StartFlushOp(CancellationToken cancellationToken)
    {
        var op = new NativeOp<Offset?>(cancellationToken);
        try
        {
            using var lease = Lease();
            using var cancel = op.LeaseCancel();
            NativeMethods.ds_producer_flush((DsProducer*)lease.Pointer, (DsCancel*)cancel.Pointer, NativeCallbacks.OffsetResult, op.Begin());
        }
        catch (Exception e)
        {
            return op.FailStart(e);
        }
        return op.Task;
    }

    private unsafe Task<Offset?> StartCloseOp(ReadOnlyMemory<byte> finalData, CancellationToken cancellationToken)
    {
        var op = new NativeOp<Offset?>(cancellationToken);
        try
        {
            using var lease = Lease();
            using var cancel = op.LeaseCancel();
            fixed (byte* p = finalData.Span)
            {
                NativeMethods.ds_producer_close((DsProducer*)lease.Pointer, p, (nuint)finalData.Length, (DsCancel*)cancel.Pointer, NativeCallbacks.OffsetResult, op.Begin());
            }
        }
        catch (Exception e)
        {
            return op.FailStart(e);
        }
        return op.Task;
    }

    private unsafe Task<bool> StartDetachOp(CancellationToken cancellationToken)
    {
        var op = new NativeOp<bool>(cancellationToken);
        try
        {
            using var lease = Lease();
            using var cancel = op.LeaseCancel();
            NativeMethods.ds_producer_detach((DsProducer*)lease.Pointer, (DsCancel*)cancel.Pointer, NativeCallbacks.Done, op.Begin());
        }
        catch (Exception e)
        {
            return op.FailStart(e);
        }
        return op.Task;
    }

    private unsafe Task<long> StartEpochOp(CancellationToken cancellationToken)
    {
        var op = new NativeOp<long>(cancellationToken);
        try
        {
            using var lease = Lease();
            using var cancel = op.LeaseCancel();
            NativeMethods.ds_producer_restart((DsProducer*)lease.Pointer, (DsCancel*)cancel.Pointer, NativeCallbacks.Epoch, op.Begin());
        }
        catch (Exception e)
        {
            return op.FailStart(e);
        }
        return op.Task;
    }

    private static long Clamp(ulong value) => (long)Math.Min(long.MaxValue, value);

    private HandleLease Lease()
    {
        if (_handle is null)
        {
            throw new InvalidOperationException("This IdempotentProducer was not created by DurableStream.CreateProducer and has no native producer behind it.");
        }
        try
        {
            return _handle.Lease();
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(IdempotentProducer));
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private void ThrowIfUnusable()
    {
        ThrowIfDisposed();
        if (_handle is null)
        {
            throw new InvalidOperationException("This IdempotentProducer was not created by DurableStream.CreateProducer and has no native producer behind it.");
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static unsafe void OnProducerError(void* userData, DsError* error, ulong epoch, long firstSeq, long lastSeq, ulong messageCount)
    {
        try
        {
            var sink = (ErrorSink)GCHandle.FromIntPtr((nint)userData).Target!;
            // The error is borrowed: convert it now, do not free it.
            var exception = NativeErrors.Convert(error, CancellationToken.None);
            sink.Raise(new ProducerErrorEventArgs(
                exception,
                (long)Math.Min(long.MaxValue, epoch),
                firstSeq < 0 ? null : firstSeq,
                lastSeq < 0 ? null : lastSeq,
                (long)Math.Min(long.MaxValue, messageCount)));
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }

    /// <summary>
    /// Holds the OnError handlers (the GCHandle given to the native producer points here, not at
    /// the producer, so an abandoned producer can still be collected) and raises events on the
    /// thread pool, one at a time, in order.
    /// </summary>
    private sealed class ErrorSink
    {
        private readonly ConcurrentQueue<ProducerErrorEventArgs> _queue = new();
        private EventHandler<ProducerErrorEventArgs>? _handlers;
        private int _draining;

        internal WeakReference<IdempotentProducer>? Owner { get; set; }

        internal Microsoft.Extensions.Logging.ILogger? Logger { get; set; }

        internal TelemetryTarget? Target { get; set; }

        internal string ProducerId { get; set; } = string.Empty;

        internal void Add(EventHandler<ProducerErrorEventArgs>? handler)
        {
            EventHandler<ProducerErrorEventArgs>? current, updated;
            do
            {
                current = _handlers;
                updated = (EventHandler<ProducerErrorEventArgs>?)Delegate.Combine(current, handler);
            }
            while (Interlocked.CompareExchange(ref _handlers, updated, current) != current);
        }

        internal void Remove(EventHandler<ProducerErrorEventArgs>? handler)
        {
            EventHandler<ProducerErrorEventArgs>? current, updated;
            do
            {
                current = _handlers;
                updated = (EventHandler<ProducerErrorEventArgs>?)Delegate.Remove(current, handler);
            }
            while (Interlocked.CompareExchange(ref _handlers, updated, current) != current);
        }

        internal void Raise(ProducerErrorEventArgs args)
        {
            Record(args);
            _queue.Enqueue(args);
            if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static sink => sink.Drain(), this, preferLocal: false);
            }
        }

        /// <summary>Counts the failure and logs it (the message count, sequence range and error code; never headers).</summary>
        private void Record(ProducerErrorEventArgs args)
        {
            var (code, status) = Log.Details(args.Exception);
            var tags = new TagList
            {
                { "durablestreams.operation", "produce" },
                { "server.address", Target?.ServerAddress },
                { "error.type", code },
            };
            if (status is { } s)
            {
                tags.Add("http.response.status_code", s);
            }
            Telemetry.Errors.Add(1, tags);
            Telemetry.ProducerFailedMessages.Add(args.MessageCount, new KeyValuePair<string, object?>("server.address", Target?.ServerAddress));
            if (Logger is { } logger)
            {
                Log.ProducerDeliveryFailed(logger, ProducerId, args.Epoch, Target?.SafeUrl ?? string.Empty, args.MessageCount, args.FirstSeq, args.LastSeq, code, status, args.Exception);
            }
        }

        private void Drain()
        {
            while (true)
            {
                while (_queue.TryDequeue(out var args))
                {
                    IdempotentProducer? sender = null;
                    Owner?.TryGetTarget(out sender);
                    Volatile.Read(ref _handlers)?.Invoke(sender, args);
                }
                Volatile.Write(ref _draining, 0);
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
                {
                    return;
                }
            }
        }
    }
}
