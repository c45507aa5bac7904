using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>Base of the SafeHandle per native handle type: NULL is invalid, the handle is owned.</summary>
internal abstract class NativeHandle : SafeHandle
{
    protected NativeHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of a pointer the library just returned.</summary>
    internal void Adopt(nint pointer) => SetHandle(pointer);

    /// <summary>
    /// Keeps the native object alive while the returned lease is in use (a native call), so a
    /// concurrent <see cref="SafeHandle.Dispose()"/> defers the free until the call returns.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle was already released.</exception>
    internal HandleLease Lease() => new(this);
}

/// <summary>A native pointer kept alive by <see cref="SafeHandle.DangerousAddRef"/> until disposed.</summary>
internal ref struct HandleLease
{
    private SafeHandle? _handle;

    internal HandleLease(SafeHandle handle)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        _handle = handle;
        Pointer = handle.DangerousGetHandle();
    }

    /// <summary>The raw pointer (valid until <see cref="Dispose"/>); 0 for an empty lease.</summary>
    public nint Pointer { get; }

    public void Dispose()
    {
        _handle?.DangerousRelease();
        _handle = null;
    }
}

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
