using System.Diagnostics;

namespace StreamDingo.Benchmarks;

/// <summary>Electric's server in memory mode, through the test harness (<c>ds-test-servers electric --durability-memory</c>), or a given URL.</summary>
internal sealed class BenchServer : IDisposable
{
    public const string Description = "electric durable-streams-server 0.1.5 (--durability memory)";

    private readonly Process? _process;

    private BenchServer(string prefix, Process? process)
    {
        Prefix = prefix.TrimEnd('/');
        _process = process;
    }

    public string Prefix { get; }

    public static BenchServer Start(string? url)
    {
        if (url is not null)
        {
            return new BenchServer(url, null);
        }
        var binary = Environment.GetEnvironmentVariable("DS_TEST_SERVERS_BIN");
        if (string.IsNullOrEmpty(binary))
        {
            binary = Path.Combine(RepoRoot(), "target", "release", "ds-test-servers");
        }
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException($"ds-test-servers not found at {binary}: cargo build --release -p durable-streams-test-harness, or set DS_TEST_SERVERS_BIN");
        }
        var process = Process.Start(new ProcessStartInfo(binary)
        {
            ArgumentList = { "electric", "--durability-memory" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        string? prefix = null;
        while (process.StandardOutput.ReadLine() is { } line && line != "READY")
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["electric", _, var streamPrefix])
            {
                prefix = streamPrefix;
            }
        }
        _ = process.StandardOutput.ReadToEndAsync();
        return new BenchServer(prefix ?? throw new InvalidOperationException("ds-test-servers did not start Electric's server"), process);
    }

    public void Dispose()
    {
        if (_process is null)
        {
            return;
        }
        _process.StandardInput.Close();
        if (!_process.WaitForExit(10_000))
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cargo.toml")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("No Cargo.toml above the program: cannot find target/release/ds-test-servers.");
    }
}
