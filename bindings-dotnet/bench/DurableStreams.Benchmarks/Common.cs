using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DurableStreams.Benchmarks;

/// <summary>A benchmark's own check failed (wrong count, lost message...): the program exits with status 1.</summary>
internal sealed class BenchFailure(string message) : Exception(message);

/// <summary>
/// <c>--name value</c> flags, as the Rust programs take them. Every command accepts
/// <c>--json PATH</c> (where to write its results), <c>--server URL</c> (a stream prefix URL of
/// a running server; otherwise the command starts its own) and <c>--layers</c>.
/// </summary>
internal sealed class Flags
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    private Flags(string command)
    {
        Command = command;
    }

    public string Command { get; }

    public static Flags Parse(string command, string about, string[] args, params (string Name, string Help)[] known)
    {
        (string Name, string Help)[] common =
        [
            ("server", "URL: stream prefix URL of a running server (default: start Electric's server, --durability memory)"),
            ("layers", "LIST: dotnet,httpclient (default both)"),
            ("json", "PATH: write the results here"),
        ];
        var all = known.Concat(common).ToArray();
        string Usage()
        {
            var text = new StringBuilder($"{command}: {about}\n\nOptions:\n");
            foreach (var (name, help) in all)
            {
                text.Append(CultureInfo.InvariantCulture, $"  --{name,-14} {help}\n");
            }
            return text.ToString();
        }
        var flags = new Flags(command);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                Console.Write(Usage());
                Environment.Exit(0);
            }
            var name = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : string.Empty;
            if (!all.Any(k => k.Name == name))
            {
                Console.Error.WriteLine($"{command}: unknown argument \"{arg}\"\n\n{Usage()}");
                Environment.Exit(2);
            }
            if (i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"{command}: {arg} needs a value");
                Environment.Exit(2);
            }
            flags._values[name] = args[++i];
        }
        return flags;
    }

    public string? Str(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public long Int(string name, long fallback, long min = 1)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return fallback;
        }
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min)
        {
            Console.Error.WriteLine($"{Command}: --{name} \"{text}\": expected an integer >= {min}");
            Environment.Exit(2);
        }
        return value;
    }

    /// <summary>Whether the layer ("dotnet" or "httpclient") is to run.</summary>
    public bool Runs(string layer)
    {
        var list = Str("layers");
        return list is null || list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Contains(layer);
    }
}

/// <summary>
/// Electric's server in memory mode (no fsync), started through the test harness's
/// <c>ds-test-servers electric --durability-memory</c> as the Rust benchmarks start it; stopped
/// by closing its stdin. A separate process, so its CPU time is not counted as the client's.
/// </summary>
internal sealed class BenchServer : IDisposable
{
    public const string Description = "electric durable-streams-server 0.1.5 (--durability memory)";

    /// <summary>The Node reference server, for the benchmarks of what only it implements (subscriptions).</summary>
    public const string NodeDescription = "node @durable-streams/server 0.3.7 (in memory)";

    private readonly Process? _process;

    private BenchServer(string prefix, string? faultyPrefix, Process? process)
    {
        Prefix = prefix.TrimEnd('/');
        FaultyPrefix = faultyPrefix?.TrimEnd('/');
        _process = process;
    }

    /// <summary>The stream prefix URL: streams are <c>{Prefix}/{name}</c>.</summary>
    public string Prefix { get; }

    /// <summary>The same streams through the harness's fault-injecting proxy (POSTs fail at the given rate), when started with one.</summary>
    public string? FaultyPrefix { get; }

    public string StreamUrl(string name) => $"{Prefix}/{name}";

    /// <summary>Starts Electric's server; with <paramref name="faultyPostsPercent"/> above 0 also a proxy in front of it that fails that share of the POSTs (<see cref="FaultyPrefix"/>).</summary>
    public static BenchServer Start(Flags flags, double faultyPostsPercent = 0) => Start(flags, "electric", faultyPostsPercent);

    /// <summary>Starts the Node reference server (through <c>ds-test-servers node</c>, with <c>--webhooks</c> when <paramref name="webhooks"/>) unless <c>--server</c> is given.</summary>
    public static BenchServer StartNode(Flags flags, bool webhooks = false) => Start(flags, "node", 0, webhooks);

