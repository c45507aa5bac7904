using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary>
/// The accepted/ack callbacks of append sessions and producers: <c>Shared*</c> for allocation-free
/// submissions (<c>user_data</c> is the <see cref="PipelineState"/>'s handle), <c>Tracked*</c> for
/// <see cref="PendingSubmission"/>s. Owned errors are converted and freed; nothing unwinds.
/// </summary>
internal static unsafe class PipelineCallbacks
{
    internal static delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> SharedAccepted => &OnSharedAccepted;

    internal static delegate* unmanaged[Cdecl]<void*, S2AppendAckNative*, S2NativeError*, void> SharedSessionAck => &OnSharedSessionAck;

    /// <summary>A producer's shared records: one call per run of records acknowledged together (<c>s2_producer_*_counted</c>).</summary>
    internal static delegate* unmanaged[Cdecl]<void*, ulong, ulong, S2NativeError*, void> SharedCountedAck => &OnSharedCountedAck;

    internal static delegate* unmanaged[Cdecl]<void*, S2NativeError*, void> TrackedAccepted => &OnTrackedAccepted;

    internal static delegate* unmanaged[Cdecl]<void*, S2AppendAckNative*, S2NativeError*, void> TrackedSessionAck => &OnTrackedSessionAck;

    internal static delegate* unmanaged[Cdecl]<void*, ulong, S2AppendAckNative*, S2NativeError*, void> TrackedRecordAck => &OnTrackedRecordAck;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnSharedAccepted(void* userData, S2NativeError* error)
    {
        try
        {
            var state = (PipelineState)GCHandle.FromIntPtr((nint)userData).Target!;
            if (error != null)
            {
                // The same error reaches the ack callback, which records it.
                NativeMethods.s2_error_free(error);
            }
            state.Accepted();
            state.Release();
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnSharedSessionAck(void* userData, S2AppendAckNative* ack, S2NativeError* error) => SharedAck(userData, ack, error);

    private static void SharedAck(void* userData, S2AppendAckNative* ack, S2NativeError* error)
    {
        try
        {
            var state = (PipelineState)GCHandle.FromIntPtr((nint)userData).Target!;
            Exception? exception = null;
            if (error != null)
            {
                exception = NativeErrors.Take(error, CancellationToken.None);
            }
            else if (ack != null)
            {
                Diagnostics.Telemetry.AppendedRecords.Add((long)(ack->End.SeqNum - ack->Start.SeqNum));
            }
            state.Completed(exception);
            state.Release();
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnSharedCountedAck(void* userData, ulong firstSeqNum, ulong count, S2NativeError* error)
    {
        try
        {
            var state = (PipelineState)GCHandle.FromIntPtr((nint)userData).Target!;
            Exception? exception = null;
            if (error != null)
            {
                exception = NativeErrors.Take(error, CancellationToken.None);
            }
            else
            {
                Diagnostics.Telemetry.AppendedRecords.Add((long)count);
            }
            // Each record of the run held one reference (its ack callback) and is one completion.
            state.Completed(exception, (long)count);
            state.Release((long)count);
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnTrackedAccepted(void* userData, S2NativeError* error)
    {
        try
        {
            var pending = (PendingSubmission)GCHandle.FromIntPtr((nint)userData).Target!;
            pending.OnAccepted(error == null ? null : NativeErrors.Take(error, CancellationToken.None));
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnTrackedSessionAck(void* userData, S2AppendAckNative* ack, S2NativeError* error) =>
        TrackedAck(userData, ack == null ? 0 : ack->Start.SeqNum, ack, error);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnTrackedRecordAck(void* userData, ulong seqNum, S2AppendAckNative* ack, S2NativeError* error) =>
        TrackedAck(userData, seqNum, ack, error);

    private static void TrackedAck(void* userData, ulong seqNum, S2AppendAckNative* ack, S2NativeError* error)
    {
        try
        {
            var pending = (PendingSubmission)GCHandle.FromIntPtr((nint)userData).Target!;
            if (error != null)
            {
                pending.OnAcked(0, null, NativeErrors.Take(error, CancellationToken.None));
            }
            else
            {
                pending.OnAcked(seqNum, ack == null ? null : NativeCallbacks.ToAck(ack), null);
            }
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }
}
