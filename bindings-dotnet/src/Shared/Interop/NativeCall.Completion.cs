using System.Runtime.InteropServices;

// Compiled into both native-backed packages (linked from each project), each under its own
// Interop namespace; each package's NativeCall.cs starts calls on its own native objects and
// names its error type (TakeError, FreeError).
#if S2_STREAMSTORE
namespace S2.StreamStore.Interop;
#else
namespace DurableStreams.Interop;
#endif

// The completion of one asynchronous native call: a TaskCompletionSource (continuations run
// asynchronously, never on the native thread), the native cancel handle linked to the caller's
// CancellationToken, and the GCHandle passed as user_data. The native callback fires exactly once
// and ends in CompleteCore: it frees the GCHandle, converts the result or the owned error,
// releases the cancel handle and completes the task. (The type's documentation is in each
// package's NativeCall.cs.)
internal sealed unsafe partial class NativeCall<T>
{
    private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationToken _token;
    private readonly CancelHandle? _cancel;
    private readonly bool _ownsCancel;
    private CancellationTokenRegistration _registration;
    private GCHandle _self;
    private int _finished;

    /// <summary>
    /// A call cancelled by <paramref name="token"/> (a cancel handle of its own is created only when
    /// the token can be cancelled), or, when given, by <paramref name="sharedCancel"/> (one owned by
    /// the call's target, e.g. a read session's; <paramref name="token"/> then only decides how
    /// cancellation is reported).
    /// </summary>
    private NativeCall(CancellationToken token, CancelHandle? sharedCancel)
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

    /// <summary>Converts the owned native error <paramref name="error"/> (and frees it).</summary>
    private static partial Exception TakeError(nint error, CancellationToken token);

    /// <summary>Frees the owned native error <paramref name="error"/>.</summary>
    private static partial void FreeError(nint error);

    /// <summary>
    /// Completes the call whose <c>user_data</c> is <paramref name="userData"/>, from its native
    /// callback: with the owned <paramref name="error"/> (converted and freed here) when it is not
    /// 0, else with <paramref name="convert"/>(<paramref name="result"/>), where
    /// <paramref name="result"/> is the callback's borrowed result (a pointer as <see cref="nint"/>,
    /// or a value). Never throws: nothing may unwind into native code.
    /// </summary>
    private static void CompleteCore<TRaw>(void* userData, nint error, TRaw result, Func<TRaw, T> convert)
    {
        NativeCall<T>? call = null;
        try
        {
            var handle = GCHandle.FromIntPtr((nint)userData);
            call = (NativeCall<T>)handle.Target!;
            handle.Free();
            call._self = default;
            call.Completing();
            if (error != 0)
            {
                var owned = error;
                error = 0;
                Exception exception;
                try
                {
                    exception = TakeError(owned, call._token);
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

    /// <summary>What the package does when the callback has recovered the call (before it completes).</summary>
    partial void Completing();

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
        // the cancel handle alive until a concurrent trigger returns.
        _registration.Unregister();
        if (_ownsCancel)
        {
            _cancel!.Dispose();
        }
        return true;
    }

    /// <summary>A callback body failed after recovering (or while recovering) its call.</summary>
    private static void Failed(NativeCall<T>? call, nint unconsumedError, Exception exception)
    {
        try
        {
            if (unconsumedError != 0)
            {
                FreeError(unconsumedError);
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
