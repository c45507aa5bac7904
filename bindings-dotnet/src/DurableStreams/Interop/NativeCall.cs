using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>
/// A wrapper of one native object (<see cref="NativeClient"/>, <see cref="NativeStream"/>,
/// <see cref="NativeReader"/>, <see cref="NativeProducer"/>): what <see cref="NativeCall{T}.Start"/>
/// needs to call into it.
/// </summary>
internal abstract class NativeObject
{
    /// <summary>The public type named by the <see cref="ObjectDisposedException"/> of a call made after release.</summary>
    private protected abstract string PublicName { get; }

    /// <summary>The owned native handle.</summary>
    private protected abstract NativeHandle Handle { get; }

    /// <summary>
    /// Keeps the native object alive for the duration of one native call.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The object (or its owner) was released.</exception>
    internal virtual HandleLease Lease()
    {
        try
        {
            return Handle.Lease();
        }
        catch (ObjectDisposedException)
        {
            throw Released();
        }
    }

    /// <summary>The exception for a call on the released object.</summary>
    private protected ObjectDisposedException Released() => new(PublicName);

    /// <summary>Leases the cancel handle of a call on this object (a released one, such as a disposed read session's, counts as this object released).</summary>
    internal HandleLease LeaseCancel(CancelHandle cancel)
    {
        try
        {
            return cancel.Lease();
        }
        catch (ObjectDisposedException)
        {
            throw Released();
        }
    }
}

/// <summary>
/// One asynchronous native call on a <see cref="NativeObject"/> (its completion, shared with the
/// S2 package, is in <c>Shared/Interop/NativeCall.Completion.cs</c>). Every asynchronous native
/// function is started by <see cref="Start"/> and every completion callback
/// (<see cref="NativeCallbacks"/>) ends in <see cref="Complete"/>.
/// </summary>
/// <typeparam name="T">The managed result.</typeparam>
internal sealed unsafe partial class NativeCall<T>
{
    /// <summary>
    /// Calls the native function: <paramref name="target"/> is the leased native object,
    /// <paramref name="cancel"/> the <c>DsCancel*</c> (0 for none), <paramref name="userData"/>
    /// the value to pass as <c>user_data</c> with the completion callback. Pointers the call needs
    /// (pinned data, argument structs) travel in <paramref name="state"/>; they stay valid because
    /// <see cref="Start"/> returns only after this delegate has returned.
    /// </summary>
    internal delegate void Starter<TState>(TState state, nint target, nint cancel, nint userData);

    // Held until the callback so that a call nobody awaits keeps its object, and through it the
    // client's dynamic header providers (held weakly by the native side), reachable.
    private readonly NativeObject? _target;

    private NativeCall(NativeObject target, CancellationToken token, CancelHandle? sharedCancel)
        : this(token, sharedCancel)
    {
        _target = target;
    }

    /// <summary>
    /// Starts one asynchronous native call on <paramref name="target"/> and returns its task.
    /// The call is cancelled by <paramref name="token"/> (a <c>DsCancel</c> is created only when
    /// the token can be cancelled), or, when given, by <paramref name="sharedCancel"/> (a cancel
    /// handle owned by <paramref name="target"/>, e.g. a read session's; <paramref name="token"/>
    /// then only decides how cancellation is reported). When the call cannot be made (the object
    /// was released, or anything throws before native code runs, so the callback will never fire),
    /// the task fails with that exception.
    /// </summary>
    internal static Task<T> Start<TState>(NativeObject target, CancellationToken token, CancelHandle? sharedCancel, TState state, Starter<TState> start)
    {
        var call = new NativeCall<T>(target, token, sharedCancel);
        try
        {
            using var handle = target.Lease();
            using var cancel = call._cancel is null ? default : target.LeaseCancel(call._cancel);
            call._self = GCHandle.Alloc(call);
            start(state, handle.Pointer, cancel.Pointer, GCHandle.ToIntPtr(call._self));
        }
        catch (Exception e)
        {
            call.FailStart(e);
        }
        return call._tcs.Task;
    }

    /// <summary>
    /// Completes the call whose <c>user_data</c> is <paramref name="userData"/>, from its native
    /// callback: with the owned <paramref name="error"/> when it is not NULL, else with
    /// <paramref name="convert"/>(<paramref name="result"/>). Never throws.
    /// </summary>
    internal static void Complete<TRaw>(void* userData, DsError* error, TRaw result, Func<TRaw, T> convert) =>
        CompleteCore(userData, (nint)error, result, convert);

    private static partial Exception TakeError(nint error, CancellationToken token) => NativeErrors.Take((DsError*)error, token);

    private static partial void FreeError(nint error) => NativeMethods.ds_error_free((DsError*)error);

    partial void Completing() => GC.KeepAlive(_target);
}
