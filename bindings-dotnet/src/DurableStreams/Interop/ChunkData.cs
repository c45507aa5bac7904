using System.Runtime.InteropServices;
using DurableStreams.Json;

namespace DurableStreams.Interop;

/// <summary>Reads a chunk's bytes while they are alive (the native buffer, or the managed copy).</summary>
internal delegate T ChunkSpanReader<T>(ReadOnlySpan<byte> data);

/// <summary>
/// One chunk of a read. Its metadata is read when it arrives; its bytes stay in the native
/// <c>DsChunk</c> until a consumer needs them: JSON and text readers decode straight from that
/// buffer (<see cref="Read{T}"/>), and only byte consumers copy them into managed memory
/// (<see cref="Data"/>). Dispose it once consumed: that frees the native chunk.
/// </summary>
internal sealed unsafe class ChunkData : IDisposable
{
    private readonly NativeHandle? _native; // owns the chunk (or its batch); null for a chunk without bytes
    private readonly DsChunk* _chunk;
    private readonly byte* _bytes;
    private byte[]? _copy;
    private JsonMessageList? _messages;

    private ChunkData(NativeHandle? native, DsChunk* chunk, byte* bytes, int length, long messageCount)
    {
        _native = native;
        _chunk = chunk;
        _bytes = bytes;
        Length = length;
        MessageCount = messageCount;
    }

    /// <summary>The number of bytes (for JSON streams, of the JSON array text; 0 when there is no message).</summary>
    public int Length { get; }

    /// <summary>For JSON streams, the number of messages; -1 for other content types.</summary>
    public long MessageCount { get; }

    /// <summary>Whether the chunk came from a JSON stream (its bytes are a validated JSON array).</summary>
    public bool IsJson => MessageCount >= 0;

    /// <summary>The bytes, copied into managed memory on first use.</summary>
    /// <exception cref="ObjectDisposedException">The chunk was disposed before its bytes were copied.</exception>
    public byte[] Data => _copy ??= CopyOut();

    /// <summary>For JSON streams, each message's JSON text (slices of <see cref="Data"/>, found lazily); null for other content types.</summary>
    public JsonMessageList? Messages => IsJson ? _messages ??= new JsonMessageList(Data, checked((int)MessageCount), NativeBounds()) : null;

    public string Offset { get; private init; } = "-1";

    public string? Cursor { get; private init; }

    public bool UpToDate { get; private init; }

    public bool Closed { get; private init; }

    /// <summary>More of the same response follows (bounded chunks); the offset is where the response began.</summary>
    public bool Partial { get; private init; }

    /// <summary>The HTTP status of the response the chunk came from (200, or 204 for a long-poll timeout).</summary>
    public int Status { get; private init; }

    /// <summary>For a partial piece, the bytes of its response delivered so far (see <see cref="StreamCheckpoint.SkipBytes"/>).</summary>
    public long ResumeSkip { get; private init; }

    /// <summary>For a partial piece of a JSON response, the messages of its response delivered so far (see <see cref="StreamCheckpoint.SkipMessages"/>).</summary>
    public long ResumeSkipMessages { get; private init; }

    private StreamCheckpoint? _checkpoint;

    /// <summary>The position after this chunk (offset, cursor and, inside a response, the bytes or messages to skip).</summary>
    public StreamCheckpoint Checkpoint => _checkpoint ??= new StreamCheckpoint(DurableStreams.Offset.FromTrusted(Offset), Cursor) { SkipBytes = ResumeSkip, SkipMessages = ResumeSkipMessages };

    /// <summary>Runs <paramref name="reader"/> over the bytes without copying them (the managed copy if there is one).</summary>
    /// <exception cref="ObjectDisposedException">The chunk was disposed.</exception>
    public T Read<T>(ChunkSpanReader<T> reader)
    {
        if (_copy is not null || _native is null)
        {
            return reader(_copy ?? []);
        }
        using var lease = _native.Lease();
        return reader(new ReadOnlySpan<byte>(_bytes, Length));
    }

    /// <summary>
    /// Writes the bytes to <paramref name="destination"/> straight from the native buffer
    /// (through <paramref name="window"/>, no managed copy); the chunk stays alive until the
    /// write completes, even if it is disposed meanwhile.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The chunk was disposed before the write began.</exception>
    public ValueTask WriteToAsync(Stream destination, NativeMemoryWindow window, CancellationToken cancellationToken)
    {
        if (_copy is not null || _native is null)
        {
            return destination.WriteAsync(_copy ?? ReadOnlyMemory<byte>.Empty, cancellationToken);
        }
        var added = false;
        _native.DangerousAddRef(ref added);
        try
        {
            return ChunkWrites.ReleaseAfterAsync(destination.WriteAsync(window.Over(_bytes, Length), cancellationToken), _native);
        }
        catch
        {
            _native.DangerousRelease();
            throw;
        }
    }

