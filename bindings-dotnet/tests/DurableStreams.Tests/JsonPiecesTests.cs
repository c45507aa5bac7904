using System.Text;
using System.Text.Json;
using DurableStreams.State;
using DurableStreams.Tests.Infrastructure;

namespace DurableStreams.Tests;

/// <summary>
/// Large JSON responses arrive in bounded pieces of whole messages by default (each piece's data a
/// JSON array of them), read ahead one piece, and every piece's checkpoint resumes exactly after
/// it (the response's offset plus the messages delivered).
/// </summary>
[Collection(ClientCollection.Name)]
public class JsonPiecesTests : ServerTest
{
    private const int MessageCount = 6_000;

    public JsonPiecesTests(ServerFixture fixture)
        : base(fixture)
    {
    }

    public static TheoryData<string> Kinds => TestServers.Kinds;

    /// <summary>Message <paramref name="i"/>: small objects, strings with separators in them, and now and then one larger than a piece.</summary>
    private static string Message(int i) => (i % 5) switch
    {
        0 => $$"""{"i":{{i}},"v":"xxxxxxxxxx"}""",
        1 => $$"""{"i":{{i}},"s":"a,]\"[ \\ b"}""",
        2 => i % 1_000 == 2 ? $$"""{"i":{{i}},"big":"{{new string('y', 100_000)}}"}""" : $$$"""{"i":{{{i}}},"n":[1,[2,{"k":3}]]}""",
        3 => $$"""{"i":{{i}},"h":"h\u00e9 😀"}""",
        _ => $$"""{"i":{{i}}}""",
    };

    private async Task<DurableStream> JsonStreamAsync(DurableStreamClient client, string name)
    {
        var stream = await client.CreateStreamAsync(NewPath(name), new CreateStreamOptions { ContentType = "application/json" });
        // Three appends of JSON arrays (the server stores their elements as messages), one catch-up response.
        for (var part = 0; part < 3; part++)
        {
            var body = "[" + string.Join(",", Enumerable.Range(part * MessageCount / 3, MessageCount / 3).Select(Message)) + "]";
            await stream.AppendAsync(Encoding.UTF8.GetBytes(body));
        }
        return stream;
    }

    private static int IndexOf(JsonElement message) => message.GetProperty("i").GetInt32();

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_large_JSON_response_arrives_in_pieces_of_whole_messages_by_default(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await JsonStreamAsync(client, "json-pieces");
        var chunks = await ReadAllChunksAsync(stream, new StreamOptions());
        Assert.True(chunks.Count(c => c.IsPartial) >= 10, $"{chunks.Count} chunks");
        var seen = new List<int>();
        long delivered = 0;
        foreach (var chunk in chunks)
        {
            var messages = chunk.Messages ?? throw new InvalidOperationException("JSON chunks have messages");
            // The data is a JSON array holding exactly the chunk's messages.
            using var array = JsonDocument.Parse(chunk.Data);
            Assert.Equal(messages.Count, array.RootElement.GetArrayLength());
            Assert.True(chunk.Data.Length <= StreamOptions.DefaultMaxChunkBytes || messages.Count == 1, $"{chunk.Data.Length} bytes in {messages.Count} messages");
            seen.AddRange(array.RootElement.EnumerateArray().Select(IndexOf));
            delivered += messages.Count;
            Assert.Equal(0, chunk.Checkpoint.SkipBytes);
            Assert.Equal(chunk.IsPartial ? delivered : 0, chunk.Checkpoint.SkipMessages);
        }
        Assert.Equal(Enumerable.Range(0, MessageCount), seen);
        Assert.True(chunks[^1].UpToDate && !chunks[^1].IsPartial);

        // The typed readers see every message once, in order, across the pieces.
        await using var typed = await stream.StreamAsync(cancellationToken: Timeout());
        var items = await typed.ReadAllJsonAsync<JsonElement>(Timeout());
        Assert.Equal(Enumerable.Range(0, MessageCount), items.Select(IndexOf));

        // int.MaxValue asks for whole responses again.
        var whole = await ReadAllChunksAsync(stream, new StreamOptions { MaxChunkBytes = int.MaxValue });
        Assert.DoesNotContain(whole, c => c.IsPartial);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Resuming_from_a_JSON_pieces_checkpoint_continues_right_after_it(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await JsonStreamAsync(client, "json-resume");
        var batches = new List<JsonBatch<JsonElement>>();
        await using (var response = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = 16 * 1024 }, Timeout()))
        {
            await foreach (var batch in response.ReadJsonBatchesAsync<JsonElement>(Timeout()))
            {
                batches.Add(batch);
            }
        }
        Assert.Contains(batches, b => b.Checkpoint.SkipMessages > 0);
        var delivered = 0;
        for (var i = 0; i < batches.Count; i++)
        {
            delivered += batches[i].Items.Count;
            if (i % 7 != 0 && i != batches.Count - 2)
            {
                continue; // a sample keeps the test quick
            }
            // Through the saved string form, as an application that restarts would.
            var saved = StreamCheckpoint.Parse(batches[i].Checkpoint.ToString());
            Assert.Equal(batches[i].Checkpoint, saved);
            await using var resumed = await stream.StreamAsync(new StreamOptions { Checkpoint = saved }, Timeout());
            var rest = await resumed.ReadAllJsonAsync<JsonElement>(Timeout());
            Assert.Equal(Enumerable.Range(delivered, MessageCount - delivered), rest.Select(IndexOf));
        }
        Assert.Equal(MessageCount, delivered);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_message_skip_past_the_stream_or_on_a_byte_stream_fails_clearly(string kind)
    {
        await using var client = NewClient(kind);
        var json = await client.CreateStreamAsync(NewPath("json-past"), new CreateStreamOptions { ContentType = "application/json" });
        await json.AppendAsync("[1,2,3]");
        var past = new StreamCheckpoint(Offset.Beginning) { SkipMessages = 4 };
        var e = await Assert.ThrowsAsync<DurableStreamException>(() => ReadAllChunksAsync(json, new StreamOptions { Checkpoint = past }));
        Assert.Equal(DurableStreamErrorCode.InvalidOffset, e.Code);
        Assert.Contains("only 3 messages", e.Message, StringComparison.Ordinal);

        var bytes = await client.CreateStreamAsync(NewPath("bytes-messages"), new CreateStreamOptions { ContentType = "text/plain" });
        await bytes.AppendAsync("hello");
        var wrong = new StreamCheckpoint(Offset.Beginning) { SkipMessages = 1 };
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => ReadAllChunksAsync(bytes, new StreamOptions { Checkpoint = wrong }));
        Assert.Contains("skip_messages: only JSON streams", refused.Message, StringComparison.Ordinal);

