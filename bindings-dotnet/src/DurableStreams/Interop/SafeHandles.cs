using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary><c>DsChunk*</c>, freed with <c>ds_chunk_free</c>.</summary>
internal sealed unsafe class ChunkHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_chunk_free((DsChunk*)handle);
        return true;
    }
}

/// <summary><c>DsClient*</c>, freed with <c>ds_client_free</c>.</summary>
internal sealed unsafe class ClientHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_client_free((DsClient*)handle);
        return true;
    }
}

/// <summary><c>DsStream*</c>, freed with <c>ds_stream_free</c>.</summary>
internal sealed unsafe class StreamHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_stream_free((DsStream*)handle);
        return true;
    }
}

/// <summary><c>DsReader*</c>, freed with <c>ds_reader_free</c> (a pending next completes CANCELLED).</summary>
internal sealed unsafe class ReaderHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_reader_free((DsReader*)handle);
        return true;
    }
}

/// <summary><c>DsProducer*</c>, freed with <c>ds_producer_free</c>.</summary>
internal sealed unsafe class ProducerHandle : NativeHandle
{
    protected override bool ReleaseHandle()
    {
        NativeMethods.ds_producer_free((DsProducer*)handle);
        return true;
    }
}

/// <summary><c>DsCancel*</c>, freed with <c>ds_cancel_free</c>.</summary>
internal sealed unsafe class CancelHandle : NativeHandle
{
    /// <summary>A new, untriggered cancel handle.</summary>
    internal static CancelHandle Create()
    {
        NativeLibraryGuard.EnsureLoaded();
        var handle = new CancelHandle();
        var pointer = NativeMethods.ds_cancel_new();
        if (pointer == null)
        {
            throw new OutOfMemoryException("ds_cancel_new returned NULL.");
        }
        handle.Adopt((nint)pointer);
        return handle;
    }

    /// <summary>Triggers the cancel; a no-op once the handle is released.</summary>
    internal void Trigger()
    {
        var added = false;
        try
        {
            DangerousAddRef(ref added);
            NativeMethods.ds_cancel_cancel((DsCancel*)handle);
        }
        catch (ObjectDisposedException)
        {
            // The operation already completed and released its cancel handle.
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
        NativeMethods.ds_cancel_free((DsCancel*)handle);
        return true;
    }
}
