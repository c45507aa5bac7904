using System.Diagnostics;

namespace DurableStreams.Tests.Infrastructure;

/// <summary>Runs a program to its end for a test (shared by the test projects that publish and run samples).</summary>
public static class ChildProcess
{
    /// <summary>Runs <paramref name="file"/> and returns its exit code and everything it printed; kills it after <paramref name="timeout"/>.</summary>
    /// <exception cref="TimeoutException">It did not finish in time.</exception>
    public static async Task<(int Code, string Log)> RunAsync(string file, string arguments, TimeSpan timeout)
    {
        using var process = new Process
        {
            StartInfo = new ProcessStartInfo(file, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        process.StartInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        process.StartInfo.Environment["DOTNET_NOLOGO"] = "1";
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} did not finish within {timeout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
