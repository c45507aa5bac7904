using System.Text;
using System.Text.Json;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>JSON reads: null messages, the raw text of each message (<see cref="ByteChunk.Messages"/>) and per-message parse errors.</summary>
[Collection(ReadCollection.Name)]
public class JsonMessageTests : ServerTest
{
    public JsonMessageTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    /// <summary>Messages whose boundaries a naive splitter gets wrong.</summary>
    internal static readonly string[] TrickyMessages =
    [
        "\"a]b\"",
        "\"x,y\"",
        "\"he said \\\"hi]\\\", then left\"",
        "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
        "[1,[2,[3,\"]\"]],{\"k\":[]}]",
        "{\"a\":{\"b\":[1,2,{\"c\":\"],[\"}]},\"d\":\"\\\\\"}",
        "1.5e+10",
        "-2E-3",
        "null",
        "true",
        "{}",
        "[]",
        "\"\"",
    ];

    /// <summary>The messages as one JSON array with assorted whitespace between the elements.</summary>
    internal static string TrickyArray()
    {
        var separators = new[] { " , ", ",\n  ", "\t,\r\n", "," };
        var text = new StringBuilder("[ ");
        for (var i = 0; i < TrickyMessages.Length; i++)
        {
            text.Append(TrickyMessages[i]);
            if (i < TrickyMessages.Length - 1)
            {
                text.Append(separators[i % separators.Length]);
            }
        }
        return text.Append(" \n]").ToString();
    }

    private static bool SameJson(string expected, string actual) =>
        JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, JsonDocument.Parse(actual).RootElement);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_JSON_null_message_is_a_null_item(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "json-null");
        await stream.AppendAsync("""[null, {"Type":"x","N":1}, null]""");

        await using (var r = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            Assert.Equal([null, new MyEvent("x", 1), null], await r.ReadAllJsonAsync<MyEvent>(Timeout()));
        }
        var streamed = new List<MyEvent?>();
        await using (var r = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await foreach (var item in r.ReadJsonAsync<MyEvent>(Timeout()))
            {
                streamed.Add(item);
            }
        }
        Assert.Equal([null, new MyEvent("x", 1), null], streamed);
        var batched = new List<MyEvent?>();
        await using (var r = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await foreach (var batch in r.ReadJsonBatchesAsync<MyEvent>(Timeout()))
            {
                batched.AddRange(batch.Items);
            }
        }
        Assert.Equal([null, new MyEvent("x", 1), null], batched);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Chunk_messages_give_each_message_as_stored(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "json-raw");
        await stream.AppendAsync(TrickyArray());

        var messages = new List<string>();
        await using (var r = await stream.StreamAsync(cancellationToken: Timeout()))
        {
            await foreach (var chunk in r.ReadBytesAsync(Timeout()))
            {
                Assert.NotNull(chunk.Messages);
                var count = 0;
                foreach (var message in chunk.Messages)
                {
                    messages.Add(Encoding.UTF8.GetString(message.Span));
                    count++;
                }
                Assert.Equal(chunk.Messages.Count, count);
                if (chunk.UpToDate)
                {
                    break;
                }
            }
        }

        Assert.Equal(TrickyMessages.Length, messages.Count);
        for (var i = 0; i < TrickyMessages.Length; i++)
        {
            // The Node server re-encodes messages (unescapes \u00e9, rewrites 1.5e+10); each must stay the same JSON value, alone.
            Assert.True(SameJson(TrickyMessages[i], messages[i]), $"message {i}: appended {TrickyMessages[i]}, read {messages[i]}");
        }
        if (kind == TestServers.Electric)
        {
            // Electric stores each message's bytes as appended: the slices must be exactly them.
            Assert.Equal(TrickyMessages, messages);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_message_that_does_not_deserialize_names_its_index_in_the_chunk(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await NewStreamAsync(client, "application/json", "json-bad");
        await stream.AppendAsync("""[{"Type":"ok","N":1}, {"Type":"ok","N":2}, "not an event", {"Type":"ok","N":4}]""");

        await using var r = await stream.StreamAsync(cancellationToken: Timeout());
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => r.ReadAllJsonAsync<MyEvent>(Timeout()));
        Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
        Assert.Contains("Message 2 of the chunk", e.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(MyEvent), e.Message, StringComparison.Ordinal);
        Assert.IsType<JsonException>(e.InnerException, exactMatch: false);
    }
}

