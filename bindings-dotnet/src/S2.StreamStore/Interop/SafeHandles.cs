using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary><c>S2Client*</c>.</summary>
internal sealed unsafe class ClientHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.s2_client_free((S2NativeClient*)handle);
        return true;
    }
}

/// <summary><c>S2Stream*</c>.</summary>
internal sealed unsafe class StreamHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.s2_stream_free((S2NativeStream*)handle);
        return true;
    }
}

/// <summary><c>S2AppendSession*</c>.</summary>
internal sealed unsafe class AppendSessionHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.s2_append_session_free((S2NativeAppendSession*)handle);
        return true;
    }
}

/// <summary><c>S2Producer*</c>.</summary>
internal sealed unsafe class ProducerHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.s2_producer_free((S2NativeProducer*)handle);
        return true;
    }
}

/// <summary><c>S2ReadSession*</c> (freeing it ends a pending next with CANCELLED).</summary>
internal sealed unsafe class ReadSessionHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.s2_read_session_free((S2NativeReadSession*)handle);
        return true;
    }
}

/// <summary><c>S2Cancel*</c>.</summary>
internal sealed unsafe class CancelHandle : NativeHandle
{
    /// <summary>A new, untriggered cancel handle.</summary>
    internal static CancelHandle Create()
    {
        NativeLibraryGuard.EnsureLoaded();
        var handle = new CancelHandle();
        handle.Adopt((nint)NativeMethods.s2_cancel_new());
        return handle;
    }

    /// <summary>Triggers the cancel; a no-op once the handle is released.</summary>
    internal void Trigger()
    {
        var added = false;
        try
        {
            DangerousAddRef(ref added);
            NativeMethods.s2_cancel_cancel((S2NativeCancel*)handle);
        }
        catch (ObjectDisposedException)
        {
            // The operation completed and released its cancel handle.
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.s2_cancel_free((S2NativeCancel*)handle);
        return true;
    }
}