    private static BenchServer Start(Flags flags, string kind, double faultyPostsPercent, bool webhooks = false)
    {
        if (flags.Str("server") is { } given)
        {
            return new BenchServer(given, null, null);
        }
        var binary = Environment.GetEnvironmentVariable("DS_TEST_SERVERS_BIN");
        if (string.IsNullOrEmpty(binary))
        {
            binary = Path.Combine(RepoRoot(), "target", "release", "ds-test-servers");
        }
        if (!File.Exists(binary))
        {
            throw new BenchFailure($"ds-test-servers not found at {binary}: build it with `cargo build --release -p durable-streams-test-harness` or set DS_TEST_SERVERS_BIN");
        }
        var process = new Process
        {
            StartInfo = new ProcessStartInfo(binary)
            {
                ArgumentList = { kind },
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            },
        };
        if (kind == "electric")
        {
            process.StartInfo.ArgumentList.Add("--durability-memory");
        }
        if (webhooks)
        {
            process.StartInfo.ArgumentList.Add("--webhooks");
        }
        if (faultyPostsPercent > 0)
        {
            process.StartInfo.ArgumentList.Add("--faulty-posts");
            process.StartInfo.ArgumentList.Add(faultyPostsPercent.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        process.Start();
        string? prefix = null, faultyPrefix = null;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line == "READY")
            {
                break;
            }
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && parts[0] == kind)
            {
                prefix = parts[2];
            }
            else if (parts.Length == 3 && parts[0] == "electric-faulty")
            {
                faultyPrefix = parts[2];
            }
        }
        if (prefix is null)
        {
            throw new BenchFailure($"ds-test-servers did not start the {kind} server (see its output above)");
        }
        if (faultyPostsPercent > 0 && faultyPrefix is null)
        {
            throw new BenchFailure("ds-test-servers did not start the fault-injecting proxy (see its output above)");
        }
        _ = process.StandardOutput.ReadToEndAsync();
        return new BenchServer(prefix, faultyPrefix, process);
    }

    public void Dispose()
    {
        if (_process is null)
        {
            return;
        }
        try
        {
            _process.StandardInput.Close(); // EOF stops the servers
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    /// <summary>The repository root: the nearest ancestor of the program holding Cargo.toml and bindings-dotnet/.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cargo.toml")) && Directory.Exists(Path.Combine(dir.FullName, "bindings-dotnet")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}

/// <summary>CPU time (user + system, all threads) of this process, and managed allocations.</summary>
internal static partial class Meter
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public long Sec;
        public long Usec;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public Timeval Utime;
        public Timeval Stime;
        public long Maxrss;
        public long Ixrss, Idrss, Isrss, Minflt, Majflt, Nswap, Inblock, Oublock, Msgsnd, Msgrcv, Nsignals, Nvcsw, Nivcsw;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, out Rusage usage);

    /// <summary>User + system CPU seconds of the process so far (<c>getrusage(RUSAGE_SELF)</c>).</summary>
    public static double CpuSeconds()
    {
        if (GetRusage(0, out var u) != 0)
        {
            return 0;
        }
        return u.Utime.Sec + u.Utime.Usec / 1e6 + u.Stime.Sec + u.Stime.Usec / 1e6;
    }

    /// <summary>
    /// Starts a new peak-RSS window (<c>VmHWM</c> back to the current RSS, by writing 5 to
    /// <c>/proc/self/clear_refs</c>), so that a read's peak excludes the untimed write before it.
    /// </summary>
    public static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
            // Not Linux, or not allowed: the peak then covers the whole process.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Current resident set size in MiB (<c>VmRSS</c>).</summary>
    public static double RssMib() => StatusMib("VmRSS:");

    /// <summary>Peak resident set size in MiB (<c>VmHWM</c>).</summary>
    public static double PeakRssMib() => StatusMib("VmHWM:");

    private static double StatusMib(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kib = long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kib / 1024.0;
            }
        }
        return 0;
    }

    /// <summary>Bytes allocated on the managed heap by every thread so far (precise).</summary>
    public static long Allocated() => GC.GetTotalAllocatedBytes(precise: true);

    /// <summary>Garbage collections so far (all generations).</summary>
    public static int Collections() => GC.CollectionCount(0);

    /// <summary>Microseconds between two <see cref="Stopwatch.GetTimestamp"/> values.</summary>
    public static double Micros(long from, long to) => (to - from) * 1e6 / Stopwatch.Frequency;
}

