namespace DurableStreams.Interop;

/// <summary>
/// Loads the native library on first use and checks that its ABI version is the one this
/// assembly was written against, so that a mismatched <c>libdurable_streams.so</c> fails with a
/// clear message instead of undefined behaviour.
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

    /// <summary>The native library's version string (<c>ds_version()</c>).</summary>
    internal static unsafe string NativeVersion
    {
        get
        {
            EnsureLoaded();
            return NativeString.Read(NativeMethods.ds_version()) ?? "unknown";
        }
    }

    private static Exception? Check()
    {
        uint version;
        try
        {
            version = NativeMethods.ds_abi_version();
        }
        catch (DllNotFoundException e)
        {
            return new DllNotFoundException(
                "The DurableStreams native library (libdurable_streams.so) could not be loaded. "
                + "The NuGet package carries it under runtimes/linux-x64/native/; when running from a "
                + "build tree, copy target/release/libdurable_streams.so next to the application "
                + $"(built with `cargo build --release -p durable-streams-ffi`). {e.Message}",
                e);
        }
        catch (EntryPointNotFoundException e)
        {
            return new InvalidOperationException(
                "The loaded durable_streams native library does not export ds_abi_version; it is not "
                + $"the DurableStreams core library. {e.Message}",
                e);
        }
        if (version != NativeMethods.ExpectedAbiVersion)
        {
            return new InvalidOperationException(
                $"The DurableStreams native library has ABI version {version}, but this DurableStreams "
                + $"assembly requires ABI version {NativeMethods.ExpectedAbiVersion}. Use the "
                + "libdurable_streams.so that shipped with this package version.");
        }
        return null;
    }
}

/// <summary>Internal diagnostics for tests (leak accounting; the core's test hook).</summary>
internal static class NativeDiagnostics
{
    /// <summary>
    /// Number of live native objects (clients, streams, readers, chunks, producers, errors,
    /// cancels, decorations) in the process: <c>ds_test_live_handles()</c>.
    /// </summary>
    internal static ulong LiveHandles
    {
        get
        {
            NativeLibraryGuard.EnsureLoaded();
            return NativeMethods.ds_test_live_handles();
        }
    }
}
