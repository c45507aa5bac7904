using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary>
/// One asynchronous native call: a <see cref="TaskCompletionSource{TResult}"/> (continuations run
/// asynchronously, never on the native thread), an <c>S2Cancel</c> linked to the caller's
/// <see cref="CancellationToken"/> through <see cref="CancellationToken.UnsafeRegister(Action{object?}, object?)"/>,
/// and the <see cref="GCHandle"/> passed as <c>user_data</c>. The native callback fires exactly
/// once and ends in <see cref="Complete"/>: it frees the GCHandle, converts the borrowed result or
/// owned error, releases the cancel handle and completes the task.
/// </summary>
/// <typeparam name="T">The managed result.</typeparam>
internal sealed unsafe class NativeCall<T>
{
    /// <summary>Calls the native function with the leased target, the cancel pointer (0: none) and <c>user_data</c>.</summary>
    internal delegate void Starter<TState>(TState state, nint target, nint cancel, nint userData);

    private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationToken _token;
    private readonly CancelHandle? _cancel;
    private CancellationTokenRegistration _registration;
    private GCHandle _self;
    private int _finished;

    private NativeCall(CancellationToken token)
    {
        _token = token;
        if (token.CanBeCanceled)
        {
            _cancel = CancelHandle.Create();
            // Runs synchronously if already cancelled: the call then completes CANCELLED.
            _registration = token.UnsafeRegister(static state => ((CancelHandle)state!).Trigger(), _cancel);
        }
    }

    /// <summary>
    /// Starts one call on <paramref name="target"/> (leased for the duration of
    /// <paramref name="start"/>); <paramref name="publicName"/> names the disposed object if the
    /// handle was released. If anything throws before native code runs, the task fails with it.
    /// </summary>
    internal static Task<T> Start<TState>(SafeHandle target, string publicName, CancellationToken token, TState state, Starter<TState> start)
    {
        NativeCall<T> call;
        try
        {
            NativeLibraryGuard.EnsureLoaded();
            call = new NativeCall<T>(token);
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
        var added = false;
        var cancelAdded = false;
        try
        {
            try
            {
                target.DangerousAddRef(ref added);
            }
            catch (ObjectDisposedException)
            {
                throw new ObjectDisposedException(publicName);
            }
            call._cancel?.DangerousAddRef(ref cancelAdded);
            call._self = GCHandle.Alloc(call);
            start(state, target.DangerousGetHandle(), call._cancel?.DangerousGetHandle() ?? 0, GCHandle.ToIntPtr(call._self));
        }
        catch (Exception e)
        {
            call.FailStart(e);
        }
        finally
        {
            if (cancelAdded)
            {
                call._cancel!.DangerousRelease();
            }
            if (added)
            {
                target.DangerousRelease();
            }
        }
        return call._tcs.Task;
    }

    /// <summary>
    /// Completes the call of <paramref name="userData"/> from its native callback: with the owned
    /// <paramref name="error"/> (converted and freed here) or <paramref name="convert"/> applied to
    /// the borrowed <paramref name="result"/>. Never throws into native code.
    /// </summary>
    internal static void Complete<TRaw>(void* userData, S2NativeError* error, TRaw result, Func<TRaw, T> convert)
    {
        NativeCall<T>? call = null;
        try
        {
            var handle = GCHandle.FromIntPtr((nint)userData);
            call = (NativeCall<T>)handle.Target!;
            handle.Free();
            call._self = default;
            if (error != null)
            {
                var owned = error;
                error = null;
                call.Fail(NativeErrors.Take(owned, call._token));
                return;
            }
            var value = convert(result);
            if (call.Finish())
            {
                call._tcs.TrySetResult(value);
            }
            else if (value is IDisposable unclaimed)
            {
                unclaimed.Dispose();
            }
        }
        catch (Exception e)
        {
            try
            {
                if (error != null)
                {
                    NativeMethods.s2_error_free(error);
                }
                if (call is not null)
                {
                    call.Fail(e);
                }
                else
                {
                    NativeCallbacks.Unexpected(e);
                }
            }
            catch (Exception inner)
            {
                NativeCallbacks.Unexpected(inner);
            }
        }
    }

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
        _registration.Unregister();
        _cancel?.Dispose();
        return true;
    }
}
