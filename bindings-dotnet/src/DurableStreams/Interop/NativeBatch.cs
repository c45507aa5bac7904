namespace DurableStreams.Interop;

/// <summary>
/// A native subscription batch (<c>DsBatch</c>) and its chunk: the outcome is reported once with
/// <see cref="Complete"/>, then <see cref="Dispose"/> frees it (an uncompleted batch counts as failed).
/// </summary>
internal sealed unsafe class NativeBatch : IDisposable
{
    private readonly BatchHandle _handle;

    private NativeBatch(BatchHandle handle, ChunkData chunk, ulong id, string stream, long generation)
    {
        _handle = handle;
        Chunk = chunk;
        Id = id;
        Stream = stream;
        Generation = generation;
    }

    internal ChunkData Chunk { get; }

    internal ulong Id { get; }

    internal string Stream { get; }

    internal long Generation { get; }

    /// <summary>Takes ownership of a batch the library just delivered.</summary>
    internal static NativeBatch Adopt(DsBatch* batch)
    {
        var handle = new BatchHandle();
        handle.Adopt((nint)batch);
        try
        {
            return new NativeBatch(
                handle,
                ChunkData.Over(NativeMethods.ds_batch_chunk(batch), handle, releaseWhenEmpty: false),
                NativeMethods.ds_batch_id(batch),
                NativeString.Read(NativeMethods.ds_batch_stream(batch)) ?? string.Empty,
                checked((long)NativeMethods.ds_batch_generation(batch)));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reports success (<paramref name="failure"/> null) or why it failed; a no-op once freed.</summary>
    internal void Complete(string? failure)
    {
        var message = failure is null ? null : NativeString.ToUtf8Z(failure.Replace('\0', ' '), nameof(failure));
        try
        {
            using var lease = _handle.Lease();
            fixed (byte* m = message)
            {
                NativeMethods.ds_batch_complete((DsBatch*)lease.Pointer, m);
            }
        }
        catch (ObjectDisposedException)
        {
            // Freed already: freeing counted as failure.
        }
    }

    public void Dispose()
    {
        Chunk.Dispose();
        _handle.Dispose();
    }
}
