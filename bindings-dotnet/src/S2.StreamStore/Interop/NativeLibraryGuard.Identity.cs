namespace S2.StreamStore.Interop;

/// <summary>Which native library this package loads (the shared guard's messages and calls).</summary>
internal static partial class NativeLibraryGuard
{
    private const string PackageName = "S2.StreamStore";
    private const string LibraryFile = "libs2_streamstore.so";
    private const string CrateName = "s2-streamstore-ffi";
    private const string AbiVersionFunction = "s2_abi_version";

    private static uint ReadAbiVersion() => NativeMethods.s2_abi_version();

    private static unsafe byte* ReadVersion() => NativeMethods.s2_version();

    /// <summary><c>s2_test_live_handles()</c>: clients, streams, sessions, producers, batches, errors, cancels.</summary>
    internal static ulong ReadLiveHandles() => NativeMethods.s2_test_live_handles();
}
