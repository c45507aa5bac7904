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
/// One asynchronous native call: a <see cref="TaskCompletionSource{TResult}"/> (continuations run
/// asynchronously, never on the native thread), the <c>DsCancel</c> linked to the caller's
/// <see cref="CancellationToken"/>, and the <see cref="GCHandle"/> passed as <c>user_data</c>.
/// Every asynchronous native function is started by <see cref="Start"/> and every completion
/// callback (<see cref="NativeCallbacks"/>) ends in <see cref="Complete"/>: the native callback
/// fires exactly once; it frees the GCHandle, converts the result or error to managed objects,
/// releases the cancel handle and completes the task.
/// </summary>
/// <typeparam name="T">The managed result.</typeparam>
internal sealed unsafe class NativeCall<T>
{
    /// <summary>
    /// Calls the native function: <paramref name="target"/> is the leased native object,
    /// <paramref name="cancel"/> the <c>DsCancel*</c> (0 for none), <paramref name="userData"/>
    /// the value to pass as <c>user_data</c> with the completion callback. Pointers the call needs
    /// (pinned data, argument structs) travel in <paramref name="state"/>; they stay valid because
    /// <see cref="Start"/> returns only after this delegate has returned.
    /// </summary>
    internal delegate void Starter<TState>(TState state, nint target, nint cancel, nint userData);

    private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationToken _token;
    private readonly CancelHandle? _cancel;
    private readonly bool _ownsCancel;
    private CancellationTokenRegistration _registration;
    // Held until the callback so that a call nobody awaits keeps its object, and through it the
    // client's dynamic header providers (held weakly by the native side), reachable.
    private readonly NativeObject _target;
    private GCHandle _self;
    private int _finished;

    private NativeCall(NativeObject target, CancellationToken token, CancelHandle? sharedCancel)
    {
        _target = target;
        _token = token;
        if (sharedCancel is not null)
        {
            _cancel = sharedCancel;
        }
        else if (token.CanBeCanceled)
        {
            _cancel = CancelHandle.Create();
            _ownsCancel = true;
            // Runs synchronously if the token is already cancelled: the native call then starts
            // with a triggered cancel and completes CANCELLED.
            _registration = token.UnsafeRegister(static state => ((CancelHandle)state!).Trigger(), _cancel);
        }
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
    /// callback: with the owned <paramref name="error"/> (converted and freed here) when it is not
    /// NULL, else with <paramref name="convert"/>(<paramref name="result"/>), where
    /// <paramref name="result"/> is the callback's borrowed result (a pointer as <see cref="nint"/>,
    /// or a value). Never throws: nothing may unwind into native code.
    /// </summary>
    internal static void Complete<TRaw>(void* userData, DsError* error, TRaw result, Func<TRaw, T> convert)
    {
        NativeCall<T>? call = null;
        try
        {
            var handle = GCHandle.FromIntPtr((nint)userData);
            call = (NativeCall<T>)handle.Target!;
            handle.Free();
            call._self = default;
            GC.KeepAlive(call._target);
            if (error != null)
            {
                var owned = error;
                error = null;
                Exception exception;
                try
                {
                    exception = NativeErrors.Take(owned, call._token);
                }
                catch (Exception e)
                {
                    exception = e;
                }
                call.Fail(exception);
                return;
            }
            var value = convert(result);
            if (call.Finish())
            {
                call._tcs.TrySetResult(value);
            }
            else if (value is IDisposable unclaimed)
            {
                // Nobody will receive it (the call already ended): release what it holds now.
                unclaimed.Dispose();
            }
        }
        catch (Exception e)
        {
            Failed(call, error, e);
        }
    }

    /// <summary>The native call could not be made (its callback never fires): frees the GCHandle and fails the task.</summary>
    private void FailStart(Exception exception)
    {
        if (_self.IsAllocated)
        {
            _self.Free();
            _self = default;
        }
        Fail(exception);
    }

    private void Fail(Exception exception)
    {
        if (!Finish())
        {
            return;
        }
        if (exception is OperationCanceledException && _token.IsCancellationRequested)
        {
            _tcs.TrySetCanceled(_token);
        }
        else
        {
            _tcs.TrySetException(exception);
        }
    }

    private bool Finish()
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0)
        {
            return false;
        }
        // Unregister does not wait for a running callback; the SafeHandle's reference count keeps
        // the DsCancel alive until a concurrent ds_cancel_cancel returns.
        _registration.Unregister();
        if (_ownsCancel)
        {
            _cancel!.Dispose();
        }
        return true;
    }

    /// <summary>A callback body failed after recovering (or while recovering) its call.</summary>
    private static void Failed(NativeCall<T>? call, DsError* unconsumedError, Exception exception)
    {
        try
        {
            if (unconsumedError != null)
            {
                NativeMethods.ds_error_free(unconsumedError);
            }
            if (call is not null)
            {
                call.Fail(exception);
            }
            else
            {
                NativeCallbacks.Unexpected(exception);
            }
        }
        catch (Exception e)
        {
            NativeCallbacks.Unexpected(e);
        }
    }
}