/// <summary>What one measured run cost: wall time, CPU time, managed allocations, gen0 GCs.</summary>
internal readonly record struct Cost(double Seconds, double CpuSeconds, long AllocatedBytes, int Collections)
{
    public static Probe Start() => new(Stopwatch.GetTimestamp(), Meter.CpuSeconds(), Meter.Allocated(), Meter.Collections());

    internal readonly record struct Probe(long Ticks, double Cpu, long Allocated, int Gcs)
    {
        public Cost Stop() => new(
            Stopwatch.GetElapsedTime(Ticks).TotalSeconds,
            Meter.CpuSeconds() - Cpu,
            Meter.Allocated() - Allocated,
            Meter.Collections() - Gcs);
    }
}

/// <summary>Latency samples in nanoseconds; percentiles by nearest rank, like bench/src/lib.rs.</summary>
internal sealed class Samples(int capacity)
{
    private readonly List<double> _ns = new(capacity);
    private bool _sorted;

    public int Count => _ns.Count;

    public void Record(double ns)
    {
        _ns.Add(ns);
        _sorted = false;
    }

    public void RecordTicks(long ticks) => Record(ticks * 1e9 / Stopwatch.Frequency);

    public double PercentileUs(double p)
    {
        if (_ns.Count == 0)
        {
            return 0;
        }
        if (!_sorted)
        {
            _ns.Sort();
            _sorted = true;
        }
        var rank = (int)Math.Ceiling(p / 100.0 * _ns.Count - 1e-9);
        return _ns[Math.Clamp(rank, 1, _ns.Count) - 1] / 1000.0;
    }

    public double MeanUs() => _ns.Count == 0 ? 0 : _ns.Average() / 1000.0;

    /// <summary>p50_us, p99_us, p999_us, max_us, mean_us, samples.</summary>
    public void AddTo(JsonObject result)
    {
        result["p50_us"] = PercentileUs(50);
        result["p99_us"] = PercentileUs(99);
        result["p999_us"] = PercentileUs(99.9);
        result["max_us"] = PercentileUs(100);
        result["mean_us"] = MeanUs();
        result["samples"] = Count;
    }
}

internal static class Stats
{
    /// <summary>The median (the upper one for an even count), and its index in <paramref name="values"/>.</summary>
    public static (double Value, int Index) Median(IReadOnlyList<double> values)
    {
        var sorted = values.Select((v, i) => (v, i)).OrderBy(x => x.v).ToList();
        var mid = sorted[sorted.Count / 2];
        return (mid.v, mid.i);
    }

    public static string Thousands(double n) => Math.Max(0, n).ToString("N0", CultureInfo.InvariantCulture);

    public static string F(double n, int digits = 1) => n.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>The least-squares slope of <c>(seconds, MiB)</c> points, in MiB per minute (0 for fewer than 2).</summary>
    public static double SlopePerMinute(IReadOnlyList<(double Seconds, double Mib)> points)
    {
        if (points.Count < 2)
        {
            return 0;
        }
        var meanT = points.Average(p => p.Seconds);
        var meanY = points.Average(p => p.Mib);
        var covariance = points.Sum(p => (p.Seconds - meanT) * (p.Mib - meanY));
        var variance = points.Sum(p => (p.Seconds - meanT) * (p.Seconds - meanT));
        return variance == 0 ? 0 : covariance / variance * 60;
    }

    public static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
}

/// <summary>Collects a command's results (one per layer and scenario), prints each line, writes them as one JSON array.</summary>
internal sealed class Results(Flags flags)
{
    private readonly JsonArray _results = new();

    /// <summary>The result object every row starts from: benchmark, scenario, title, layer.</summary>
    public static JsonObject New(string benchmark, string scenario, string title, string layer) => new()
    {
        ["benchmark"] = benchmark,
        ["scenario"] = scenario,
        ["title"] = title,
        ["layer"] = layer,
    };

    public void Add((string Line, JsonObject Result) row) => Add(row.Line, row.Result);

    public void Add(string line, JsonObject result)
    {
        Console.WriteLine(line);
        result["server"] ??= BenchServer.Description;
        result["runtime"] = RuntimeInformation.FrameworkDescription;
        result["gc"] = System.Runtime.GCSettings.IsServerGC ? "server" : "workstation";
        _results.Add(result);
    }

    public void Write()
    {
        if (flags.Str("json") is { } path)
        {
            File.WriteAllText(path, _results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }
}

/// <summary>Layer names as bench-report knows them.</summary>
internal static class Layer
{
    public const string Ours = "dotnet";
    public const string HttpClient = "dotnet-httpclient";
}
