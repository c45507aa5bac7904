using System.Runtime.InteropServices;

namespace S2.StreamStore.Interop;

/// <summary>
/// One asynchronous native call on a native handle (its completion, shared with the
/// DurableStreams package, is in <c>Shared/Interop/NativeCall.Completion.cs</c>): started by
/// <see cref="Start"/>, ended by <see cref="Complete"/> from the native callback.
/// </summary>
/// <typeparam name="T">The managed result.</typeparam>
internal sealed unsafe partial class NativeCall<T>
{
    /// <summary>Calls the native function with the leased target, the cancel pointer (0: none) and <c>user_data</c>.</summary>
    internal delegate void Starter<TState>(TState state, nint target, nint cancel, nint userData);

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
            call = new NativeCall<T>(token, sharedCancel: null);
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
    internal static void Complete<TRaw>(void* userData, S2NativeError* error, TRaw result, Func<TRaw, T> convert) =>
        CompleteCore(userData, (nint)error, result, convert);

    private static partial Exception TakeError(nint error, CancellationToken token) => NativeErrors.Take((S2NativeError*)error, token);

    private static partial void FreeError(nint error) => NativeMethods.s2_error_free((S2NativeError*)error);
}
