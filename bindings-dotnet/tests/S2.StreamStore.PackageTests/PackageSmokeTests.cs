using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using S2.StreamStore;
using S2.StreamStore.Extensions.DependencyInjection;

namespace S2.StreamStore.PackageTests;

/// <summary>
/// Smoke test of the packed S2.StreamStore package (and its DI package): no server is needed, so
/// it runs anywhere (s2 lite only runs inside a network namespace).
/// </summary>
public class PackageSmokeTests
{
    [Fact]
    public void The_native_library_comes_from_the_package_runtimes_folder()
    {
        var assembly = typeof(S2Client).Assembly;
        Assert.Equal(new Version(0, 1, 0, 0), assembly.GetName().Version);
        // NuGet lays native assets out under runtimes/<rid>/native and the deps.json points there;
        // nothing is copied next to the app by hand.
        var packaged = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libs2_streamstore.so");
        Assert.True(File.Exists(packaged), $"{packaged} is missing");
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "libs2_streamstore.so")));

        // Loading it through the runtime's probing (the deps.json) succeeds, and the managed side
        // reaches the same library.
        Assert.True(NativeLibrary.TryLoad("s2_streamstore", assembly, DllImportSearchPath.AssemblyDirectory, out var handle));
        NativeLibrary.Free(handle);
        Assert.False(string.IsNullOrEmpty(S2Client.NativeVersion));
        Assert.Contains(MappedLibraries(), path => path == Path.GetFullPath(packaged));
    }

    [Fact]
    public async Task A_client_for_a_dead_endpoint_reports_a_network_error_naming_the_basin()
    {
        await using var client = new S2Client(new S2Options
        {
            AccessToken = "t",
            Endpoint = new Uri($"http://127.0.0.1:{FreePort()}"),
            Retry = new S2RetryOptions { MaxAttempts = 1 },
            ConnectTimeout = TimeSpan.FromSeconds(2),
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var e = await Assert.ThrowsAsync<S2Exception>(() => client.GetBasinConfigAsync("package-basin", timeout.Token));
        Assert.Equal(S2ErrorKind.Network, e.Kind);
        Assert.Equal("package-basin", e.Basin);
        Assert.Null(e.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    [Fact]
    public async Task Argument_errors_name_the_parameter()
    {
        Assert.Equal("options.AccessToken", Assert.Throws<ArgumentException>(() => new S2Client(new S2Options())).ParamName);
        var endpoint = Assert.Throws<ArgumentException>(() => new S2Client(new S2Options { AccessToken = "t", Endpoint = new Uri("ftp://127.0.0.1:4566") }));
        Assert.Equal("options.Endpoint", endpoint.ParamName);

        await using var client = new S2Client(new S2Options { AccessToken = "t", Endpoint = new Uri($"http://127.0.0.1:{FreePort()}") });
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => client.Basin("Bad_Name")).ParamName);
        Assert.Equal("name", (await Assert.ThrowsAsync<ArgumentException>(() => client.CreateBasinAsync("short"))).ParamName);
        var basin = client.Basin("package-basin");
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => basin.Stream("")).ParamName);

        using var stream = basin.Stream("events");
        Assert.Equal("records", (await Assert.ThrowsAsync<ArgumentException>(() => stream.AppendAsync(Array.Empty<AppendRecord>()))).ParamName);
        var fencing = await Assert.ThrowsAsync<ArgumentException>(() => stream.FenceAsync(new string('x', 37)));
        Assert.Equal("fencingToken", fencing.ParamName);
    }

    [Fact]
    public async Task The_DI_package_registers_a_client()
    {
        var services = new ServiceCollection();
        services.AddS2Client(o =>
        {
            o.AccessToken = "t";
            o.Endpoint = new Uri($"http://127.0.0.1:{FreePort()}");
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<S2Client>();
        Assert.Same(client, provider.GetRequiredService<S2Client>());
        Assert.Equal(new Version(0, 1, 0, 0), typeof(S2ServiceCollectionExtensions).Assembly.GetName().Version);
    }

    // A port that was free a moment ago: nothing answers there.
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // The files this process has mapped: which copy of the native library was really loaded.
    private static IEnumerable<string> MappedLibraries() =>
        File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length == 6 && parts[5].EndsWith("libs2_streamstore.so", StringComparison.Ordinal))
            .Select(parts => parts[5].Trim())
            .Distinct();

}