        var both = new StreamCheckpoint(Offset.Beginning) { SkipBytes = 1, SkipMessages = 1 };
        var conflict = await Assert.ThrowsAsync<ArgumentException>(() => json.StreamAsync(new StreamOptions { Checkpoint = both }, Timeout()));
        Assert.Contains("never both", conflict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Checkpoints_inside_a_JSON_response_keep_their_message_count_in_the_saved_form()
    {
        var inside = new StreamCheckpoint(new Offset("0001_0002"), "c-9") { SkipMessages = 2600 };
        Assert.Equal("0001_0002&messages=2600,c-9", inside.ToString());
        Assert.Equal(inside, StreamCheckpoint.Parse("0001_0002&messages=2600,c-9"));
        Assert.Equal(0, StreamCheckpoint.Parse("0001_0002&skip=5").SkipMessages);
        Assert.False(StreamCheckpoint.TryParse("0001_0002&messages=-1", out _));
        Assert.False(StreamCheckpoint.TryParse("0001_0002&messages=x", out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamCheckpoint(Offset.Beginning) { SkipMessages = -1 });
        var options = new StreamOptions { Checkpoint = inside };
        Assert.Equal(2600, options.Checkpoint!.Value.SkipMessages);
        options.Offset = new Offset("0001_0003");
        Assert.Equal(0, options.Checkpoint!.Value.SkipMessages);
        // A state checkpoint counts the piece's messages as its own.
        var state = new StateCheckpoint(inside, 5);
        Assert.Equal(2605, state.SkipMessages);
        Assert.Equal(0, state.Position.SkipMessages);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Leaving_a_read_between_pieces_frees_the_piece_read_ahead(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await JsonStreamAsync(client, "json-leave");
        for (var round = 0; round < 20; round++)
        {
            await using var response = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = 4096 }, Timeout());
            await foreach (var chunk in response.ReadBytesAsync(Timeout()))
            {
                Assert.True(chunk.IsPartial);
                break; // the next piece is already being read: disposing must end it, not hang
            }
        }
        // Cancelling while a read-ahead is in flight ends the read as cancelled.
        using var cts = new CancellationTokenSource();
        await using var cancelled = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = 4096 }, Timeout());
        var count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var chunk in cancelled.ReadBytesAsync(cts.Token))
            {
                if (++count == 2)
                {
                    await cts.CancelAsync();
                }
            }
        });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task State_resumes_exactly_from_a_checkpoint_inside_a_piece(string kind)
    {
        await using var client = NewClient(kind);
        var stream = await client.CreateStreamAsync(NewPath("state-pieces"), new CreateStreamOptions { ContentType = "application/json" });
        const int events = 4_000;
        var body = "[" + string.Join(",", Enumerable.Range(0, events).Select(i => $$$"""{"type":"user","key":"{{{i}}}","value":{"n":{{{i}}}},"headers":{"operation":"insert"}}""")) + "]";
        await stream.AppendAsync(Encoding.UTF8.GetBytes(body));

        // Apply the first pieces, then three messages of the next one: a checkpoint inside a piece.
        var first = new MaterializedState();
        first.Collection<JsonElement>("user");
        var applied = 0;
        await using (var response = await stream.StreamAsync(new StreamOptions { MaxChunkBytes = 8192 }, Timeout()))
        {
            var pieces = 0;
            await foreach (var chunk in response.ReadBytesAsync(Timeout()))
            {
                Assert.True(chunk.IsPartial);
                applied += first.Apply(chunk, stream.Url);
                if (++pieces == 3)
                {
                    break;
                }
            }
        }
        Assert.Equal(applied, first.Count);
        Assert.True(first.Checkpoint.SkipMessages == applied, first.Checkpoint.ToString());

        var resumed = new MaterializedState(StateCheckpoint.Parse(first.Checkpoint.ToString()));
        resumed.Collection<JsonElement>("user");
        var rest = await resumed.CatchUpAsync(stream, Timeout());
        Assert.Equal(events - applied, rest);
        Assert.Equal(events - applied, resumed.Count);
        Assert.False(resumed.Collection<JsonElement>("user").ContainsKey((applied - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(resumed.Collection<JsonElement>("user").ContainsKey(applied.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
