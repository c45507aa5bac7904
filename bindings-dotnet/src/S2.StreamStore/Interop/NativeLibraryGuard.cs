namespace S2.StreamStore.Interop;

/// <summary>
/// Loads the native library on first use and checks its ABI version, so that a mismatched
/// <c>libs2_streamstore.so</c> fails with a clear message instead of undefined behaviour.
/// </summary>
internal static class NativeLibraryGuard
{
    private static readonly Lazy<Exception?> s_failure = new(Check, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Throws if the native library cannot be loaded or has the wrong ABI version.</summary>
    internal static void EnsureLoaded()
    {
        var failure = s_failure.Value;
        if (failure is not null)
        {
            throw failure switch
            {
                DllNotFoundException dll => new DllNotFoundException(dll.Message, dll),
                _ => new InvalidOperationException(failure.Message, failure),
            };
        }
    }

    /// <summary>The native library's version (<c>s2_version()</c>).</summary>
    internal static unsafe string NativeVersion
    {
        get
        {
            EnsureLoaded();
            return NativeString.Read(NativeMethods.s2_version()) ?? "unknown";
        }
    }

    /// <summary>Live native handles in the process (<c>s2_test_live_handles()</c>; leak tests).</summary>
    internal static ulong LiveHandles
    {
        get
        {
            EnsureLoaded();
            return NativeMethods.s2_test_live_handles();
        }
    }

    private static Exception? Check()
    {
        uint version;
        try
        {
            version = NativeMethods.s2_abi_version();
        }
        catch (DllNotFoundException e)
        {
            return new DllNotFoundException(
                "The S2.StreamStore native library (libs2_streamstore.so) could not be loaded. The NuGet "
                + "package carries it under runtimes/linux-x64/native/; from a build tree, copy "
                + "target/release/libs2_streamstore.so next to the application (cargo build --release -p "
                + $"s2-streamstore-ffi). {e.Message}",
                e);
        }
        catch (EntryPointNotFoundException e)
        {
            return new InvalidOperationException(
                $"The loaded s2_streamstore library does not export s2_abi_version; it is not the S2.StreamStore core. {e.Message}",
                e);
        }
        return version == NativeMethods.ExpectedAbiVersion
            ? null
            : new InvalidOperationException(
                $"The S2.StreamStore native library has ABI version {version}, but this assembly requires "
                + $"{NativeMethods.ExpectedAbiVersion}. Use the libs2_streamstore.so shipped with this package version.");
    }
}
