using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace ConformanceAdapter.Tests.Infrastructure;

/// <summary>
/// The conformance adapter running as a child process, driven exactly like the conformance
/// suite's runner does: one JSON command per line on stdin, one JSON reply line per command read
/// from stdout. Every stdout line is kept so that tests can check nothing else was written.
/// </summary>
public sealed class AdapterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _allLines = [];
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdoutPump;
    private int _sent;

    private AdapterProcess(Process process)
    {
        _process = process;
        _stdoutPump = Task.Run(PumpStdoutAsync);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
    }

    /// <summary>The adapter executable: DS_CONFORMANCE_ADAPTER, else the build next to this project.</summary>
    public static string ExecutablePath
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("DS_CONFORMANCE_ADAPTER");
            if (!string.IsNullOrEmpty(configured))
            {
                return configured;
            }
            return typeof(AdapterProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(a => a.Key == "ConformanceAdapterPath").Value!;
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Every line the adapter wrote to stdout so far.</summary>
    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_allLines)
            {
                return _allLines.ToList();
            }
        }
    }

    public static AdapterProcess Start()
    {
        var path = ExecutablePath;
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The conformance adapter is not built: {path} is missing (dotnet build bindings-dotnet/tools/ConformanceAdapter, or set DS_CONFORMANCE_ADAPTER).");
        }
        var process = new Process
        {
            StartInfo = new ProcessStartInfo(path)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = new UTF8Encoding(false),
                StandardInputEncoding = new UTF8Encoding(false),
            },
        };
        process.Start();
        process.StandardInput.AutoFlush = true;
        process.StandardInput.NewLine = "\n";
        return new AdapterProcess(process);
    }

    /// <summary>Starts an adapter and sends <c>init</c> for <paramref name="serverUrl"/>.</summary>
    public static async Task<AdapterProcess> StartAsync(string serverUrl)
    {
        var adapter = Start();
        var init = await adapter.SendAsync(new JsonObject { ["type"] = "init", ["serverUrl"] = serverUrl });
        Assert.True(init.GetProperty("success").GetBoolean(), init.ToString());
        return adapter;
    }

    /// <summary>Sends one command and returns its reply (the next stdout line, parsed).</summary>
    public Task<JsonElement> SendAsync(JsonObject command, TimeSpan? timeout = null) =>
        SendLineAsync(command.ToJsonString(), timeout);

    /// <summary>Sends a raw line (which may be malformed) and returns the reply.</summary>
    public async Task<JsonElement> SendLineAsync(string line, TimeSpan? timeout = null)
    {
        Interlocked.Increment(ref _sent);
        await _process.StandardInput.WriteLineAsync(line);
        var reply = await NextLineAsync(timeout ?? TimeSpan.FromSeconds(35));
        using var document = JsonDocument.Parse(reply);
        return document.RootElement.Clone();
    }

    /// <summary>The reply must come within <paramref name="timeout"/>.</summary>
    public async Task<string> NextLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The adapter did not answer within {timeout}. stderr:\n{Stderr}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The adapter closed stdout (exit code {(_process.HasExited ? _process.ExitCode : -1)}). stderr:\n{Stderr}");
        }
    }

    /// <summary>Sends <c>shutdown</c>, checks its reply and that the process exits with code 0.</summary>
    public async Task ShutdownAsync()
    {
        var reply = await SendAsync(new JsonObject { ["type"] = "shutdown" });
        Assert.Equal("shutdown", reply.GetProperty("type").GetString());
        Assert.True(reply.GetProperty("success").GetBoolean());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(cts.Token);
        Assert.Equal(0, _process.ExitCode);
        await _stdoutPump;
        // Exactly one line per command, nothing else.
        Assert.Equal(Volatile.Read(ref _sent), StdoutLines.Count);
    }

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public async Task CloseStdinAsync()
    {
        _process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(cts.Token);
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_allLines)
                {
                    _allLines.Add(line);
                }
                await _lines.Writer.WriteAsync(line);
            }
        }
        finally
        {
            _lines.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.StandardInput.Close();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (Exception)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
