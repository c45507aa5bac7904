using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DurableStreams.Tests.Infrastructure;

namespace ConformanceAdapter.Tests.Infrastructure;

[CollectionDefinition(Name)]
public sealed class AdapterStreamCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "adapter streams";
}

[CollectionDefinition(Name)]
public sealed class AdapterReadCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "adapter reads";
}

[CollectionDefinition(Name)]
public sealed class AdapterProducerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "adapter producers";
}

[CollectionDefinition(Name)]
public sealed class AdapterMiscCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "adapter dynamic, validation and benchmarks";
}

/// <summary>Helpers for adapter tests against the real servers.</summary>
public abstract class AdapterTest : ServerTest
{
    private static readonly HttpClient s_http = new();

    protected AdapterTest(ServerFixture fixture)
        : base(fixture)
    {
    }

    /// <summary>Starts an adapter initialized for the server of <paramref name="kind"/>.</summary>
    protected Task<AdapterProcess> StartAsync(string kind) => AdapterProcess.StartAsync(Server(kind).StreamPrefixUrl);

    /// <summary>Appends directly over HTTP, bypassing the adapter (the runner's <c>server-append</c>).</summary>
    protected async Task ServerAppendAsync(string kind, string path, byte[] data, string contentType)
    {
        using var content = new ByteArrayContent(data);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await s_http.PostAsync(new Uri(Server(kind).StreamPrefixUrl + path), content);
        Assert.True(response.IsSuccessStatusCode, $"server append: {(int)response.StatusCode}");
    }

    protected Task ServerAppendAsync(string kind, string path, string text, string contentType) =>
        ServerAppendAsync(kind, path, Encoding.UTF8.GetBytes(text), contentType);

    /// <summary>
    /// Makes the server fail the next requests to <paramref name="path"/> as <paramref name="fault"/>
    /// says (<c>status</c>, <c>count</c>, <c>method</c>, <c>dropConnection</c>, ...): the runner's
    /// <c>inject-error</c>. Only the Node reference server has this endpoint.
    /// </summary>
    protected async Task InjectFaultAsync(string kind, string path, JsonObject fault)
    {
        var body = new JsonObject { ["path"] = new Uri(Server(kind).StreamPrefixUrl + path).AbsolutePath, ["count"] = 1 };
        foreach (var (name, value) in fault)
        {
            body[name] = value?.DeepClone();
        }
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await s_http.PostAsync(new Uri(Server(kind).BaseUrl + "/_test/inject-error"), content);
        Assert.True(response.IsSuccessStatusCode, $"inject-error: {(int)response.StatusCode}");
    }

    /// <summary>A success reply of <paramref name="type"/>, with no null-valued field anywhere.</summary>
    protected static JsonElement Ok(JsonElement reply, string type)
    {
        Assert.True(reply.GetProperty("success").GetBoolean(), $"expected success, got {reply}");
        Assert.Equal(type, reply.GetProperty("type").GetString());
        AssertNoNulls(reply);
        return reply;
    }

    /// <summary>An error reply for <paramref name="commandType"/> with <paramref name="code"/> (and <paramref name="status"/>, or no status).</summary>
    protected static JsonElement Error(JsonElement reply, string commandType, string code, int? status = null)
    {
        Assert.Equal("error", reply.GetProperty("type").GetString());
        Assert.False(reply.GetProperty("success").GetBoolean());
        Assert.Equal(commandType, reply.GetProperty("commandType").GetString());
        Assert.Equal(code, reply.GetProperty("errorCode").GetString());
        Assert.False(string.IsNullOrEmpty(reply.GetProperty("message").GetString()));
        if (status is { } s)
        {
            Assert.Equal(s, reply.GetProperty("status").GetInt32());
        }
        else
        {
            Assert.False(reply.TryGetProperty("status", out _), $"no HTTP status expected: {reply}");
        }
        AssertNoNulls(reply);
        return reply;
    }

    protected static int Status(JsonElement reply) => reply.GetProperty("status").GetInt32();

    protected static string Str(JsonElement reply, string name) => reply.GetProperty(name).GetString()!;

    protected static bool Bool(JsonElement reply, string name) => reply.GetProperty(name).GetBoolean();

    protected static bool HasField(JsonElement reply, string name) => reply.TryGetProperty(name, out _);

    protected static JsonElement[] Chunks(JsonElement reply) => [.. reply.GetProperty("chunks").EnumerateArray()];

    /// <summary>The concatenated chunk data, decoding binary chunks.</summary>
    protected static byte[] ChunkBytes(JsonElement reply)
    {
        var bytes = new List<byte>();
        foreach (var chunk in Chunks(reply))
        {
            var data = Str(chunk, "data");
            bytes.AddRange(chunk.TryGetProperty("binary", out var b) && b.GetBoolean() ? Convert.FromBase64String(data) : Encoding.UTF8.GetBytes(data));
        }
        return [.. bytes];
    }

    /// <summary>Undefined fields must be left out, never written as null.</summary>
    protected static void AssertNoNulls(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                Assert.Fail("a reply contains a null value");
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Assert.True(property.Value.ValueKind != JsonValueKind.Null, $"field {property.Name} is null");
                    AssertNoNulls(property.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    AssertNoNulls(item);
                }
                break;
        }
    }
}
