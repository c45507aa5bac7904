using S2.StreamStore;

namespace S2.Samples;

/// <summary>The command line every S2 sample takes: [endpoint | cloud] [access-token].</summary>
internal static class SampleArgs
{
    public const string DefaultEndpoint = "http://127.0.0.1:4566";

    public static S2Options Parse(string[] args)
    {
        var endpoint = args.Length > 0 ? args[0] : DefaultEndpoint;
        // s2 lite accepts any non-empty token; the cloud needs a real one.
        var token = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("S2_ACCESS_TOKEN") ?? "lite";
        return new S2Options
        {
            // "cloud": no endpoint, which is S2 cloud's.
            Endpoint = endpoint == "cloud" ? null : new Uri(endpoint),
            AccessToken = token,
        };
    }

    /// <summary>A basin name unique to this run (8-48 lowercase letters, digits and hyphens), so reruns never collide.</summary>
    public static string UniqueBasin(string prefix) =>
        $"{prefix}-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}-{Random.Shared.Next(1000, 9999)}";

    /// <summary>
    /// Ctrl+C cancels the run, and so does a minute passing: a sample that waits on a live read
    /// must still end by itself if the server stops answering. The basin is deleted either way.
    /// </summary>
    public static CancellationTokenSource CancelOnCtrlC()
    {
        var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return cts;
    }
}
