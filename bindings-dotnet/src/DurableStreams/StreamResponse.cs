using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Diagnostics;
using DurableStreams.Diagnostics;
using DurableStreams.Interop;

namespace DurableStreams;

/// <summary>
/// A streaming read session (<see cref="DurableStream.StreamAsync"/>) with several ways to
/// consume it: accumulate (<c>ReadAll*Async</c>) or iterate (<c>Read*Async</c> returning
/// <see cref="IAsyncEnumerable{T}"/>).
/// </summary>
/// <remarks>
/// <para>
/// <b>Single consumer:</b> call only ONE <c>Read*Async</c> method per instance; a second one
/// throws <see cref="InvalidOperationException"/> (for the enumerables, when enumeration starts).
/// </para>
/// <para>
/// <b>Cancellation:</b> cancelling a Read method's token (or <c>WithCancellation</c>), or calling
/// <see cref="Cancel"/>, ends the session: the pending read stops promptly with
/// <see cref="OperationCanceledException"/> and the session cannot be read again (start a new
/// one from <see cref="Checkpoint"/>).
/// </para>
/// <para>Disposing the session stops any pending read (it then throws <see cref="ObjectDisposedException"/>).</para>
/// </remarks>
public class StreamResponse : IAsyncDisposable
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly DurableStream? _stream;
    private readonly ReaderHandle? _reader;
    private readonly CancelHandle? _cancel;
    private ChunkData? _prefetched;
    private Task? _pending;
    private bool _finished;
    private int _consumer;
    private string? _consumerName;
    private int _disposed;
    private volatile bool _cancelRequested;
    private volatile bool _tokenCancelled;
    private StreamCheckpoint _checkpoint;
    private volatile bool _upToDate;
    private volatile bool _streamClosed;
    private Activity? _activity;
    private long _chunkCount;
    private long _byteCount;

    /// <summary>For mocking frameworks and test doubles; a response created this way has no session behind it.</summary>
    protected StreamResponse()
    {
        StartOffset = Offset.Beginning;
        _checkpoint = new StreamCheckpoint(Offset.Beginning);
    }

    private StreamResponse(DurableStream stream, ReaderHandle reader, CancelHandle cancel, Offset start, string? cursor, LiveMode live)
    {
        _stream = stream;
        _reader = reader;
        _cancel = cancel;
        StartOffset = start;
        Live = live;
        _checkpoint = new StreamCheckpoint(start, cursor);
        var target = stream.Target;
        Telemetry.ReadSessions.Add(1, new KeyValuePair<string, object?>("server.address", target.ServerAddress));
        _activity = Telemetry.StartDetached("read", ActivityKind.Consumer, target, "receive");
        if (_activity is { IsAllDataRequested: true })
        {
            _activity.SetTag("durablestreams.read.live", live.ToString());
            _activity.SetTag("durablestreams.read.start_offset", start.Value);
        }
    }

    /// <summary>Ends the read session's activity (once) with the totals, marking it failed when <paramref name="error"/> is set.</summary>
    private void StopActivity(Exception? error)
    {
        var activity = Interlocked.Exchange(ref _activity, null);
        if (activity is null)
        {
            return;
        }
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("durablestreams.read.chunks", _chunkCount);
            activity.SetTag("durablestreams.read.bytes", _byteCount);
            activity.SetTag("durablestreams.read.end_offset", _checkpoint.Offset.Value);
        }
        if (error is not null)
        {
            Telemetry.Fail(activity, error);
        }
        activity.Dispose();
    }

    /// <summary>Counts, logs and traces a failed read (cancellation and disposal are not failures).</summary>
    private void OnReadFailed(Exception error)
    {
        if (_stream is null || error is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }
        var target = _stream.Target;
        var (code, status) = Log.Details(error);
        var tags = new TagList
        {
            { "durablestreams.operation", "read" },
            { "server.address", target.ServerAddress },
            { "error.type", code },
        };
        if (status is { } s)
        {
            tags.Add("http.response.status_code", s);
        }
        Telemetry.Errors.Add(1, tags);
        if (_stream.Client.Logger is { } logger)
        {
            Log.ReadFailed(logger, target.SafeUrl, _checkpoint.Offset.Value, code, status, error);
        }
        StopActivity(error);
    }

    internal static unsafe StreamResponse Open(DurableStream stream, Offset offset, string? cursor, LiveMode live, int? maxChunkBytes)
    {
        var reader = new ReaderHandle();
        var offsetBytes = NativeString.ToUtf8Z(offset.Value);
        var cursorBytes = NativeString.ToUtf8Z(cursor);
        DsReader* pointer = null;
        DsError* error;
        using (var lease = stream.Lease())
        {
            fixed (byte* o = offsetBytes)
            fixed (byte* c = cursorBytes)
            {
                error = NativeMethods.ds_reader_open((DsStream*)lease.Pointer, o, (int)live, c, &pointer);
            }
        }
        if (error != null)
        {
            throw DurableStreamClient.ToArgumentException(error, "options");
        }
        reader.Adopt((nint)pointer);
        if (maxChunkBytes is { } max)
        {
            // A fresh reader has no read in flight: only a NULL reader could fail here.
            error = NativeMethods.ds_reader_set_max_chunk_bytes(pointer, (nuint)max);
            if (error != null)
            {
                reader.Dispose();
                throw DurableStreamClient.ToArgumentException(error, "options");
            }
        }
        CancelHandle cancel;
        try
        {
            cancel = CancelHandle.Create();
        }
        catch
        {
            reader.Dispose();
            throw;
        }
        return new StreamResponse(stream, reader, cancel, offset, cursor, live);
    }

    // ------------------------------------------------------------------ state

    /// <summary>The stream being read.</summary>
    public virtual string Url => _stream?.Url ?? string.Empty;

    /// <summary>The live mode of the session.</summary>
    public virtual LiveMode Live { get; }

    /// <summary>The current position: just past the data consumed so far (<see cref="StartOffset"/> before any).</summary>
    public virtual Offset Offset => _checkpoint.Offset;

    /// <summary>Where the session started.</summary>
    public virtual Offset StartOffset { get; }

    /// <summary>Where to resume after the data consumed so far (offset and cursor).</summary>
    public virtual StreamCheckpoint Checkpoint => _checkpoint;

    /// <summary>Whether the data consumed so far reached the stream's tail when it was served.</summary>
    public virtual bool UpToDate => _upToDate;

    /// <summary>Whether the stream is closed and all its data has been consumed (end of stream).</summary>
    public virtual bool StreamClosed => _streamClosed;

    /// <summary>The stream's content type, once known (after the first response).</summary>
    public virtual string? ContentType => _stream?.ContentType;

    // ------------------------------------------------------------------ accumulate

    /// <summary>Reads until up to date (or the end of the stream) and returns all the bytes.</summary>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The bytes, concatenated (for JSON streams, one JSON array text per response).</returns>
    public virtual async Task<byte[]> ReadAllBytesAsync(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadAllBytesAsync));
        byte[]? single = null;
        MemoryStream? many = null;
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            if (single is null)
            {
                single = chunk.Data;
            }
            else
            {
                if (many is null)
                {
                    many = new MemoryStream();
                    many.Write(single);
                }
                many.Write(chunk.Data);
            }
            if (chunk.UpToDate || chunk.Closed)
            {
                break;
            }
        }
        return many?.ToArray() ?? single ?? Array.Empty<byte>();
    }

    /// <summary>Reads until up to date (or the end) and returns the data as UTF-8 text.</summary>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The text.</returns>
    /// <exception cref="DurableStreamException">The data is not valid UTF-8 (<see cref="DurableStreamErrorCode.Parse"/>).</exception>
    public virtual async Task<string> ReadAllTextAsync(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadAllTextAsync));
        var decoder = s_strictUtf8.GetDecoder();
        var text = new StringBuilder();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var last = chunk.UpToDate || chunk.Closed;
            text.Append(Decode(decoder, chunk.Data, flush: last, chunk));
            if (last)
            {
                return text.ToString();
            }
        }
        text.Append(Decode(decoder, Array.Empty<byte>(), flush: true, null));
        return text.ToString();
    }

    /// <summary>
    /// Reads until up to date (or the end) and returns every JSON message, deserialized with the
    /// client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The messages in stream order.</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    /// <exception cref="DurableStreamException">A message does not deserialize as <typeparamref name="T"/> (<see cref="DurableStreamErrorCode.Parse"/>).</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual Task<List<T>> ReadAllJsonAsync<T>(CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadAllJsonAsync));
        var options = JsonOptions;
        return ReadAllJsonCore(m => JsonSerializer.Deserialize<T>(m.Span, options)!, cancellationToken);
    }

    /// <summary>Reads until up to date (or the end) and returns every JSON message, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The messages in stream order.</returns>
    public virtual Task<List<T>> ReadAllJsonAsync<T>(JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadAllJsonAsync));
        return ReadAllJsonCore(m => JsonSerializer.Deserialize(m.Span, jsonTypeInfo)!, cancellationToken);
    }

    private async Task<List<T>> ReadAllJsonCore<T>(Func<ReadOnlyMemory<byte>, T> deserialize, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            DeserializeInto(items, deserialize, chunk, nameof(ReadAllJsonAsync));
            if (chunk.UpToDate || chunk.Closed)
            {
                break;
            }
        }
        return items;
    }

    // ------------------------------------------------------------------ iterate

    /// <summary>
    /// Iterates over the chunks of the stream as they arrive (one per response; in live modes,
    /// until the stream is closed or the iteration is cancelled). Chunks without data mark
    /// reaching the tail (<see cref="ByteChunk.UpToDate"/>) or the end (<see cref="ByteChunk.StreamClosed"/>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The chunks.</returns>
    public virtual async IAsyncEnumerable<ByteChunk> ReadBytesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadBytesAsync));
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            yield return new ByteChunk(chunk.Data, chunk.Checkpoint, chunk.UpToDate, chunk.Closed, chunk.Messages, chunk.Partial, chunk.Status);
        }
    }

    /// <summary>
    /// Iterates over the stream as UTF-8 text. A multi-byte character split across chunks is
    /// decoded intact (it appears in the chunk that completes it).
    /// </summary>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The text chunks.</returns>
    /// <exception cref="DurableStreamException">The data is not valid UTF-8 (<see cref="DurableStreamErrorCode.Parse"/>).</exception>
    public virtual async IAsyncEnumerable<TextChunk> ReadTextAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadTextAsync));
        var decoder = s_strictUtf8.GetDecoder();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var text = Decode(decoder, chunk.Data, flush: chunk.Closed, chunk);
            yield return new TextChunk(text, chunk.Checkpoint, chunk.UpToDate, chunk.Closed);
        }
        // The session ended: bytes of an incomplete character left over are invalid.
        Decode(decoder, Array.Empty<byte>(), flush: true, null);
    }

    /// <summary>Iterates over the JSON messages of the stream, deserialized with the client's <see cref="DurableStreamClientOptions.JsonSerializerOptions"/>.</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual async IAsyncEnumerable<T> ReadJsonAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadJsonAsync));
        var options = JsonOptions;
        var items = new List<T>();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            items.Clear();
            DeserializeInto(items, m => JsonSerializer.Deserialize<T>(m.Span, options)!, chunk, nameof(ReadJsonAsync));
            foreach (var item in items)
            {
                yield return item;
            }
        }
    }

    /// <summary>Iterates over the JSON messages of the stream, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The messages.</returns>
    public virtual async IAsyncEnumerable<T> ReadJsonAsync<T>(JsonTypeInfo<T> jsonTypeInfo, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadJsonAsync));
        var items = new List<T>();
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            items.Clear();
            DeserializeInto(items, m => JsonSerializer.Deserialize(m.Span, jsonTypeInfo)!, chunk, nameof(ReadJsonAsync));
            foreach (var item in items)
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// Iterates over the JSON messages one response at a time, with the checkpoint after each
    /// batch (save it to resume) and whether the batch reached the tail.
    /// </summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches (possibly empty ones, marking up-to-date or the end).</returns>
    /// <exception cref="InvalidOperationException">The stream is not an <c>application/json</c> stream.</exception>
    [RequiresUnreferencedCode("JSON deserialization of T may need types that trimming removes; use the JsonTypeInfo<T> overload.")]
    [RequiresDynamicCode("JSON deserialization of T may need runtime code generation; use the JsonTypeInfo<T> overload.")]
    [OverloadResolutionPriority(1)] // a literal null/default argument picks the documented overload
    public virtual async IAsyncEnumerable<JsonBatch<T>> ReadJsonBatchesAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Claim(nameof(ReadJsonBatchesAsync));
        var options = JsonOptions;
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var items = new List<T>(chunk.Messages?.Length ?? 0);
            DeserializeInto(items, m => JsonSerializer.Deserialize<T>(m.Span, options)!, chunk, nameof(ReadJsonBatchesAsync));
            yield return new JsonBatch<T>(items, chunk.Checkpoint, chunk.UpToDate, chunk.Closed);
        }
    }

    /// <summary>Iterates over the JSON messages one response at a time, deserialized with source-generated metadata (trimming/AOT-safe).</summary>
    /// <typeparam name="T">The message type.</typeparam>
    /// <param name="jsonTypeInfo">Deserialization metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the iteration (and ends the session); combined with <c>WithCancellation</c>.</param>
    /// <returns>The batches.</returns>
    public virtual async IAsyncEnumerable<JsonBatch<T>> ReadJsonBatchesAsync<T>(JsonTypeInfo<T> jsonTypeInfo, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        Claim(nameof(ReadJsonBatchesAsync));
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var items = new List<T>(chunk.Messages?.Length ?? 0);
            DeserializeInto(items, m => JsonSerializer.Deserialize(m.Span, jsonTypeInfo)!, chunk, nameof(ReadJsonBatchesAsync));
            yield return new JsonBatch<T>(items, chunk.Checkpoint, chunk.UpToDate, chunk.Closed);
        }
    }

    /// <summary>
    /// Cancels the session: a pending read stops promptly with <see cref="OperationCanceledException"/>,
    /// and later reads throw it too. Safe to call from any thread, any number of times.
    /// </summary>
    public virtual void Cancel()
    {
        _cancelRequested = true;
        _cancel?.Trigger();
    }

    /// <summary>Ends the session and releases the native reader (a pending read then throws <see cref="ObjectDisposedException"/>).</summary>
    /// <returns>A task that completes once a pending native read has finished.</returns>
    public virtual async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _reader is null)
        {
            GC.SuppressFinalize(this);
            return;
        }
        _cancel!.Trigger();
        _reader.Dispose();
        var pending = Volatile.Read(ref _pending);
        if (pending is not null)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The consumer awaiting it observes the outcome; disposal only waits for the
                // native callback so that nothing outlives the session.
            }
        }
        _cancel.Dispose();
        _prefetched = null;
        StopActivity(null);
        GC.SuppressFinalize(this);
    }

    // ------------------------------------------------------------------ internals

    private JsonSerializerOptions JsonOptions => _stream?.JsonSerializerOptions ?? JsonDefaults.Options;

    /// <summary>Fetches the first chunk so that errors (404...) surface from <see cref="DurableStream.StreamAsync"/>.</summary>
    internal async Task PrefetchAsync(CancellationToken cancellationToken)
    {
        var chunk = await NextNativeAsync(cancellationToken).ConfigureAwait(false);
        if (chunk is null)
        {
            _finished = true;
        }
        _prefetched = chunk;
    }

    private void Claim(string method)
    {
        if (_reader is null)
        {
            throw new InvalidOperationException("This StreamResponse was not created by DurableStream.StreamAsync and has no read session behind it.");
        }
        if (Interlocked.CompareExchange(ref _consumer, 1, 0) != 0)
        {
            throw new InvalidOperationException(
                $"StreamResponse is a single-consumer abstraction: {method} cannot be used because {_consumerName} was already called on this response. "
                + "Call only one Read*Async method per response; start another read with DurableStream.StreamAsync (e.g. from response.Checkpoint).");
        }
        _consumerName = method;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
    }

    private async ValueTask<ChunkData?> NextAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ChunkData? chunk;
        if (_prefetched is not null)
        {
            chunk = _prefetched;
            _prefetched = null;
        }
        else if (_finished)
        {
            return null;
        }
        else
        {
            chunk = await NextNativeAsync(cancellationToken).ConfigureAwait(false);
            if (chunk is null)
            {
                _finished = true;
                StopActivity(null);
                return null;
            }
        }
        _checkpoint = chunk.Checkpoint;
        _chunkCount++;
        _byteCount += chunk.Data.Length;
        if (Telemetry.ReadChunks.Enabled || Telemetry.ReadBytes.Enabled || Telemetry.ReadMessages.Enabled)
        {
            var server = new KeyValuePair<string, object?>("server.address", _stream?.Target.ServerAddress);
            Telemetry.ReadChunks.Add(1, server);
            Telemetry.ReadBytes.Add(chunk.Data.Length, server);
            if (chunk.Messages is { } messages)
            {
                Telemetry.ReadMessages.Add(messages.Length, server);
            }
        }
        _upToDate = chunk.UpToDate;
        _streamClosed |= chunk.Closed;
        return chunk;
    }

    private async Task<ChunkData?> NextNativeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((StreamResponse)state!).OnTokenCancelled(), this)
            : default;
        // Caught up and live: the wait for this chunk is the delivery delay of new data.
        var liveWaitStart = _upToDate && Live != LiveMode.Off && Telemetry.ReadLiveWait.Enabled ? Stopwatch.GetTimestamp() : 0;
        try
        {
            var task = StartNext(cancellationToken);
            Volatile.Write(ref _pending, task);
            var chunk = await task.ConfigureAwait(false);
            if (liveWaitStart != 0 && chunk is { Data.Length: > 0 })
            {
                Telemetry.ReadLiveWait.Record(
                    Stopwatch.GetElapsedTime(liveWaitStart).TotalSeconds,
                    new KeyValuePair<string, object?>("server.address", _stream?.Target.ServerAddress),
                    new KeyValuePair<string, object?>("durablestreams.read.live", Live.ToString()));
            }
            return chunk;
        }
        catch (OperationCanceledException e)
        {
            throw CancellationFailure(e, cancellationToken);
        }
        catch (Exception e)
        {
            OnReadFailed(e);
            throw;
        }
        finally
        {
            registration.Unregister();
        }
    }

    private unsafe Task<ChunkData?> StartNext(CancellationToken cancellationToken)
    {
        var op = new NativeOp<ChunkData?>(cancellationToken, _cancel);
        try
        {
            using var reader = _reader!.Lease();
            using var cancel = op.LeaseCancel();
            NativeMethods.ds_reader_next((DsReader*)reader.Pointer, (DsCancel*)cancel.Pointer, NativeCallbacks.Chunk, op.Begin());
        }
        catch (ObjectDisposedException)
        {
            return op.FailStart(new ObjectDisposedException(nameof(StreamResponse)));
        }
        catch (Exception e)
        {
            return op.FailStart(e);
        }
        return op.Task;
    }

    private void OnTokenCancelled()
    {
        _tokenCancelled = true;
        _cancel?.Trigger();
    }

    private Exception CancellationFailure(OperationCanceledException e, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException($"The read of {Url} was cancelled.", e, cancellationToken);
        }
        if (Volatile.Read(ref _disposed) != 0)
        {
            return new ObjectDisposedException(nameof(StreamResponse), $"The read of {Url} stopped because the StreamResponse was disposed.");
        }
        if (_cancelRequested)
        {
            return new OperationCanceledException($"The read of {Url} was cancelled with StreamResponse.Cancel().", e);
        }
        if (_tokenCancelled)
        {
            return new OperationCanceledException($"The read session of {Url} was cancelled earlier and cannot be read again; start a new read from its Checkpoint.", e);
        }
        return e;
    }

    private string Decode(Decoder decoder, byte[] data, bool flush, ChunkData? chunk)
    {
        try
        {
            var count = decoder.GetCharCount(data, flush);
            if (count == 0)
            {
                // Still feed the decoder (it may keep a partial character).
                decoder.GetChars(data, Span<char>.Empty, flush);
                return string.Empty;
            }
            var chars = new char[count];
            var written = decoder.GetChars(data, chars, flush);
            return new string(chars, 0, written);
        }
        catch (DecoderFallbackException e)
        {
            var where = chunk is null ? "at the end of the data" : $"in the chunk ending at offset {chunk.Offset}";
            throw new DurableStreamException(
                $"The data of stream {Url} is not valid UTF-8 ({where}): {e.Message}",
                DurableStreamErrorCode.Parse,
                statusCode: null,
                url: Url,
                innerException: e);
        }
    }

    private void DeserializeInto<T>(List<T> items, Func<ReadOnlyMemory<byte>, T> deserialize, ChunkData chunk, string method)
    {
        var messages = chunk.Messages;
        if (messages is null)
        {
            throw new InvalidOperationException(
                $"{method} needs an application/json stream, but {Url} has content type \"{ContentType ?? "unknown"}\"; use ReadBytesAsync or ReadTextAsync.");
        }
        for (var i = 0; i < messages.Length; i++)
        {
            try
            {
                items.Add(deserialize(messages[i]));
            }
            catch (JsonException e)
            {
                throw new DurableStreamException(
                    $"Message {i} of the chunk ending at offset {chunk.Offset} of stream {Url} cannot be deserialized as {typeof(T).Name}: {e.Message}",
                    DurableStreamErrorCode.Parse,
                    statusCode: null,
                    url: Url,
                    innerException: e);
            }
        }
    }
}
