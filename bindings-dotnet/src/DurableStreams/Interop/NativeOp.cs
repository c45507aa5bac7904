using System.Runtime.InteropServices;

namespace DurableStreams.Interop;

/// <summary>
/// One asynchronous native call: a <see cref="TaskCompletionSource{TResult}"/> (continuations run
/// asynchronously, never on the native thread), the <c>DsCancel</c> linked to the caller's
/// <see cref="CancellationToken"/>, and the <see cref="GCHandle"/> passed as <c>user_data</c>.
/// The native callback fires exactly once; it frees the GCHandle, converts the result or
/// error to managed objects, releases the cancel handle and completes the task.
/// </summary>
/// <typeparam name="T">The managed result.</typeparam>
internal sealed class NativeOp<T>
{
    private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationToken _token;
    private readonly CancelHandle? _cancel;
    private readonly bool _ownsCancel;
    private CancellationTokenRegistration _registration;
    private GCHandle _self;
    private int _finished;

    /// <summary>
    /// An operation cancelled by <paramref name="token"/> (a <c>DsCancel</c> is created only when
    /// the token can be cancelled), or by <paramref name="sharedCancel"/> (owned by the caller,
    /// for example a read session's cancel) when given.
    /// </summary>
    internal NativeOp(CancellationToken token, CancelHandle? sharedCancel = null)
    {
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

    /// <summary>The task the caller awaits.</summary>
    internal Task<T> Task => _tcs.Task;

    /// <summary>The caller's token (used to report cancellation).</summary>
    internal CancellationToken Token => _token;

    /// <summary>Keeps the cancel handle alive for the duration of the native call.</summary>
    internal HandleLease LeaseCancel() => _cancel is null ? default : _cancel.Lease();

    /// <summary>Allocates the <c>user_data</c> GCHandle; call right before the native function.</summary>
    internal unsafe void* Begin()
    {
        _self = GCHandle.Alloc(this);
        return (void*)GCHandle.ToIntPtr(_self);
    }

    /// <summary>Recovers the operation from <c>user_data</c> and frees the GCHandle.</summary>
    internal static unsafe NativeOp<T> FromUserData(void* userData)
    {
        var handle = GCHandle.FromIntPtr((nint)userData);
        var op = (NativeOp<T>)handle.Target!;
        handle.Free();
        op._self = default;
        return op;
    }

    /// <summary>Completes successfully.</summary>
    internal void Complete(T value)
    {
        if (Finish())
        {
            _tcs.TrySetResult(value);
        }
    }

    /// <summary>Completes with a native error, which is converted and freed here.</summary>
    internal unsafe void Fail(DsError* error)
    {
        Exception exception;
        try
        {
            exception = NativeErrors.Take(error, _token);
        }
        catch (Exception e)
        {
            exception = e;
        }
        Fail(exception);
    }

    /// <summary>Completes with a managed exception.</summary>
    internal void Fail(Exception exception)
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

    /// <summary>
    /// The native call could not be made (it threw before running, so its callback never
    /// fires): frees the GCHandle and fails the task.
    /// </summary>
    internal Task<T> FailStart(Exception exception)
    {
        if (_self.IsAllocated)
        {
            _self.Free();
            _self = default;
        }
        Fail(exception);
        return _tcs.Task;
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
}
