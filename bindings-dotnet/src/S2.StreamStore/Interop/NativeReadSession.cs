namespace S2.StreamStore.Interop;

/// <summary>One native <c>S2ReadSession</c>: next batch, caught-up state and next sequence number.</summary>
internal sealed unsafe class NativeReadSession : IDisposable
{
    private readonly ReadSessionHandle _handle;

    internal NativeReadSession(ReadSessionHandle handle) => _handle = handle;

    internal Task<ReadBatch?> Next(CancellationToken token) =>
        NativeCall<ReadBatch?>.Start(_handle, nameof(ReadSession), token, 0, static (_, target, cancel, userData) =>
            NativeMethods.s2_read_session_next((S2NativeReadSession*)target, (S2NativeCancel*)cancel, NativeCallbacks.Batch, (void*)userData));

    internal bool IsCaughtUp
    {
        get
        {
            using var lease = _handle.Lease();
            return NativeMethods.s2_read_session_is_caught_up((S2NativeReadSession*)lease.Pointer);
        }
    }

    internal long NextSeqNum
    {
        get
        {
            using var lease = _handle.Lease();
            return NativeMethods.s2_read_session_next_seq_num((S2NativeReadSession*)lease.Pointer);
        }
    }

    public void Dispose() => _handle.Dispose();
}
