using System.Diagnostics;
using System.Text;

namespace DurableStreams.Tests.Infrastructure;

/// <summary>A running Durable Streams server started by <c>ds-test-servers</c>.</summary>
public sealed record ServerInfo(string Kind, string BaseUrl, string StreamPrefixUrl);

/// <summary>
/// Starts <c>ds-test-servers both</c> (Electric's Rust server and the Node reference server) once
/// per test run and keeps them until the test process exits (closing the harness's stdin stops
/// them; the harness also has a watchdog if this process dies).
/// </summary>
public static class TestServers
{
    public const string Electric = "electric";
    public const string Node = "node";

    private static readonly Lazy<Task<IReadOnlyDictionary<string, ServerInfo>>> s_servers =
        new(() => StartAsync("both"), LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<Task<IReadOnlyDictionary<string, ServerInfo>>> s_webhookServers =
        new(() => StartAsync("node --webhooks"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The server kinds every server test runs against.</summary>
    public static TheoryData<string> Kinds => new() { Electric, Node };

    public static Task<IReadOnlyDictionary<string, ServerInfo>> GetAsync() => s_servers.Value;

    public static async Task<ServerInfo> GetAsync(string kind) => (await GetAsync())[kind];

    /// <summary>A Node reference server of its own with webhook subscriptions enabled (<c>ds-test-servers node --webhooks</c>), started on first use.</summary>
    public static async Task<ServerInfo> GetWebhooksAsync() => (await s_webhookServers.Value)[Node];

    /// <summary>The repository root: the nearest ancestor of the test assembly holding Cargo.toml.</summary>
    public static string RepoRoot => RepositoryRoot.Path;

    private static async Task<IReadOnlyDictionary<string, ServerInfo>> StartAsync(string arguments)
    {
        var binary = Environment.GetEnvironmentVariable("DS_TEST_SERVERS_BIN");
        if (string.IsNullOrEmpty(binary))
        {
            binary = Path.Combine(RepoRoot, "target", "debug", "ds-test-servers");
            if (!File.Exists(binary))
            {
                await RunAsync("cargo", "build -p durable-streams-test-harness", RepoRoot);
            }
        }
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException($"ds-test-servers not found at {binary}; build it with `cargo build -p durable-streams-test-harness` or set DS_TEST_SERVERS_BIN.");
        }

        var process = new Process
        {
            StartInfo = new ProcessStartInfo(binary, arguments)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (Exception)
            {
                // Already gone.
            }
        };

        var servers = new Dictionary<string, ServerInfo>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                string err;
                lock (stderr)
                {
                    err = stderr.ToString();
                }
                throw new InvalidOperationException($"ds-test-servers exited before READY:\n{err}");
            }
            if (line == "READY")
            {
                break;
            }
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3)
            {
                servers[parts[0]] = new ServerInfo(parts[0], parts[1], parts[2]);
            }
        }
        // Keep draining stdout so the harness never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        return servers;
    }

    private static async Task RunAsync(string file, string arguments, string workingDirectory)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
        })!;
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {arguments}` failed with exit code {process.ExitCode}.");
        }
    }
}

/// <summary>Collection fixture: makes sure the servers are up before a server test runs.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public IReadOnlyDictionary<string, ServerInfo> Servers { get; private set; } = new Dictionary<string, ServerInfo>();

    public async Task InitializeAsync() => Servers = await TestServers.GetAsync();

    public Task DisposeAsync() => Task.CompletedTask;
}

[CollectionDefinition(Name)]
public sealed class ReadCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server reads";
}

[CollectionDefinition(Name)]
public sealed class WriteCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server writes";
}

[CollectionDefinition(Name)]
public sealed class ProducerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server producers";
}

/// <summary>Tests that measure allocations: never in parallel with others (see AllocationTests).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "allocations";
}

[CollectionDefinition(Name)]
public sealed class ClientCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server client";
}

[CollectionDefinition(Name)]
public sealed class LiveCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server live reads";
}

/// <summary>Runs alone, after the parallel collections: ds_test_live_handles is process-wide.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LeakCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "leak accounting";
}

/// <summary>Helpers for tests against a real server.</summary>
public abstract class ServerTest
{
    protected ServerTest(ServerFixture fixture)
    {
        Fixture = fixture;
    }

    protected ServerFixture Fixture { get; }

    protected ServerInfo Server(string kind) => Fixture.Servers[kind];

    /// <summary>A client whose BaseUrl is the server's stream prefix.</summary>
    protected DurableStreamClient NewClient(string kind, Action<DurableStreamClientOptions>? configure = null)
    {
        var options = new DurableStreamClientOptions
        {
            BaseUrl = Server(kind).StreamPrefixUrl,
            MaxRetries = 2,
            InitialRetryDelay = TimeSpan.FromMilliseconds(20),
            MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return new DurableStreamClient(options);
    }

    /// <summary>A fresh stream path.</summary>
    protected static string NewPath(string name) => $"/dotnet-tests/{name}-{Guid.NewGuid():N}";

    /// <summary>Creates a fresh stream of the content type.</summary>
    protected static async Task<DurableStream> NewStreamAsync(DurableStreamClient client, string contentType, string name = "s")
    {
        return await client.CreateStreamAsync(NewPath(name), new CreateStreamOptions { ContentType = contentType });
    }

    /// <summary>A cancellation token that fires if a test hangs.</summary>
    protected static CancellationToken Timeout(int seconds = 20) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>Every chunk of a read of <paramref name="stream"/> with <paramref name="options"/>.</summary>
    protected static async Task<List<ByteChunk>> ReadAllChunksAsync(DurableStream stream, StreamOptions options)
    {
        var chunks = new List<ByteChunk>();
        await using var response = await stream.StreamAsync(options, Timeout());
        await foreach (var chunk in response.ReadBytesAsync(Timeout()))
        {
            chunks.Add(chunk);
        }
        return chunks;
    }
}

/// <summary>A message type for JSON tests.</summary>
public sealed record MyEvent(string Type, int N);
