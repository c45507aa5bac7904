using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace StreamDingo.Benchmarks;

/// <summary>Timing, allocation and percentile helpers, and the result rows the program prints and writes.</summary>
internal static class Measure
{
    public static async Task<(double Seconds, long AllocatedBytes)> RunAsync(Func<Task> work)
    {
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        await work();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (seconds, GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore);
    }

    public static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];

    /// <summary>Peak resident set size of this process (VmHWM), in MiB.</summary>
    public static double PeakRssMib()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }
        return 0;
    }

    public static string N(double value, int digits = 0) => value.ToString("N" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}

/// <summary>The rows of one run: each scenario's figures, the seed's target and whether it was met.</summary>
internal sealed class Report
{
    private readonly JsonArray _rows = new();

    public void Add(string scenario, string title, string metric, double value, string target, bool met, JsonObject? extra = null)
    {
        var row = new JsonObject
        {
            ["benchmark"] = "streamdingo",
            ["scenario"] = scenario,
            ["title"] = title,
            ["layer"] = "dotnet",
            [metric] = value,
            ["target"] = target,
            ["target_met"] = met,
            ["server"] = BenchServer.Description,
            ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        };
        if (extra is not null)
        {
            foreach (var (key, node) in extra)
            {
                row[key] = node?.DeepClone();
            }
        }
        _rows.Add((JsonNode)row);
        Console.WriteLine($"{scenario,-24} {title}: {metric} = {Measure.N(value, value < 100 ? 2 : 0)}  (target {target}: {(met ? "met" : "MISSED")})");
    }

    public void Write(string? path)
    {
        if (path is not null)
        {
            File.WriteAllText(path, _rows.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }
}
