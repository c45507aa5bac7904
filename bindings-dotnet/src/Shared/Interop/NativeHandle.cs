using System.Runtime.InteropServices;

// Compiled into both native-backed packages (linked from each project), each under its own
// Interop namespace: the layering rule lets only that namespace touch native handles.
#if S2_STREAMSTORE
namespace S2.StreamStore.Interop;
#else
namespace DurableStreams.Interop;
#endif

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
