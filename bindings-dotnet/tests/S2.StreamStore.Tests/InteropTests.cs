using System.Reflection;
using System.Text.RegularExpressions;
using S2.StreamStore.Interop;

namespace S2.StreamStore.Tests;

/// <summary>The managed declarations and error kinds against include/s2.h and the loaded library.</summary>
public partial class InteropTests
{
    private static string Header => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "s2.h"));

    [GeneratedRegex(@"S2_ERROR_([A-Z_]+) = (\d+),")]
    private static partial Regex ErrorKindPattern();

    [Fact]
    public void The_managed_error_kinds_equal_the_headers()
    {
        var native = ErrorKindPattern().Matches(Header).ToDictionary(m => int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), m => m.Groups[1].Value);
        Assert.Equal(22, native.Count);
        var managed = Enum.GetValues<S2ErrorKind>().ToDictionary(k => (int)k, k => NativeErrors.KindNames[k]);
        Assert.Equal(native.OrderBy(p => p.Key), managed.OrderBy(p => p.Key));
    }

    [Fact]
    public unsafe void The_library_names_an_error_kind_as_the_managed_list_does()
    {
        NativeLibraryGuard.EnsureLoaded();
        var json = "{\"unknown_field\": 1}\0"u8.ToArray();
        S2NativeClient* client = null;
        S2NativeError* error;
        fixed (byte* p = json)
        {
            error = NativeMethods.s2_client_new(p, &client);
        }
        Assert.True(error != null);
        try
        {
            var kind = NativeErrors.KindOf(NativeMethods.s2_error_kind(error));
            Assert.Equal(S2ErrorKind.InvalidArgument, kind);
            Assert.Equal(NativeErrors.KindNames[kind], NativeString.Read(NativeMethods.s2_error_kind_name(error)));
        }
        finally
        {
            NativeMethods.s2_error_free(error);
        }
    }

    [Fact]
    public void Every_declared_function_is_in_the_header()
    {
        var header = Header;
        var functions = typeof(NativeMethods).GetMethods(BindingFlags.Static | BindingFlags.NonPublic)
            .Where(m => m.Name.StartsWith("s2_", StringComparison.Ordinal)).Select(m => m.Name).Distinct().ToArray();
        Assert.True(functions.Length > 40);
        Assert.All(functions, f => Assert.Matches(new Regex($@"\b{f}\("), header));
        Assert.Contains($"#define S2_ABI_VERSION {NativeMethods.ExpectedAbiVersion}", header, StringComparison.Ordinal);
    }

    [Fact]
    public void Public_types_never_declare_native_calls()
    {
        var leaks = typeof(S2Client).Assembly.GetTypes()
            .Where(t => t.IsPublic || t.IsNestedPublic)
            .SelectMany(t => t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.Attributes.HasFlag(MethodAttributes.PinvokeImpl))
            .ToArray();
        Assert.Empty(leaks);
    }
}