/// <summary>The same JSON reads against a scripted server, whose bytes are exactly what the test wrote.</summary>
public class JsonMessageWireTests
{
    private static FakeHttpServer JsonServer(string body) =>
        new(request => request.StartsWith("GET ", StringComparison.Ordinal)
            ? FakeHttpServer.Response(200, "OK", body, "Content-Type: application/json", "Stream-Next-Offset: 1_1", "Stream-Up-To-Date: true")
            : FakeHttpServer.Response(200, "OK", "", "Content-Type: application/json", "Stream-Next-Offset: 1_1"));

    private static DurableStreamClient Client(FakeHttpServer server) =>
        new(new DurableStreamClientOptions { BaseUrl = server.BaseUrl, MaxRetries = 0 });

    [Fact]
    public async Task Chunk_messages_are_the_exact_raw_text_of_each_message()
    {
        await using var server = JsonServer(JsonMessageTests.TrickyArray());
        await using var client = Client(server);
        await using var r = await client.GetStream("/s").StreamAsync();
        var chunks = new List<ByteChunk>();
        await foreach (var chunk in r.ReadBytesAsync())
        {
            chunks.Add(chunk);
        }
        var messages = chunks.SelectMany(c => c.Messages!).Select(m => Encoding.UTF8.GetString(m.Span)).ToList();
        Assert.Equal(JsonMessageTests.TrickyMessages, messages);
        var withData = Assert.Single(chunks, c => c.Messages!.Count > 0);
        Assert.Equal(JsonMessageTests.TrickyMessages.Length, withData.Messages!.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => withData.Messages[withData.Messages.Count]);
        // Indexing out of order gives the same slices.
        Assert.Equal(JsonMessageTests.TrickyMessages[^1], Encoding.UTF8.GetString(withData.Messages[^1].Span));
        Assert.Equal(JsonMessageTests.TrickyMessages[0], Encoding.UTF8.GetString(withData.Messages[0].Span));
    }

    [Fact]
    public async Task The_failing_message_index_counts_within_its_own_chunk()
    {
        // Two responses: the bad message is the second of the second chunk.
        await using var server = new FakeHttpServer(request => request.Contains("offset=-1", StringComparison.Ordinal)
            ? FakeHttpServer.Response(200, "OK", """[{"Type":"a","N":1},{"Type":"b","N":2}]""", "Content-Type: application/json", "Stream-Next-Offset: 1_1")
            : FakeHttpServer.Response(200, "OK", """[{"Type":"c","N":3},[]]""", "Content-Type: application/json", "Stream-Next-Offset: 2_2", "Stream-Up-To-Date: true"));
        await using var client = Client(server);
        await using var r = await client.GetStream("/s").StreamAsync();
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => r.ReadAllJsonAsync<MyEvent>());
        Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
        Assert.Contains("Message 1 of the chunk ending at offset 2_2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Null_messages_are_null_items_of_a_batch()
    {
        await using var server = JsonServer("""[null,{"Type":"x","N":1}, null ]""");
        await using var client = Client(server);
        await using var r = await client.GetStream("/s").StreamAsync();
        var batches = new List<JsonBatch<MyEvent>>();
        await foreach (var batch in r.ReadJsonBatchesAsync<MyEvent>())
        {
            batches.Add(batch);
        }
        var items = Assert.Single(batches).Items;
        Assert.Equal([null, new MyEvent("x", 1), null], items);
    }

    [Fact]
    public async Task A_message_that_does_not_deserialize_is_a_parse_error_naming_message_1()
    {
        await using var server = JsonServer("""[{"Type":"ok","N":1}, {"Type":"bad","N":"not a number"}]""");
        await using var client = Client(server);
        await using var r = await client.GetStream("/s").StreamAsync();
        var e = await Assert.ThrowsAsync<DurableStreamException>(async () =>
        {
            await foreach (var item in r.ReadJsonAsync<MyEvent>())
            {
                Assert.Equal(new MyEvent("ok", 1), item);
            }
        });
        Assert.Equal(DurableStreamErrorCode.ParseError, e.Code);
        Assert.Contains("Message 1 of the chunk", e.Message, StringComparison.Ordinal);
        Assert.Contains("1_1", e.Message, StringComparison.Ordinal);
    }
}
