using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using DurableStreams.State;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Interoperability with the TypeScript package <c>@durable-streams/state</c> 0.3.1 on both real
/// servers, through the Node script the Rust tests use
/// (<c>rust-core/durable-streams/tests/state_interop/interop.mjs</c>): what the package writes
/// materializes here exactly as in the package, and what <see cref="StateWriter"/> writes
/// materializes in the package exactly as here, compared as JSON.
/// </summary>
[Collection(WriteCollection.Name)]
public class StateInteropTests : ServerTest
{
    public StateInteropTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Events_written_by_the_npm_package_materialize_identically_here(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "npm-written");
        await NodeScript.RunAsync("write", stream.Url);

        // Every message parses, and serializes back to exactly what the package wrote.
        var raw = new List<JsonNode?>();
        await using (var response = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await foreach (var chunk in response.ReadBytesAsync(Timeout()))
            {
                foreach (var message in chunk.Messages!)
                {
                    var parsed = StateEvents.Parse(message.Span, StateTestJson.Default.JsonElement);
                    var written = parsed.Change is { } change ? StateEvents.Serialize(change, StateTestJson.Default.JsonElement) : StateEvents.Serialize(parsed.Control!);
                    var original = JsonNode.Parse(message.Span);
                    // As served (the Node server sets headers.offset on each message): the same JSON back.
                    Assert.True(JsonNode.DeepEquals(original, JsonNode.Parse(written)), $"[{kind}] {original?.ToJsonString()} != {System.Text.Encoding.UTF8.GetString(written)}");
                    raw.Add(original);
                }
            }
        }
        Assert.Equal(12, raw.Count);

        var ours = new MaterializedState();
        var users = ours.Collection("user", StateTestJson.Default.JsonElement);
        await ours.CatchUpAsync(stream, Timeout());
        var theirs = await NodeScript.MaterializeAsync(stream.Url);
        var expected = JsonNode.Parse("""{"user": {"3": {"id": "3", "name": "Carol"}}, "note": {"n:2": {"id": "n:2", "text": "after reset"}}}""");
        Assert.True(JsonNode.DeepEquals(expected, theirs), $"[{kind}] the package's own result: {theirs?.ToJsonString()}");
        Assert.True(JsonNode.DeepEquals(theirs, JsonNode.Parse(StateTestsHelpers.Entities(ours))), $"[{kind}] ours: {StateTestsHelpers.Entities(ours)}");
        Assert.Equal("Carol", users["3"].GetProperty("name").GetString());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Events_written_here_materialize_identically_in_the_npm_package(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "dotnet-written");
        var writer = new StateWriter(stream);
        var user = StateTestJson.Default.StateUser;
        await writer.InsertAsync("user", "1", new StateUser("Alice", ["a", "b"]), user, Timeout());
        await writer.WriteAsync(
            ChangeEvent.Update("user", "1", new StateUser("Alice Smith")).WithOldValue(new StateUser("Alice")).WithTxId("tx-1").WithTimestamp(new DateTimeOffset(2025, 1, 15, 10, 35, 0, TimeSpan.Zero)).WithHeader("x-origin", "dotnet"),
            user,
            Timeout());
        await writer.UpdateAsync("user", "ghost", new StateUser("created by update"), user, Timeout());
        await writer.InsertAsync("user", "1", new StateUser("Alice again"), user, Timeout());
        await writer.WriteAsync(ControlEvent.SnapshotStart(), Timeout());
        await writer.WriteAsync(
            new StateBatch()
                .Add(ChangeEvent.Upsert("note", "n:1", JsonDocument.Parse("""{"text": "héllo 😀", "n": 1.5}""").RootElement), StateTestJson.Default.JsonElement)
                .Add(ChangeEvent.Upsert("note", "n:2", JsonDocument.Parse("null").RootElement), StateTestJson.Default.JsonElement)
                .Add(ChangeEvent.Insert("counter", "c", 42), StateTestJson.Default.Int32)
                .Add(ControlEvent.SnapshotEnd("snap-1")),
            Timeout());
        await writer.DeleteAsync("note", "n:2", Timeout());
        await writer.DeleteAsync("note", "never-existed", Timeout());
        await writer.InsertAsync("gone", "g", 1, StateTestJson.Default.Int32, Timeout());
        await writer.DeleteAsync("gone", "g", Timeout());