    /// <summary>
    /// Each message's offset and length in the data, from the core in one call (it framed the
    /// array already); null once the native chunk is freed (the list then finds them itself).
    /// </summary>
    private int[]? NativeBounds()
    {
        if (_native is null || MessageCount <= 0 || _native.IsClosed)
        {
            return null;
        }
        var count = checked((int)MessageCount);
        var raw = System.Buffers.ArrayPool<ulong>.Shared.Rent(2 * count);
        try
        {
            using var lease = _native.Lease();
            fixed (ulong* bounds = raw)
            {
                if (NativeMethods.ds_chunk_message_bounds(_chunk, bounds, (nuint)count) != count)
                {
                    return null;
                }
            }
            var result = new int[2 * count];
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = checked((int)raw[i]);
            }
            return result;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            System.Buffers.ArrayPool<ulong>.Shared.Return(raw);
        }
    }

    /// <summary>Frees the native chunk (the managed copy, if made, stays valid).</summary>
    public void Dispose() => _native?.Dispose();

    private byte[] CopyOut()
    {
        if (_native is null)
        {
            return [];
        }
        using var lease = _native.Lease();
        // Overwritten entirely by the copy: no need for the GC to zero it first (that doubles
        // the cost of a large chunk).
        var bytes = GC.AllocateUninitializedArray<byte>(Length);
        new ReadOnlySpan<byte>(_bytes, Length).CopyTo(bytes);
        return bytes;
    }

    /// <summary>Takes ownership of a chunk the library just delivered (freed when this is disposed).</summary>
    internal static ChunkData Adopt(DsChunk* chunk)
    {
        var handle = new ChunkHandle();
        handle.Adopt((nint)chunk);
        return Over(chunk, handle, releaseWhenEmpty: true);
    }

    /// <summary>
    /// A chunk whose memory <paramref name="owner"/> keeps alive (the chunk itself, or the
    /// subscription batch holding it): disposing this disposes the owner. With
    /// <paramref name="releaseWhenEmpty"/>, an owner with no bytes to keep is released at once.
    /// </summary>
    internal static ChunkData Over(DsChunk* chunk, NativeHandle owner, bool releaseWhenEmpty)
    {
        // Metadata first: the handle owns the chunk from the moment it exists.
        nuint length = 0;
        var data = NativeMethods.ds_chunk_data(chunk, &length);
        var count = NativeMethods.ds_chunk_message_count(chunk);
        var offset = NativeString.Read(NativeMethods.ds_chunk_offset(chunk)) ?? "-1";
        var cursor = NativeString.Read(NativeMethods.ds_chunk_cursor(chunk));
        var upToDate = NativeMethods.ds_chunk_up_to_date(chunk) != 0;
        var closed = NativeMethods.ds_chunk_closed(chunk) != 0;
        var partial = NativeMethods.ds_chunk_partial(chunk) != 0;
        var status = NativeMethods.ds_chunk_status(chunk);
        var resumeSkip = checked((long)NativeMethods.ds_chunk_resume_skip(chunk));
        var resumeSkipMessages = checked((long)NativeMethods.ds_chunk_resume_skip_messages(chunk));
        NativeHandle? native = owner;
        var bytes = data;
        var size = checked((int)length);
        if (size == 0 || data == null || count == 0)
        {
            // A JSON chunk without messages (the server's "[]") holds no data: empty, like any
            // other empty chunk, and nothing native to keep.
            if (releaseWhenEmpty)
            {
                owner.Dispose();
                native = null;
            }
            bytes = null;
            size = 0;
        }
        return new ChunkData(native, chunk, bytes, size, count)
        {
            Offset = offset,
            Cursor = cursor,
            UpToDate = upToDate,
            Closed = closed,
            Partial = partial,
            Status = status,
            ResumeSkip = resumeSkip,
            ResumeSkipMessages = resumeSkipMessages,
        };
    }
}

/// <summary>The awaiting half of <see cref="ChunkData.WriteToAsync"/> (an await cannot sit in an unsafe type).</summary>
internal static class ChunkWrites
{
    /// <summary>Awaits <paramref name="write"/>, then releases the reference that kept its bytes alive.</summary>
    public static async ValueTask ReleaseAfterAsync(ValueTask write, SafeHandle owner)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            owner.DangerousRelease();
        }
    }
}
