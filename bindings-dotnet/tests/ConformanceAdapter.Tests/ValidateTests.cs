using System.Text.Json.Nodes;
using ConformanceAdapter.Tests.Infrastructure;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests;

/// <summary><c>validate</c>: the package's own option checks, errors naming the protocol's parameter.</summary>
[Collection(AdapterMiscCollection.Name)]
public class ValidateTests(ServerFixture fixture) : AdapterTest(fixture)
{
    public static TheoryData<string, string?> Cases => new()
    {
        // target JSON, the parameter the error must name (null: valid)
        { """{"target":"retry-options","maxRetries":3,"initialDelayMs":100,"maxDelayMs":5000,"multiplier":2.0}""", null },
        { """{"target":"retry-options"}""", null },
        { """{"target":"retry-options","maxRetries":0,"multiplier":1}""", null },
        { """{"target":"retry-options","maxRetries":-1}""", "maxRetries" },
        { """{"target":"retry-options","initialDelayMs":0}""", "initialDelayMs" },
        { """{"target":"retry-options","initialDelayMs":-100}""", "initialDelayMs" },
        { """{"target":"retry-options","initialDelayMs":1000,"maxDelayMs":500}""", "maxDelayMs" },
        { """{"target":"retry-options","maxDelayMs":0}""", "maxDelayMs" },
        { """{"target":"retry-options","multiplier":0.5}""", "multiplier" },
        { """{"target":"retry-options","maxRetries":1.5}""", "maxRetries" },
        { """{"target":"idempotent-producer","producerId":"test-producer","epoch":0,"maxBatchBytes":1048576}""", null },
        { """{"target":"idempotent-producer","producerId":"test-producer","maxBatchItems":10}""", null },
        { """{"target":"idempotent-producer"}""", null },
        { """{"target":"idempotent-producer","producerId":"test-producer","epoch":-1}""", "epoch" },
        { """{"target":"idempotent-producer","producerId":"test-producer","maxBatchBytes":0}""", "maxBatchBytes" },
        { """{"target":"idempotent-producer","producerId":"test-producer","maxBatchBytes":-1}""", "maxBatchBytes" },
        { """{"target":"idempotent-producer","producerId":"test-producer","maxBatchItems":0}""", "maxBatchItems" },
        { """{"target":"idempotent-producer","producerId":"test-producer","maxBatchItems":-1}""", "maxBatchItems" },
        { """{"target":"idempotent-producer","producerId":""}""", "producerId" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Options_are_checked_by_the_package(string target, string? invalidParameter)
    {
        await using var adapter = await StartAsync(TestServers.Electric);
        var reply = await adapter.SendAsync(new JsonObject { ["type"] = "validate", ["target"] = JsonNode.Parse(target) });
        if (invalidParameter is null)
        {
            Ok(reply, "validate");
        }
        else
        {
            var error = Error(reply, "validate", "INVALID_ARGUMENT");
            Assert.Contains(invalidParameter, Str(error, "message"), StringComparison.Ordinal);
        }
        await adapter.ShutdownAsync();
    }

    [Fact]
    public async Task Unknown_targets_are_NOT_SUPPORTED()
    {
        await using var adapter = await StartAsync(TestServers.Node);
        Error(await adapter.SendAsync(new JsonObject { ["type"] = "validate", ["target"] = new JsonObject { ["target"] = "flux-capacitor" } }), "validate", "NOT_SUPPORTED");
        await adapter.ShutdownAsync();
    }
}
