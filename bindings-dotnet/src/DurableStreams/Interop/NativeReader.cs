namespace DurableStreams.Interop;

/// <summary>
/// A native read session (<c>DsReader</c>) and the session's cancel handle, which ends a pending
/// <see cref="NextAsync"/> (<see cref="Cancel"/>). One <see cref="NextAsync"/> at a time.
/// </summary>
internal sealed class NativeReader : NativeObject
{
    private readonly ReaderHandle _reader;
    private readonly CancelHandle _cancel;
    // The native reader keeps the native stream alive on its own; this keeps the managed one (and
    // its client's dynamic header providers) alive while the session can still send a request.
    private readonly NativeStream _stream;
    private Task? _pending;

    private NativeReader(NativeStream stream, ReaderHandle reader, CancelHandle cancel)
    {
        _stream = stream;
        _reader = reader;
        _cancel = cancel;
    }

    private protected override string PublicName => nameof(StreamResponse);

    private protected override NativeHandle Handle => _reader;

    /// <summary>The <c>DsLiveMode</c> value passed to <c>ds_reader_open</c> for <paramref name="live"/>.</summary>
    internal static int ToNative(LiveMode live) => live switch
    {
        LiveMode.Off => 0, // DS_LIVE_OFF
        LiveMode.LongPoll => 1, // DS_LIVE_LONG_POLL
        LiveMode.Sse => 2, // DS_LIVE_SSE
        LiveMode.Auto => 3, // DS_LIVE_AUTO
        _ => throw new ArgumentOutOfRangeException(nameof(live), live, "Not a LiveMode value."),
    };

    /// <summary>
    /// Opens a session on <paramref name="stream"/> at <paramref name="offset"/> (an offset's text,
    /// e.g. <c>-1</c> or <c>now</c>). No I/O.
    /// </summary>
    /// <exception cref="ArgumentException">The core rejected an argument (parameter <c>options</c>).</exception>
    internal static unsafe NativeReader Open(NativeStream stream, string offset, string? cursor, LiveMode live, int maxChunkBytes, long skipBytes, long skipMessages, IReadOnlyDictionary<string, string>? headers)
    {
        var mode = ToNative(live);
        var reader = new ReaderHandle();
        var offsetBytes = NativeString.ToUtf8Z(offset, "options");
        var cursorBytes = NativeString.ToUtf8Z(cursor, "options");
        DsReader* pointer = null;
        DsError* error;
        using (var lease = stream.Lease())
        {
            fixed (byte* o = offsetBytes)
            fixed (byte* c = cursorBytes)
            {
                error = NativeMethods.ds_reader_open((DsStream*)lease.Pointer, o, mode, c, &pointer);
            }
        }
        if (error != null)
        {
            throw NativeErrors.TakeAsArgumentException(error, "options");
        }
        reader.Adopt((nint)pointer);
        // A fresh reader has no read in flight: only a NULL reader could fail these two.
        error = NativeMethods.ds_reader_set_max_chunk_bytes(pointer, maxChunkBytes == int.MaxValue ? 0 : (nuint)maxChunkBytes);
        if (error == null && skipBytes > 0)
        {
            error = NativeMethods.ds_reader_set_skip_bytes(pointer, (ulong)skipBytes);
        }
        if (error == null && skipMessages > 0)
        {
            // After a byte skip, the core refuses both at the first read; StreamAsync checks first.
            error = NativeMethods.ds_reader_set_skip_messages(pointer, (ulong)skipMessages);
        }
        if (error != null)
        {
            reader.Dispose();
            throw NativeErrors.TakeAsArgumentException(error, "options");
        }
        if (headers is { Count: > 0 })
        {
            PinnedHeaders pinned;
            try
            {
                pinned = PinnedHeaders.Pin(headers, "options");
            }
            catch
            {
                reader.Dispose();
                throw;
            }
            using (pinned)
            {
                // Rejected here (before any request) when a name or value is not valid HTTP.
                error = NativeMethods.ds_reader_set_headers(pointer, pinned.Pointer, pinned.Count);
            }
            if (error != null)
            {
                reader.Dispose();
                throw NativeErrors.TakeAsArgumentException(error, "options");
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
        return new NativeReader(stream, reader, cancel);
    }

    /// <summary>
    /// Fetches the next chunk; null at the end of the session. Ended early by <see cref="Cancel"/>
    /// or <see cref="DisposeAsync"/> (<see cref="OperationCanceledException"/>, reported as
    /// cancelled by <paramref name="cancellationToken"/> when that token is cancelled; the caller
    /// links the token to <see cref="Cancel"/>).
    /// </summary>
    internal unsafe Task<ChunkData?> NextAsync(CancellationToken cancellationToken)
    {
        var task = NativeCall<ChunkData?>.Start(
            this,
            cancellationToken,
            _cancel,
            0,
            static (_, reader, cancel, userData) => NativeMethods.ds_reader_next(
                (DsReader*)reader, (DsCancel*)cancel, NativeCallbacks.Chunk, (void*)userData));
        Volatile.Write(ref _pending, task);
        return task;
    }

    /// <summary>Ends a pending <see cref="NextAsync"/> and every later one; any thread, any number of times.</summary>
    internal void Cancel() => _cancel.Trigger();

    /// <summary>
    /// Ends the session: cancels a pending read, frees the reader, and completes once that read's
    /// callback has run (its outcome is left to its awaiter), so that nothing outlives the session.
    /// </summary>
    internal async ValueTask DisposeAsync()
    {
        _cancel.Trigger();
        _reader.Dispose();
        var pending = Volatile.Read(ref _pending);
        if (pending is not null)
        {
            // Not awaited with a throw: rethrowing a failed read here would rewrite the stack trace
            // of the exception its consumer is propagating (this method then showed as its top frame).
            // The consumer awaiting it observes the outcome.
            await pending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _cancel.Dispose();
    }
}
