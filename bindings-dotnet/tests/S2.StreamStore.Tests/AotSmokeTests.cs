using DurableStreams.Tests.Infrastructure;

namespace S2.StreamStore.Tests;

/// <summary>Publishes samples/S2/AotSmoke with NativeAOT (no trimming or AOT warning allowed) and runs it against s2 lite.</summary>
public sealed class AotSmokeTests
{
    [LiteFact]
    public async Task A_NativeAOT_app_appends_through_a_stream_and_a_producer_and_reads_back()
    {
        var project = Path.Combine(RepositoryRoot.Path, "bindings-dotnet", "samples", "S2", "AotSmoke", "S2AotSmoke.csproj");
        var output = Path.Combine(Path.GetTempPath(), $"s2-aot-smoke-{Guid.NewGuid():N}");
        try
        {
            // These tests run inside a network namespace of their own (s2 lite binds 0.0.0.0): the
            // vulnerability audit cannot reach its feed there, and the normal restores audit already.
            var (code, log) = await ChildProcess.RunAsync("dotnet", $"publish \"{project}\" -c Release -r linux-x64 -o \"{output}\" -nologo -p:NuGetAudit=false", TimeSpan.FromMinutes(8));
            Assert.True(code == 0, $"dotnet publish failed ({code}):\n{log}");
            Assert.DoesNotContain("warning IL", log, StringComparison.Ordinal);
            var app = Path.Combine(output, "S2AotSmoke");
            Assert.True(File.Exists(app), $"{app} is missing");
            Assert.False(File.Exists(Path.Combine(output, "S2AotSmoke.dll")), "not a NativeAOT build");
            var (runCode, runLog) = await ChildProcess.RunAsync(app, Lite.Endpoint!, TimeSpan.FromMinutes(1));
            Assert.True(runCode == 0, $"S2AotSmoke failed ({runCode}):\n{runLog}");
            Assert.Contains("a=1.5,b=2.5,c=3.5", runLog, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                Directory.Delete(output, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
