namespace DurableStreams.Interop;

/// <summary>Which native library this package loads (the shared guard's messages and calls).</summary>
internal static partial class NativeLibraryGuard
{
    private const string PackageName = "DurableStreams";
    private const string LibraryFile = "libdurable_streams.so";
    private const string CrateName = "durable-streams-ffi";
    private const string AbiVersionFunction = "ds_abi_version";

    private static uint ReadAbiVersion() => NativeMethods.ds_abi_version();

    private static unsafe byte* ReadVersion() => NativeMethods.ds_version();

    /// <summary><c>ds_test_live_handles()</c>: clients, streams, readers, chunks, producers, errors, cancels, decorations.</summary>
    internal static ulong ReadLiveHandles() => NativeMethods.ds_test_live_handles();
}
