namespace S2.StreamStore.Tests;

/// <summary>
/// A test that needs a real <c>s2 lite</c>: skipped with the reason unless S2_TEST_ENDPOINT is set
/// (./build.sh test-s2 starts lite inside a network namespace and sets it).
/// </summary>
public sealed class LiteFactAttribute : FactAttribute
{
    public LiteFactAttribute()
    {
        if (string.IsNullOrEmpty(Lite.Endpoint))
        {
            Skip = "S2_TEST_ENDPOINT is not set: these tests need s2 lite, which runs only inside a network namespace (./build.sh test-s2).";
        }
    }
}

/// <summary>The lite endpoint and helpers.</summary>
public static class Lite
{
    public static string? Endpoint => Environment.GetEnvironmentVariable("S2_TEST_ENDPOINT");

    public static S2Client NewClient() => new(new S2Options
    {
        AccessToken = "lite-test-token",
        Endpoint = new Uri(Endpoint!),
        RequestTimeout = TimeSpan.FromSeconds(10),
    });

    private static int s_counter;

    /// <summary>A fresh basin name (8-48 lowercase characters).</summary>
    public static string BasinName(string prefix) =>
        $"{prefix}-{Environment.ProcessId % 100000}-{Interlocked.Increment(ref s_counter)}-{Random.Shared.Next(1000, 9999)}";

    public static CancellationToken Timeout(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>A new basin with create-on-append off, and a new stream in it.</summary>
    public static async Task<(S2Client Client, Basin Basin, S2Stream Stream)> NewStreamAsync(string prefix)
    {
        var client = NewClient();
        var name = BasinName(prefix);
        await client.CreateBasinAsync(name, cancellationToken: Timeout());
        var basin = client.Basin(name);
        await basin.CreateStreamAsync("s", cancellationToken: Timeout());
        return (client, basin, basin.Stream("s"));
    }
}
