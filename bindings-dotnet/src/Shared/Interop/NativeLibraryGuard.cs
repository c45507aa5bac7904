// Compiled into both native-backed packages (linked from each project), each under its own
// Interop namespace; each package names its library in NativeLibraryGuard.Identity.cs.
#if S2_STREAMSTORE
namespace S2.StreamStore.Interop;
#else
namespace DurableStreams.Interop;
#endif

/// <summary>
/// Loads the native library on first use and checks that its ABI version is the one this
/// assembly was written against, so that a mismatched library fails with a clear message
/// instead of undefined behaviour.
/// </summary>
internal static partial class NativeLibraryGuard
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

    /// <summary>The native library's version string.</summary>
    internal static unsafe string NativeVersion
    {
        get
        {
            EnsureLoaded();
            return NativeString.Read(ReadVersion()) ?? "unknown";
        }
    }

    private static Exception? Check()
    {
        uint version;
        try
        {
            version = ReadAbiVersion();
        }
        catch (DllNotFoundException e)
        {
            return new DllNotFoundException(
                $"The {PackageName} native library ({LibraryFile}) could not be loaded. The NuGet package "
                + $"carries it under runtimes/linux-x64/native/; when running from a build tree, copy "
                + $"target/release/{LibraryFile} next to the application (built with `cargo build --release "
                + $"-p {CrateName}`). {e.Message}",
                e);
        }
        catch (EntryPointNotFoundException e)
        {
            return new InvalidOperationException(
                $"The loaded {LibraryFile} does not export {AbiVersionFunction}; it is not the {PackageName} "
                + $"core library. {e.Message}",
                e);
        }
        return version == NativeMethods.ExpectedAbiVersion
            ? null
            : new InvalidOperationException(
                $"The {PackageName} native library has ABI version {version}, but this {PackageName} assembly "
                + $"requires ABI version {NativeMethods.ExpectedAbiVersion}. Use the {LibraryFile} that shipped "
                + "with this package version.");
    }
}

/// <summary>Internal diagnostics for tests (leak accounting; the core's test hook).</summary>
internal static class NativeDiagnostics
{
    /// <summary>Number of live native objects (handles, errors, cancels, ...) in the process.</summary>
    internal static ulong LiveHandles
    {
        get
        {
            NativeLibraryGuard.EnsureLoaded();
            return NativeLibraryGuard.ReadLiveHandles();
        }
    }
}