        var ours = new MaterializedState();
        ours.Collection("user", user);
        await ours.CatchUpAsync(stream, Timeout());
        var expected = JsonNode.Parse("""
            {"user": {"1": {"name": "Alice again", "tags": null}, "ghost": {"name": "created by update", "tags": null}},
             "note": {"n:1": {"text": "héllo 😀", "n": 1.5}},
             "counter": {"c": 42}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(StateTestsHelpers.Entities(ours))), $"[{kind}] ours: {StateTestsHelpers.Entities(ours)}");
        var theirs = await NodeScript.MaterializeAsync(stream.Url);
        Assert.True(JsonNode.DeepEquals(expected, theirs), $"[{kind}] theirs: {theirs?.ToJsonString()}");

        // A reset written here clears the package's state too; the producer path writes the same format.
        await using var producer = stream.CreateProducer("dotnet-interop");
        var viaProducer = new StateWriter(producer);
        await viaProducer.WriteAsync(ControlEvent.Reset(), Timeout());
        await viaProducer.UpsertAsync("user", "9", new StateUser("Zed"), user, Timeout());
        await viaProducer.FlushAsync(Timeout());
        await ours.CatchUpAsync(stream, Timeout());
        theirs = await NodeScript.MaterializeAsync(stream.Url);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"user": {"9": {"name": "Zed", "tags": null}}}"""), theirs), $"[{kind}] theirs: {theirs?.ToJsonString()}");
        Assert.True(JsonNode.DeepEquals(theirs, JsonNode.Parse(StateTestsHelpers.Entities(ours))), $"[{kind}] ours: {StateTestsHelpers.Entities(ours)}");
    }

    /// <summary>
    /// The Node side: the Rust tests' script and package.json, copied into
    /// <c>target/tmp/state-interop-dotnet</c>, with the packages the Rust test installed (its
    /// <c>node_modules</c> linked) or, without them, an <c>npm install</c> there.
    /// </summary>
    private static class NodeScript
    {
        private static readonly SemaphoreSlim s_setup = new(1, 1);
        private static string? s_directory;

        internal static async Task<JsonNode?> MaterializeAsync(string url)
        {
            var printed = await RunAsync("materialize", url);
            return JsonNode.Parse(printed);
        }

        internal static async Task<string> RunAsync(string command, string url)
        {
            var directory = await DirectoryAsync();
            var (exit, stdout, stderr) = await ExecAsync("node", ["interop.mjs", command, url], directory, TimeSpan.FromSeconds(60));
            Assert.True(exit == 0, $"node interop.mjs {command} failed ({exit}): {stderr}");
            return stdout;
        }

        private static async Task<string> DirectoryAsync()
        {
            await s_setup.WaitAsync();
            try
            {
                if (s_directory is not null)
                {
                    return s_directory;
                }
                var source = Path.Combine(TestServers.RepoRoot, "rust-core", "durable-streams", "tests", "state_interop");
                var directory = Path.Combine(TestServers.RepoRoot, "target", "tmp", "state-interop-dotnet");
                Directory.CreateDirectory(directory);
                foreach (var file in new[] { "package.json", "interop.mjs" })
                {
                    File.Copy(Path.Combine(source, file), Path.Combine(directory, file), overwrite: true);
                }
                var modules = Path.Combine(directory, "node_modules");
                if (!HasPackage(modules))
                {
                    var rustModules = Path.Combine(TestServers.RepoRoot, "target", "tmp", "state-interop-npm-0.3.1", "node_modules");
                    if (HasPackage(rustModules) && !Directory.Exists(modules))
                    {
                        Directory.CreateSymbolicLink(modules, rustModules);
                    }
                    else
                    {
                        var (exit, _, stderr) = await ExecAsync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], directory, TimeSpan.FromMinutes(5));
                        Assert.True(exit == 0, $"npm install in {directory} failed: {stderr}");
                    }
                }
                s_directory = directory;
                return directory;
            }
            finally
            {
                s_setup.Release();
            }
        }

        private static bool HasPackage(string modules)
        {
            var manifest = Path.Combine(modules, "@durable-streams", "state", "package.json");
            return File.Exists(manifest) && File.ReadAllText(manifest).Contains("\"version\": \"0.3.1\"", StringComparison.Ordinal);
        }

        private static async Task<(int Exit, string Stdout, string Stderr)> ExecAsync(string file, string[] arguments, string directory, TimeSpan timeout)
        {
            var start = new ProcessStartInfo(file)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
            using var process = Process.Start(start)!;
            using var cts = new CancellationTokenSource(timeout);
            var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
            var stderr = process.StandardError.ReadToEndAsync(cts.Token);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"`{file} {string.Join(' ', arguments)}` did not finish within {timeout}.");
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
