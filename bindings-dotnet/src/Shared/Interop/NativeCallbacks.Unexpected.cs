// Compiled into both native-backed packages (linked from each project), each under its own
// Interop namespace.
#if S2_STREAMSTORE
namespace S2.StreamStore.Interop;
#else
namespace DurableStreams.Interop;
#endif

// The callbacks' last resort, the same in both packages.
internal static unsafe partial class NativeCallbacks
{
    private static long s_unexpected;

    /// <summary>
    /// An exception that cannot be delivered to any caller (a bug in this library). It must not
    /// unwind into native code, so it is recorded (<see cref="UnexpectedCount"/>,
    /// <see cref="LastUnexpected"/>; tests assert there are none) and dropped.
    /// </summary>
    internal static void Unexpected(Exception exception)
    {
        Interlocked.Increment(ref s_unexpected);
        LastUnexpected = exception;
    }

    /// <summary>How many callback exceptions could not be delivered (always 0 unless there is a bug).</summary>
    internal static long UnexpectedCount => Interlocked.Read(ref s_unexpected);

    /// <summary>The last undeliverable callback exception.</summary>
    internal static Exception? LastUnexpected { get; private set; }
}
