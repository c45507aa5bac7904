using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests.Integrations;

/// <summary>Runs alone, after the parallel collections: the NativeAOT compile loads every core and would skew timing-sensitive tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AotSmokeCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "native aot smoke";
}

/// <summary>Publishes samples/AotSmoke with NativeAOT and runs it against both real servers.</summary>
[Collection(AotSmokeCollection.Name)]
public class AotSmokeTests : ServerTest
{
    public AotSmokeTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task NativeAotApp_CreatesAppendsAndReads()
    {
        var project = Path.Combine(TestServers.RepoRoot, "bindings-dotnet", "samples", "AotSmoke", "AotSmoke.csproj");
        var output = Path.Combine(Path.GetTempPath(), $"ds-aot-smoke-{Guid.NewGuid():N}");
        try
        {
            var (code, log) = await ChildProcess.RunAsync("dotnet", $"publish \"{project}\" -c Release -r linux-x64 -p:PublishAot=true -o \"{output}\" -nologo", TimeSpan.FromMinutes(8));
            Assert.True(code == 0, $"dotnet publish failed ({code}):\n{log}");
            Assert.DoesNotContain("warning IL", log, StringComparison.Ordinal); // no trimming/AOT warnings
            var app = Path.Combine(output, "AotSmoke");
            Assert.True(File.Exists(app), $"{app} is missing");
            Assert.False(File.Exists(Path.Combine(output, "AotSmoke.dll")), "not a NativeAOT build");
            foreach (var kind in new[] { TestServers.Electric, TestServers.Node })
            {
                var (runCode, runLog) = await ChildProcess.RunAsync(app, Server(kind).StreamPrefixUrl, TimeSpan.FromMinutes(1));
                Assert.True(runCode == 0, $"AotSmoke against {kind} failed ({runCode}):\n{runLog}");
                Assert.Contains("a=1.5,b=2.5,c=3.5", runLog, StringComparison.Ordinal);
            }
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
        }
    }
}
