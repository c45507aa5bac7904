using System.Runtime.CompilerServices;
using DurableStreams.Interop;

namespace DurableStreams;

// StreamResponse: The read loop shared by every consumer (prefetch, next chunk, cancellation) and the byte consumers.
public partial class StreamResponse
{
    // ------------------------------------------------------------------ bytes

    /// <summary>Reads until up to date (or the end of the stream) and returns all the bytes.</summary>
    /// <param name="cancellationToken">Cancels the read (and ends the session).</param>
    /// <returns>The bytes, concatenated (for JSON streams, one JSON array text per response or piece).</returns>
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
                // Straight from the native buffer: a second chunk is never copied twice.
                chunk.Read(data =>
                {
                    many.Write(data);
                    return 0;
                });
            }
            if (chunk.UpToDate || chunk.Closed)
            {
                break;
            }
        }
        return many?.ToArray() ?? single ?? Array.Empty<byte>();
    }

    /// <summary>
    /// Iterates over the chunks of the stream as they arrive (one per response or piece of one; in live modes,
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
            yield return new ByteChunk(chunk.Data, chunk.Checkpoint, chunk.UpToDate)
            {
                StreamClosed = chunk.Closed,
                Messages = chunk.Messages,
                IsPartial = chunk.Partial,
                StatusCode = chunk.Status,
            };
        }
    }

    /// <summary>
    /// Copies the bytes of the stream to <paramref name="destination"/> as they arrive, straight
    /// from the native buffers: no managed copy and no allocation per piece, so memory stays flat
    /// whatever the stream's size and the GC's settings (<see cref="ReadBytesAsync"/> hands out
    /// an array per piece, which the GC reclaims in its own time). It ends where
    /// <see cref="ReadBytesAsync"/> ends: up to date for a catch-up read
    /// (<see cref="LiveMode.Off"/>), the stream's close or the token in live modes.
    /// </summary>
    /// <param name="destination">Where the bytes go (for JSON streams, one JSON array text per response or piece).</param>
    /// <param name="cancellationToken">Cancels the copy (and ends the session); also passed to each write.</param>
    /// <returns>The number of bytes copied.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="destination"/> is null.</exception>
    public virtual async Task<long> CopyToAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Claim(nameof(CopyToAsync));
        var window = new NativeMemoryWindow(); // owns nothing: it only views each chunk's bytes in turn
        long copied = 0;
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            if (chunk.Length > 0)
            {
                await chunk.WriteToAsync(destination, window, cancellationToken).ConfigureAwait(false);
                copied += chunk.Length;
            }
        }
        return copied;
    }

    // ------------------------------------------------------------------ the read loop

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

    private async ValueTask<ChunkData?> NextAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _current, null)?.Dispose();
        cancellationToken.ThrowIfCancellationRequested();
        if (_sessionToken.IsCancellationRequested)
        {
            throw SessionCancelled(null);
        }
        ChunkData? chunk;
        if (_prefetched is not null)
        {
            chunk = _prefetched;
            _prefetched = null;
        }
        else if (_finished)
        {
            UnscopeSession();
            StopActivity(null);
            return null;
        }
        else
        {
            var readAhead = _readAhead;
            _readAhead = null;
            chunk = await (readAhead ?? NextNativeAsync(cancellationToken)).ConfigureAwait(false);
            if (chunk is null)
            {
                _finished = true;
                UnscopeSession();
                StopActivity(null);
                return null;
            }
        }
        _checkpoint = chunk.Checkpoint;
        RecordChunk(chunk);
        _upToDate = chunk.UpToDate;
        if (chunk.Closed)
        {
            // The end of the stream ends the session: nothing is read (or reported) after it.
            _streamClosed = true;
            _finished = true;
        }
        _current = chunk;
        if (chunk.Partial && !_finished)
        {
            // The rest of this response is already on its way: the core reads the next piece
            // while the caller works on this one (a bounded read-ahead of one piece, never a new
            // request).
            _readAhead = NextNativeAsync(cancellationToken);
        }
        return chunk;
    }

    /// <summary>Waits for a read-ahead the caller will never take (the reader is already cancelled) and frees its chunk.</summary>
    private async ValueTask DiscardReadAheadAsync()
    {
        var readAhead = Interlocked.Exchange(ref _readAhead, null);
        if (readAhead is null)
        {
            return;
        }
        try
        {
            (await readAhead.ConfigureAwait(false))?.Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or DurableStreamException or ObjectDisposedException)
        {
            // The session was ended on purpose: what the next piece would have been does not matter.
        }
    }

    private async Task<ChunkData?> NextNativeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((StreamResponse)state!).OnTokenCancelled(), this)
            : default;
        var liveWaitStart = LiveWaitStart();
        try
        {
            var chunk = await _reader!.NextAsync(cancellationToken).ConfigureAwait(false);
            RecordLiveWait(liveWaitStart, chunk);
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

    private void OnTokenCancelled()
    {
        _tokenCancelled = true;
        _reader?.Cancel();
    }

    private OperationCanceledException SessionCancelled(Exception? inner) =>
        new($"The read of {SafeUrl} was cancelled by the token passed to DurableStream.StreamAsync (it scopes the whole session).", inner, _sessionToken);

    private Exception CancellationFailure(OperationCanceledException e, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException($"The read of {SafeUrl} was cancelled.", e, cancellationToken);
        }
        if (_sessionToken.IsCancellationRequested)
        {
            return SessionCancelled(e);
        }
        if (Volatile.Read(ref _disposed) != 0)
        {
            return new ObjectDisposedException(nameof(StreamResponse), $"The read of {SafeUrl} stopped because the StreamResponse was disposed.");
        }
        if (_cancelRequested)
        {
            return new OperationCanceledException($"The read of {SafeUrl} was cancelled with StreamResponse.Cancel().", e);
        }
        if (_tokenCancelled)
        {
            return new OperationCanceledException($"The read session of {SafeUrl} was cancelled earlier and cannot be read again; start a new read from its Checkpoint.", e);
        }
        return e;
    }
}
